"""Derived comparison territories on hand-made observations, with hand-computed expectations."""

import pandas as pd
import pytest

from qpv_observatory.aggregation import derive_comparison_territories, qpv_shares
from qpv_observatory.observations import conform
from qpv_observatory.readers.referential import Referential

INDICATORS = pd.DataFrame({
    "indicator_id": ["pauvrete", "population", "revenu_median", "chomage_sans_effectifs", "age_moyen"],
    "unit": ["%", "habitants", "€", "%", "ans"],
    "polarity": ["higher_is_worse", "neutral", "higher_is_better", "higher_is_worse", "neutral"],
    "aggregation": ["ratio_of_sums", "sum", "not_aggregable", "ratio_of_sums", "weighted_mean"],
})
# Two QPV in one commune, a third in another commune of the same EPCI.
REFERENTIAL = Referential(
    territories=pd.DataFrame({"territory_code": ["QP034001", "QP034002", "QP034003", "34172", "34129", "243400017"],
                              "territory_level": ["qpv", "qpv", "qpv", "commune", "commune", "epci"],
                              "name": ["Nord", "Sud", "Est", "Montpellier", "Lattes", "Montpellier Méditerranée Métropole"]}),
    qpv_links=pd.DataFrame({"qpv_code": ["QP034001", "QP034002", "QP034003"],
                            "commune_code": ["34172", "34172", "34129"],
                            "epci_code": ["243400017"] * 3, "geography": [2015] * 3}),
)
LEVEL = {"QP034001": "qpv", "QP034002": "qpv", "QP034003": "qpv", "34172": "commune", "34129": "commune",
         "243400017": "epci"}


def obs(rows):
    """rows: (indicator, territory, value, status, numerator, denominator)."""
    frame = pd.DataFrame(rows, columns=["indicator_id", "territory_code", "value", "status", "numerator", "denominator"])
    return conform(frame.assign(territory_level=frame["territory_code"].map(LEVEL), year=2019, marker=None,
                                source="s", source_label="S 2019", vintage=2019, source_file="f.csv",
                                source_row=range(2, 2 + len(frame))))


def derived(observations):
    return derive_comparison_territories(observations, REFERENTIAL, INDICATORS).set_index(
        ["indicator_id", "territory_code"])


POVERTY = [
    # 40 % of 1 000 and 10 % of 3 000: ratio of sums 700 / 4 000 = 17.5 %, mean of rates 25 %.
    ("pauvrete", "QP034001", 40.0, "ok", 400.0, 1000.0),
    ("pauvrete", "QP034002", 10.0, "ok", 300.0, 3000.0),
    ("pauvrete", "QP034003", 20.0, "ok", 100.0, 500.0),
    ("pauvrete", "34172", 15.0, "ok", 3000.0, 20000.0),
    ("pauvrete", "34129", 12.0, "ok", 600.0, 5000.0),
    ("pauvrete", "243400017", 14.0, "ok", 4200.0, 30000.0),
]


def test_ensemble_des_qpv_is_a_ratio_of_sums_not_a_mean_of_rates():
    rows = derived(obs(POVERTY))
    contract = rows.loc[("pauvrete", "243400017-QPV")]
    # (400 + 300 + 100) / (1000 + 3000 + 500) = 800 / 4500
    assert contract["value"] == pytest.approx(100 * 800 / 4500)
    assert contract["value"] != pytest.approx((40 + 10 + 20) / 3)
    assert (contract["numerator"], contract["denominator"], contract["status"]) == (800.0, 4500.0, "ok")
    assert contract["territory_level"] == "qpv_contrat" and contract["qpv_codes"] == "QP034001,QP034002,QP034003"


def test_commune_and_epci_outside_their_qpv_subtract_counts():
    rows = derived(obs(POVERTY))
    montpellier = rows.loc[("pauvrete", "34172-HORS-QPV")]
    # (3000 - 400 - 300) / (20000 - 1000 - 3000) = 2300 / 16000 = 14.375 %
    assert montpellier["value"] == pytest.approx(14.375)
    assert montpellier["territory_name"] == "Montpellier hors QPV" and montpellier["parent_code"] == "34172"
    epci = rows.loc[("pauvrete", "243400017-HORS-QPV")]
    assert epci["value"] == pytest.approx(100 * (4200 - 800) / (30000 - 4500))


