-- Portrait par QPV, indicateur et année : valeurs du QPV, de la commune, de l'EPCI et des autres niveaux de
-- comparaison côte à côte, écarts et rapports (la forme des tableaux publiés).
--
-- Les valeurs du QPV sont celles de la première ligne d'écart de son QPV, indicateur, année et source ;
-- chaque niveau prend sa première ligne pour eux (un QPV sur plusieurs communes est comparé à chacune dans
-- gaps ; le portrait garde la première commune dans l'ordre des codes), si elle donne au QPV le même nom et
-- le même libellé de source.
WITH numbered AS (
    SELECT *, rowid AS _n FROM gaps
), keyed AS (
    SELECT *,
           first_value(qpv_name) OVER key AS first_name,
           first_value(source_label) OVER key AS first_label,
           min(_n) OVER (PARTITION BY indicator_id, year, source, qpv_code, comparison_level) AS level_first
    FROM numbered
    WINDOW key AS (PARTITION BY indicator_id, year, source, qpv_code ORDER BY _n
                   ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
), chosen AS (
    SELECT indicator_id, year, source, qpv_code, comparison_level, comparison_code AS code,
           comparison_value AS value, comparison_status AS status, gap, ratio, comparison_reason AS reason
    FROM keyed
    WHERE _n = level_first AND qpv_name IS NOT DISTINCT FROM first_name AND source_label IS NOT DISTINCT FROM first_label
), side_by_side AS (
    PIVOT chosen
    ON comparison_level IN ('commune', 'epci', 'commune_hors_qpv', 'epci_hors_qpv', 'qpv_contrat', 'unite_urbaine',
                            'qpv_france', 'france_metro', 'france')
    USING first(code) AS code, first(value) AS value, first(status) AS status, first(gap) AS gap,
          first(ratio) AS ratio, first(reason) AS reason
    GROUP BY indicator_id, year, source, qpv_code
), firsts AS (
    SELECT qpv_code, qpv_name, indicator_id, year, source, source_label, qpv_value, qpv_status
    FROM numbered
    QUALIFY _n = min(_n) OVER (PARTITION BY indicator_id, year, source, qpv_code)
)
SELECT f.*,
       s.* EXCLUDE (indicator_id, year, source, qpv_code, commune_reason, epci_reason, unite_urbaine_reason,
                    qpv_france_reason, france_metro_reason, france_reason)
FROM firsts AS f
LEFT JOIN side_by_side AS s
  ON s.indicator_id IS NOT DISTINCT FROM f.indicator_id AND s.year IS NOT DISTINCT FROM f.year
 AND s.source IS NOT DISTINCT FROM f.source AND s.qpv_code IS NOT DISTINCT FROM f.qpv_code
ORDER BY f.indicator_id, f.year, f.source, f.qpv_code
