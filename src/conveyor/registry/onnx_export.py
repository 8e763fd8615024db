"""Export a model version to ONNX, only when the ONNX model answers what the original does.

Converts with skl2onnx: scikit-learn pipelines of standard steps (ColumnTransformer, SimpleImputer, StandardScaler,
OneHotEncoder, OrdinalEncoder, TargetEncoder, linear and tree models), LightGBM's and XGBoost's scikit-learn
estimators (onnxmltools' converters, registered with skl2onnx here), native boosters (``lightgbm`` and ``xgboost``
flavors, through onnxmltools) and conveyor's own pieces: the casting helpers of
:mod:`conveyor.features.preprocess` (``_as_float`` -> a cast, ``_as_text`` -> identity: the runner feeds text
with missing values as ``"__missing__"``) and :class:`conveyor.train.estimators.EncodedLabels` (unwrapped: the
ONNX model gives probabilities and the label is ``classes[argmax]``, as the estimator itself answers). AutoML's
weighted ensemble becomes one graph: its members side by side on the shared inputs, their outputs weighted and
summed. Anything else (date parts, free text, other functions) is refused with a :class:`BadInputError` naming
the step.

Each input column becomes one ONNX input (float32 for numbers and bools, text for categories); a model with no
column preprocessing and only numeric inputs takes one float matrix. :func:`export_onnx` scores a check set with
both and refuses when the largest absolute difference of the probabilities (classifiers) or values (regressors)
exceeds ``tolerance``. The result is kept per model artifact digest, so a version is exported once per process;
its bytes are written to the artifact store (content-addressed) and named by :attr:`OnnxExport.digest`.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError
from conveyor.registry.edge_runner import OnnxModel
from conveyor.registry.loaded import LoadedModel
from conveyor.store import Stores

DEFAULT_TOLERANCE = 1e-4
TARGET_OPSET = 17
BOOSTER_OPSET = 15  # the highest onnxmltools' booster converters take
NATIVE_BOOSTERS = ("lightgbm", "xgboost")
ENSEMBLES = {"Ensemble", "EnsembleClassifier", "EnsembleRegressor"}
ENSEMBLE_OUTPUT = "ensemble_output"
_FLOAT_HELPERS = {"_as_float"}
_TEXT_HELPERS = {"_as_text"}
_lock = threading.Lock()
_registered = False
_exports: dict[tuple[str, float], OnnxExport] = {}


@dataclass
class OnnxExport:
    """An exported version: the ONNX bytes, the schema the runner reads, and how close it came to the original."""

    model: str  # "MODEL:N"
    onnx: bytes
    schema: dict[str, Any]
    max_abs_diff: float
    check_rows: int
    tolerance: float
    digest: str = ""  # the ONNX bytes in the artifact store
    extra: dict[str, Any] = field(default_factory=dict)

    def runtime(self, threads: int = 1) -> OnnxModel:
        return OnnxModel(self.onnx, self.schema, threads=threads)

    def summary(self) -> dict[str, Any]:
        return {"model_version": self.model, "onnx_bytes": len(self.onnx), "onnx_digest": self.digest,
                "max_abs_diff": self.max_abs_diff, "check_rows": self.check_rows, "tolerance": self.tolerance}


def _refuse(model_ref: str, step: str, why: str, hint: str) -> BadInputError:
    return BadInputError(f"{model_ref} cannot be exported to ONNX: {step} {why}.", field="model", hint=hint)


def _register() -> None:
    """onnxmltools' LightGBM and XGBoost converters, and conveyor's FunctionTransformer helpers, in skl2onnx."""
    global _registered
    with _lock:
        if _registered:
            return
        skl2onnx = require("skl2onnx", "onnx", field="runtime")
        require("onnxmltools", "onnx", field="runtime")
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )

        classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
        try:
            from lightgbm import LGBMClassifier, LGBMRegressor
            from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

            skl2onnx.update_registered_converter(LGBMClassifier, "LightGbmLGBMClassifier",
                                                 calculate_linear_classifier_output_shapes, convert_lightgbm,
                                                 options=classifier_options)
            skl2onnx.update_registered_converter(LGBMRegressor, "LightGbmLGBMRegressor",
                                                 calculate_linear_regressor_output_shapes, convert_lightgbm,
                                                 options={"split": None})
        except ImportError:
            pass
        try:
            from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
            from xgboost import XGBClassifier, XGBRegressor

            skl2onnx.update_registered_converter(XGBClassifier, "XGBoostXGBClassifier",
                                                 calculate_linear_classifier_output_shapes, convert_xgboost,
                                                 options=classifier_options)
            skl2onnx.update_registered_converter(XGBRegressor, "XGBoostXGBRegressor",
                                                 calculate_linear_regressor_output_shapes, convert_xgboost)
        except ImportError:
            pass
        _register_helpers(skl2onnx)
        _registered = True


def _register_helpers(skl2onnx: Any) -> None:
    """A FunctionTransformer converter that knows conveyor's casting helpers (skl2onnx's own knows none)."""
    from skl2onnx.algebra.onnx_ops import OnnxCast, OnnxIdentity
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.preprocessing import FunctionTransformer

    def shape(operator: Any) -> None:
        func = getattr(operator.raw_operator.func, "__name__", "")
        rows = operator.inputs[0].get_first_dimension()
        width = sum(i.get_second_dimension() or 1 for i in operator.inputs)
        kind = StringTensorType if func in _TEXT_HELPERS else FloatTensorType
        operator.outputs[0].type = kind([rows, width])

    def convert(scope: Any, operator: Any, container: Any) -> None:
        func = getattr(operator.raw_operator.func, "__name__", "")
        opv = container.target_opset
        source = operator.inputs[0]
        if func in _FLOAT_HELPERS:
            node = OnnxCast(source, to=1, op_version=opv, output_names=operator.outputs[:1])  # 1 = FLOAT
        else:
            node = OnnxIdentity(source, op_version=opv, output_names=operator.outputs[:1])
        node.add_to(scope, container)

    skl2onnx.update_registered_converter(FunctionTransformer, "SklearnFunctionTransformer", shape, convert)


def _check_step(ref: str, step: Any, where: str) -> Any:
    """The step as it converts: EncodedLabels unwrapped; conveyor helpers checked; unknown pieces refused."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    name = type(step).__name__
    if isinstance(step, Pipeline):
        clone = copy.copy(step)
        clone.steps = [(n, _check_step(ref, s, f"{where}.{n}")) for n, s in step.steps]
        return clone
    if isinstance(step, ColumnTransformer):
        clone = copy.copy(step)
        clone.transformers_ = [(n, s if isinstance(s, str) else _check_step(ref, s, f"{where}.{n}"), cols)
                               for n, s, cols in step.transformers_]
        return clone
    if isinstance(step, FunctionTransformer):
        func = getattr(step.func, "__name__", repr(step.func))
        if func not in _FLOAT_HELPERS | _TEXT_HELPERS:
            raise _refuse(ref, f"the step {where} (FunctionTransformer {func})", "has no ONNX equivalent",
                          "Train without date or free-text columns (expand them into numbers upstream), or serve "
                          "with the default runtime.")
        return step
    if name == "OneHotEncoder" and step.handle_unknown == "infrequent_if_exist" \
            and not any(c is not None for c in (getattr(step, "infrequent_categories_", None) or [])):
        clone = copy.copy(step)  # no infrequent bucket: scikit-learn answers unknown categories with zeros
        clone.handle_unknown = "ignore"
        return clone
    if name == "EncodedLabels":
        return _check_step(ref, step.estimator, f"{where}.estimator")
    if name in ENSEMBLES:  # the top-level ensemble is merged by convert(); one nested inside a pipeline is not
        raise _refuse(ref, f"the step {where} (a weighted ensemble inside a pipeline)", "does not convert",
                      "Register the ensemble itself or the best single model of the run.")
    if name == "TfidfVectorizer":
        raise _refuse(ref, f"the step {where} (TfidfVectorizer)", "tokenizes differently in ONNX",
                      "Drop the free-text column or serve with the default runtime.")
    return step


