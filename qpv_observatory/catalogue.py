"""The indicator catalogue: a data file (data/catalogue/), not code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import LINE_COLUMN, read_delimited

INDICATOR_COLUMNS = ("indicator_id", "label_fr", "unit", "theme", "source", "polarity", "aggregation", "definition")
POLARITIES = ("higher_is_worse", "higher_is_better", "neutral")
AGGREGATIONS = ("sum", "ratio_of_sums", "weighted_mean", "not_aggregable")
VARIABLES_FILE = "source_variables.csv"
PROJECT_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "catalogue"
VARIABLE_COLUMNS = ("source", "vintage", "variable", "indicator_id")
# Optional column of source_variables.csv: what the variable gives for its indicator. Counts
# (numerator, denominator) let rates be aggregated as a ratio of sums; default "value".
VALUE_ROLE, NUMERATOR_ROLE, DENOMINATOR_ROLE = "value", "numerator", "denominator"
# Optional columns of source_variables.csv. An empty vintage: the row holds for every millésime.
# table: the published table the variable is a column of, when one file mixes sources (INSEE's QPV
# tables: census and Cnaf in « Démographie »); the insee_qpv reader reads the sources from it.
OPTIONAL_VARIABLE_COLUMNS = ("role", "table")
VARIABLE_ROLES = (VALUE_ROLE, NUMERATOR_ROLE, DENOMINATOR_ROLE)
SOURCE_COLUMNS = ("source", "producer", "label_fr")
ZERO_NOT_AVAILABLE_COLUMNS = ("source", "vintage", "variable", "reason")
ZERO_NOT_AVAILABLE_FILE = "zero_not_available.csv"
# Method breaks: from first_year on, the source's figures (or one indicator's, when indicator_id is
# given) are not comparable with earlier ones; label_fr says why.
METHOD_BREAK_COLUMNS = ("source", "first_year", "indicator_id", "label_fr")
METHOD_BREAKS_FILE = "method_breaks.csv"
# Files whose every row applies to one millésime (column vintage): a millésime reads only its own rows.
MILLESIME_ROW_FILES = {VARIABLES_FILE: VARIABLE_COLUMNS, ZERO_NOT_AVAILABLE_FILE: ZERO_NOT_AVAILABLE_COLUMNS}


@dataclass
class Catalogue:
    indicators: pd.DataFrame
    variables: pd.DataFrame  # source, vintage, variable, indicator_id, role
    sources: pd.DataFrame
    # source, vintage, variable: counts whose published zero means "not available"
    zero_not_available: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ZERO_NOT_AVAILABLE_COLUMNS)))
    # source, first_year, indicator_id (empty: every indicator of the source), label_fr
    method_breaks: pd.DataFrame = field(default_factory=lambda: empty_method_breaks())

    def zero_not_available_for(self, source: str, vintage: int) -> frozenset[str]:
        rows = self.zero_not_available
        rows = rows[(rows["source"] == source) & (rows["vintage"].isna() | (rows["vintage"] == vintage))]
        return frozenset(rows["variable"])

    def _rows_for(self, source: str, vintage: int) -> pd.DataFrame:
        """The source's own files' variables (not those of the tables that mix sources)."""
        variables = self.variables
        return of_millesime(variables[(variables["source"] == source) & (variables["table"] == "")], vintage)

    def variables_for(self, source: str, vintage: int) -> dict[str, str]:
        """File column -> indicator id, for the columns that carry the published value."""
        rows = self._rows_for(source, vintage)
        rows = rows[rows["role"] == VALUE_ROLE]
        return dict(zip(rows["variable"], rows["indicator_id"]))

    def count_variables_for(self, source: str, vintage: int) -> dict[str, tuple[str, str]]:
        """File column -> (indicator id, numerator or denominator)."""
        rows = self._rows_for(source, vintage)
        rows = rows[rows["role"] != VALUE_ROLE]
        return {v: (i, r) for v, i, r in zip(rows["variable"], rows["indicator_id"], rows["role"])}

    def table_rows(self, table: str, vintage: int) -> pd.DataFrame:
        """The variables of one published table (a file mixing sources, e.g. INSEE's QPV table
        « Démographie »), each with its source, for one millésime."""
        return of_millesime(self.variables[self.variables["table"] == table], vintage)

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(sorted(t for t in self.variables["table"].unique() if t))


def of_millesime(rows: pd.DataFrame, vintage: int) -> pd.DataFrame:
    """The rows that apply to one millésime: its own, and the rows without a millésime (every
    millésime) for the variables it does not name (a per-millésime row is only needed where INSEE
    renamed a variable)."""
    own = rows[rows["vintage"] == vintage]
    named = set(zip(own["source"], own["variable"]))
    default = rows[rows["vintage"].isna()]
    default = default[[pair not in named for pair in zip(default["source"], default["variable"])]]
    return pd.concat([own, default]) if len(default) else own


def empty_method_breaks() -> pd.DataFrame:
    return pd.DataFrame({"source": pd.Series(dtype="str"), "first_year": pd.Series(dtype="int64"),
                         "indicator_id": pd.Series(dtype="str"), "label_fr": pd.Series(dtype="str")})


def _load_method_breaks(catalogue_dir: Path, sources: set[str], indicators: set[str]) -> pd.DataFrame:
    display = catalogue_display(catalogue_dir, METHOD_BREAKS_FILE)
    frame = read_delimited(catalogue_dir / METHOD_BREAKS_FILE, display, METHOD_BREAK_COLUMNS)
    _check_allowed(frame, "source", sources, display)
    for indicator, line in zip(frame["indicator_id"], frame["source_row"]):
        if indicator.strip() and indicator.strip() not in indicators:
            raise SourceFileError(display, f"indicateur {indicator!r} absent de indicators.csv", line=int(line),
                                  column="indicator_id")
    for year, line in zip(frame["first_year"], frame["source_row"]):
        if not (year.strip().isdigit() and len(year.strip()) == 4):
            raise SourceFileError(display, f"{year!r} n'est pas une année", line=int(line), column="first_year")
    breaks = pd.DataFrame({"source": frame["source"].str.strip(), "first_year": frame["first_year"].astype("int64"),
                           "indicator_id": frame["indicator_id"].str.strip().replace("", None),
                           "label_fr": frame["label_fr"].str.strip()})
    return breaks.astype(empty_method_breaks().dtypes.to_dict()).reset_index(drop=True)


def _check_allowed(frame: pd.DataFrame, column: str, allowed: tuple[str, ...] | set[str], display_name: str) -> None:
    for value, line in zip(frame[column], frame["source_row"]):
        if value not in allowed:
            raise SourceFileError(display_name, f"{value!r} n'est pas une valeur admise ({', '.join(sorted(allowed))})",
                                  line=int(line), column=column)


def catalogue_display(catalogue_dir: Path, name: str) -> str:
    """How a catalogue file is named in messages: data/catalogue/<name> for the project's own, else the
    path of the folder given (--catalogue-dir)."""
    if catalogue_dir.resolve() == PROJECT_CATALOGUE.resolve():
        return f"data/catalogue/{name}"
    return str(catalogue_dir / name)


def _optional_years(frame: pd.DataFrame, column: str, display_name: str) -> pd.Series:
    """A column of four-digit years where an empty cell means "every millésime" (NA)."""
    texts = frame[column].str.strip()
    for text, line in zip(texts, frame["source_row"]):
        if text and not (text.isdigit() and len(text) == 4):
            raise SourceFileError(display_name, f"{text!r} n'est pas une année (laisser vide pour tous les millésimes)",
                                  line=int(line), column=column)
    return pd.array([int(t) if t else None for t in texts], dtype="Int64")


def _check_tables(variables: pd.DataFrame, display: str) -> None:
    """Within a published table, a column name means one thing: one source and indicator per millésime."""
    rows = variables[variables["table"] != ""]
    clash = rows[rows.duplicated(["table", "vintage", "variable"], keep="first")]
    if len(clash):
        row = clash.iloc[0]
        raise SourceFileError(display, f"variable {row.variable} définie deux fois pour "
                              f"la table {row.table}", line=int(row.source_row), column="variable")


def millesime_rows(path: Path, vintage: int) -> list[list[str]] | None:
    """The header and the rows of one millésime in a file of MILLESIME_ROW_FILES, without line numbers
    (rows added for another millésime move the lines, not what this one reads). None when the file
    cannot be read: ``load_catalogue`` then says what is wrong with it."""
    try:
        frame = read_delimited(path, catalogue_display(path.parent, path.name), MILLESIME_ROW_FILES[path.name],
                               short_rows=True)
    except SourceFileError:
        return None
    frame = frame.drop(columns=LINE_COLUMN)
    own = frame[frame["vintage"].str.strip().isin((str(vintage), ""))]
    return [list(frame.columns), *own.to_numpy().tolist()]


def load_catalogue(catalogue_dir: Path) -> Catalogue:
    def shown(name: str) -> str:
        return catalogue_display(catalogue_dir, name)

    def read(name: str, columns: tuple[str, ...]) -> pd.DataFrame:
        # Optional trailing columns may be left out of a row (empty).
        return read_delimited(catalogue_dir / name, shown(name), columns, short_rows=True)

    sources = read("sources.csv", SOURCE_COLUMNS)
    indicators = read("indicators.csv", INDICATOR_COLUMNS)
    variables = read(VARIABLES_FILE, VARIABLE_COLUMNS)
    for column in OPTIONAL_VARIABLE_COLUMNS:
        if column not in variables.columns:
            variables[column] = ""
    variables["role"] = variables["role"].str.strip().replace("", VALUE_ROLE)
    variables["table"] = variables["table"].str.strip()
    variables["vintage"] = _optional_years(variables, "vintage", shown(VARIABLES_FILE))
    _check_allowed(variables, "role", VARIABLE_ROLES, shown(VARIABLES_FILE))
    _check_allowed(indicators, "polarity", POLARITIES, shown("indicators.csv"))
    _check_allowed(indicators, "aggregation", AGGREGATIONS, shown("indicators.csv"))
    _check_allowed(indicators, "source", set(sources["source"]), shown("indicators.csv"))
    _check_allowed(variables, "indicator_id", set(indicators["indicator_id"]), shown(VARIABLES_FILE))
    _check_allowed(variables, "source", set(sources["source"]), shown(VARIABLES_FILE))
    duplicated = variables[variables.duplicated(["source", "vintage", "variable", "table"], keep="first")]
    if len(duplicated):
        row = duplicated.iloc[0]
        raise SourceFileError(shown(VARIABLES_FILE), f"variable {row.variable} déjà définie pour "
                              f"{row.source} {row.vintage}", line=int(row.source_row))
    _check_tables(variables, shown(VARIABLES_FILE))
    zero_not_available = read(ZERO_NOT_AVAILABLE_FILE, ZERO_NOT_AVAILABLE_COLUMNS)
    zero_not_available["vintage"] = _optional_years(zero_not_available, "vintage",
                                                    shown(ZERO_NOT_AVAILABLE_FILE))
    known = set(zip(variables["source"], variables["variable"]))
    for row in zero_not_available.itertuples():
        if (row.source, row.variable) not in known:
            raise SourceFileError(shown(ZERO_NOT_AVAILABLE_FILE), f"variable {row.variable} absente de "
                                  f"source_variables.csv pour {row.source}", line=int(row.source_row))
    return Catalogue(
        indicators=indicators.drop(columns="source_row").reset_index(drop=True),
        variables=variables.drop(columns="source_row").reset_index(drop=True),
        sources=sources.drop(columns="source_row").reset_index(drop=True),
        zero_not_available=zero_not_available.drop(columns="source_row").reset_index(drop=True),
        method_breaks=_load_method_breaks(catalogue_dir, set(sources["source"]), set(indicators["indicator_id"])),
    )
