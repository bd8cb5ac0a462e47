"""Validation of sources and curated tables with great-expectations suites stored in expectations/.

The suites are JSON files an analyst can read and edit: each expectation carries a French
``description`` (the rule as a person reads it) and a ``severity``: ``critical`` rules block the
publication, ``warning`` rules are reported but let the run go on.

Some rules need facts from other tables (the referential, the catalogue, the previous vintage).
``prepare_observations`` adds them as plain columns beside each observation, so that the suites
only ever compare columns with each other or with a constant.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from qpv_observatory.catalogue import catalogue_display
from qpv_observatory.errors import SourceFileError
from qpv_observatory.readers.delimited import read_delimited
from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import QPV
from qpv_observatory.values import OK, ValueParseError, parse_value

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # runs stay offline

BLOCKING = "critical"
WARNING = "warning"
SEVERITY_LABELS_FR = {BLOCKING: "bloquant", WARNING: "avertissement"}

PLAUSIBLE_RANGES_FILE = "plausible_ranges.csv"
PLAUSIBLE_RANGE_COLUMNS = ("indicator_id", "territory_level", "min", "max", "max_change_per_year", "note")
ANY_LEVEL = "*"
# Columns of an observation needed to measure its change from an earlier millésime.
CHANGE_COLUMNS = ["indicator_id", "territory_code", "source", "year", "value", "status"]

# At most this many rows are listed per failed rule (the count is always exact).
MAX_ROWS_PER_RULE = 200


@dataclass(frozen=True)
class Finding:
    """One broken rule, on one row when the rule is about rows."""

    rule: str  # the expectation's French description
    expectation: str  # great-expectations type, e.g. expect_column_values_to_be_between
    severity: str  # BLOCKING or WARNING
    column: str | None
    file: str | None
    row: int | None
    value: str | None

    @property
    def message(self) -> str:
        where = [f"fichier {self.file}" if self.file else None,
                 f"ligne {self.row}" if self.row is not None else None,
                 f"colonne {self.column}" if self.column else None]
        place = ", ".join(w for w in where if w)
        value = f" (valeur : {self.value})" if self.value not in (None, "") else ""
        return f"{place + ' : ' if place else ''}{self.rule}{value}"


@dataclass
class ValidationOutcome:
    suite: str
    rows: int
    evaluated: int  # number of expectations
    failed_rules: dict[str, int] = field(default_factory=dict)  # rule -> number of failing rows (0: table-level)
    failed_severity: dict[str, str] = field(default_factory=dict)  # rule -> severity
    findings: list[Finding] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)  # markers accepted but counted

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BLOCKING]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def passed(self) -> bool:
        return not any(s == BLOCKING for s in self.failed_severity.values())

    def summary_fr(self, limit: int = 10) -> str:
        """A short French text: the blocking findings first, then the warnings."""
        if not self.failed_rules:
            return f"suite {self.suite} : {self.evaluated} règles respectées sur {self.rows} lignes"
        lines = [f"suite {self.suite} : {sum(1 for s in self.failed_severity.values() if s == BLOCKING)} règle(s) "
                 f"bloquante(s) et {sum(1 for s in self.failed_severity.values() if s == WARNING)} avertissement(s)"]
        ordered = self.blocking + self.warnings
        for finding in ordered[:limit]:
            lines.append(f"[{SEVERITY_LABELS_FR[finding.severity]}] {finding.message}")
        if len(ordered) > limit:
            lines.append(f"… et {len(ordered) - limit} autre(s) : voir le rapport de validation")
        return "\n".join(lines)


def import_great_expectations():
    """The great_expectations module, imported with scipy.stats left to load on first use.

    great-expectations imports scipy.stats for distribution expectations that no suite here uses (KL
    divergence, Kolmogorov-Smirnov): about a second of every command. The standard library's LazyLoader
    defers it; set on the scipy package too, so that ``from scipy import stats`` finds it without loading it.
    """
    if "scipy.stats" not in sys.modules:
        spec = importlib.util.find_spec("scipy.stats")
        if spec is not None and spec.loader is not None:
            import scipy

            spec.loader = importlib.util.LazyLoader(spec.loader)
            stats = importlib.util.module_from_spec(spec)
            sys.modules["scipy.stats"] = stats
            spec.loader.exec_module(stats)
            scipy.stats = stats
    import great_expectations

    return great_expectations


@lru_cache(maxsize=1)
def _context():
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # The pandas engine hashes every frame under 1 GB it is given, only to label the batch (a fingerprint
    # no result of ours reads): half a second per national table and pass. Its threshold is a module
    # constant, the only setting there is.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    # Progress bars would flood the run logs with one line per metric.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def load_suite(path: Path):
    """An ExpectationSuite from its JSON file."""
    return import_great_expectations().ExpectationSuite(**_suite_content(path))


def _suite_content(path: Path) -> dict:
    """The suite's JSON, each expectation numbered by an id (its position) that its result carries."""
    content = json.loads(path.read_text(encoding="utf-8"))
    content.pop("id", None)
    for position, expectation in enumerate(content.get("expectations", [])):
        expectation["id"] = str(uuid.UUID(int=position))
    return content


