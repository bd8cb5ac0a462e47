-- Part de la population (ou d'un effectif) de chaque commune et EPCI vivant en QPV : total des QPV,
-- total du territoire, part en %, statut et raison si non calculable.
--
-- Pour les effectifs (agrégation sum) : le total des QPV est la somme des QPV du territoire (tous doivent
-- être publiés), le total du territoire est lu dans les sources.
WITH pairs AS (
    SELECT p.*, 'la part en QPV de ' || p.territory_label AS label
    FROM perimeter_pairs AS p
    WHERE p.aggregation = 'sum'
), checked AS (
    -- Which rule fails first (0: none): the QPV total is kept past the member rules, the territory's past its own.
    SELECT p.*,
        CASE
        WHEN p.level = 'commune' AND p.spanning_codes <> '' THEN 1
        WHEN p.n_found < p.n_expected THEN 2
        WHEN p.secret_codes IS NOT NULL THEN 3
        WHEN p.unpublished_code IS NOT NULL THEN 4
        WHEN p.territory_status IS NULL THEN 5
        WHEN p.territory_status = 'secret' THEN 6
        WHEN p.territory_status <> 'ok' THEN 7
        WHEN p.territory_value <= 0 OR p.sum_value > p.territory_value THEN 8
        ELSE 0
        END AS failed_rule,
        u.label AS unpublished_label, t.label AS territory_status_label
    FROM pairs AS p
    LEFT JOIN status_labels AS u ON u.status = p.unpublished_status
    LEFT JOIN status_labels AS t ON t.status = p.territory_status
)
SELECT c.indicator_id, c.year, c.source,
       CASE WHEN c.territory_status IS NOT NULL AND c.territory_source <> c.source
            THEN c.source_label || ' ; ' || c.territory_source_label || ' (' || c.territory_label || ')'
            ELSE c.source_label END AS source_label,
       c.level AS territory_level, c.perimeter_code AS territory_code, c.territory_label AS territory_name,
       c.qpv_codes,
       CASE WHEN c.failed_rule = 0 OR c.failed_rule > 4 THEN c.sum_value END AS qpv_total,
       CASE WHEN c.failed_rule = 0 OR c.failed_rule > 7 THEN c.territory_value END AS territory_total,
       CASE WHEN c.failed_rule = 0 THEN round(100.0 * c.sum_value / c.territory_value, 6) END AS share,
       CASE c.failed_rule WHEN 0 THEN 'ok' WHEN 3 THEN 'secret' WHEN 5 THEN 'absent' WHEN 6 THEN 'secret'
            ELSE 'not_computable' END AS status,
       CASE c.failed_rule
       WHEN 1 THEN 'valeur de ' || c.label || ' non calculable : un QPV s''étend sur plusieurs communes'
       WHEN 2 THEN 'valeur de ' || c.label || ' non calculable : aucune valeur pour ' || c.missing_codes
                   || ' dans la source'
       WHEN 3 THEN 'valeur de ' || c.label || ' non publiée : ' || c.secret_codes || ' soumis au secret statistique ; '
                   || 'la publier permettrait de retrouver la valeur secrète par différence'
       WHEN 4 THEN 'valeur de ' || c.label || ' non calculable : valeur de ' || c.unpublished_code || ' non publiée ('
                   || coalesce(c.unpublished_label, c.unpublished_status) || ')'
       WHEN 5 THEN 'valeur de ' || c.label || ' non calculable : valeur de ' || c.territory_label
                   || ' absente des sources'
       WHEN 6 THEN 'valeur de ' || c.label || ' non publiée : valeur de ' || c.territory_label
                   || ' soumise au secret statistique'
       WHEN 7 THEN 'valeur de ' || c.label || ' non calculable : valeur de ' || c.territory_label || ' non publiée ('
                   || coalesce(c.territory_status_label, c.territory_status) || ')'
       WHEN 8 THEN 'valeur de ' || c.label || ' non calculable : total du territoire incohérent'
       END AS reason
FROM checked AS c
ORDER BY c.indicator_id, c.year, c.source, territory_level, territory_code, c.geography
