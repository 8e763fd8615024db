"""``/api/v1/feedback``: ground truth for logged predictions in batches (`conveyor feedback ingest` against a
server sends its table here in chunks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from conveyor.core.errors import BadInputError, PayloadTooLargeError
from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body

router = APIRouter(tags=["monitoring"])
Body = Annotated[dict[str, Any], Depends(json_body)]

MAX_LABELS = 10_000
"""Labels in one request; a client sends a bigger table in several."""



def labels_from(body: dict[str, Any]) -> dict[str, Any]:
    """``{"labels": {id: label}}`` or ``{"labels": [{"id": ..., "label": ...}, ...]}`` -> ``{id: label}``."""
    given = body.get("labels")
    if isinstance(given, dict):
        labels = given
    elif isinstance(given, list) and all(isinstance(i, dict) and set(i) == {"id", "label"} for i in given):
        labels = {i["id"]: i["label"] for i in given}
    else:
        raise BadInputError("The body needs 'labels': {PREDICTION_ID: LABEL, ...} or [{\"id\": ..., \"label\": "
                            "...}, ...].", field="labels", hint="Prediction ids are in a serving answer's 'ids'.")
    if not all(isinstance(pid, str) for pid in labels):
        raise BadInputError("Prediction ids must be text.", field="labels.id")
    if len(labels) > MAX_LABELS:
        raise PayloadTooLargeError(f"{len(labels)} labels in one request; at most {MAX_LABELS}.", field="labels",
                                   hint="Send a bigger table in several requests (the client does).")
    return labels


@router.post("/feedback", dependencies=[requires("monitor.write")])  # a relabel checks feedback.relabel too
def add_feedback(project: ProjectDep, body: Body) -> dict[str, Any]:
    """Attach labels by prediction id. Labels are written once: an id that is unknown or already labelled is
    counted under ``not_updated`` (which of the two is not said), unless ``relabel`` (an authorised correction)."""
    unknown = set(body) - {"labels", "relabel"}
    if unknown:
        raise BadInputError(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0],
                            hint="Send 'labels' and, for a correction, 'relabel': true.")
    relabel = body.get("relabel", False)
    if not isinstance(relabel, bool):
        raise BadInputError("'relabel' must be true or false.", field="relabel")
    return project.feedback.add(labels_from(body), relabel=relabel).to_dict()