def validate_frame(frame: pd.DataFrame, suite_path: Path, parameters: dict | None = None) -> ValidationOutcome:
    """Run one suite on one frame; every failing row becomes a Finding naming its file and line.

    Frames that carry ``source_file`` and ``source_row`` (observations) point back to the raw
    file; other tables point to their row number (1 = first data row).

    great-expectations sees a lean copy of the frame (``engine_frame``: same answers, cheaper
    copies) and runs the suite twice at most: a first pass only tells which rules fail, and only
    those are run again to list their rows (result format COMPLETE, the costly one).
    """
    gx = import_great_expectations()
    content = _suite_content(suite_path)
    suite = gx.ExpectationSuite(**content)
    data = frame.reset_index(drop=True)
    engine_data = engine_frame(data, content["expectations"])
    results = _run_suite(engine_data, suite, "BOOLEAN_ONLY", parameters)
    failing = {str(r.expectation_config.id) for r in results if not r.success}
    if failing:
        again = gx.ExpectationSuite(**{**content, "expectations": [e for e in content["expectations"]
                                                                     if e["id"] in failing]})
        detailed = {str(r.expectation_config.id): r for r in _run_suite(engine_data, again, "COMPLETE", parameters)}
        results = [detailed[str(r.expectation_config.id)] if not r.success else r for r in results]
    outcome = ValidationOutcome(suite=suite.name, rows=len(data), evaluated=len(suite.expectations))
    if "status" in data.columns:
        outcome.status_counts = {str(k): int(v) for k, v in data["status"].value_counts().sort_index().items()}
    for result in results:
        if result.success:
            continue
        config = result.expectation_config
        severity = WARNING if str(getattr(config.severity, "value", config.severity)) == WARNING else BLOCKING
        rule = config.description or config.type
        kwargs = config.kwargs
        columns = [kwargs["column"]] if kwargs.get("column") else (
            [kwargs["column_A"], kwargs["column_B"]] if kwargs.get("column_A") else list(kwargs.get("column_list") or []))
        column = ", ".join(columns) or None
        outcome.failed_severity[rule] = severity
        if result.exception_info and result.exception_info.get("raised_exception"):
            detail = str(result.exception_info.get("exception_message", "")).splitlines()[0][:200]
            outcome.failed_rules[rule] = 0
            outcome.findings.append(Finding(f"{rule} (règle impossible à évaluer : {detail})", config.type,
                                            BLOCKING, column, _files_of(data), None, None))
            outcome.failed_severity[rule] = BLOCKING
            continue
        indexes = result.result.get("unexpected_index_list")
        if indexes is None:  # table-level rule: required columns, row count...
            outcome.failed_rules[rule] = 0
            outcome.findings.append(Finding(rule, config.type, severity, column, _files_of(data), None,
                                            _table_detail(result.result)))
            continue
        indexes = sorted(int(i) for i in indexes)
        outcome.failed_rules[rule] = len(indexes)
        for index in indexes[:MAX_ROWS_PER_RULE]:
            outcome.findings.append(_row_finding(data, index, rule, config.type, severity, column))
    return outcome


