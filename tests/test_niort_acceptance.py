"""Acceptance: the Niort 2019 mid-term evaluation tables, recomputed from the curated outputs.

Every published figure must come back exactly, and every published blank must stay blank.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.conftest import NIORT_REFERENCE, SHARED

# Published (table, indicator label) -> catalogue indicator id: the acceptance mapping.
PUBLISHED_INDICATORS = {
    ("tableau 1", "population"): "population",
    ("tableau 2", "part des 0-14 ans"): "part_0014",
    ("tableau 2", "part des 15-24 ans"): "part_1524",
    ("tableau 3", "part des familles monoparentales parmi les allocataires CAF"): "part_familles_monoparentales_caf",
    ("tableau 4", "revenu médian"): "revenu_median_uc",
    ("tableau 5", "taux de pauvreté"): "taux_pauvrete",
    ("tableau 6", "part des bénéficiaires de prestations sociales: AAH"): "part_aah",
    ("tableau 6", "part des bénéficiaires de prestations sociales: RSA"): "part_rsa",
    ("tableau 6", "part des bénéficiaires de prestations sociales: Prime d'activité"): "part_prime_activite",
    ("tableau 6", "part des bénéficiaires de prestations sociales: CMU-C"): "part_cmuc",
    ("tableau 7", "taux d'emploi des 15-64 ans"): "taux_emploi_1564",
    ("tableau 8", "taux de chômage (au sens du recensement)"): "taux_chomage_rp",
    ("tableau 9", "part des sans diplôme (population > 15 ans)"): "part_sans_diplome",
    ("tableau 9", "part des diplômés < BAC (population > 15 ans)"): "part_diplome_inf_bac",
    ("tableau 10", "part des 15-24 ans scolarisés"): "taux_scolarisation_1524",
    ("tableau 11", "part des ménages disposant d'une voiture"): "part_menages_voiture",
}
TABLES = [f"tableau {n}" for n in range(1, 12)]


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    frame = pd.read_csv(NIORT_REFERENCE, dtype={"territory_code": str, "value": str}, keep_default_na=False)
    frame["indicator_id"] = [PUBLISHED_INDICATORS[(t, i)] for t, i in zip(frame["table"], frame["indicator"])]
    return frame


def recomputed_table(warehouse, indicator_id: str, year: int) -> dict[str, tuple[float | None, str]]:
    """A published table's cells (territory -> value, status), rebuilt from the gap portrait."""
    rows = warehouse.execute(
        "SELECT qpv_code, qpv_value, qpv_status, commune_code, commune_value, commune_status, "
        "epci_code, epci_value, epci_status FROM gap_portrait WHERE indicator_id = ? AND year = ?",
        [indicator_id, year]).fetchall()
    cells = {}
    for qpv, qv, qs, com, cv, cs, epci, ev, es in rows:
        cells[qpv] = (qv, qs)
        if cs != "absent":  # the source file has no row for the commune
            cells[com] = (cv, cs)
        if es != "absent":
            cells[epci] = (ev, es)
    return cells


@pytest.mark.parametrize("table", TABLES)
def test_published_table_is_reproduced_exactly(warehouse, published, table):
    expected = published[published["table"] == table]
    for (indicator_id, year), rows in expected.groupby(["indicator_id", "year"]):
        cells = recomputed_table(warehouse, indicator_id, int(year))
        assert set(cells) == set(rows["territory_code"]), (table, indicator_id)
        for code, value in zip(rows["territory_code"], rows["value"]):
            if value == "":
                # published as ND or blank: kept as a status, never a number
                got = cells[code]
                assert got[0] is None or (isinstance(got[0], float) and math.isnan(got[0])), (table, code)
                assert got[1] != "ok", (table, code)
            else:
                assert cells[code] == (float(value), "ok"), (table, indicator_id, code)


