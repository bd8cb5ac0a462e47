"""The SQL aggregation (qpv_observatory/sql/) gives exactly the tables of the territory-by-territory
reference (tests/aggregation_reference.py): same rows, order, dtypes, statuses, reasons and values to
the bit, on random observations that mix every case the secrecy rules distinguish."""

import numpy as np
import pandas as pd
import pytest

from qpv_observatory import aggregation
from qpv_observatory.observations import conform, empty_observations, sort_observations
from qpv_observatory.readers.referential import Referential
from tests import aggregation_reference as reference

INDICATORS = pd.DataFrame({
    "indicator_id": ["taux", "taux_sans_effectifs", "population", "revenu_median", "age_moyen", "indice"],
    "unit": ["%", "%", "habitants", "€", "ans", "indice"],
    "aggregation": ["ratio_of_sums", "ratio_of_sums", "sum", "not_aggregable", "weighted_mean", "ratio_of_sums"],
})
# QPV -> communes, commune -> EPCI, per geography: spanning QPV, a commune outside any EPCI, EPCI of
# several communes, a 2024 QPV sharing a commune with 2015 ones.
LINKS = [
    (2015, "QP034001", "34172"), (2015, "QP034002", "34172"), (2015, "QP034003", "34172"), (2015, "QP034003", "34129"),
    (2015, "QP034004", "34129"), (2015, "QP034005", "34057"), (2015, "QP034006", "34057"), (2015, "QP034007", "34301"),
    (2015, "QP02A001", "2A004"), (2015, "QP02A002", "2A004"), (2015, "QP029001", "29155"),
    (2024, "QN03401I", "34172"), (2024, "QN03402M", "34172"), (2024, "QN03403N", "34129"), (2024, "QN03403N", "34057"),
    (2024, "QN03404I", "34301"), (2024, "QN02A01I", "2A004"),
]
EPCI_OF = {"34172": "243400017", "34129": "243400017", "34057": "243400017", "34301": "200066355",
           "2A004": "200006682", "29155": None}
NAMES = {"243400017": "Montpellier Méditerranée Métropole", "200066355": "CA Hérault-Méditerranée",
         "200006682": "CA du Pays Ajaccien", "34172": "Montpellier", "34129": "Lattes", "34057": "Castelnau-le-Lez",
         "34301": "Sète", "2A004": "Ajaccio", "29155": "Ouessant"}
REFERENTIAL = Referential(
    territories=pd.DataFrame(
        [(q, "qpv", f"Quartier {q[-3:]}") for q in sorted({q for _, q, _ in LINKS})]
        + [(c, "commune", NAMES[c]) for c in EPCI_OF]
        + [(e, "epci", NAMES[e]) for e in sorted({e for e in EPCI_OF.values() if e})],  # 29155's EPCI: no name
        columns=["territory_code", "territory_level", "name"]),
    qpv_links=pd.DataFrame([(q, c, EPCI_OF[c], g) for g, q, c in LINKS],
                           columns=["qpv_code", "commune_code", "epci_code", "geography"]),
)
STATUSES = ["ok"] * 14 + ["secret", "secret", "not_available", "not_significant", "missing"]


