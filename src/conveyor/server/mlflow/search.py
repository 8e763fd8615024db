"""``runs/search``: one call site, :func:`search_runs`, over the runs of the given experiments, with MLflow's filter
grammar (:mod:`conveyor.interop.mlflow.filters`: bound SQL parameters, never string concatenation of values)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor.core.entities import Run
from conveyor.core.errors import BadInputError
from conveyor.interop.mlflow.filters import Clause
from conveyor.interop.mlflow.search import search_runs as interop_search
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.errors import invalid
from conveyor.store import schema as t

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


@dataclass(frozen=True)
class TagIsNot:
    """A run whose tag ``key`` is missing or holds anything but ``value`` (MLflow's grammar has no OR for it)."""

    key: str
    value: str

    def matches(self, run: Run) -> bool:
        return run.tags.get(self.key) != self.value

    def where(self, dialect: str) -> sa.ColumnElement[bool]:
        tags = t.run_tags.c
        return ~sa.exists().where(tags.run_id == t.runs.c.id, tags.key == self.key, tags.value == self.value)


VIEWS: dict[str, tuple[Any, ...]] = {"ACTIVE_ONLY": (TagIsNot(c.DELETED_TAG, "deleted"),),
                                     "DELETED_ONLY": (Clause("tag", c.DELETED_TAG, "=", "deleted"),), "ALL": ()}


def search_runs(project: Project, experiment_ids: list[str], filter_string: str, order_by: list[str],
                max_results: int, page_token: Any, *, view: str = "ACTIVE_ONLY") -> tuple[list[Run], str | None]:
    """One page of the runs of ``experiment_ids`` that ``filter_string`` keeps, in ``order_by`` order (newest
    first by default), and the next page's token (None on the last page). The runs that hold MLflow 3 logged
    models are left out, and ``view`` picks active or deleted runs, as clauses beside the user's."""
    if not 0 < max_results <= MAX_RESULTS:
        raise invalid(f"Invalid value for max_results: it must be between 1 and {MAX_RESULTS}, not {max_results}.")
    lifecycle = VIEWS.get(view)
    if lifecycle is None:
        raise invalid(f"Invalid run_view_type {view!r}; use ACTIVE_ONLY, DELETED_ONLY or ALL.")
    try:
        return interop_search(project, [str(e) for e in experiment_ids], filter_string, order_by, max_results,
                              None if not page_token else str(page_token),
                              also=(Clause("tag", c.KIND_TAG, "IS NULL", None), *lifecycle))
    except BadInputError as exc:
        raise invalid(exc.message) from None
