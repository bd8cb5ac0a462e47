-- Territoires de comparaison dérivés (ensemble des QPV du contrat, commune hors QPV, EPCI hors QPV) :
-- valeur, numérateur, dénominateur, mode d'agrégation, statut et raison quand la valeur n'est pas
-- publiée (secret statistique, non agrégeable, donnée absente).
--
-- Agrégation selon le catalogue : sum (effectifs qui s'additionnent et se soustraient), ratio_of_sums
-- (un taux recalculé à partir des sommes de ses numérateurs et dénominateurs, jamais une moyenne de
-- taux), weighted_mean (moyenne pondérée par le dénominateur), not_aggregable (une médiane n'est jamais
-- moyennée ni soustraite). Une valeur dérivée n'est calculée qu'à partir de nombres publiés : si un QPV
-- du périmètre est secret, la valeur dérivée ne l'est pas non plus (la publier permettrait de retrouver
-- le secret par différence). Le contrat de ville est signé par l'EPCI (loi Lamy) : l'ensemble des QPV
-- du contrat est l'ensemble des QPV rattachés à l'EPCI (code <SIREN>-QPV).
WITH variants(level, derived_level, subtract, label) AS (
    VALUES ('epci', 'qpv_contrat', false, 'l''ensemble des QPV du contrat'),
           ('epci', 'epci_hors_qpv', true, 'l''EPCI hors QPV'),
           ('commune', 'commune_hors_qpv', true, 'la commune hors QPV')
), operands AS (
    -- The members together (the territory counts as 0), or the surrounding territory minus its members.
    SELECT p.*, v.derived_level, v.subtract, v.label,
           CASE WHEN v.subtract THEN p.territory_value - p.sum_value ELSE 0.0 + p.sum_value END AS total_value,
           CASE WHEN v.subtract THEN p.territory_numerator - p.sum_numerator ELSE 0.0 + p.sum_numerator END AS num,
           CASE WHEN v.subtract THEN p.territory_denominator - p.sum_denominator ELSE 0.0 + p.sum_denominator END AS den,
           CASE WHEN v.subtract THEN p.territory_value * p.territory_denominator - p.sum_weighted
                ELSE 0.0 + p.sum_weighted END AS weighted_total
    FROM perimeter_pairs AS p
    JOIN variants AS v USING (level)
), checked AS (
    -- The first rule a row fails gives its status and reason, in the order the rules apply.
    SELECT o.*,
        CASE
        WHEN o.derived_level = 'commune_hors_qpv' AND o.spanning_codes <> '' THEN {
            'status': 'not_computable',
            'reason': 'valeur de la commune hors QPV non calculable : ' || o.spanning_codes
                      || ' s''étend sur plusieurs communes et sa part dans celle-ci n''est pas publiée'}
        WHEN o.aggregation IS NULL OR o.aggregation NOT IN ('sum', 'ratio_of_sums', 'weighted_mean') THEN {
            'status': 'not_aggregable',
            'reason': 'indicateur non agrégeable (médiane ou équivalent) : jamais moyenné ni soustrait'}
        WHEN o.n_found < o.n_expected THEN {
            'status': 'not_computable',
            'reason': 'valeur de ' || o.label || ' non calculable : aucune valeur pour ' || o.missing_codes
                      || ' dans la source'}
        WHEN o.secret_codes IS NOT NULL THEN {
            'status': 'secret',
            'reason': 'valeur de ' || o.label || ' non publiée : ' || o.secret_codes || ' soumis au secret '
                      || 'statistique ; la publier permettrait de retrouver la valeur secrète par différence'}
        WHEN o.unpublished_code IS NOT NULL THEN {
            'status': 'not_computable',
            'reason': 'valeur de ' || o.label || ' non calculable : valeur de ' || o.unpublished_code
                      || ' non publiée (' || coalesce(u.label, o.unpublished_status) || ')'}
        WHEN o.subtract AND o.territory_status IS NULL THEN {
            'status': 'absent',
            'reason': 'valeur de ' || o.label || ' non calculable : valeur de ' || o.territory_label
                      || ' absente des sources'}
        WHEN o.subtract AND o.territory_status = 'secret' THEN {
            'status': 'secret',
            'reason': 'valeur de ' || o.label || ' non publiée : valeur de ' || o.territory_label
                      || ' soumise au secret statistique'}
        WHEN o.subtract AND o.territory_status <> 'ok' THEN {
            'status': 'not_computable',
            'reason': 'valeur de ' || o.label || ' non calculable : valeur de ' || o.territory_label
                      || ' non publiée (' || coalesce(t.label, o.territory_status) || ')'}
        WHEN o.lacking_list IS NOT NULL OR (o.subtract AND o.territory_lacks_counts) THEN {
            'status': 'not_computable',
            'reason': 'valeur de ' || o.label || ' non calculable : la source ne donne pas le '
                      || CASE WHEN o.aggregation = 'ratio_of_sums' THEN 'numérateur et le dénominateur'
                              ELSE 'poids (dénominateur)' END
                      || ' de ' || array_to_string(list_sort(list_concat(
                             coalesce(o.lacking_list, []),
                             CASE WHEN o.subtract AND o.territory_lacks_counts THEN [o.perimeter_code] ELSE [] END)), ', ')
                      || ' ; un taux ne se moyenne pas'}
        WHEN (o.aggregation = 'ratio_of_sums' AND (o.den <= 0 OR o.num < 0))
          OR (o.aggregation = 'weighted_mean' AND o.den <= 0)
          OR (o.aggregation = 'sum' AND o.total_value < 0) THEN {
            'status': 'not_computable',
            'reason': 'incohérence : les QPV dépassent le territoire englobant'}
        ELSE {'status': 'ok', 'reason': NULL}
        END AS outcome
    FROM operands AS o
    LEFT JOIN status_labels AS u ON u.status = o.unpublished_status
    LEFT JOIN status_labels AS t ON t.status = o.territory_status
)
SELECT c.indicator_id, c.year, c.source,
       CASE WHEN c.subtract AND c.territory_status IS NOT NULL AND c.territory_source <> c.source
            THEN c.source_label || ' ; ' || c.territory_source_label || ' (' || c.territory_label || ')'
            ELSE c.source_label END AS source_label,
       c.derived_level AS territory_level,
       c.perimeter_code || CASE WHEN c.subtract THEN '-HORS-QPV' ELSE '-QPV' END AS territory_code,
       CASE WHEN c.subtract THEN c.territory_label || ' hors QPV'
            ELSE 'Ensemble des QPV du contrat (' || c.territory_label || ')' END AS territory_name,
       c.perimeter_code AS parent_code, c.qpv_codes, c.aggregation,
       CASE WHEN c.outcome.status = 'ok' THEN round(CASE c.aggregation
            WHEN 'sum' THEN c.total_value
            WHEN 'ratio_of_sums' THEN (CASE WHEN c.unit = '%' THEN 100.0 ELSE 1.0 END * c.num) / c.den
            WHEN 'weighted_mean' THEN c.weighted_total / c.den END, 6) END AS value,
       CASE WHEN c.outcome.status = 'ok' AND c.aggregation = 'ratio_of_sums' THEN c.num END AS numerator,
       CASE WHEN c.outcome.status = 'ok' AND c.aggregation IN ('ratio_of_sums', 'weighted_mean') THEN c.den
            END AS denominator,
       c.outcome.status AS status, c.outcome.reason AS reason
FROM checked AS c
ORDER BY c.indicator_id, c.year, c.source, territory_level, territory_code, c.geography
