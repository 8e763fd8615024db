"""Whether a cell's gap is larger than its test rows can tell: a paired bootstrap over each cell's test rows.

The AutoML report counts a cell as a miss when conveyor's test score trails the better of the two defaults by over
0.5%, or trails FLAML at all. On small test sets (45 rows for `wine`, 111-143 for `diabetes`, `cancer`,
`chick_weights`) that margin is below what the rows measure: drawing the test rows again, with replacement, moves
the gap by more. This tool resamples every cell's test rows (the same draw for every model, so the comparison stays
paired), rescores the saved outputs, and prints the 95% interval of each gap, then counts the misses whose whole
interval lies beyond the goal's margin: the ones the test rows show.

It reads the test-set outputs a run left in its work folder (`<work>/<dataset>-<seed>/conveyor-<budget>.npy`, the
anchors', FLAML's), so run it right after the run whose JSON it is given: each output is rescored and compared
with the JSON's figure first, and a cell whose output was overwritten since is skipped and named.

    python bench/automl/significance.py RUN.json[,RUN2.json] [--work /tmp/train-bench] [--flaml-work DIR]
        [--resamples 1000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from bench_automl import gap
from datasets import LOWER_IS_BETTER, score

MARGIN = 0.5  # percent: the goal's "at most 0.5% worse than the best default"


def resampled_scores(kind: str, y: np.ndarray, outputs: dict[str, np.ndarray], classes: list, draws: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """Each output's score on every resample of the test rows (``draws``: one row of indices per resample)."""
    if kind == "regression":
        return {name: np.sqrt(((out[draws] - y[draws]) ** 2).mean(axis=1)) for name, out in outputs.items()}
    if kind == "multiclass":
        index = np.searchsorted(np.asarray(classes), y)
        scores = {}
        for name, out in outputs.items():
            proba = np.clip(out, 1e-15, 1)
            proba = proba / proba.sum(axis=1, keepdims=True)
            losses = -np.log(proba[np.arange(len(y)), index])
            scores[name] = losses[draws].mean(axis=1)
        return scores
    positive = y == classes[1]  # ROC AUC: the share of (positive, negative) pairs ranked right, ties half
    scores = {name: np.empty(len(draws)) for name in outputs}
    for i, rows in enumerate(draws):
        labels = positive[rows]
        for name, out in outputs.items():
            ranks = pd.Series(out[rows, 1]).rank().to_numpy()
            n_pos = labels.sum()
            n_neg = len(rows) - n_pos
            scores[name][i] = (ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / max(n_pos * n_neg, 1)
    return scores


def cell_gaps(cell: dict, work: Path, flaml_work: Path | None, resamples: int, rng: np.random.Generator
              ) -> dict | None:
    folder = work / f"{cell['dataset']}-{cell['seed']}"
    budget = f"{cell['budget_s']:g}"
    y = pd.read_parquet(folder / "test.parquet")["target"].to_numpy()
    outputs = {"conveyor": np.load(folder / f"conveyor-{budget}.npy"),
               "lightgbm": np.load(folder / "anchors-0-lightgbm.npy"),
               "linear": np.load(folder / "anchors-0-linear.npy")}
    flaml_file = (flaml_work or work) / f"{cell['dataset']}-{cell['seed']}" / f"flaml-{budget}.npy"
    if "score" in cell.get("flaml", {}) and flaml_file.exists():
        outputs["flaml"] = np.load(flaml_file)
    kind, classes, metric = cell["kind"], cell["classes"], cell["metric"]
    for name, out in outputs.items():  # an output overwritten by a later run is not this cell's
        recorded = cell[name]["score"] if isinstance(cell[name], dict) else cell[name]
        if not np.isclose(score(kind, y, out, classes), recorded, rtol=1e-6, atol=1e-9):
            return None
    draws = rng.integers(0, len(y), size=(resamples, len(y)))
    scores = resampled_scores(kind, y, outputs, classes, draws)
    lower = metric in LOWER_IS_BETTER
    best_default = np.minimum(scores["lightgbm"], scores["linear"]) if lower \
        else np.maximum(scores["lightgbm"], scores["linear"])
    result = {"cell": cell, "default": _interval(scores["conveyor"], best_default, metric)}
    if "flaml" in scores:
        result["flaml"] = _interval(scores["conveyor"], scores["flaml"], metric)
    return result


def _interval(mine: np.ndarray, theirs: np.ndarray, metric: str) -> tuple[float, float]:
    gaps = np.array([gap(a, b, metric) for a, b in zip(mine, theirs, strict=True)])
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", help="comma-separated JSON files of one run (`bench/run.sh automl --json`)")
    parser.add_argument("--work", default="/tmp/train-bench")
    parser.add_argument("--flaml-work", default=None, help="where FLAML's outputs lie, if another run made them")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    cells = [c for path in args.runs.split(",") for c in json.loads(Path(path).read_text())]
    rng = np.random.default_rng(0)
    flaml_work = Path(args.flaml_work) if args.flaml_work else None
    print("| dataset | seed | budget | metric | test rows | conveyor vs best default, % | 95% interval | "
          "conveyor vs FLAML, % | 95% interval |")
    print("|---|---|---|---|---|---|---|---|---|")
    counts = {"within": 0, "noise": 0, "shown": 0, "flaml_ahead": 0, "flaml_noise": 0, "flaml_shown": 0}
    skipped = []
    for cell in cells:
        if "score" not in cell.get("conveyor", {}):
            continue
        found = cell_gaps(cell, Path(args.work), flaml_work, args.resamples, rng)
        if found is None:
            skipped.append(f"{cell['dataset']}@{cell['budget_s']:g}s/seed{cell['seed']}")
            continue
        metric = cell["metric"]
        rows = len(pd.read_parquet(Path(args.work) / f"{cell['dataset']}-{cell['seed']}" / "test.parquet"))
        best = min(cell["lightgbm"], cell["linear"]) if metric in LOWER_IS_BETTER \
            else max(cell["lightgbm"], cell["linear"])
        to_default = gap(cell["conveyor"]["score"], best, metric)
        low, high = found["default"]
        counts["within" if to_default <= MARGIN else "shown" if low > MARGIN else "noise"] += 1
        flaml_text = ("", "")
        if "flaml" in found:
            to_flaml = gap(cell["conveyor"]["score"], cell["flaml"]["score"], metric)
            f_low, f_high = found["flaml"]
            counts["flaml_ahead" if to_flaml <= 0 else "flaml_shown" if f_low > 0 else "flaml_noise"] += 1
            flaml_text = (f"{to_flaml:+.2f}", f"{f_low:+.2f} .. {f_high:+.2f}")
        print(f"| {cell['dataset']} | {cell['seed']} | {cell['budget_s']:g} | {metric} | {rows} | {to_default:+.2f} | "
              f"{low:+.2f} .. {high:+.2f} | {flaml_text[0]} | {flaml_text[1]} |")
    total = counts["within"] + counts["noise"] + counts["shown"]
    print(f"\nOf {total} cells: within {MARGIN}% of the best default in {counts['within']}; behind by more in "
          f"{counts['noise'] + counts['shown']}, of which {counts['shown']} by more than the test rows' noise (the "
          f"whole 95% interval beyond {MARGIN}%).")
    flaml_total = counts["flaml_ahead"] + counts["flaml_noise"] + counts["flaml_shown"]
    if flaml_total:
        print(f"Of {flaml_total} cells with FLAML: at least FLAML's score in {counts['flaml_ahead']}; behind in "
              f"{counts['flaml_noise'] + counts['flaml_shown']}, of which {counts['flaml_shown']} beyond the noise "
              "(the whole 95% interval behind).")
    if skipped:
        print(f"Skipped (their outputs were overwritten by a later run): {', '.join(skipped)}")


if __name__ == "__main__":
    main()
