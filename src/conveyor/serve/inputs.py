"""A decoded request: either a float matrix (the fast path) or a conformed DataFrame (the general path).

When every signature input is numeric and the model takes a plain matrix (:attr:`Predictor.takes_matrix`), the
common JSON shapes go straight to a ``float64`` matrix in signature order, with no DataFrame built. Anything the
fast decoder is not sure about (text values, missing or extra columns, infinities, ragged rows) returns None and
the request takes the general path, which gives the same answer and, for bad input, names the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from conveyor.serve.conform import conform

_PLAIN = {int, float}
_PLAIN_OR_NONE = {int, float, type(None)}


@dataclass
class Inputs:
    """One request's rows, as the model will see them."""

    names: list[str]
    matrix: np.ndarray | None = None  # float64, rows x len(names), in signature order
    frame: pd.DataFrame | None = None  # conformed to the signature
    ignored_columns: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.matrix.shape[0] if self.matrix is not None else len(self.frame)  # type: ignore[arg-type]

    def as_frame(self) -> pd.DataFrame:
        if self.frame is None:
            self.frame = pd.DataFrame(self.matrix, columns=self.names)
        return self.frame

    def for_signature(self, inputs: list[dict[str, Any]], max_rows: int) -> Inputs:
        """The same rows checked against another model's signature (shadow and canary models may differ)."""
        names = [c["name"] for c in inputs]
        if names == self.names and self.matrix is not None and all(c.get("kind") == "numeric" for c in inputs):
            return self
        payload = conform(self.as_frame(), inputs, max_rows=max(max_rows, len(self)))
        return Inputs(names, frame=payload.frame, ignored_columns=payload.ignored_columns)

    def input_values(self) -> tuple[list[str], list[list[Any]]]:
        """The prediction log's columnar view: the column names and one list of values per row (NaN -> None; a
        frame's values may still be numpy scalars or timestamps)."""
        if self.matrix is not None:
            values = self.matrix.tolist()
            if np.isnan(self.matrix).any():
                values = [[None if v != v else v for v in row] for row in values]
            return self.names, values
        frame = self.as_frame()
        return [str(c) for c in frame.columns], frame.astype(object).where(frame.notna(), None).to_numpy().tolist()

    def input_rows(self) -> list[dict[str, Any]]:
        """One ``{column: value}`` per row for the prediction log (NaN -> None)."""
        if self.matrix is not None:
            names = self.names
            if not np.isnan(self.matrix).any():
                return [dict(zip(names, row, strict=True)) for row in self.matrix.tolist()]
            return [{n: (None if v != v else v) for n, v in zip(names, row, strict=True)}
                    for row in self.matrix.tolist()]
        frame = self.as_frame()
        return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _clean_rows(rows: Any, width: int, max_rows: int) -> np.ndarray | None:
    if not isinstance(rows, list) or not 0 < len(rows) <= max_rows:
        return None
    if not all(type(row) is list and len(row) == width for row in rows):
        return None
    if not set(map(type, chain.from_iterable(rows))) <= _PLAIN_OR_NONE:  # every value checked in C, not a loop
        return None
    try:
        matrix = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    if matrix.ndim != 2 or np.isinf(matrix).any():
        return None
    return matrix


def _numeric(values: list[Any]) -> np.ndarray | None:
    """``values`` (a flat list) as float64 when each is a plain int or float, with no Python loop of ours; None when
    any is not (None, bool, text: :func:`_clean_rows` decides those) or is infinite."""
    if not set(map(type, values)) <= _PLAIN:
        return None
    try:
        array = np.array(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    return None if np.isinf(array).any() else array


def _from_records(records: Any, names: list[str], max_rows: int) -> np.ndarray | None:
    if not isinstance(records, list) or not records or not all(type(r) is dict and len(r) == len(names)
                                                               for r in records):
        return None
    try:
        rows = [[r[n] for n in names] for r in records]
    except KeyError:
        return None
    return _clean_rows(rows, len(names), max_rows)


def _from_columns(columns: Any, names: list[str], max_rows: int) -> np.ndarray | None:
    if not isinstance(columns, dict) or len(columns) != len(names):
        return None
    try:
        values = [columns[n] for n in names]
    except KeyError:
        return None
    if not all(type(v) is list for v in values):
        return None
    rows = [list(r) for r in zip(*values, strict=False)]
    if len({len(v) for v in values}) != 1:
        return None
    return _clean_rows(rows, len(names), max_rows)


def fast_matrix(body: Any, names: list[str], max_rows: int) -> np.ndarray | None:
    """The float matrix of an MLflow scoring body whose values are all plain numbers; None otherwise."""
    if type(body) is not dict or len(body) != 1:
        return None
    key, value = next(iter(body.items()))
    width = len(names)
    if key == "dataframe_split":
        if type(value) is not dict or set(value) - {"columns", "data", "index"}:
            return None
        if value.get("columns", names) != names:
            return None
        return _clean_rows(value.get("data"), width, max_rows)
    if key == "dataframe_records":
        return _from_records(value, names, max_rows)
    if key in ("instances", "inputs"):
        if isinstance(value, dict):
            return _from_columns(value, names, max_rows) if key == "inputs" else None
        if isinstance(value, list) and value and type(value[0]) is dict:
            return _from_records(value, names, max_rows)
        return _clean_rows(value, width, max_rows)
    return None


_V2_NUMERIC = {"FP64", "FP32", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}


def fast_v2_matrix(body: Any, names: list[str], max_rows: int) -> np.ndarray | None:
    """The float matrix of a V2 request that is one numeric ``[N, k]`` tensor, or one ``[N]`` tensor per input."""
    if type(body) is not dict or type(body.get("inputs")) is not list or not body["inputs"]:
        return None
    tensors = body["inputs"]
    try:
        if len(tensors) == 1 and len(tensors[0].get("shape", ())) == 2 and tensors[0]["shape"][1] == len(names):
            t = tensors[0]
            if t.get("datatype") not in _V2_NUMERIC:
                return None
            data = t["data"]
            rows_wanted = t["shape"][0]
            if (type(data) is list and type(rows_wanted) is int and 0 < rows_wanted <= max_rows
                    and len(data) == rows_wanted * len(names)):
                flat = _numeric(data)  # the common flat [N * k] list of numbers, checked and copied in C
                if flat is not None:
                    return flat.reshape(rows_wanted, len(names))
            rows = data if data and type(data[0]) is list else [data[i:i + len(names)]
                                                                  for i in range(0, len(data), len(names))]
            if len(rows) != t["shape"][0]:
                return None
            return _clean_rows(rows, len(names), max_rows)
        by_name = {t["name"]: t for t in tensors if type(t) is dict}
        if sorted(by_name) != sorted(names) or len(by_name) != len(tensors):
            return None
        columns = {}
        for n in names:
            t = by_name[n]
            if t.get("datatype") not in _V2_NUMERIC or type(t.get("data")) is not list:
                return None
            shape = t.get("shape")
            if type(shape) is not list or shape[:1] != [len(t["data"])] or shape[1:] not in ([], [1]):
                return None
            columns[n] = t["data"]
        if 0 < len(columns[names[0]]) <= max_rows and len({len(c) for c in columns.values()}) == 1:
            flat = _numeric(list(chain.from_iterable(columns[n] for n in names)))
            if flat is not None:
                return flat.reshape(len(names), -1).T.copy()
        return _from_columns(columns, names, max_rows)
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
