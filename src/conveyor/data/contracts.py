"""Validation contracts: what a batch of a dataset must look like, inferred from a reference version's profile,
kept as an editable YAML file in the project, and checked vectorised (a failing batch's report comes from pandera).

A contract (``contracts/NAME.yaml``)::

    dataset: churn
    inferred_from: churn@3f2a...
    columns:
      age: {kind: numeric, nullable: false, min: 10, max: 107}
      plan: {kind: categorical, nullable: true, allowed: [basic, pro]}
      id: {kind: numeric, unique: true}
    rows: {min: 500, max: 4000}    # only when asked for (row_bounds=True) or written by hand

Inferred ranges are the observed ones widened by a margin (:func:`numeric_bounds`), so that a fresh sample of the
same distribution passes while a change of units, a sign flip or a sentinel value (-999) does not.

Missing columns and columns of the wrong kind are bad input (exit 2: the batch is not this dataset at all); value
checks that fail are a failed check (exit 1, or quarantine/warn at ingest) with counts and example rows per check.
Pandera is imported inside the calls that validate, so commands that never validate never pay its import.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, CheckFailedError
from conveyor.core.kinds import column_kind
from conveyor.data.vector_checks import passes
from conveyor.stats import OTHER

RANGE_MARGIN = 0.1
"""Inferred numeric bounds widen by at least this share of the observed range on each side..."""
TAIL_MARGIN = 3.0
"""...and by at least this many times the distance from the extreme to the 1st/99th percentile, so a long tail
(whose next sample's extreme lands far beyond this one's) gets room in proportion to its length."""
MAX_ALLOWED = 50
"""A categorical column with at most this many distinct values gets an ``allowed`` list when inferred."""
EXAMPLES = 3
KINDS = ("numeric", "categorical", "bool", "datetime")
COLUMN_KEYS = {"kind", "nullable", "min", "max", "allowed", "unique"}


def numeric_bounds(stats: dict[str, Any], integral: bool) -> tuple[float, float]:
    """(min, max) for a numeric column's contract: the observed range widened by :data:`RANGE_MARGIN` of itself and
    :data:`TAIL_MARGIN` times each tail's length (extreme to 1st/99th percentile, from the profile's quantiles).
    A column never seen below zero keeps zero as its floor; integer columns get integer bounds."""
    low, high = float(stats["min"]), float(stats["max"])
    quantiles = [q for q in stats.get("quantiles") or [] if q is not None]
    if len(quantiles) >= 3:
        levels = np.linspace(0.0, 1.0, len(quantiles))
        q01, q99 = np.interp([0.01, 0.99], levels, quantiles)
    else:
        q01, q99 = low, high
    spread = high - low if high > low else max(abs(high), 1.0)
    lower = low - max(RANGE_MARGIN * spread, TAIL_MARGIN * (float(q01) - low))
    upper = high + max(RANGE_MARGIN * spread, TAIL_MARGIN * (high - float(q99)))
    if low >= 0:
        lower = max(lower, 0.0)
    if integral:
        lower, upper = float(math.floor(lower)), float(math.ceil(upper))
    return lower, upper


def infer_contract(version: DatasetVersion, *, row_bounds: bool = False) -> dict[str, Any]:
    """A contract that ``version`` itself passes, and a fresh sample of the same distribution too, from its stored
    profile (the rows are not read again). Row-count bounds (half to twice the reference) are opt-in:
    batches legitimately come in every size."""
    if version.meta.get("kind") == "files":
        raise BadInputError(f"{version.ref} is a set of files; contracts describe tables.", field="dataset")
    profiles = version.profile.get("columns", {})
    columns: dict[str, Any] = {}
    for column in version.columns:
        stats = profiles.get(column["name"], {})
        spec: dict[str, Any] = {"kind": column["kind"], "nullable": bool(stats.get("nulls", 0))}
        if column["kind"] == "numeric" and stats.get("min") is not None:
            spec["min"], spec["max"] = numeric_bounds(stats, "int" in column["dtype"].lower())
        top = stats.get("top") or {}
        if column["kind"] == "categorical" and OTHER not in top and 0 < len(top) <= MAX_ALLOWED:
            spec["allowed"] = sorted(top)
        discrete = column["kind"] == "categorical" or "int" in column["dtype"].lower()
        if discrete and stats.get("distinct") == stats.get("count") == version.rows > 1:
            spec["unique"] = True
        columns[column["name"]] = spec
    contract: dict[str, Any] = {"dataset": version.name, "inferred_from": f"{version.name}@{version.version}",
                                "columns": columns}
    if row_bounds:
        contract["rows"] = {"min": max(1, version.rows // 2), "max": version.rows * 2}
    return contract


def write_contract(contract: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(contract, sort_keys=False, allow_unicode=True))
    tmp.replace(path)


def read_contract(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BadInputError(f"No contract at {path}.", field="contract",
                            hint="Write one with `conveyor data contract NAME@VERSION`.")
    try:
        contract = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise BadInputError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}", field="contract",
                            hint="Fix the YAML syntax.") from None
    return check_contract(contract, str(path))


def check_contract(contract: Any, where: str) -> dict[str, Any]:
    """Refuse a hand-edited contract that would not mean what its author thinks, naming the key to fix."""
    if not isinstance(contract, dict) or not isinstance(contract.get("columns"), dict):
        raise BadInputError(f"{where} must be a mapping with a 'columns' mapping.", field="contract",
                            hint="Start from `conveyor data contract NAME@VERSION`.")
    for name, spec in contract["columns"].items():
        if not isinstance(spec, dict):
            raise BadInputError(f"{where}: column {name!r} must be a mapping.", field=str(name))
        unknown = set(spec) - COLUMN_KEYS
        if unknown:
            raise BadInputError(f"{where}: column {name!r} has unknown key {sorted(unknown)[0]!r}.", field=str(name),
                                hint=f"Use {', '.join(sorted(COLUMN_KEYS))}.")
        if spec.get("kind", "numeric") not in KINDS:
            raise BadInputError(f"{where}: column {name!r} has kind {spec['kind']!r}.", field=str(name),
                                hint=f"Use one of {', '.join(KINDS)}.")
        for bound in ("min", "max"):
            value = spec.get(bound)
            if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)
                                      or not math.isfinite(value)):
                raise BadInputError(f"{where}: column {name!r} {bound} must be a finite number, got {value!r}.",
                                    field=str(name))
        if "allowed" in spec and not isinstance(spec["allowed"], list):
            raise BadInputError(f"{where}: column {name!r} allowed must be a list.", field=str(name))
    rows = contract.get("rows") or {}
    if not isinstance(rows, dict) or any(not isinstance(rows.get(k, 0), int) for k in ("min", "max")):
        raise BadInputError(f"{where}: rows must be a mapping with integer min and max.", field="rows")
    return contract


@dataclass
class Failure:
    column: str | None
    check: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "check": self.check, "count": self.count, "examples": self.examples}


@dataclass
class ValidationReport:
    rows: int
    checks: int
    failures: list[Failure]
    bad_rows: list[int]  # positions of rows that failed a row-level check
    table_failed: bool  # a check on the whole table (row count) failed: no row can be blamed alone

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        if self.passed:
            return f"all {self.checks} checks passed on {self.rows} rows"
        parts = [f"{f.column or 'table'}: {f.check} ({f.count})" for f in self.failures]
        return f"{len(self.failures)} of {self.checks} checks failed: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "rows": self.rows, "checks": self.checks, "bad_rows": len(self.bad_rows),
                "failures": [f.as_dict() for f in self.failures]}


def check_shape(contract: dict[str, Any], frame: pd.DataFrame, source: str) -> None:
    """Missing columns and wrong kinds: bad input, named, before any value is checked."""
    for name, spec in contract["columns"].items():
        if name not in frame.columns:
            raise BadInputError(f"{source} has no column {name!r}, which the contract requires.", field=str(name),
                                hint=f"Add the column, or remove it from the contract for {contract.get('dataset')}.")
        expected, actual = spec.get("kind"), column_kind(frame[name])
        if expected and actual != expected and not (expected == "numeric" and actual == "bool"):
            raise BadInputError(f"{source}: column {name!r} holds {actual} values where the contract expects "
                                f"{expected}.", field=str(name),
                                hint="Fix the values (a stray text value in a number column?) or the contract.")


def build_schema(contract: dict[str, Any]):
    """The pandera schema for a contract, built once per distinct contract (building costs more than checking a
    small batch)."""
    return _schema(json.dumps(contract, sort_keys=True, default=str))


@functools.lru_cache(maxsize=16)
def _schema(contract_json: str):
    import pandera.pandas as pa  # deferred: pandera costs ~0.5 s to import

    contract = json.loads(contract_json)

    columns = {}
    for name, spec in contract["columns"].items():
        checks = []
        if spec.get("min") is not None and spec.get("max") is not None:
            checks.append(pa.Check.in_range(spec["min"], spec["max"]))
        elif spec.get("min") is not None:
            checks.append(pa.Check.ge(spec["min"], name="min"))
        elif spec.get("max") is not None:
            checks.append(pa.Check.le(spec["max"], name="max"))
        if spec.get("allowed") is not None:
            checks.append(pa.Check.isin(spec["allowed"], name="allowed"))
        columns[name] = pa.Column(nullable=bool(spec.get("nullable", True)), unique=bool(spec.get("unique")),
                                  checks=checks, required=True)
    table_checks = []
    rows = contract.get("rows") or {}
    if rows:
        low, high = rows.get("min", 0), rows.get("max", math.inf)
        table_checks.append(pa.Check(lambda df: low <= len(df) <= high, name=f"rows between {low} and {high}"))
    return pa.DataFrameSchema(columns, checks=table_checks, strict=False, coerce=False)


def count_checks(contract: dict[str, Any]) -> int:
    total = 1 if contract.get("rows") else 0
    for spec in contract["columns"].values():
        bounded = spec.get("min") is not None or spec.get("max") is not None
        total += 1 + bounded + (spec.get("allowed") is not None) + bool(spec.get("unique"))
    return total


def validate(contract: dict[str, Any], frame: pd.DataFrame, source: str = "the batch") -> ValidationReport:
    """Check ``frame`` against ``contract``. A passing batch is decided vectorised (:mod:`conveyor.data.vector_checks`,
    no pandera import); a failing one runs the pandera schema, which names each failure with counts and rows."""
    check_shape(contract, frame, source)
    if passes(contract, frame):
        return ValidationReport(len(frame), count_checks(contract), [], [], False)
    import pandera.errors as pe

    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame = frame.reset_index(drop=True)  # failure cases report positions
    try:
        build_schema(contract).validate(frame, lazy=True, inplace=True)
        return ValidationReport(len(frame), count_checks(contract), [], [], False)
    except pe.SchemaErrors as exc:
        cases = exc.failure_cases
    failures = []
    bad: set[int] = set()
    table_failed = False
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        column = None if pd.isna(column) else str(column)
        index = [int(i) for i in group["index"].dropna().unique()]
        if column is None or not index:
            table_failed = True
            count = len(frame) if column is None else len(group)
            examples = [] if column is None else [{"value": _plain(v)} for v in group["failure_case"][:EXAMPLES]]
        else:
            bad.update(index)
            count = len(index)
            examples = [_row(frame, i) for i in index[:EXAMPLES]]
        failures.append(Failure(column, _check_name(str(check), column, frame), count, examples))
    return ValidationReport(len(frame), count_checks(contract), failures, sorted(bad), table_failed)


def _check_name(check: str, column: str | None, frame: pd.DataFrame) -> str:
    if check == "not_nullable":
        return "not null"
    if check == "field_uniqueness":
        return "unique"
    if column is None and check.startswith("rows"):
        return f"{check} (got {len(frame)})"
    return check


def _row(frame: pd.DataFrame, position: int) -> dict[str, Any]:
    return {"row": position, **{str(k): _plain(v) for k, v in frame.iloc[position].items()}}


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)


class ValidationFailed(CheckFailedError):
    """Checks failed; ``report`` says which, with counts and example rows."""

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message, hint="See the failing checks above; fix the batch or edit the contract.")
        self.report = report