def random_observations(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    territories = ([(q, "qpv") for q in sorted({q for _, q, _ in LINKS})] + [("QPVFR", "qpv")]
                   + [(c, "commune") for c in EPCI_OF] + [(e, "epci") for e in sorted({e for e in EPCI_OF.values() if e})])
    rows = []
    for indicator in INDICATORS["indicator_id"]:
        for year in (2019, 2020):
            for source in ("s_main", "s_other"):
                for code, level in territories:
                    # s_other publishes mostly communes and EPCI: the fallback for a missing territory figure.
                    if rng.random() < (0.12 if source == "s_main" else (0.9 if level == "qpv" else 0.5)):
                        continue
                    status = STATUSES[rng.integers(len(STATUSES))]
                    big = level != "qpv"
                    denominator = float(np.round(rng.uniform(50, 400) * (30 if big else 1), rng.integers(0, 3)))
                    numerator = float(np.round(denominator * rng.uniform(0.05, 0.6), rng.integers(0, 4)))
                    value = 100 * numerator / denominator if indicator != "population" else denominator
                    if indicator == "age_moyen":
                        value, numerator = float(rng.uniform(25, 50)), None
                    if indicator == "taux_sans_effectifs" or (indicator == "taux" and rng.random() < 0.05):
                        numerator, denominator = None, None
                    if big and rng.random() < 0.04:  # a territory smaller than its QPV: incoherent
                        value, numerator, denominator = (None if x is None else x / 40 for x in (value, numerator, denominator))
                    if status != "ok":
                        value = numerator = denominator = None
                    rows.append((indicator, code, level, year, source, f"Source {source} {year}", value, status,
                                 numerator, denominator))
    frame = pd.DataFrame(rows, columns=["indicator_id", "territory_code", "territory_level", "year", "source",
                                        "source_label", "value", "status", "numerator", "denominator"])
    frame = frame.assign(marker=None, vintage=2020, source_file="f.csv", source_row=np.arange(2, 2 + len(frame)))
    return sort_observations(conform(frame))


@pytest.mark.parametrize("seed", range(3))
def test_sql_aggregation_equals_the_reference_exactly(seed):
    observations = random_observations(seed)
    for function in ("derive_comparison_territories", "qpv_shares"):
        expected = getattr(reference, function)(observations, REFERENTIAL, INDICATORS)
        got = getattr(aggregation, function)(observations, REFERENTIAL, INDICATORS)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        # The pipeline loads only AGGREGATION_INPUT_COLUMNS of the observations: same table.
        lean = observations[list(aggregation.AGGREGATION_INPUT_COLUMNS)]
        pd.testing.assert_frame_equal(getattr(aggregation, function)(lean, REFERENTIAL, INDICATORS), expected,
                                      check_exact=True)


def test_the_random_observations_reach_every_status():
    derived = pd.concat([aggregation.derive_comparison_territories(random_observations(s), REFERENTIAL, INDICATORS)
                         for s in range(3)])
    assert set(derived["status"]) == {"ok", "secret", "not_computable", "not_aggregable", "absent"}
    reasons = " ".join(derived["reason"].dropna())
    for part in ("par différence", "aucune valeur pour", "non significatif", "ne se moyenne pas", "incohérence",
                 "plusieurs communes", "absente des sources"):
        assert part in reasons
    assert derived["source_label"].str.contains(" ; Source s_other").any()  # figure from another source


ONLY_2024_LINKS = Referential(REFERENTIAL.territories, REFERENTIAL.qpv_links.query("geography == 2024"))
NO_EPCI = Referential(REFERENTIAL.territories, REFERENTIAL.qpv_links.assign(epci_code=None))


@pytest.mark.parametrize(("observations", "referential"), [
    (empty_observations(), REFERENTIAL),
    (random_observations(0).query("indicator_id == 'revenu_median'"), REFERENTIAL),
    (random_observations(0)[lambda o: ~o["territory_code"].str.startswith("QN")], ONLY_2024_LINKS),
    (random_observations(0), NO_EPCI),
], ids=["no observations", "no count indicator", "no QPV of the observations in the referential", "no EPCI"])
def test_empty_levels_keep_the_reference_rows_and_typed_columns(observations, referential):
    for function in ("derive_comparison_territories", "qpv_shares"):
        got = getattr(aggregation, function)(observations, referential, INDICATORS)
        expected = getattr(reference, function)(observations, referential, INDICATORS)
        # Texts are str and numbers Float64 even with no row (the reference leaves an empty table untyped).
        assert {str(t) for c, t in got.dtypes.items() if c != "year"} <= {"str", "Float64"}
        pd.testing.assert_frame_equal(got, expected.astype(got.dtypes) if expected.empty else expected,
                                      check_exact=True)
