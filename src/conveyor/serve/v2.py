"""The Open Inference Protocol (KServe V2) REST shapes, as pure functions, so generic V2 clients work.

A request carries one tensor per input column (``{"name", "shape": [N] or [N, 1], "datatype", "data"}``); a
single 2-D tensor of shape ``[N, k]`` is also accepted as rows in the signature's input order (what clients that
send one numpy matrix do). The answer holds a ``predict`` output and, for classifiers, a ``proba`` output of shape
``[N, classes]`` whose ``parameters.classes`` names the columns. V2 parameter values are scalars, so lists travel
comma-joined: ``parameters.classes``, and the response's ``parameters.prediction_ids`` (the ids ``/feedback``
takes) and ``parameters.ignored_columns``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from conveyor.core.errors import BadInputError, PayloadTooLargeError
from conveyor.serve.conform import MAX_ROWS
from conveyor.serve.scoring import Scored, Served, fast_id

KIND_DATATYPES = {"numeric": "FP64", "categorical": "BYTES", "bool": "BOOL", "datetime": "BYTES"}
DATATYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32",
             "FP64", "BYTES")
_PLAIN_OUTPUTS = {bool, int, float}


def output_datatype(values: list[Any]) -> str:
    """The V2 datatype of a list of plain Python values (bool before int: ``True`` is an ``int`` too)."""
    types = set(map(type, values))  # the common all-plain cases without a Python call per value
    types.discard(type(None))
    if types <= _PLAIN_OUTPUTS:
        if not types:
            return "FP64"
        if types == {bool}:
            return "BOOL"
        if bool not in types:
            return "INT64" if types == {int} else "FP64"
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "BOOL"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INT64"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "FP64"
    return "BYTES" if present else "FP64"


def model_metadata(scorer: Served) -> dict[str, Any]:
    version = scorer.model.version
    inputs = [{"name": c["name"], "datatype": KIND_DATATYPES.get(c.get("kind", ""), "BYTES"), "shape": [-1]}
              for c in version.signature.get("inputs", [])]
    outputs: list[dict[str, Any]] = [{"name": "predict", "shape": [-1],
                                      "datatype": output_datatype(scorer.classes) if scorer.is_classifier else "FP64"}]
    if scorer.is_classifier:
        outputs.append({"name": "proba", "datatype": "FP64", "shape": [-1, len(scorer.classes)]})
    return {"name": version.name, "versions": [str(version.version)], "platform": f"conveyor-{version.flavor}",
            "inputs": inputs, "outputs": outputs,
            "parameters": {"runtime": getattr(scorer.predictor, "serving_runtime", "model")}}


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _tensor(index: int, tensor: Any) -> tuple[str, list[int], list[Any]]:
    where = f"inputs[{index}]"
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise BadInputError(f"{where} must be an object with a 'name', 'shape', 'datatype' and 'data'.", field=where)
    name = tensor["name"]
    if "data" not in tensor:
        raise BadInputError(f"Input tensor {name!r} has no 'data'.", field=name)
    datatype = tensor.get("datatype")
    if datatype is not None and datatype not in DATATYPES:
        raise BadInputError(f"Input tensor {name!r} has unknown datatype {datatype!r}.", field=name,
                            hint=f"Use one of {', '.join(DATATYPES)}.")
    data = _flatten(tensor["data"])
    shape = tensor.get("shape", [len(data)])
    if (not isinstance(shape, list) or not shape or len(shape) > 2
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise BadInputError(f"Input tensor {name!r} has shape {shape!r}; expected [N] or [N, k].", field=name)
    if math.prod(shape) != len(data):
        raise BadInputError(f"Input tensor {name!r} has shape {shape} but {len(data)} values.", field=name,
                            hint="The number of values must be the product of the shape.")
    return name, shape, data


def frame_from_v2(body: Any, names: list[str], *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise BadInputError("A V2 inference request must be an object with a non-empty 'inputs' list of tensors.",
                            field="inputs", hint='For example {"inputs": [{"name": "x", "shape": [1], '
                                                 '"datatype": "FP64", "data": [0.5]}]}.')
    tensors = [_tensor(i, t) for i, t in enumerate(body["inputs"])]
    if len(tensors) == 1 and len(tensors[0][1]) == 2 and tensors[0][1][1] != 1:
        name, (rows, width), data = tensors[0]
        if width != len(names):
            raise BadInputError(f"Input tensor {name!r} has {width} columns; the model takes {len(names)} "
                                f"({', '.join(names)}).", field=name, hint="Send one [N] tensor per column.")
        _check_rows(rows, max_rows, name)
        return pd.DataFrame([data[r * width:(r + 1) * width] for r in range(rows)], columns=names)
    columns: dict[str, list[Any]] = {}
    for name, shape, data in tensors:
        if len(shape) == 2 and shape[1] != 1:
            raise BadInputError(f"Input tensor {name!r} has shape {shape}; send one [N] tensor per column.",
                                field=name)
        if name in columns:
            raise BadInputError(f"Input tensor {name!r} appears twice.", field=name)
        columns[name] = data
    first = next(iter(columns))
    odd = next((n for n, d in columns.items() if len(d) != len(columns[first])), None)
    if odd is not None:
        raise BadInputError(f"Input tensors differ in length: {first!r} has {len(columns[first])} values, {odd!r} "
                            f"has {len(columns[odd])}.", field=odd)
    _check_rows(len(columns[first]), max_rows, first)
    return pd.DataFrame(columns)


def _check_rows(rows: int, max_rows: int, name: str) -> None:
    if rows == 0:
        raise BadInputError(f"Input tensor {name!r} holds no values.", field=name, hint="Send at least one row.")
    if rows > max_rows:
        raise PayloadTooLargeError(f"Input tensor {name!r} holds {rows} rows; at most {max_rows} are scored per "
                                   "request.", field=name, hint="Split the data into smaller requests.")


def requested_outputs(body: dict[str, Any], scorer: Served) -> list[str]:
    available = ["predict", "proba"] if scorer.is_classifier else ["predict"]
    wanted = body.get("outputs")
    if wanted is None:
        return available
    if not isinstance(wanted, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str)
                                                for o in wanted):
        raise BadInputError("'outputs' must be a list of objects with a 'name'.", field="outputs")
    unknown = [o["name"] for o in wanted if o["name"] not in available]
    if unknown:
        raise BadInputError(f"Unknown output {unknown[0]!r}.", field="outputs",
                            hint=f"This model has outputs: {', '.join(available)}.")
    return [o["name"] for o in wanted]


_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


def request_id(body: dict[str, Any]) -> str:
    given = body.get("id")
    if given is not None and not isinstance(given, str):
        raise BadInputError("'id' must be a string.", field="id")
    if given and not _REQUEST_ID.fullmatch(given):  # it is echoed in the X-Request-Id header
        raise BadInputError("'id' must be 1-128 printable ASCII characters (no CR, LF or other control "
                            "characters).", field="id", hint="Use letters, digits and '-', e.g. a UUID.")
    return given or fast_id()


def infer_response(scorer: Served, scored: Scored, *, rid: str, outputs: list[str],
                   ignored_columns: list[str]) -> dict[str, Any]:
    version = scorer.model.version
    tensors: list[dict[str, Any]] = []
    if "predict" in outputs:
        tensors.append({"name": "predict", "shape": [len(scored.predictions)],
                        "datatype": output_datatype(scored.predictions), "data": scored.predictions})
    if "proba" in outputs and scored.proba is not None:
        tensors.append({"name": "proba", "shape": [len(scored.proba), len(scored.classes)], "datatype": "FP64",
                        "data": [p for row in scored.proba for p in row],
                        "parameters": {"classes": ",".join(str(c) for c in scored.classes)}})
    parameters = {"prediction_ids": ",".join(scored.ids)}
    if ignored_columns:
        parameters["ignored_columns"] = ",".join(ignored_columns)
    parameters["model_ref"] = scored.model_version
    parameters["role"] = scored.role
    return {"model_name": version.name, "model_version": str(version.version), "id": rid,
            "parameters": parameters, "outputs": tensors}