def _initial_types(ref: str, inputs: list[dict[str, Any]], columns: bool) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    if not columns:
        return [("input", FloatTensorType([None, len(inputs)]))]
    types = []
    for column in inputs:
        if column.get("kind") == "datetime":
            raise _refuse(ref, f"the input {column['name']!r} (a datetime)", "has no ONNX input type here",
                          "Expand dates into numeric columns before training, or serve with the default runtime.")
        numeric = column.get("kind") in {"numeric", "bool"}
        types.append((column["name"], FloatTensorType([None, 1]) if numeric else StringTensorType([None, 1])))
    return types


def convert(loaded: LoadedModel) -> tuple[bytes, dict[str, Any]]:
    """The model as ONNX bytes and the runner's schema (no agreement check: see :func:`export_onnx`)."""
    ref = loaded.version.ref
    inputs = loaded.version.signature.get("inputs", [])
    if not inputs:
        raise _refuse(ref, "the model", "has no input signature", "Register it with an input example.")
    if loaded.version.flavor in NATIVE_BOOSTERS:
        return _convert_booster(loaded, inputs)
    if loaded.version.flavor != "sklearn":
        raise _refuse(ref, f"a {loaded.version.flavor} model", "has no ONNX converter here",
                      "Register a scikit-learn, LightGBM or XGBoost model, or serve with the default runtime.")
    _register()
    classifier = loaded.task == "classification"
    model = loaded.model
    if type(model).__name__ in ENSEMBLES:
        parts = [_convert_sklearn(ref, member, inputs, classifier, f"model.members[{k}]")
                 for k, member in enumerate(model.members)]
        if len({columns for _, columns, _ in parts}) != 1:
            raise _refuse(ref, "the ensemble", "mixes members with and without column preprocessing",
                          "Register the best single model of the run and export that one.")
        merged = _weighted_sum([(m.graph, out) for m, _, out in parts], list(model.weights),
                               [m for m, _, _ in parts])
        return merged.SerializeToString(), _schema(loaded, inputs, parts[0][1], ENSEMBLE_OUTPUT)
    onnx_model, columns, output = _convert_sklearn(ref, model, inputs, classifier, "model")
    return onnx_model.SerializeToString(), _schema(loaded, inputs, columns, output)


