import pytest

from qpv_observatory.formatting import format_gap, format_fr, format_with_unit
from qpv_observatory.territories import COMMUNE, EPCI, QPV, is_valid_code, normalise_code, qpv_geography
from qpv_observatory.values import MISSING, NOT_APPLICABLE, NOT_AVAILABLE, NOT_SIGNIFICANT, OK, SECRET, ValueParseError, parse_value


@pytest.mark.parametrize("raw, value", [("45,3", 45.3), ("12.5", 12.5), ("11795", 11795.0), ("1 320", 1320.0),
                                        ("1\u202f320,5", 1320.5), ("0", 0.0), (" 6,7 ", 6.7), (3, 3.0)])
def test_numbers_with_decimal_comma_and_thousands(raw, value):
    parsed = parse_value(raw)
    assert parsed.value == value and parsed.status == OK and parsed.marker is None


@pytest.mark.parametrize("raw, status", [("s", SECRET), ("S", SECRET), ("nd", NOT_AVAILABLE), ("ND", NOT_AVAILABLE),
                                         ("ns", NOT_SIGNIFICANT), ("so", NOT_APPLICABLE), ("", MISSING),
                                         ("  ", MISSING), (None, MISSING)])
def test_secrecy_markers_become_a_status_never_a_number(raw, status):
    parsed = parse_value(raw)
    assert parsed.value is None and parsed.status == status


@pytest.mark.parametrize("raw", ["abc", "12,5,3", "1.234,5", "nan%", "inf"])
def test_anything_else_is_refused(raw):
    with pytest.raises(ValueParseError):
        parse_value(raw)


@pytest.mark.parametrize("code, geography", [("QP079001", 2015), ("QP02A001", 2015), ("QP972001", 2015),
                                             ("QN07902I", 2024), ("QN07901M", 2024), ("QN02B01N", 2024),
                                             ("QP79001", None), ("QN07902X", None), ("QN0790I", None), ("79191", None)])
def test_qpv_geographies(code, geography):
    assert qpv_geography(code) == geography


def test_commune_and_epci_codes_stay_strings():
    assert is_valid_code("79191", COMMUNE) and is_valid_code("2A004", COMMUNE) and is_valid_code("01053", COMMUNE)
    assert not is_valid_code("1053", COMMUNE)
    assert is_valid_code("200041317", EPCI) and not is_valid_code("20004131", EPCI)
    assert is_valid_code("QP079001", QPV) and not is_valid_code("79191", QPV)
    assert normalise_code(" 79191 ") == "79191" and normalise_code("qp079001") == "QP079001"


def test_french_number_formatting():
    assert format_fr(45.3) == "45,3"
    assert format_fr(11795, 0) == "11\u202f795"
    assert format_with_unit(6.7, "%") == "6,7\u202f%"
    assert format_with_unit(21347, "€") == "21\u202f347\u202f€"
    # A value that rounds to zero reads 0, never -0,0 (a published "-0", a gap of -0.04 point).
    assert format_fr(-0.0) == format_fr(-0.04) == "0,0" and format_with_unit(-0.0, "%") == "0,0\u202f%"
    assert format_fr(-0.06) == "-0,1" and format_fr(2.25) == "2,2"  # rounding unchanged (half to even)
    assert format_gap(-0.04, "points") == "0,0\u202fpt" and format_gap(-0.06, "points") == "\u22120,1\u202fpt"
    assert format_gap(12.34, "points") == "+12,3\u202fpts" and format_gap(-0.4, "€") == "0\u202f€"
