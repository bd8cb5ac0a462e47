"""Gap computation on hand-made observations, with hand-computed expectations."""

import pandas as pd
import pytest

from qpv_observatory.gaps import GAP_COLUMNS, compute_gaps, gap_portrait
from qpv_observatory.observations import conform
from qpv_observatory.readers.referential import Referential

INDICATORS = pd.DataFrame({"indicator_id": ["chomage", "emploi", "jeunes"], "unit": ["%", "%", "%"],
                           "polarity": ["higher_is_worse", "higher_is_better", "neutral"]})
REFERENTIAL = Referential(
    territories=pd.DataFrame({"territory_code": ["QP030002", "30007", "30189", "200066918"],
                              "territory_level": ["qpv", "commune", "commune", "epci"],
                              "name": ["Prés Saint-Jean", "Alès", "Saint-Christol", "Alès Agglo"]}),
    qpv_links=pd.DataFrame({"qpv_code": ["QP030002", "QP030002"], "commune_code": ["30007", "30189"],
                            "epci_code": ["200066918", "200066918"], "geography": [2015, 2015]}),
)


def obs(rows):
    frame = pd.DataFrame(rows, columns=["indicator_id", "territory_code", "territory_level", "value", "status"])
    return conform(frame.assign(year=2020, marker=None, source="s", source_label="S 2020", vintage=2020,
                                source_file="f.csv", source_row=range(2, 2 + len(frame))))


def test_gap_ratio_and_situation_per_polarity():
    observations = obs([
        ("chomage", "QP030002", "qpv", 30.0, "ok"), ("chomage", "30007", "commune", 12.0, "ok"),
        ("chomage", "30189", "commune", 0.0, "ok"), ("chomage", "200066918", "epci", 10.0, "ok"),
        ("emploi", "QP030002", "qpv", 40.0, "ok"), ("emploi", "30007", "commune", 60.0, "ok"),
        ("jeunes", "QP030002", "qpv", 20.0, "ok"), ("jeunes", "30007", "commune", 15.0, "ok"),
    ])
    gaps = compute_gaps(observations, REFERENTIAL, INDICATORS).set_index(["indicator_id", "comparison_code"])
    ales = gaps.loc[("chomage", "30007")]
    assert ales["gap"] == 18.0 and ales["ratio"] == 2.5 and ales["gap_unit"] == "points"
    assert ales["qpv_situation"] == "unfavourable" and ales["comparison_name"] == "Alès"
    zero = gaps.loc[("chomage", "30189")]  # a comparison value of 0 has a gap but no ratio
    assert zero["gap"] == 30.0 and pd.isna(zero["ratio"])
    assert gaps.loc[("chomage", "200066918"), "ratio"] == 3.0
    assert gaps.loc[("emploi", "30007"), "qpv_situation"] == "unfavourable"  # less employment is worse
    assert gaps.loc[("emploi", "30007"), "gap"] == -20.0
    assert gaps.loc[("jeunes", "30007"), "qpv_situation"] == "neutral"
    # A QPV spanning two communes is compared with each of them.
    assert set(gaps.loc["emploi"].index) == {"30007", "30189", "200066918"}
    absent = gaps.loc[("emploi", "30189")]
    assert absent["comparison_status"] == "absent" and pd.isna(absent["gap"])


@pytest.mark.parametrize("qpv_status, commune_status", [("secret", "ok"), ("ok", "not_available"), ("missing", "ok")])
def test_no_gap_from_a_cell_that_is_not_a_number(qpv_status, commune_status):
    observations = obs([
        ("chomage", "QP030002", "qpv", 30.0 if qpv_status == "ok" else None, qpv_status),
        ("chomage", "30007", "commune", 12.0 if commune_status == "ok" else None, commune_status),
    ])
    row = compute_gaps(observations, REFERENTIAL, INDICATORS).query("comparison_code == '30007'").iloc[0]
    assert pd.isna(row["gap"]) and pd.isna(row["ratio"]) and pd.isna(row["qpv_situation"])
    assert (row["qpv_status"], row["comparison_status"]) == (qpv_status, commune_status)


