"""Niort demo: the wider comparison levels come out of the pipeline, from the raw files."""

import pytest


def test_ensemble_des_trois_qpv_population_is_derived_from_the_qpv_rows(warehouse):
    value, status, qpv_codes = warehouse.execute(
        "SELECT value, status, qpv_codes FROM comparison_territories "
        "WHERE indicator_id = 'population' AND year = 2013 AND territory_level = 'qpv_contrat'").fetchone()
    qpv_rows = warehouse.execute("SELECT territory_code, value FROM observations WHERE indicator_id = 'population' "
                                 "AND year = 2013 AND territory_level = 'qpv' ORDER BY territory_code").fetchall()
    assert qpv_codes == ",".join(code for code, _ in qpv_rows) == "QP079001,QP079002,QP079003"
    assert status == "ok" and value == sum(v for _, v in qpv_rows) == 2791 + 1320 + 1731 == 5842


def test_qpv_share_of_niort_and_of_the_agglomeration(warehouse):
    shares = {level: row for level, *row in warehouse.execute(
        "SELECT territory_level, territory_code, qpv_total, territory_total, share, status, reason, source_label "
        "FROM qpv_shares WHERE indicator_id = 'population' AND year = 2013").fetchall()}
    code, qpv_total, total, share, status, reason, label = shares["commune"]
    assert (code, qpv_total, total, status, reason) == ("79191", 5842.0, 57393.0, "ok", None)
    assert share == pytest.approx(100 * 5842 / 57393) and round(share, 1) == 10.2
    assert "populations légales 2013" in label  # the commune total's own source is cited
    # The agglomeration's 2013 population is not in the demo sources: no share, and it says so.
    code, qpv_total, total, share, status, reason, _ = shares["epci"]
    assert (code, qpv_total, total, share, status) == ("200041317", 5842.0, None, None, "absent")
    assert "absente des sources" in reason


def test_niort_outside_its_qpv_in_the_gap_table(warehouse):
    rows = warehouse.execute(
        "SELECT qpv_code, comparison_code, comparison_value, ratio FROM gaps WHERE indicator_id = 'population' "
        "AND comparison_level = 'commune_hors_qpv' AND year = 2013 ORDER BY qpv_code").fetchall()
    assert [r[0] for r in rows] == ["QP079001", "QP079002", "QP079003"]
    assert {(r[1], r[2]) for r in rows} == {("79191-HORS-QPV", 57393.0 - 5842.0)}


def test_rates_without_counts_and_medians_are_not_aggregated(warehouse):
    rows = warehouse.execute("SELECT indicator_id, status, reason FROM comparison_territories "
                             "WHERE indicator_id IN ('taux_chomage_rp', 'revenu_median_uc')").fetchall()
    assert {(i, s) for i, s, _ in rows} == {("taux_chomage_rp", "not_computable"), ("revenu_median_uc", "not_aggregable")}
    assert warehouse.execute("SELECT count(*) FROM comparison_territories WHERE status <> 'ok' AND value IS NOT NULL"
                             ).fetchone()[0] == 0
    # no derived level of these indicators reaches the gap table
    assert warehouse.execute("SELECT count(*) FROM gaps WHERE indicator_id IN ('taux_chomage_rp', 'revenu_median_uc') "
                             "AND comparison_level NOT IN ('commune', 'epci')").fetchone()[0] == 0