def combine_outcomes(outcomes: list[ValidationOutcome]) -> ValidationOutcome:
    """One outcome for a table validated in parts (``validate_frame`` on each): counts added, findings
    listed up to MAX_ROWS_PER_RULE rows per rule, as for a table validated whole."""
    combined = ValidationOutcome(suite=outcomes[0].suite, rows=0, evaluated=outcomes[0].evaluated)
    listed: dict[str, int] = {}
    for outcome in outcomes:
        combined.rows += outcome.rows
        for rule, rows in outcome.failed_rules.items():
            combined.failed_rules[rule] = combined.failed_rules.get(rule, 0) + rows
        for rule, severity in outcome.failed_severity.items():
            if combined.failed_severity.get(rule) != BLOCKING:
                combined.failed_severity[rule] = severity
        for finding in outcome.findings:
            key = finding.rule
            if finding.row is None and any(f.rule == key and f.row is None for f in combined.findings):
                continue  # a rule on the whole table: said once
            if listed.get(key, 0) < MAX_ROWS_PER_RULE:
                combined.findings.append(finding)
                listed[key] = listed.get(key, 0) + 1
        for status, count in outcome.status_counts.items():
            combined.status_counts[status] = combined.status_counts.get(status, 0) + count
    return combined


@lru_cache(maxsize=None)
def _frame_batches():
    """One data source for every frame of the process: declaring one per validation cost more than
    validating a small table."""
    asset = _context().data_sources.add_or_update_pandas("qpv_observatory").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("frame")


def _run_suite(data: pd.DataFrame, suite, result_format: str, parameters: dict | None) -> list:
    """The suite's results on ``data``, in great-expectations' order (grouped by column)."""
    batch = _frame_batches().get_batch(batch_parameters={"dataframe": data})
    with domains_filtered_once():
        return batch.validate(suite, result_format=result_format, expectation_parameters=parameters or {}).results


# What the pandas engine's get_domain_records reads from a domain (great-expectations 1.24): with these
# equal, it returns the same rows. A domain with any other key is filtered as usual.
DOMAIN_KEYS = ("batch_id", "table", "row_condition", "condition_parser", "column", "column_A", "column_B",
               "column_list", "ignore_row_if")


@contextmanager
def domains_filtered_once() -> Iterator[dict]:
    """Within the block, great-expectations' pandas engine filters a frame once per distinct domain.

    The engine filters the whole frame (row condition, then the rows missing a value of a column pair)
    anew for every metric of every rule: a source suite asks dozens of times for its eight row conditions,
    a third of its time at national scale. The filtered frames are handed out again for the block
    (one validation), then dropped; pandas' copy-on-write keeps a metric from changing what another reads.
    Yields the frames kept, by domain.
    """
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine

    original = PandasExecutionEngine.get_domain_records
    filtered: dict = {}

    def get_domain_records(engine, domain_kwargs: dict) -> pd.DataFrame:
        key = _domain_key(engine, domain_kwargs)
        if key is None:
            return original(engine, domain_kwargs)
        if key not in filtered:
            filtered[key] = original(engine, domain_kwargs)
        return filtered[key]

    PandasExecutionEngine.get_domain_records = get_domain_records
    try:
        yield filtered
    finally:
        PandasExecutionEngine.get_domain_records = original
        filtered.clear()


def _domain_key(engine, domain_kwargs: dict) -> tuple | None:
    """What decides the rows get_domain_records returns; None for a domain it may read more of."""
    if not set(domain_kwargs) <= set(DOMAIN_KEYS):
        return None
    # The column itself filters no row; naming one only skips the filters of a column pair or list.
    described = {key: domain_kwargs.get(key) for key in DOMAIN_KEYS if key != "column"}
    described["column"] = "column" in domain_kwargs and any(
        key in domain_kwargs for key in ("column_A", "column_B", "column_list"))
    try:
        text = json.dumps(described, sort_keys=True)
    except TypeError:  # a row condition object: not a key to rely on
        return None
    return id(engine), engine.batch_manager.active_batch_data_id, text


