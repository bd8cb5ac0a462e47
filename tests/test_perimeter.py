"""The observatory's territory ([perimetre]) and the commune figures repeated on QPV rows."""

from __future__ import annotations

import pandas as pd
import pytest

from qpv_observatory.commune_context import attribute_commune_context
from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import conform
from qpv_observatory.perimeter import Perimeter, left_out_summary_fr, perimeter_from_manifest, within_perimeter
from qpv_observatory.readers.referential import Referential

REFERENTIAL = Referential(
    pd.DataFrame({"territory_code": ["QP079001", "QP079002", "79191", "200041317", "79049"],
                  "territory_level": ["qpv", "qpv", "commune", "epci", "commune"],
                  "name": ["Clou Bouchet", "Tour Chabot", "Niort", "CA du Niortais", "Bressuire"]}),
    pd.DataFrame({"qpv_code": ["QP079001", "QP079002"], "commune_code": ["79191", "79191"],
                  "epci_code": ["200041317", "200041317"], "geography": [2015, 2015]}),
    pd.DataFrame({"commune_code": ["79191", "79049"], "epci_code": ["200041317", "200040244"]}))


def observations(rows: list[tuple[str, str, str, float]], source_file: str = "data/raw/2020/t.csv") -> pd.DataFrame:
    return conform(pd.DataFrame({
        "indicator_id": [r[0] for r in rows], "territory_code": [r[1] for r in rows],
        "territory_level": [r[2] for r in rows], "year": 2020, "value": [r[3] for r in rows], "status": "ok",
        "marker": None, "source": "insee_rp", "source_label": "INSEE", "vintage": 2020, "source_file": source_file,
        "source_row": range(2, 2 + len(rows))}))


NATIONAL_FILE = observations([
    ("population", "FRQP", "qpv_france", 5019573), ("population", "QP079001", "qpv", 2791),
    ("population", "QP079002", "qpv", 1320), ("population", "QP079004", "qpv", 978),  # Thouars: not in the list
    ("population", "QP013001", "qpv", 4000), ("population", "79191", "commune", 59854),
    ("population", "79049", "commune", 19000), ("population", "13055", "commune", 870000),
    ("population", "200041317", "epci", 121000), ("population", "200040244", "epci", 75000),
    ("population", "79", "departement", 375000), ("population", "13", "departement", 2000000),
    ("population", "75", "region", 6000000)])


def test_an_epci_perimeter_keeps_its_territory_and_the_national_rows():
    kept, left_out = within_perimeter(NATIONAL_FILE, Perimeter(epci=("200041317",)), REFERENTIAL)
    # QP079004 is unknown to the referential and lies in département 79, one of the territory's: kept, so
    # that the source suite names it (a mistyped code is refused, never left out).
    assert sorted(kept["territory_code"]) == sorted(["FRQP", "QP079001", "QP079002", "QP079004", "79191",
                                                     "200041317", "79", "75"])
    assert dict(zip(left_out["territory_level"], left_out["territories"])) == {
        "qpv": 1, "commune": 2, "epci": 1, "departement": 1}
    assert left_out_summary_fr(left_out) == {
        "data/raw/2020/t.csv": "hors périmètre : 2 communes, 1 département, 1 EPCI, 1 QPV"}


def test_inside_a_declared_departement_an_unknown_code_is_kept_for_the_suite_to_refuse():
    kept, _ = within_perimeter(NATIONAL_FILE, Perimeter(departements=("79",)), REFERENTIAL)
    # QP079004 is unknown to the referential but lies in département 79: kept, so that it is named as unknown.
    assert {"QP079004", "QP079001", "79049", "79191", "200040244"} <= set(kept["territory_code"])
    assert not {"QP013001", "13055", "13"} & set(kept["territory_code"])


def test_all_of_france_or_no_perimeter_keeps_every_row():
    for perimeter in (Perimeter(france=True), Perimeter()):
        kept, left_out = within_perimeter(NATIONAL_FILE, perimeter, REFERENTIAL)
        assert len(kept) == len(NATIONAL_FILE) and left_out.empty


@pytest.mark.parametrize("table, message", [
    ({"epci": "200041317"}, "epci = une liste de codes"), ({"epci": ["20004131"]}, "n'est pas un code epci"),
    ({"commune": ["79191"]}, r"clé\(s\) inconnue\(s\) commune"), ({}, r"\[perimetre\] vide"),
    ({"france": "oui"}, "france = true ou false")])
