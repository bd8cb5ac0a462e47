-- Paires (groupe, périmètre), table de travail non publiée : pour chaque indicateur, année, source et
-- géographie des QPV (le groupe), et chaque commune ou EPCI dont au moins un QPV a une ligne dans le
-- groupe (le périmètre), ce qu'exigent les règles du secret statistique et les sommes des QPV membres,
-- avec la valeur du territoire englobant (de la même source s'il en a une, sinon de la première autre
-- source par ordre alphabétique).
WITH qpv AS (
    -- The QPV rows of a known geography, in the order of the observations (_pos).
    SELECT o.indicator_id, o.year, o.source, o.source_label, o.territory_code, o.status, o.value, o.numerator,
           o.denominator, o._pos, g.geography
    FROM observations AS o
    JOIN qpv_geographies AS g ON regexp_full_match(o.territory_code, g.pattern)
    WHERE o.territory_level = 'qpv'
), groups AS (
    -- A group's source label is that of its first row; the indicator's aggregation says which counts it needs.
    SELECT q.indicator_id, q.year, q.source, q.geography, arg_min(q.source_label, q._pos) AS source_label,
           any_value(i.aggregation) AS aggregation, any_value(i.unit) AS unit
    FROM qpv AS q
    LEFT JOIN indicators AS i USING (indicator_id)
    GROUP BY ALL
), spanning AS (
    SELECT geography, qpv_code, count(DISTINCT commune_code) > 1 AS spanning
    FROM qpv_links
    GROUP BY ALL
), members AS (
    -- One row per perimeter (a commune or an EPCI of a geography) and QPV.
    SELECT DISTINCT l.geography, m.level, m.perimeter_code, l.qpv_code, s.spanning
    FROM qpv_links AS l
    CROSS JOIN LATERAL (VALUES ('commune', l.commune_code), ('epci', l.epci_code)) AS m(level, perimeter_code)
    JOIN spanning AS s ON s.geography = l.geography AND s.qpv_code = l.qpv_code
    WHERE m.perimeter_code IS NOT NULL
), perimeters AS (
    SELECT geography, level, perimeter_code, count(*) AS n_expected,
           list(qpv_code ORDER BY qpv_code) AS member_codes,
           string_agg(qpv_code, ',' ORDER BY qpv_code) AS qpv_codes,
           coalesce(string_agg(qpv_code, ', ' ORDER BY qpv_code) FILTER (WHERE spanning), '') AS spanning_codes
    FROM members
    GROUP BY ALL
), member_rows AS (
    SELECT q.*, m.level, m.perimeter_code, g.aggregation,
           g.aggregation = 'ratio_of_sums' AS needs_numerator,
           g.aggregation IN ('ratio_of_sums', 'weighted_mean') AS needs_denominator
    FROM qpv AS q
    JOIN members AS m ON m.geography = q.geography AND m.qpv_code = q.territory_code
    JOIN groups AS g ON g.indicator_id = q.indicator_id AND g.year = q.year AND g.source = q.source
                    AND g.geography = q.geography
), pairs AS (
    -- Sums in the order of the observations: a missing number counts as 0 (it is withheld by a check).
    SELECT indicator_id, year, source, geography, level, perimeter_code,
           count(*) AS n_found,
           list(territory_code) AS found_codes,
           sum(coalesce(value, 0) ORDER BY _pos) AS sum_value,
           sum(coalesce(numerator, 0) ORDER BY _pos) AS sum_numerator,
           sum(coalesce(denominator, 0) ORDER BY _pos) AS sum_denominator,
           sum(coalesce(value * denominator, 0) ORDER BY _pos) AS sum_weighted,
           string_agg(territory_code, ', ' ORDER BY territory_code) FILTER (WHERE status = 'secret') AS secret_codes,
           arg_min(territory_code, territory_code) FILTER (WHERE status NOT IN ('ok', 'secret')) AS unpublished_code,
           arg_min(status, territory_code) FILTER (WHERE status NOT IN ('ok', 'secret')) AS unpublished_status,
           list(territory_code ORDER BY territory_code) FILTER (
               WHERE (needs_numerator AND numerator IS NULL) OR (needs_denominator AND denominator IS NULL)
           ) AS lacking_list
    FROM member_rows
    GROUP BY ALL
), territory_figures AS (
    -- The surrounding territory's figure: its own source first, else the first other source by name.
    SELECT p.indicator_id, p.year, p.source, p.geography, p.level, p.perimeter_code,
           o.source AS territory_source, o.source_label AS territory_source_label, o.status AS territory_status,
           o.value AS territory_value, o.numerator AS territory_numerator, o.denominator AS territory_denominator
    FROM pairs AS p
    JOIN observations AS o
      ON o.territory_level = p.level AND o.territory_code = p.perimeter_code
     AND o.indicator_id = p.indicator_id AND o.year = p.year
    QUALIFY row_number() OVER (PARTITION BY p.indicator_id, p.year, p.source, p.geography, p.level, p.perimeter_code
                               ORDER BY o.source <> p.source, o.source, o._pos) = 1
)
SELECT p.indicator_id, p.year, p.source, p.geography, p.level, p.perimeter_code,
       coalesce(n.name, p.perimeter_code) AS territory_label,
       g.source_label, g.aggregation, g.unit,
       g.aggregation = 'ratio_of_sums' AS needs_numerator,
       g.aggregation IN ('ratio_of_sums', 'weighted_mean') AS needs_denominator,
       e.n_expected, p.n_found, e.qpv_codes, e.spanning_codes,
       CASE WHEN p.n_found < e.n_expected THEN
           array_to_string(list_filter(e.member_codes, lambda code: NOT list_contains(p.found_codes, code)), ', ')
       END AS missing_codes,
       p.secret_codes, p.unpublished_code, p.unpublished_status, p.lacking_list,
       p.sum_value, p.sum_numerator, p.sum_denominator, p.sum_weighted,
       t.territory_source, t.territory_source_label, t.territory_status, t.territory_value, t.territory_numerator,
       t.territory_denominator,
       coalesce((g.aggregation = 'ratio_of_sums' AND t.territory_numerator IS NULL)
                OR (g.aggregation IN ('ratio_of_sums', 'weighted_mean') AND t.territory_denominator IS NULL),
                false) AS territory_lacks_counts
FROM pairs AS p
JOIN groups AS g USING (indicator_id, year, source, geography)
JOIN perimeters AS e USING (geography, level, perimeter_code)
LEFT JOIN territory_figures AS t USING (indicator_id, year, source, geography, level, perimeter_code)
LEFT JOIN territory_names AS n ON n.territory_code = p.perimeter_code AND n.territory_level = p.level