# --- The frame great-expectations sees -------------------------------------------------------
#
# great-expectations' pandas engine filters the whole frame for every metric of a rule with a
# row condition (DataFrame.query, then a copy of every column): with Arrow-backed strings and
# masked floats, these copies are most of a suite's time. It is handed a copy in which a column
# changes only where no rule of the suite can tell the difference:
# - a column that no rule reads (only named by a rule on the set of columns) holds False;
# - a string column read only by value-wise rules, and compared only for equality in row
#   conditions, becomes a pandas category (copies then take integer codes);
# - a Float64 column without NaN, read only by null checks, ranges and comparisons of two columns
#   (never in a row condition: missing values compare differently there), becomes float64
#   (great-expectations then checks ranges with one vectorised comparison, not value by value).
# Findings are read back from the original frame, by row number.

# Rules that read no value: column names, row counts.
TABLE_SHAPE_RULES = frozenset({
    "expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_equal", "expect_table_column_count_to_be_between",
    "expect_table_row_count_to_equal", "expect_table_row_count_to_be_between", "expect_column_to_exist"})
# Rules that give the same answers on a string column and on its category version.
CATEGORY_SAFE_RULES = frozenset({
    "expect_column_values_to_be_null", "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
# Rules that give the same answers on a Float64 column without NaN and on its float64 version.
FLOAT_SAFE_RULES = frozenset({
    "expect_column_values_to_be_null", "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between", "expect_column_pair_values_a_to_be_greater_than_b"})
PLACEHOLDER, CATEGORY, FLOAT = "placeholder", "category", "float"
ALL_COLUMNS = None  # a rule that may read any column


def engine_frame(data: pd.DataFrame, expectations: list[dict]) -> pd.DataFrame:
    """``data`` as great-expectations gets it: same columns, same rows, same answer to every rule
    of ``expectations`` (the suite's JSON entries), cheaper to filter and copy."""
    allowed = {column: {PLACEHOLDER, CATEGORY, FLOAT} for column in data.columns}
    for expectation in expectations:
        for column, kinds in _column_uses(expectation, list(data.columns)).items():
            if column in allowed:
                allowed[column] &= kinds
    lean = {}
    for column, kinds in allowed.items():
        values = data[column]
        if PLACEHOLDER in kinds:
            lean[column] = np.zeros(len(data), dtype="bool")
        elif CATEGORY in kinds and isinstance(values.dtype, pd.StringDtype):
            lean[column] = values.astype("category")
        elif FLOAT in kinds and isinstance(values.dtype, pd.Float64Dtype) and not _has_nan(values):
            lean[column] = values.astype("float64")
    return data.assign(**lean) if lean else data


def _has_nan(values: pd.Series) -> bool:
    """Whether a Float64 column holds NaN besides its missing values (NA)."""
    return bool((np.isnan(values.to_numpy("float64", na_value=np.nan)) & values.notna().to_numpy()).any())


def _column_uses(expectation: dict, columns: list[str]) -> dict[str, set[str]]:
    """For each column a rule reads, the lean versions it still answers the same on."""
    rule = expectation.get("type", "")
    kwargs = expectation.get("kwargs") or {}
    if rule in TABLE_SHAPE_RULES:
        named: list | None = []
    else:
        named = [kwargs.get(key) for key in ("column", "column_A", "column_B") if key in kwargs]
        named += list(kwargs.get("column_list") or [])
        if any(not isinstance(name, str) for name in named) or not named:
            named = ALL_COLUMNS  # a parameter, or a rule of unknown shape
    kinds = {CATEGORY} if rule in CATEGORY_SAFE_RULES else set()
    kinds |= {FLOAT} if rule in FLOAT_SAFE_RULES else set()
    uses = {column: set(kinds) for column in (columns if named is ALL_COLUMNS else named)}
    condition = kwargs.get("row_condition")
    if condition:
        for column, equality_only in _condition_columns(condition, columns).items():
            uses[column] = uses.get(column, {CATEGORY, FLOAT}) & ({CATEGORY} if equality_only else set())
    return uses


def _condition_columns(condition, columns: list[str]) -> dict[str, bool]:
    """Columns a pandas row condition reads, each with whether it is only compared for equality
    with constants (==, !=, in, not in) or tested for missing values."""
    text = condition.get("pass_through_filter") if isinstance(condition, dict) else condition
    try:
        tree = ast.parse(text, mode="eval") if isinstance(text, str) else None
    except SyntaxError:  # pandas-only syntax (backticks, @variables): assume the worst
        tree = None
    if tree is None:
        return {column: False for column in columns}
    reads: dict[str, bool] = {}
    safe_names: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and all(
                isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops) and all(
                _is_constant(c) for c in node.comparators):
            safe_names.add(id(node.left))
        elif (isinstance(node, ast.Call) and not node.args and not node.keywords
              and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
              and node.func.attr in ("isna", "notna", "isnull", "notnull")):
            safe_names.add(id(node.func.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in columns:
            reads[node.id] = reads.get(node.id, True) and id(node) in safe_names
    return reads


def _is_constant(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(isinstance(e, ast.Constant) for e in node.elts)
    return isinstance(node, ast.Constant)


def _files_of(data: pd.DataFrame) -> str | None:
    if "source_file" not in data.columns or data.empty:
        return None
    return ", ".join(sorted(data["source_file"].dropna().astype(str).unique()))


def _table_detail(result: dict) -> str | None:
    details = result.get("details") or {}
    mismatched = details.get("mismatched")
    if mismatched:
        return f"colonnes absentes : {', '.join(mismatched.get('missing') or []) or 'aucune'}"
    observed = result.get("observed_value")
    return None if observed is None else str(observed)


def _row_finding(data: pd.DataFrame, index: int, rule: str, expectation: str, severity: str,
                 column: str | None) -> Finding:
    row = data.iloc[index]
    if "source_file" in data.columns and "source_row" in data.columns:
        file, line = str(row["source_file"]), int(row["source_row"])
    else:
        file, line = None, index + 1
    shown = [c.strip() for c in column.split(",")] if column else []
    value = "; ".join(f"{c}={row[c]}" for c in shown if c in data.columns) if len(shown) > 1 else (
        None if not shown or shown[0] not in data.columns or pd.isna(row[shown[0]]) else str(row[shown[0]]))
    context = [f"{c}={row[c]}" for c in ("indicator_id", "territory_code", "year")
               if c in data.columns and c not in shown]
    if context:
        value = f"{value} ; {', '.join(context)}" if value else ", ".join(context)
    return Finding(rule, expectation, severity, column, file, line, value)


# --- Facts the observation suites compare with -------------------------------------------------

def load_plausible_ranges(catalogue_dir: Path) -> pd.DataFrame:
    """data/catalogue/plausible_ranges.csv: plausible bounds and yearly change per indicator and level."""
    path = catalogue_dir / PLAUSIBLE_RANGES_FILE
    if not path.exists():
        return pd.DataFrame(columns=list(PLAUSIBLE_RANGE_COLUMNS))
    display = catalogue_display(catalogue_dir, PLAUSIBLE_RANGES_FILE)
    frame = read_delimited(path, display, PLAUSIBLE_RANGE_COLUMNS)
    for column in ("min", "max", "max_change_per_year"):
        numbers = []
        for cell, line in zip(frame[column], frame["source_row"]):
            try:
                numbers.append(parse_value(cell).value)  # an empty cell means "no bound"
            except ValueParseError as exc:
                raise SourceFileError(display, str(exc), line=int(line), column=column) from None
        frame[column] = pd.Series(numbers, index=frame.index, dtype="float64")
    return frame.drop(columns="source_row")


def known_territory_codes(referential: Referential, among: Iterable[str] | None = None) -> list[str]:
    """Territories of the QPV lists, plus every commune and EPCI of the EPCI composition (or COG).

    ``among``: only those of these codes (the codes of the frame to check). The rule's answer is the
    same, and great-expectations copies the list many times per rule: a national list costs seconds.
    """
    known = _known_codes(referential)
    if among is not None:
        among = pd.Index(pd.unique(pd.Series(list(among), dtype="str")))
        known = among[among.isin(known)]
    return sorted(known)


def _known_codes(referential: Referential) -> pd.Index:
    """Every distinct code known_territory_codes lists."""
    composition = referential.commune_epci
    codes = pd.concat([referential.territories["territory_code"].astype(str),
                       composition["commune_code"].dropna().astype(str), composition["epci_code"].dropna().astype(str)],
                      ignore_index=True)
    return pd.Index(codes.dropna().unique())


# The columns prepare_observations can add (see there), in the order it adds them.
PREPARED_COLUMNS = ("unit", "territory_known", "comparison_complete", "plausible_min", "plausible_max",
                    "max_change_per_year", "change_per_year")
RANGE_COLUMNS = {"plausible_min": "min", "plausible_max": "max", "max_change_per_year": "max_change_per_year"}


def columns_named(suite_path: Path, among: Iterable[str]) -> tuple[str, ...]:
    """Those of ``among`` that a rule of the suite may read or name: in its arguments (a column, a list
    of columns, a set the table must have), in its row condition, or any of them for a rule whose
    columns cannot be told."""
    among = tuple(among)
    named: set[str] = set()

    def strings(value) -> Iterable[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                yield from strings(item)
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)

    for expectation in _suite_content(suite_path).get("expectations", []):
        named |= set(_column_uses(expectation, list(among)))
        named |= set(strings(expectation.get("kwargs") or {})) & set(among)
    return tuple(c for c in among if c in named)


def validate_observations(observations: pd.DataFrame, suite_path: Path, parameters: dict | None,
                          referential: Referential, indicators: pd.DataFrame, plausible_ranges: pd.DataFrame,
                          earlier: pd.DataFrame | None = None) -> ValidationOutcome:
    """Run an observations suite: the frame gets only the prepared columns the suite's rules read
    (a source suite reads neither the plausible ranges nor the changes from the previous millésime)."""
    frame = prepare_observations(observations, referential, indicators, plausible_ranges, earlier=earlier,
                                 columns=columns_named(suite_path, PREPARED_COLUMNS))
    return validate_frame(frame, suite_path, parameters)


def prepare_observations(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame,
                         plausible_ranges: pd.DataFrame, earlier: pd.DataFrame | None = None,
                         columns: Iterable[str] = PREPARED_COLUMNS) -> pd.DataFrame:
    """Observations with the columns the suites check against (``columns``: only these of them):

    - ``unit``: the catalogue unit ('%' rules apply to rates);
    - ``territory_known``: whether the code is in the referential (a column rather than a list of
      every known code in the suite: great-expectations copies its parameters many times per rule);
    - ``comparison_complete``: for a QPV row, whether its commune(s) and EPCI have a figure for
      the same indicator, year and source (any status);
    - ``plausible_min`` / ``plausible_max``: the catalogue's plausible range for this indicator
      and territory level;
    - ``change_per_year`` / ``max_change_per_year``: the change from the previous vintage of the
      same indicator, territory and source, in the indicator's unit per year, and its limit;
      ``earlier`` (columns CHANGE_COLUMNS) holds figures of earlier millésimes to measure it from.
    """
    wanted = set(columns)
    frame = observations.reset_index(drop=True).copy()
    if "unit" in wanted:
        units = dict(zip(indicators["indicator_id"], indicators["unit"]))
        # Looked up once per distinct indicator and code (categories), not once per row.
        indicators_seen = frame["indicator_id"].astype("category").cat
        unit_per_indicator = pd.Series(indicators_seen.categories).map(units)
        frame["unit"] = unit_per_indicator.reindex(indicators_seen.codes).set_axis(frame.index).astype("str")
    if "territory_known" in wanted:
        frame["territory_known"] = (frame["territory_code"].astype("category").isin(_known_codes(referential))
                                    .astype("bool"))
    if "comparison_complete" in wanted:
        frame["comparison_complete"] = _comparison_complete(frame, referential)
    if wanted & set(RANGE_COLUMNS):
        ranges = _ranges_per_row(frame, plausible_ranges)
        for column, bound in RANGE_COLUMNS.items():
            if column in wanted:
                frame[column] = ranges[bound].astype("Float64")
    if "change_per_year" in wanted:
        frame["change_per_year"] = _change_per_year(frame, earlier)
    return frame


def _comparison_complete(frame: pd.DataFrame, referential: Referential) -> pd.Series:
    links = referential.qpv_links
    # Each QPV's comparison territories: its communes and its EPCI.
    needed = pd.concat([links[["qpv_code", "commune_code"]].set_axis(["qpv_code", "comparison_code"], axis=1),
                        links[["qpv_code", "epci_code"]].set_axis(["qpv_code", "comparison_code"], axis=1)])
    needed = needed.drop_duplicates()
    key = ["indicator_id", "year", "source"]
    qpv = frame.loc[frame["territory_level"] == QPV, [*key, "territory_code"]]
    wanted = (qpv.assign(_row=qpv.index).rename(columns={"territory_code": "qpv_code"})
              .merge(needed, on="qpv_code", how="inner"))
    present = frame[[*key, "territory_code"]].drop_duplicates().rename(columns={"territory_code": "comparison_code"})
    found = wanted.merge(present.assign(_present=True), on=[*key, "comparison_code"], how="left")
    # Complete: the QPV has comparison territories, and every one has a figure (any status).
    all_found = found["_present"].notna().groupby(found["_row"]).all()
    complete = pd.Series(True, index=frame.index, dtype="bool")
    complete[qpv.index] = False
    complete[all_found.index] = all_found.to_numpy()
    return complete


def _ranges_per_row(frame: pd.DataFrame, ranges: pd.DataFrame) -> pd.DataFrame:
    """The most specific range: the one for the row's level, else the one for every level ('*')."""
    out = pd.DataFrame(index=frame.index, columns=["min", "max", "max_change_per_year"], dtype="float64")
    for scope in (ANY_LEVEL, "level"):
        subset = ranges[(ranges["territory_level"] == ANY_LEVEL) == (scope == ANY_LEVEL)]
        if subset.empty:
            continue
        keys = ["indicator_id"] if scope == ANY_LEVEL else ["indicator_id", "territory_level"]
        merged = frame[keys].merge(subset[[*keys, "min", "max", "max_change_per_year"]], on=keys, how="left")
        merged.index = frame.index
        for column in out.columns:
            out[column] = merged[column].astype("float64").where(merged[column].notna(), out[column])
    return out


def _change_per_year(frame: pd.DataFrame, earlier: pd.DataFrame | None = None) -> pd.Series:
    """Absolute change from the previous published number of the same series, per year elapsed.

    The previous number of a row: the one just before it among the rows of its series (indicator,
    territory, source) with status ok, ordered by year (earlier millésimes first on equal years).
    """
    own = frame.loc[frame["status"] == OK, CHANGE_COLUMNS].assign(_row=lambda f: f.index)
    parts = [own]
    if earlier is not None and len(earlier):
        parts.insert(0, earlier.loc[earlier["status"] == OK, CHANGE_COLUMNS].assign(_row=-1))
    ok = pd.concat(parts, ignore_index=True)
    series, complete = _series_codes(ok, ["indicator_id", "territory_code", "source"])
    year = ok["year"].to_numpy("int64")
    first, span = (int(year.min()), int(year.max() - year.min()) + 1) if len(ok) else (0, 1)
    if (int(series.max(initial=0)) + 1) * span >= 2 ** 62:
        series = pd.factorize(series)[0]  # renumbered below the number of rows
    # Rows by series, then year; stable, so that equal years keep the order above.
    order = np.argsort(series * span + (year - first), kind="stable")
    same = (series[order][1:] == series[order][:-1]) & complete[order][1:]
    previous = np.full(len(ok), -1)
    previous[order[1:][same]] = order[:-1][same]
    has_previous = previous >= 0
    previous_value = pd.Series(ok["value"].array.take(previous, allow_fill=True), index=ok.index)
    previous_year = pd.Series(np.where(has_previous, year[previous], np.nan), index=ok.index)
    change = ((ok["value"] - previous_value).abs() / (ok["year"] - previous_year)).astype("Float64")
    change = change[ok["_row"] >= 0].set_axis(ok.loc[ok["_row"] >= 0, "_row"])
    return change.reindex(frame.index).astype("Float64")


def _series_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One integer per distinct combination of ``keys`` (below 2**40), and whether the row has every key."""
    codes = np.zeros(len(frame), dtype="int64")
    complete = np.ones(len(frame), dtype="bool")
    for key in keys:
        key_codes, uniques = pd.factorize(frame[key])
        complete &= key_codes >= 0
        if (int(codes.max(initial=0)) + 1) * (len(uniques) + 1) >= 2 ** 40:
            codes = pd.factorize(codes)[0]  # renumbered from 0: below the number of rows
        codes = codes * (len(uniques) + 1) + key_codes + 1
    return codes, complete
