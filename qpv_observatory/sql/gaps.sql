-- Écarts QPV / territoire de comparaison (commune, EPCI, commune hors QPV, EPCI hors QPV, ensemble des QPV
-- du contrat, unité urbaine, ensemble des QPV de France, France) : écart en points (ou unité), rapport,
-- situation ; comparison_reason dit pourquoi une valeur dérivée n'est pas publiée.
--
-- Seuls les chiffres d'un même indicateur, d'une même année et d'une même source se comparent, et un écart
-- n'est calculé que si les deux valeurs sont des nombres publiés : une cellule secrète ou manquante donne
-- un écart vide, jamais une estimation. La commune et l'EPCI du QPV sont toujours listés (statut absent
-- quand aucune source ne les a) ; les territoires dérivés quand ils sont publiés ou retenus par le secret
-- (avec la raison) ; l'unité urbaine et les niveaux nationaux quand une source les a.
WITH link_pairs AS (
    -- Comparison levels reached from a QPV through the referential, and the code they are reached by.
    SELECT DISTINCT l.qpv_code, v.level,
           CASE v.link WHEN 'commune' THEN l.commune_code WHEN 'epci' THEN l.epci_code
                ELSE l.unite_urbaine_code END AS link
    FROM qpv_links AS l
    CROSS JOIN (VALUES ('commune', 'commune'), ('epci', 'epci'), ('commune_hors_qpv', 'commune'),
                       ('epci_hors_qpv', 'epci'), ('qpv_contrat', 'epci'), ('unite_urbaine', 'unite_urbaine'))
               AS v(level, link)
), pairs AS (
    SELECT * FROM link_pairs WHERE link IS NOT NULL OR level <> 'unite_urbaine'
), qpv AS (
    SELECT * FROM observations WHERE territory_level = 'qpv'
), comparison AS (
    -- Figures read from sources, and the derived ones that are published or withheld by secrecy.
    SELECT indicator_id, year, source, territory_level AS level, territory_code AS link, territory_code AS code,
           value, status, NULL AS name, NULL AS reason, _pos
    FROM observations
    WHERE territory_level IN ('commune', 'epci', 'unite_urbaine')
    UNION ALL
    -- A contract may have a figure in each QPV geography: they come in the derived table's order.
    SELECT indicator_id, year, source, territory_level, parent_code, territory_code, value, status, territory_name,
           reason, rowid
    FROM comparison_territories
    WHERE status IN ('ok', 'secret') AND territory_level IN ('commune_hors_qpv', 'epci_hors_qpv', 'qpv_contrat')
), matched AS (
    SELECT q.indicator_id, q.year, q.source, q.source_label, q.territory_code AS qpv_code, q.value AS qpv_value,
           q.status AS qpv_status, q._pos AS qpv_pos, p.level, coalesce(c.code, p.link) AS code,
           c.value AS comparison_value, c.status AS comparison_status, c.name, c.reason, c._pos
    FROM qpv AS q
    JOIN pairs AS p ON p.qpv_code = q.territory_code
    LEFT JOIN comparison AS c
      ON c.level = p.level AND c.link = p.link
     AND c.indicator_id = q.indicator_id AND c.year = q.year AND c.source = q.source
    WHERE p.level IN ('commune', 'epci') OR c.level IS NOT NULL
    UNION ALL
    SELECT q.indicator_id, q.year, q.source, q.source_label, q.territory_code, q.value, q.status, q._pos,
           n.territory_level, n.territory_code, n.value, n.status, NULL, NULL, n._pos
    FROM qpv AS q
    JOIN observations AS n
      ON n.territory_level IN ('qpv_france', 'france_metro', 'france')
     AND n.indicator_id = q.indicator_id AND n.year = q.year AND n.source = q.source
), compared AS (
    SELECT m.*,
           CASE WHEN m.qpv_status = 'ok' AND m.comparison_status = 'ok'
                THEN round(m.qpv_value - m.comparison_value, 6) END AS gap,
           CASE WHEN m.qpv_status = 'ok' AND m.comparison_status = 'ok' AND m.comparison_value <> 0
                THEN round(m.qpv_value / m.comparison_value, 6) END AS ratio
    FROM matched AS m
)
SELECT c.qpv_code, qn.name AS qpv_name, c.indicator_id, c.year, c.source, c.source_label,
       c.level AS comparison_level, c.code AS comparison_code, coalesce(c.name, cn.name) AS comparison_name,
       c.qpv_value, c.qpv_status, c.comparison_value, coalesce(c.comparison_status, 'absent') AS comparison_status,
       c.gap, CASE WHEN i.unit = '%' THEN 'points' ELSE i.unit END AS gap_unit, c.ratio,
       -- Whether the QPV is worse or better off than the comparison territory, per the indicator's polarity.
       CASE WHEN c.gap IS NULL THEN NULL
            WHEN i.polarity = 'neutral' THEN 'neutral'
            WHEN CASE WHEN i.polarity = 'higher_is_better' THEN -c.gap ELSE c.gap END > 0 THEN 'unfavourable'
            WHEN CASE WHEN i.polarity = 'higher_is_better' THEN -c.gap ELSE c.gap END < 0 THEN 'favourable'
            ELSE 'equal' END AS qpv_situation,
       c.reason AS comparison_reason
FROM compared AS c
LEFT JOIN indicators AS i ON i.indicator_id = c.indicator_id
LEFT JOIN territory_names AS qn ON qn.territory_code = c.qpv_code AND qn.territory_level = 'qpv'
LEFT JOIN territory_names AS cn ON cn.territory_code = c.code AND cn.territory_level = c.level
ORDER BY c.indicator_id, c.year, c.source, c.qpv_code, c.level, c.code NULLS LAST, c.qpv_pos, c._pos