def test_a_secret_qpv_cell_blocks_commune_hors_qpv_and_says_why():
    rows = list(POVERTY)
    rows[1] = ("pauvrete", "QP034002", None, "secret", None, None)
    out = derived(obs(rows))
    blocked = out.loc[("pauvrete", "34172-HORS-QPV")]
    assert blocked["status"] == "secret" and pd.isna(blocked["value"]) and pd.isna(blocked["numerator"])
    assert "QP034002" in blocked["reason"] and "secret statistique" in blocked["reason"]
    assert "par différence" in blocked["reason"]
    # Everything that would need the secret QPV is withheld; the other commune is not concerned.
    assert out.loc[("pauvrete", "243400017-QPV"), "status"] == "secret"
    assert out.loc[("pauvrete", "243400017-HORS-QPV"), "status"] == "secret"
    lattes = out.loc[("pauvrete", "34129-HORS-QPV")]
    assert lattes["status"] == "ok" and lattes["value"] == pytest.approx(100 * 500 / 4500)


def test_a_median_is_never_averaged():
    out = derived(obs([("revenu_median", "QP034001", 11000.0, "ok", None, None),
                       ("revenu_median", "QP034002", 13000.0, "ok", None, None),
                       ("revenu_median", "34172", 19000.0, "ok", None, None)]))
    medians = out.loc["revenu_median"]
    assert set(medians["status"]) == {"not_aggregable"} and medians["value"].isna().all()
    assert all("médiane" in reason for reason in medians["reason"])


def test_a_rate_without_counts_is_not_aggregated():
    out = derived(obs([("chomage_sans_effectifs", "QP034001", 30.0, "ok", None, None),
                       ("chomage_sans_effectifs", "QP034002", 20.0, "ok", None, None),
                       ("chomage_sans_effectifs", "QP034003", 25.0, "ok", None, None)]))
    contract = out.loc[("chomage_sans_effectifs", "243400017-QPV")]
    assert contract["status"] == "not_computable" and pd.isna(contract["value"])
    assert "ne se moyenne pas" in contract["reason"]


def test_weighted_mean_uses_the_denominator_as_weight():
    out = derived(obs([("age_moyen", "QP034001", 30.0, "ok", None, 1000.0),
                       ("age_moyen", "QP034002", 40.0, "ok", None, 3000.0),
                       ("age_moyen", "QP034003", 35.0, "ok", None, 500.0)]))
    # (30*1000 + 40*3000 + 35*500) / 4500
    assert out.loc[("age_moyen", "243400017-QPV"), "value"] == pytest.approx(167500 / 4500)


def test_counts_add_up_and_a_missing_territory_is_reported_absent():
    observations = obs([("population", "QP034001", 1000.0, "ok", None, None),
                        ("population", "QP034002", 3000.0, "ok", None, None),
                        ("population", "QP034003", 500.0, "ok", None, None),
                        ("population", "34172", 20000.0, "ok", None, None)])
    out = derived(observations)
    assert out.loc[("population", "243400017-QPV"), "value"] == 4500.0
    assert out.loc[("population", "34172-HORS-QPV"), "value"] == 16000.0
    absent = out.loc[("population", "243400017-HORS-QPV")]
    assert absent["status"] == "absent" and "absente des sources" in absent["reason"]
    shares = qpv_shares(observations, REFERENTIAL, INDICATORS).set_index("territory_code")
    assert shares.loc["34172", "share"] == pytest.approx(20.0) and shares.loc["34172", "qpv_total"] == 4000.0
    assert shares.loc["243400017", "status"] == "absent" and pd.isna(shares.loc["243400017", "share"])
    assert shares.loc["243400017", "qpv_total"] == 4500.0
    assert shares.loc["34129", "status"] == "absent"


def test_a_qpv_spanning_two_communes_blocks_commune_hors_qpv():
    referential = Referential(REFERENTIAL.territories, pd.concat([REFERENTIAL.qpv_links, pd.DataFrame(
        {"qpv_code": ["QP034001"], "commune_code": ["34129"], "epci_code": ["243400017"], "geography": [2015]})],
        ignore_index=True))
    out = derive_comparison_territories(obs(POVERTY), referential, INDICATORS).set_index(["indicator_id", "territory_code"])
    for commune in ("34172", "34129"):
        row = out.loc[("pauvrete", f"{commune}-HORS-QPV")]
        assert row["status"] == "not_computable" and "plusieurs communes" in row["reason"]
    assert out.loc[("pauvrete", "243400017-QPV"), "status"] == "ok"  # the EPCI perimeter is unaffected


def gaps_for(observations, referential=REFERENTIAL):
    from qpv_observatory.gaps import compute_gaps
    return compute_gaps(observations, referential, INDICATORS,
                        derive_comparison_territories(observations, referential, INDICATORS))