def _convert_sklearn(ref: str, model: Any, inputs: list[dict[str, Any]], classifier: bool,
                     where: str) -> tuple[Any, bool, str]:
    """One scikit-learn model or pipeline as (ONNX ModelProto, one input per column?, output name)."""
    from skl2onnx import convert_sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    model = _check_step(ref, model, where)
    steps = model.steps if isinstance(model, Pipeline) else [(where, model)]
    columns = any(isinstance(s, ColumnTransformer) for _, s in steps)
    if not columns and not all(c.get("kind") in {"numeric", "bool"} for c in inputs):
        raise _refuse(ref, "a model without a ColumnTransformer", "takes non-numeric inputs",
                      "Put the encoding of text columns inside the pipeline (conveyor train does).")
    options = {id(steps[-1][1]): {"zipmap": False}} if classifier else None
    try:
        onnx_model = convert_sklearn(model, initial_types=_initial_types(ref, inputs, columns),
                                     target_opset={"": TARGET_OPSET, "ai.onnx.ml": 3}, options=options)
    except BadInputError:
        raise
    except Exception as exc:  # skl2onnx says which class it lacks a converter for
        step = next((f"{n} ({type(s).__name__})" for n, s in steps if type(s).__name__ in str(exc)),
                    type(steps[-1][1]).__name__)
        raise _refuse(ref, f"the step {step}", f"does not convert ({str(exc).splitlines()[0][:200]})",
                      "Use standard scikit-learn, LightGBM or XGBoost steps, or serve with the default runtime.") \
            from None
    outputs = [o.name for o in onnx_model.graph.output]
    output = next((o for o in outputs if "prob" in o), outputs[-1]) if classifier else outputs[0]
    return onnx_model, columns, output