def test_portrait_puts_levels_side_by_side():
    observations = obs([("chomage", "QP030002", "qpv", 30.0, "ok"), ("chomage", "30007", "commune", 12.0, "ok"),
                        ("chomage", "200066918", "epci", 10.0, "ok")])
    portrait = gap_portrait(compute_gaps(observations, REFERENTIAL, INDICATORS))
    assert len(portrait) == 1
    row = portrait.iloc[0]
    assert (row["commune_code"], row["commune_value"], row["commune_gap"]) == ("30007", 12.0, 18.0)
    assert (row["epci_code"], row["epci_value"], row["epci_ratio"]) == ("200066918", 10.0, 3.0)


def test_rows_sorted_whatever_the_input_order_and_float_noise_rounded():
    observations = obs([
        ("jeunes", "30007", "commune", 48.8, "ok"), ("jeunes", "QP030002", "qpv", 58.8, "ok"),
        ("chomage", "200066918", "epci", 30.0, "ok"), ("chomage", "30189", "commune", 9.0, "ok"),
        ("chomage", "QP030002", "qpv", 10.0, "ok"), ("chomage", "30007", "commune", 12.0, "ok"),
    ])
    gaps = compute_gaps(observations, REFERENTIAL, INDICATORS)
    assert list(zip(gaps["indicator_id"], gaps["comparison_level"], gaps["comparison_code"])) == [
        ("chomage", "commune", "30007"), ("chomage", "commune", "30189"), ("chomage", "epci", "200066918"),
        ("jeunes", "commune", "30007"), ("jeunes", "commune", "30189"), ("jeunes", "epci", "200066918"),
    ]
    assert gaps.loc[3, "gap"] == 10.0  # 58.8 - 48.8 without float noise
    assert gaps.loc[2, "ratio"] == 0.333333 and gaps.loc[2, "qpv_situation"] == "favourable"
    assert gaps.loc[4, "comparison_status"] == "absent" and gaps.loc[4, "comparison_name"] == "Saint-Christol"
    assert (gaps["qpv_name"] == "Prés Saint-Jean").all()


def test_typed_columns_even_without_any_qpv_figure():
    gaps = compute_gaps(obs([("chomage", "30007", "commune", 12.0, "ok")]), REFERENTIAL, INDICATORS)
    assert gaps.empty and list(gaps.columns) == GAP_COLUMNS
    assert gaps["qpv_name"].dtype == "str" and gaps["comparison_name"].dtype == "str"
    assert gaps["gap"].dtype == "Float64" and gaps["year"].dtype == "int64"
    portrait = gap_portrait(gaps)
    assert portrait.empty and portrait["commune_code"].dtype == "str" and portrait["epci_gap"].dtype == "Float64"


def test_portrait_keeps_the_first_commune_in_code_order_and_one_row_per_figure():
    # The referential lists Saint-Christol (30189) before Alès (30007): the portrait still shows Alès.
    links = REFERENTIAL.qpv_links.iloc[::-1].reset_index(drop=True)
    observations = obs([("chomage", "QP030002", "qpv", 30.0, "ok"), ("chomage", "30189", "commune", 20.0, "ok"),
                        ("chomage", "30007", "commune", 12.0, "ok"), ("emploi", "QP030002", "qpv", 40.0, "ok")])
    portrait = gap_portrait(compute_gaps(observations, Referential(REFERENTIAL.territories, links), INDICATORS))
    assert list(portrait["indicator_id"]) == ["chomage", "emploi"]
    chomage, emploi = portrait.iloc[0], portrait.iloc[1]
    assert (chomage["commune_code"], chomage["commune_gap"]) == ("30007", 18.0)
    assert chomage["epci_status"] == "absent" and pd.isna(chomage["epci_value"])
    assert pd.isna(chomage["france_code"]) and pd.isna(chomage["qpv_contrat_reason"])  # levels without any figure
    assert (emploi["commune_code"], emploi["commune_status"]) == ("30007", "absent")