def test_tour_chabot_schooling_stays_missing_not_zero(warehouse):
    value, status, marker = warehouse.execute(
        "SELECT value, status, marker FROM observations "
        "WHERE indicator_id = 'taux_scolarisation_1524' AND territory_code = 'QP079002'").fetchone()
    assert value is None and status == "not_available" and marker == "nd"
    gaps = warehouse.execute("SELECT gap, ratio FROM gaps WHERE indicator_id = 'taux_scolarisation_1524' "
                             "AND qpv_code = 'QP079002'").fetchall()
    assert gaps and all(g is None and r is None for g, r in gaps)
    assert warehouse.execute("SELECT count(*) FROM observations WHERE value = 0").fetchone()[0] == 0


def test_schooling_gap_of_ten_points_with_the_city(warehouse):
    """ "un écart de 10 points" between Clou Bouchet / Pontreau and the city."""
    rows = dict(warehouse.execute(
        "SELECT qpv_code, gap FROM gaps WHERE indicator_id = 'taux_scolarisation_1524' "
        "AND comparison_level = 'commune' AND gap IS NOT NULL").fetchall())
    assert set(rows) == {"QP079001", "QP079003"}
    assert rows["QP079001"] == pytest.approx(-10.0) and rows["QP079003"] == pytest.approx(-10.2)
    assert all(round(-gap) == 10 for gap in rows.values())


def test_census_unemployment_ratios_from_2_2_to_3_6(warehouse):
    """ "3 fois plus important" than in the city and the agglomeration: ratios 2.2 to 3.6."""
    ratios = warehouse.execute(
        "SELECT comparison_level, ratio FROM gaps WHERE indicator_id = 'taux_chomage_rp'").fetchall()
    assert {level for level, _ in ratios} == {"commune", "epci"} and len(ratios) == 6
    values = [r for _, r in ratios]
    assert round(min(values), 1) == 2.2 and round(max(values), 1) == 3.6


def test_pontreau_poverty_at_least_ten_points_below_other_qpv(warehouse):
    rates = dict(warehouse.execute("SELECT territory_code, value FROM observations "
                                   "WHERE indicator_id = 'taux_pauvrete' AND territory_level = 'qpv'").fetchall())
    assert rates["QP079001"] - rates["QP079003"] >= 10
    assert round(rates["QP079002"] - rates["QP079003"], 6) >= 10


@pytest.mark.skipif(not (SHARED / "reference").is_dir(), reason="../shared/reference absent")
def test_the_carried_reference_is_the_published_one():
    assert NIORT_REFERENCE.read_bytes() == (SHARED / "reference" / NIORT_REFERENCE.name).read_bytes()


def test_the_real_demographie_tables_give_niort_2019_and_2020(warehouse):
    rows = warehouse.execute(
        "SELECT millesime, territory_code, value, source FROM observations WHERE indicator_id = 'population' "
        "AND millesime IN (2019, 2020) AND territory_level IN ('qpv', 'commune') ORDER BY ALL").fetchall()
    # POP_MUN of the three QPV, and Niort's POP_COM attributed once to the commune (INSEE's tables 2019, 2020).
    expected = [("79191", 57393.0), ("QP079001", 2791.0), ("QP079002", 1320.0), ("QP079003", 1731.0)]
    assert rows == [(year, code, value, "insee_rp") for year in (2019, 2020) for code, value in expected]
    share = warehouse.execute("SELECT millesime, round(share, 1) FROM qpv_shares WHERE indicator_id = 'population' "
                              "AND territory_code = '79191' AND millesime = 2020").fetchall()
    assert share == [(2020, 10.2)]  # POP_COM_QP 5,842 of POP_COM 57,393
    national = warehouse.execute("SELECT value FROM observations WHERE territory_code = 'FRQP' AND "
                                 "indicator_id = 'population' AND millesime = 2019").fetchall()
    assert national == [(5019573.0,)]  # the Ensemble row: all QPV of France, kept outside the perimeter