def _weighted_sum(graphs: list[tuple[Any, str]], weights: list[float], models: list[Any]) -> Any:
    """One ONNX model from several sharing their inputs: each member's output times its weight, summed (the
    ensemble's average). Member names get a prefix so that nothing but the inputs is shared."""
    from onnx import TensorProto, helper, numpy_helper

    shared = {i.name for i in graphs[0][0].input}
    total = float(sum(weights))
    nodes: list[Any] = []
    initializers: list[Any] = []
    scaled: list[str] = []
    for k, (graph, output) in enumerate(graphs):
        prefix = f"m{k}_"

        def rename(name: str, prefix: str = prefix) -> str:
            return name if not name or name in shared else prefix + name

        for node in graph.node:
            copied = copy.deepcopy(node)
            copied.name = prefix + node.name
            copied.input[:] = [rename(n) for n in node.input]
            copied.output[:] = [rename(n) for n in node.output]
            nodes.append(copied)
        for init in graph.initializer:
            renamed = copy.deepcopy(init)
            renamed.name = rename(init.name)
            initializers.append(renamed)
        weight = numpy_helper.from_array(np.array([weights[k] / total], dtype=np.float32), f"{prefix}weight")
        initializers.append(weight)
        nodes.append(helper.make_node("Mul", [rename(output), weight.name], [f"{prefix}scaled"], name=f"{prefix}mul"))
        scaled.append(f"{prefix}scaled")
    nodes.append(helper.make_node("Sum", scaled, [ENSEMBLE_OUTPUT], name="ensemble_sum"))
    out = helper.make_tensor_value_info(ENSEMBLE_OUTPUT, TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "conveyor_ensemble", list(graphs[0][0].input), [out], initializers)
    opsets: dict[str, int] = {}
    for model in models:
        for opset in model.opset_import:
            opsets[opset.domain] = max(opsets.get(opset.domain, 0), opset.version)
    merged = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    merged.ir_version = models[0].ir_version
    return merged


def _schema(loaded: LoadedModel, inputs: list[dict[str, Any]], columns: bool, output: str) -> dict[str, Any]:
    schema = {"model_version": loaded.version.ref, "task": loaded.task, "classes": list(loaded.classes),
              "layout": "columns" if columns else "matrix", "output": output,
              "inputs": [{"name": c["name"], "kind": c.get("kind"), "dtype": c.get("dtype"),
                          "onnx": "float" if (not columns or c.get("kind") in {"numeric", "bool"}) else "string"}
                         for c in inputs]}
    if not columns:
        schema["matrix_input"] = "input"
    return schema


def _convert_booster(loaded: LoadedModel, inputs: list[dict[str, Any]]) -> tuple[bytes, dict[str, Any]]:
    """A native ``lightgbm.Booster`` or ``xgboost.Booster`` (numeric inputs, one float matrix) via onnxmltools."""
    ref = loaded.version.ref
    if not all(c.get("kind") in {"numeric", "bool"} for c in inputs):
        raise _refuse(ref, "a native booster", "takes non-numeric inputs", "Serve with the default runtime.")
    onnxmltools = require("onnxmltools", "onnx", field="runtime")
    from onnxmltools.convert.common.data_types import FloatTensorType

    types = [("input", FloatTensorType([None, len(inputs)]))]
    classifier = loaded.task == "classification"
    try:
        if loaded.version.flavor == "lightgbm":
            onnx_model = onnxmltools.convert_lightgbm(loaded.model, initial_types=types, zipmap=False,
                                                      target_opset=BOOSTER_OPSET)
        else:
            booster = loaded.model.copy()
            booster.feature_names = None  # the converter reads trees by position (f0, f1, ...), not by name
            onnx_model = onnxmltools.convert_xgboost(booster, initial_types=types, target_opset=BOOSTER_OPSET)
    except Exception as exc:
        raise _refuse(ref, f"the {loaded.version.flavor} booster", f"does not convert "
                      f"({str(exc).splitlines()[0][:200]})", "Serve with the default runtime.") from None
    outputs = [o.name for o in onnx_model.graph.output]
    output = next((o for o in outputs if "prob" in o), outputs[-1]) if classifier else outputs[0]
    return onnx_model.SerializeToString(), _schema(loaded, inputs, False, output)


