"""Per-row feature contributions for ``POST /explain``.

* Tree boosters (LightGBM, XGBoost, alone or at the end of a pipeline): the booster's own exact TreeSHAP
  (``pred_contrib``), in the booster's output space (log-odds for classifiers, the value for regressors), on the
  features the booster sees (after the pipeline's preprocessing). Per row the contributions plus ``bias`` add up
  to the raw score.
* Any other model: occlusion. Each input column in turn is set missing (which the pipelines impute with their
  training statistics) and the change in the score is that column's contribution; ``bias`` is the score with every
  column missing. The score is the probability of the last class for a binary classifier, of the predicted class
  for a multi-class one, and the prediction for a regressor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError, first_line
from conveyor.serve.inputs import Inputs
from conveyor.serve.scoring import Served

MAX_EXPLAIN_ROWS = 1_000


def explain(served: Served, inputs: Inputs) -> dict[str, Any]:
    if len(inputs) > MAX_EXPLAIN_ROWS:
        raise BadInputError(f"{len(inputs)} rows to explain; at most {MAX_EXPLAIN_ROWS} per request.", field="data",
                            hint="Explain fewer rows at a time.")
    answer: dict[str, Any] = {"model_version": served.ref}
    try:
        if served.predictor.native:
            answer.update(_tree_shap(served, inputs.as_frame()))
        else:
            answer.update(_occlusion(served, inputs.as_frame()))
    except BadInputError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise BadInputError(f"The model could not explain this input: {first_line(exc)}", field="inputs") from None
    return answer


def _tree_shap(served: Served, frame: pd.DataFrame) -> dict[str, Any]:
    found = served.predictor.features(frame)
    assert found is not None
    matrix, names = found
    contrib = served.predictor.contributions(matrix)
    assert contrib is not None
    width = len(names) + 1
    blocks = contrib.shape[1] // width
    answer: dict[str, Any] = {"method": "tree_shap", "features": names, "output": "raw_score"}
    if blocks == 1:
        answer["contributions"] = [dict(zip(names, row[:-1], strict=True)) for row in contrib.tolist()]
        answer["bias"] = contrib[:, -1].tolist()
        return answer
    classes = [str(c) for c in served.classes] or [str(i) for i in range(blocks)]
    answer["contributions"] = [
        {cls: dict(zip(names, row[k * width:(k + 1) * width - 1], strict=True)) for k, cls in enumerate(classes)}
        for row in contrib.tolist()]
    answer["bias"] = [{cls: row[(k + 1) * width - 1] for k, cls in enumerate(classes)} for row in contrib.tolist()]
    return answer


def _score(served: Served, frame: pd.DataFrame, target: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    predictions, proba = served.predictor.predict_frame(frame)
    if proba is None:
        return np.asarray(predictions, dtype=float), None
    proba = np.asarray(proba, dtype=float)
    if proba.shape[1] == 2:
        return proba[:, 1], None
    column = proba.argmax(axis=1) if target is None else target
    return proba[np.arange(len(proba)), column], column


def _missing(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return pd.Series(np.nan, index=series.index, dtype="float64")
    return pd.Series([None] * len(series), index=series.index, dtype=object)


def _occlusion(served: Served, frame: pd.DataFrame) -> dict[str, Any]:
    base, target = _score(served, frame, None)
    names = list(frame.columns)
    columns: dict[str, list[float | None]] = {}
    for name in names:
        occluded = frame.copy()
        occluded[name] = _missing(frame[name])
        try:
            score, _ = _score(served, occluded, target)
            columns[name] = (base - score).tolist()
        except Exception:  # a model that cannot take this column missing: no contribution to report
            columns[name] = [None] * len(frame)
    empty = pd.DataFrame({n: _missing(frame[n]) for n in names})
    try:
        bias: list[float | None] = _score(served, empty, target)[0].tolist()
    except Exception:
        bias = [None] * len(frame)
    answer: dict[str, Any] = {"method": "occlusion", "features": names, "output": "score",
                              "contributions": [{n: columns[n][i] for n in names} for i in range(len(frame))],
                              "bias": bias, "score": base.tolist()}
    if target is not None:
        answer["explained_class"] = [str(served.classes[i]) if served.classes else int(i) for i in target]
    return answer
