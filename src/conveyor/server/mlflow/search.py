"""``runs/search``: one call site, :func:`search_runs`, over the runs of the given experiments.

The filter grammar is mlflow-import's ``conveyor.interop.mlflow.filters`` (``parse_filter``/``parse_order_by``, bound
SQL parameters); until it is merged, :func:`_local_filter` understands conjunctions of ``metrics.K``,
``params.K``, ``tags.K`` and ``attributes.status|run_name|run_id`` compared with ``= != > >= < <= LIKE ILIKE`` to a
number or a quoted string, evaluated over the experiments' runs."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.core.entities import Run
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.errors import invalid

if TYPE_CHECKING:
    from conveyor.project import Project

MAX_RESULTS = 50000


def encode_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: Any) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(str(token)))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise invalid(f"Invalid page token {token!r}.") from None


def search_runs(project: Project, experiment_ids: list[str], filter_string: str, order_by: list[str],
                max_results: int, page_token: Any, *, view: str = "ACTIVE_ONLY") -> tuple[list[Run], str | None]:
    """One page of the runs of ``experiment_ids`` that ``filter_string`` keeps, in ``order_by`` order (newest
    first by default), and the next page's token (None on the last page)."""
    if not 0 < max_results <= MAX_RESULTS:
        raise invalid(f"Invalid value for max_results: it must be between 1 and {MAX_RESULTS}, not {max_results}.")
    keep = _local_filter(filter_string)
    runs: list[Run] = []
    for experiment_id in experiment_ids:
        runs.extend(project.stores.runs.search(experiment=experiment_id))
    wanted = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}.get(view)
    if wanted is None:
        raise invalid(f"Invalid run_view_type {view!r}; use ACTIVE_ONLY, DELETED_ONLY or ALL.")
    runs = [r for r in runs if c.KIND_TAG not in r.tags
            and (r.tags.get(c.DELETED_TAG) or "active") in wanted and keep(r)]
    runs.sort(key=lambda r: (-r.started_at, r.id))
    for clause in reversed(order_by):
        runs = _ordered(runs, clause)
    start = decode_token(page_token)
    page = runs[start : start + max_results]
    return page, encode_token(start + max_results) if start + max_results < len(runs) else None


_IDENT = r"(?:`[^`]+`|\"[^\"]+\"|[\w.\-/]+)"
_CLAUSE = re.compile(rf"^\s*(metrics|metric|params|param|parameters|tags|tag|attributes|attribute|attr|run)\.({_IDENT})"
                     r"\s*(<=|>=|!=|=|<|>|\bILIKE\b|\bLIKE\b)\s*('(?:[^']*)'|\"(?:[^\"]*)\"|[-+0-9.eE]+)\s*$",
                     re.IGNORECASE)
_KINDS = {"metric": "metrics", "metrics": "metrics", "param": "params", "params": "params", "parameters": "params",
          "tag": "tags", "tags": "tags", "attribute": "attributes", "attributes": "attributes",
          "attr": "attributes", "run": "attributes"}


def _value_of(run: Run, kind: str, key: str) -> Any:
    if kind == "metrics":
        return run.metrics.get(key)
    if kind == "params":
        return run.params.get(key)
    if kind == "tags":
        return run.tags.get(key)
    info = c.run_info(run)
    return {"run_name": info["run_name"], "status": info["status"], "run_id": run.id, "start_time":
            info["start_time"], "end_time": info["end_time"]}.get(key)


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return False
    if op in ("LIKE", "ILIKE"):
        pattern = "^" + re.escape(str(right)).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, str(left), re.IGNORECASE if op == "ILIKE" else 0) is not None
    if isinstance(right, float):
        left = float(left)
    return {"=": left == right, "!=": left != right, ">": left > right, ">=": left >= right, "<": left < right,
            "<=": left <= right}[op]


def _local_filter(text: str) -> Callable[[Run], bool]:
    if not text or not text.strip():
        return lambda run: True
    tests = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if not match:
            raise invalid(f"Invalid filter {text!r}: cannot parse {part.strip()!r}.")
        kind, key, op, raw = _KINDS[match.group(1).lower()], match.group(2).strip("`\""), match.group(3).upper(), \
            match.group(4)
        value: Any = raw[1:-1] if raw[0] in "'\"" else float(raw)
        if kind == "metrics" and not isinstance(value, float):
            raise invalid(f"Invalid filter {text!r}: metrics compare to numbers.")
        tests.append((kind, key, op, value))
    return lambda run: all(_compare(_value_of(run, k, key, ), op, v) for k, key, op, v in tests)


def _ordered(runs: list[Run], clause: str) -> list[Run]:
    words = clause.strip().split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
        raise invalid(f"Invalid order_by clause {clause!r}.")
    descending = len(words) == 2 and words[1].upper() == "DESC"
    kind, _, key = words[0].partition(".")
    if not key:
        kind, key = "attributes", kind
    if kind.lower() not in _KINDS:
        raise invalid(f"Invalid order_by clause {clause!r}.")
    kind = _KINDS[kind.lower()]
    have = [r for r in runs if _value_of(r, kind, key.strip("`\"")) is not None]
    lacking = [r for r in runs if _value_of(r, kind, key.strip("`\"")) is None]
    have.sort(key=lambda r: _value_of(r, kind, key.strip("`\"")), reverse=descending)
    return have + lacking
