"""A LightGBM booster compiled into flat arrays and a numba tree walk, for serving small batches.

LightGBM's ``GBDT::PredictRaw`` is about 40% of a model server's CPU on a 32-row request; a branch-free walk over
arrays laid out so a node's two children sit side by side does the same rows in about half the time, with
bit-identical raw scores (the trees' leaf values are summed in LightGBM's order). The next node is
``child[i] + go_right`` where ``go_right = x > threshold[i] or (x is NaN and nan_right[i])``; a leaf is a node whose
child index is negative (``-(leaf + 1)``). Rows are walked in interleaved groups of ``GROUP`` per tree, so the
memory loads of one row's path overlap another's.

Only what is sure to answer the same is compiled: numerical splits whose missing values are NaN (they follow
``default_left``) or None (LightGBM reads NaN as 0.0, so the side is fixed per node), and the objectives binary
(sigmoid), multiclass (softmax over ``num_class`` interleaved trees) and the identity regressions. Anything else
(categorical splits, missing type Zero, linear trees, random-forest averaging, other objectives) gives ``None`` and
the caller keeps ``Booster.predict``. :func:`compile_booster` also checks the compiled walk against
``Booster.predict`` on rows built from the model's own thresholds before returning it, and numba stays optional:
without it nothing is compiled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

GROUP = 8  # rows walked together through one tree
TOLERANCE = 1e-12  # the largest difference from Booster.predict the check accepts
CHECK_ROWS = 20_000  # at most this many threshold rows, plus MIXED_ROWS rows mixing every feature's values
MIXED_ROWS = 2_000
IDENTITY_OBJECTIVES = ("regression", "regression_l1", "huber", "fair", "quantile", "mape")
DUMPED_INFINITY = 1e300
ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM reads |x| <= this as 0.0 (kZeroThreshold, a float)

_kernel: Any = None


def _walk_kernel() -> Any:
    """The numba kernel, compiled (or read from numba's cache) on first use; None without numba."""
    global _kernel
    if _kernel is not None:
        return _kernel
    try:
        import numba
    except ImportError:
        return None

    def walk(rows, feature, threshold, child, nan_right, leaf_value, roots, outputs):  # pragma: no cover (jitted)
        n = rows.shape[0]
        out = np.zeros((n, outputs))
        at = np.empty(GROUP, np.int32)
        for tree in range(roots.shape[0]):
            column = tree % outputs
            root = roots[tree]
            start = 0
            while start < n:
                size = min(GROUP, n - start)
                for k in range(size):
                    at[k] = root
                moving = size
                while moving > 0:
                    moving = 0
                    for k in range(size):
                        node = at[k]
                        first = child[node]
                        if first >= 0:
                            x = rows[start + k, feature[node]]
                            if abs(x) <= ZERO_THRESHOLD:
                                x = 0.0
                            at[k] = first + np.int32((x > threshold[node]) | ((x != x) & nan_right[node]))
                            moving += 1
                for k in range(size):
                    out[start + k, column] += leaf_value[-child[at[k]] - 1]
                start += GROUP
        return out

    try:  # numba's cache (next to this file, or the user's cache folder) spares a restarted server the compile
        _kernel = numba.njit(nogil=True, cache=True)(walk)
    except RuntimeError:  # no writable cache folder anywhere: compile at each start instead (about a second)
        _kernel = numba.njit(nogil=True)(walk)
    return _kernel


class Unsupported(Exception):
    """The booster uses something the compiled walk does not do; LightGBM's own predict serves it."""


@dataclass
class TreeArrays:
    feature: np.ndarray  # int32 per node (-1 at leaves)
    threshold: np.ndarray  # float64 per node
    child: np.ndarray  # int32 per node: the left child's index (right = left + 1), or -(leaf + 1) at a leaf
    nan_right: np.ndarray  # bool per node: where NaN goes
    leaf_value: np.ndarray  # float64 per leaf
    roots: np.ndarray  # int32 per tree


def flatten(trees: list[dict]) -> TreeArrays:
    """``dump_model()["tree_info"]`` as arrays with each node's children adjacent."""
    feature: list[int] = []
    threshold: list[float] = []
    child: list[int] = []
    nan_right: list[bool] = []
    leaves: list[float] = []
    roots: list[int] = []

    def slot() -> int:
        feature.append(-1)
        threshold.append(0.0)
        child.append(0)
        nan_right.append(False)
        return len(feature) - 1

    def place(node: dict, at: int) -> None:
        if "split_index" not in node:
            if "leaf_coeff" in node:
                raise Unsupported("linear trees")
            leaves.append(float(node["leaf_value"]))
            child[at] = -len(leaves)
            return
        if node.get("decision_type") != "<=":
            raise Unsupported("categorical splits")
        missing = node.get("missing_type")
        value = float(node["threshold"])
        if abs(value) >= DUMPED_INFINITY:  # the JSON dump writes an infinite threshold as +-1e300
            value = np.copysign(np.inf, value)
        if missing == "NaN":
            goes_right = not node["default_left"]
        elif missing == "None":  # NaN is read as 0.0
            goes_right = value < 0.0  # 0.0 > threshold
        else:
            raise Unsupported(f"missing type {missing}")
        feature[at] = int(node["split_feature"])
        threshold[at] = value
        nan_right[at] = goes_right
        left = slot()
        right = slot()
        child[at] = left
        place(node["left_child"], left)
        place(node["right_child"], right)

    for tree in trees:
        root = slot()
        roots.append(root)
        place(tree["tree_structure"], root)
    return TreeArrays(np.asarray(feature, np.int32), np.asarray(threshold, np.float64), np.asarray(child, np.int32),
                      np.asarray(nan_right, np.bool_), np.asarray(leaves, np.float64), np.asarray(roots, np.int32))


def _transform(dump: dict, params: dict) -> tuple[str, float, int]:
    """(kind, sigmoid, outputs) of the objective: what turns raw scores into ``predict``'s answer."""
    if dump.get("average_output"):
        raise Unsupported("random-forest averaging")
    if str(params.get("linear_tree", "false")).lower() in ("true", "1"):
        raise Unsupported("linear trees")
    words = str(dump.get("objective", "")).split()
    name = words[0] if words else ""
    options = dict(w.split(":", 1) for w in words[1:] if ":" in w)
    outputs = int(dump.get("num_tree_per_iteration", 1))
    if name == "binary" and outputs == 1 and len(words) == 2 and "sigmoid" in options:
        return "sigmoid", float(options["sigmoid"]), 1
    if name == "multiclass" and len(words) == 2 and int(options.get("num_class", 0)) == outputs > 1:
        return "softmax", 0.0, outputs
    if name in IDENTITY_OBJECTIVES and outputs == 1 and "sqrt" not in words:  # sqrt: predictions are squared
        return "identity", 0.0, 1
    raise Unsupported(f"objective {' '.join(words) or 'unknown'}")


class CompiledTrees:
    """``predict(matrix)`` answering what ``Booster.predict(matrix)`` does, through the compiled walk."""

    def __init__(self, arrays: TreeArrays, transform: str, sigmoid: float, outputs: int, features: int,
                 kernel: Any) -> None:
        self.arrays = arrays
        self.transform = transform
        self.sigmoid = sigmoid
        self.outputs = outputs
        self.features = features
        self.kernel = kernel
        self.max_difference = float("nan")  # set by the check at compile time

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        a = self.arrays
        rows = np.ascontiguousarray(matrix, dtype=np.float64)
        if not rows.flags.writeable:  # numba types a read-only array apart: it would compile again, mid-request
            rows = rows.copy()
        return self.kernel(rows, a.feature, a.threshold, a.child, a.nan_right, a.leaf_value, a.roots, self.outputs)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        raw = self.raw(matrix)
        if self.transform == "sigmoid":
            return 1.0 / (1.0 + np.exp(-self.sigmoid * raw[:, 0]))
        if self.transform == "softmax":
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        return raw[:, 0]


def check_rows(arrays: TreeArrays, features: int) -> np.ndarray:
    """Deterministic rows reaching both sides of every split: per feature, each threshold, the floats just above
    and below it, NaN, 0.0, tiny and huge values; one feature varied at a time, then rows mixing them."""
    extremes = [np.nan, 0.0, 1e-36, -1e-36, 1e300, -1e300, np.inf, -np.inf, ZERO_THRESHOLD, -ZERO_THRESHOLD]
    values: list[np.ndarray] = []
    for f in range(features):
        cuts = np.unique(arrays.threshold[arrays.feature == f])
        values.append(np.unique(np.concatenate([cuts, np.nextafter(cuts, np.inf), np.nextafter(cuts, -np.inf),
                                                extremes])))  # NaN sorts last and np.unique keeps it once
    base = np.array([v[len(v) // 2] for v in values]) if features else np.zeros(0)
    blocks = []
    for f, candidates in enumerate(values):
        block = np.tile(base, (len(candidates), 1))
        block[:, f] = candidates
        blocks.append(block)
    single = np.concatenate(blocks) if blocks else np.zeros((0, features))
    if len(single) > CHECK_ROWS:
        single = single[np.linspace(0, len(single) - 1, CHECK_ROWS).astype(int)]
    choose = np.random.default_rng(0)
    mixed = np.column_stack([v[choose.integers(0, len(v), MIXED_ROWS)] for v in values]) if values \
        else np.zeros((MIXED_ROWS, 0))
    return np.ascontiguousarray(np.concatenate([single, mixed]))


def compile_booster(booster: Any) -> CompiledTrees | None:
    """The booster compiled and checked against its own ``predict``; None when numba is missing (silently), the
    booster uses something not compiled (debug log), or the check fails (one warning)."""
    kernel = _walk_kernel()
    if kernel is None:
        return None
    try:
        dump = booster.dump_model()  # the same iterations predict() uses by default (best_iteration when set)
        transform, sigmoid, outputs = _transform(dump, dict(getattr(booster, "params", {}) or {}))
        arrays = flatten(dump["tree_info"])
    except Unsupported as reason:
        log.debug("Serving the LightGBM model with its own predict: %s are not compiled.", reason)
        return None
    except Exception as exc:  # an unexpected dump: LightGBM's own predict is always right
        log.warning("Could not compile the LightGBM model's trees (%s); serving it with LightGBM's predict.", exc)
        return None
    try:
        features = int(booster.num_feature())
        compiled = CompiledTrees(arrays, transform, sigmoid, outputs, features, kernel)
        rows = check_rows(arrays, features)
        expected = np.asarray(booster.predict(rows, num_threads=1), dtype=np.float64)
        got = compiled.predict(rows).reshape(expected.shape)
        same_nan = np.array_equal(np.isnan(expected), np.isnan(got))
        difference = float(np.max(np.abs(expected - got), initial=0.0, where=~np.isnan(expected)))
        if not same_nan or not difference <= TOLERANCE:
            log.warning("The compiled trees differ from LightGBM's predict by %.3g on the check rows; serving the "
                        "model with LightGBM's predict.", difference)
            return None
        compiled.max_difference = difference
        compiled.predict(rows[:1])  # both dispatch paths warm
        return compiled
    except Exception as exc:
        log.warning("Could not check the compiled trees (%s); serving the model with LightGBM's predict.", exc)
        return None
