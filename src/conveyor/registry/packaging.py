"""Turn a trained model into bytes and back, and describe what it takes and predicts, through its flavor
(:mod:`conveyor.registry.flavors`: ``sklearn`` pickled, ``lightgbm`` and ``xgboost`` native, or a plug-in)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.kinds import column_kind
from conveyor.registry.flavors import flavor_of, get_flavor


def detect_flavor(model: Any) -> str:
    return flavor_of(model).name


def dump_model(model: Any, flavor: str) -> bytes:
    return get_flavor(flavor).dump(model)


def load_model_bytes(data: bytes, flavor: str) -> Any:
    """Only call with bytes whose digest was verified against the registry record."""
    return get_flavor(flavor).load(data)


def infer_inputs(example: pd.DataFrame | None, model: Any, flavor: str | None = None) -> list[dict[str, str]]:
    """The input columns a model expects, from an example frame or from what the model remembers."""
    if example is not None:
        if not isinstance(example, pd.DataFrame):
            example = pd.DataFrame(np.asarray(example))
            example.columns = [f"f{i}" for i in range(example.shape[1])]
        return [{"name": str(c), "dtype": str(example[c].dtype), "kind": column_kind(example[c])}
                for c in example.columns]
    names = (get_flavor(flavor) if flavor else flavor_of(model)).input_names(model) or []
    return [{"name": n, "dtype": "float64", "kind": "numeric"} for n in names]


def infer_task(model: Any, flavor: str) -> tuple[str, list]:
    return get_flavor(flavor).task(model) or ("regression", [])
