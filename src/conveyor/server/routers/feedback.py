"""``POST /api/v1/feedback``: ground truth in bulk for logged predictions — ``{"labels": {id: label, ...}}`` or
``{"labels": [{"id": ..., "label": ...}, ...]}`` — written once per id; answers the matched/unmatched report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from conveyor.core.errors import BadInputError
from conveyor.monitor.feedback_batch import ingest_labels
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body

router = APIRouter(tags=["monitoring"])
Body = Annotated[dict[str, Any], Depends(json_body)]

MAX_LABELS = 100_000


@router.post("/feedback")
def feedback(project: ProjectDep, body: Body) -> dict[str, Any]:
    """Attach labels by prediction id; ``duplicates`` and ``conflicting`` count repeated ids in the body."""
    labels = body.get("labels")
    if isinstance(labels, dict):
        pairs = [(str(k), v) for k, v in labels.items()]
    elif isinstance(labels, list) and all(isinstance(i, dict) and set(i) == {"id", "label"} for i in labels):
        pairs = [(str(i["id"]), i["label"]) for i in labels]
    else:
        raise BadInputError('Send {"labels": {PREDICTION_ID: LABEL, ...}} or {"labels": [{"id": ..., "label": ...}]}.',
                            field="labels", hint="Prediction ids are in the 'ids' of a /invocations answer.")
    if len(pairs) > MAX_LABELS:
        raise BadInputError(f"{len(pairs)} labels in one request; at most {MAX_LABELS}.", field="labels",
                            hint="Send them in several requests.")
    return ingest_labels(project.stores, pairs).as_dict()