def test_gap_table_gains_the_derived_levels_with_gap_in_points_and_ratio():
    gaps = gaps_for(obs(POVERTY)).set_index(["qpv_code", "comparison_level"])
    nord = gaps.loc[("QP034001", "commune_hors_qpv")]
    # 40 % in the QPV against 14.375 % in Montpellier outside its QPV
    assert nord["comparison_code"] == "34172-HORS-QPV" and nord["comparison_name"] == "Montpellier hors QPV"
    assert nord["gap"] == pytest.approx(25.625) and nord["ratio"] == pytest.approx(40 / 14.375)
    assert nord["gap_unit"] == "points" and nord["qpv_situation"] == "unfavourable"
    contract = gaps.loc[("QP034002", "qpv_contrat")]
    assert contract["gap"] == pytest.approx(10 - 100 * 800 / 4500)
    assert contract["qpv_situation"] == "favourable"
    assert gaps.loc[("QP034003", "epci_hors_qpv"), "comparison_value"] == pytest.approx(100 * 3400 / 25500)
    # commune and EPCI keep their rows
    assert gaps.loc[("QP034001", "commune"), "gap"] == pytest.approx(25.0)


def test_gap_table_states_why_a_commune_hors_qpv_is_withheld():
    rows = list(POVERTY)
    rows[1] = ("pauvrete", "QP034002", None, "secret", None, None)
    gaps = gaps_for(obs(rows)).set_index(["qpv_code", "comparison_level"])
    nord = gaps.loc[("QP034001", "commune_hors_qpv")]
    assert nord["comparison_status"] == "secret" and pd.isna(nord["comparison_value"]) and pd.isna(nord["gap"])
    assert "QP034002" in nord["comparison_reason"]
    from qpv_observatory.gaps import gap_portrait
    portrait = gap_portrait(gaps.reset_index()).set_index("qpv_code")
    assert portrait.loc["QP034001", "commune_hors_qpv_status"] == "secret"
    assert "secret statistique" in portrait.loc["QP034001", "commune_hors_qpv_reason"]
    assert portrait.loc["QP034003", "commune_hors_qpv_status"] == "ok"


def test_levels_read_from_sources_are_compared_when_a_source_has_them():
    extra = obs([("pauvrete", "QPVFR", 43.0, "ok", None, None), ("pauvrete", "FRMETRO", 14.5, "ok", None, None),
                 ("pauvrete", "00759", 16.0, "ok", None, None)])
    extra["territory_level"] = ["qpv_france", "france_metro", "unite_urbaine"]
    observations = pd.concat([obs(POVERTY), extra], ignore_index=True)
    referential = Referential(REFERENTIAL.territories,
                              REFERENTIAL.qpv_links.assign(unite_urbaine_code=["00759", "00759", None]))
    gaps = gaps_for(observations, referential).set_index(["qpv_code", "comparison_level"])
    assert gaps.loc[("QP034001", "qpv_france"), "gap"] == pytest.approx(-3.0)
    assert gaps.loc[("QP034003", "france_metro"), "ratio"] == pytest.approx(20 / 14.5)
    assert gaps.loc[("QP034002", "unite_urbaine"), "gap"] == pytest.approx(-6.0)
    assert ("QP034003", "unite_urbaine") not in gaps.index  # no unité urbaine in the referential for this QPV


def test_gaps_from_the_columns_the_pipeline_loads_are_the_same():
    """The pipeline loads only GAP_INPUT_COLUMNS of the observations and DERIVED_INPUT_COLUMNS of the derived
    territories for the gaps (derived levels, unité urbaine, national level, a secret QPV figure): same table as
    from every column."""
    from qpv_observatory.gaps import DERIVED_INPUT_COLUMNS, GAP_INPUT_COLUMNS, compute_gaps
    rows = list(POVERTY)
    rows[1] = ("pauvrete", "QP034002", None, "secret", None, None)
    extra = obs([("pauvrete", "QPVFR", 43.0, "ok", None, None), ("pauvrete", "00759", 16.0, "ok", None, None)])
    extra["territory_level"] = ["qpv_france", "unite_urbaine"]
    observations = pd.concat([obs(rows), extra], ignore_index=True)
    referential = Referential(REFERENTIAL.territories,
                              REFERENTIAL.qpv_links.assign(unite_urbaine_code=["00759", "00759", None]))
    derived = derive_comparison_territories(observations, referential, INDICATORS)
    full = compute_gaps(observations, referential, INDICATORS, derived)
    lean = compute_gaps(observations[list(GAP_INPUT_COLUMNS)], referential, INDICATORS,
                        derived[list(DERIVED_INPUT_COLUMNS)])
    assert {"commune_hors_qpv", "qpv_contrat", "unite_urbaine", "qpv_france"} <= set(full["comparison_level"])
    pd.testing.assert_frame_equal(lean, full, check_exact=True)