def original_output(loaded: LoadedModel, frame: pd.DataFrame) -> np.ndarray:
    """What the original model answers on ``frame``: probabilities for a classifier, values for a regressor."""
    if loaded.task == "classification":
        proba = loaded.predict_proba(frame)
        return np.asarray(proba, dtype=np.float64)
    return np.asarray(loaded.predict(frame), dtype=np.float64).reshape(-1)


def frame_columns(frame: pd.DataFrame) -> dict[str, list]:
    """A frame as the runner's column -> values (pandas' missing markers as None)."""
    return {str(c): [None if v is pd.NA else v for v in frame[c].tolist()] for c in frame.columns}


def export_onnx(stores: Stores | None, loaded: LoadedModel, check: pd.DataFrame, *,
                tolerance: float = DEFAULT_TOLERANCE) -> OnnxExport:
    """Convert ``loaded``, score ``check`` (rows in signature columns) with both, and keep it only when the largest
    absolute difference is at most ``tolerance``; its bytes go to ``stores``' artifact store when given."""
    key = (loaded.version.artifact, tolerance)
    if key in _exports:
        return _exports[key]
    ref = loaded.version.ref
    if check is None or not len(check):
        raise BadInputError(f"No rows to check the ONNX export of {ref} against.", field="check",
                            hint="Pass rows in the model's input columns (its training data will do).")
    data, schema = convert(loaded)
    names = [c["name"] for c in schema["inputs"]]
    missing = [n for n in names if n not in check.columns]
    if missing:
        raise BadInputError(f"The check rows lack the input column(s) {', '.join(missing)} of {ref}.",
                            field="check", hint="Pass rows with every input column of the model.")
    frame = check[names].reset_index(drop=True)
    try:
        theirs = OnnxModel(data, schema).run(frame_columns(frame))
    except Exception as exc:  # onnxruntime refusing a check row: the export does not answer what the model does
        raise BadInputError(f"The ONNX export of {ref} fails on the check rows: {str(exc).splitlines()[0][:300]}",
                            field="model", hint="Serve with the default runtime.") from None
    ours = original_output(loaded, frame)
    if loaded.task == "classification" and theirs.ndim == 2 and ours.ndim == 2 and theirs.shape[1] != ours.shape[1]:
        theirs = np.column_stack([1 - theirs[:, -1], theirs[:, -1]]) if theirs.shape[1] == 1 else theirs
    theirs = theirs.reshape(ours.shape)
    diff = float(np.nanmax(np.abs(theirs - ours))) if ours.size else 0.0
    if not np.isfinite(diff) or diff > tolerance:
        raise BadInputError(f"The ONNX export of {ref} differs from the model by up to {diff:.3g} on "
                            f"{len(frame)} check rows (bound {tolerance:g}).", field="tolerance",
                            hint="Serve with the default runtime, or raise the bound (`deploy edge --tolerance`, "
                                 "the serving option onnx_tolerance) if that difference is acceptable.")
    schema["max_abs_diff"] = diff
    schema["check_rows"] = len(frame)
    result = OnnxExport(ref, data, schema, diff, len(frame), tolerance)
    if stores is not None:
        result.digest = stores.artifacts.put_bytes(data)
    _exports[key] = result
    return result


def schema_json(export: OnnxExport) -> str:
    return json.dumps(export.schema, indent=2, default=str)


__all__ = ["DEFAULT_TOLERANCE", "OnnxExport", "convert", "export_onnx", "frame_columns", "original_output",
           "schema_json"]