def test_a_malformed_perimeter_is_refused(table, message):
    with pytest.raises(SourceFileError, match=message):
        perimeter_from_manifest({"perimetre": table}, "data/raw/sources.toml")
    assert perimeter_from_manifest({}, "x") == Perimeter()
    assert perimeter_from_manifest({"perimetre": {"departements": ["2A", "79"]}}, "x").departements == ("2A", "79")


def twelve_qpv_in_one_commune() -> tuple[pd.DataFrame, Referential]:
    codes = [f"QP079{n:03d}" for n in range(1, 13)]
    rows = [(indicator, code, "qpv", value) for code in codes
            for indicator, value in (("population_communes_englobantes", 57393.0), ("population", 1000.0))]
    links = pd.DataFrame({"qpv_code": codes, "commune_code": "79191", "epci_code": "200041317", "geography": 2015})
    territories = pd.DataFrame({"territory_code": [*codes, "79191"], "territory_level": ["qpv"] * 12 + ["commune"],
                                "name": [*codes, "Niort"]})
    return observations(rows), Referential(territories, links)


def test_a_commune_figure_repeated_on_its_qpv_rows_is_the_communes_once():
    frame, referential = twelve_qpv_in_one_commune()
    attributed = attribute_commune_context(frame, referential)
    commune = attributed[attributed["territory_level"] == "commune"]
    assert commune[["indicator_id", "territory_code", "value", "source_row"]].values.tolist() == [
        ["population", "79191", 57393.0, 2]]  # once, from the first QPV row; never 12 × 57,393
    assert len(attributed) == len(frame) + 1


def test_a_qpv_spanning_two_communes_says_nothing_of_each_nor_do_disagreeing_rows():
    frame, referential = twelve_qpv_in_one_commune()
    spanning = pd.concat([referential.qpv_links,
                          pd.DataFrame({"qpv_code": ["QP079001"], "commune_code": ["79049"],
                                        "epci_code": ["200040244"], "geography": [2015]})], ignore_index=True)
    attributed = attribute_commune_context(frame, Referential(referential.territories, spanning))
    commune = attributed[attributed["territory_level"] == "commune"]
    assert commune["territory_code"].tolist() == ["79191"] and commune["source_row"].tolist() == [4]
    # Rows of one commune that disagree (a QPV whose other commune the referential does not know): no figure.
    frame.loc[frame.index[4], "value"] = 61000.0
    assert attribute_commune_context(frame, referential).equals(frame)


def test_a_commune_figure_from_the_communes_own_file_comes_first():
    frame, referential = twelve_qpv_in_one_commune()
    own = observations([("population", "79191", "commune", 59854.0)], source_file="data/raw/2020/pop.csv")
    attributed = attribute_commune_context(pd.concat([frame, own], ignore_index=True), referential)
    commune = attributed[attributed["territory_level"] == "commune"]
    assert commune[["value", "source_file"]].values.tolist() == [[59854.0, "data/raw/2020/pop.csv"]]


def test_communes_the_cog_no_longer_has_are_listed_not_blocking():
    # 01015 (Arbignieu) merged into Arboys en Bugey in 2016: a Filosofi file of an earlier year still has it.
    cog = Referential(REFERENTIAL.territories, REFERENTIAL.qpv_links, REFERENTIAL.commune_epci,
                      complete_levels=frozenset({"commune"}))
    frame = pd.concat([NATIONAL_FILE, observations([("population", "01015", "commune", 120.0)])], ignore_index=True)
    for perimeter in (Perimeter(france=True), Perimeter(epci=("200041317",))):
        kept, left_out = within_perimeter(frame, perimeter, cog)
        assert "01015" not in set(kept["territory_code"])
        gone = left_out[left_out["reason"] == "no_longer_exists"]
        assert gone["codes"].tolist() == [["01015", "13055"]]  # 13055 is not in this small COG either
    summary = left_out_summary_fr(left_out)["data/raw/2020/t.csv"]
    assert summary.endswith("communes absentes du COG du référentiel (fusionnées depuis ?) : 2 (01015, 13055)")
    kept, _ = within_perimeter(frame, Perimeter(france=True), cog)
    assert len(kept) == len(frame) - 2
    # Without a COG in the referential, an unknown commune is not taken for a merged one.
    kept, _ = within_perimeter(frame, Perimeter(france=True), REFERENTIAL)
    assert len(kept) == len(frame)
