"""Compare conveyor runs of the AutoML benchmark (`--tools conveyor --json`) cell by cell, on the cells all of them
have: per run, the cells within 0.5% of the best default (LightGBM's defaults or the linear model, as the report
counts them), the cells at least at FLAML's score (FLAML's cells from earlier files with `--flaml`), the median gap to
the best default, and against the first run in how many cells each later one is better and worse.

The gap here is a share of the best default's loss, and for scores best at 1 (ROC AUC) a share of its error
(1 - AUC), so 0.990 against 0.995 counts as 100% behind, not 0.5%: on near-perfect AUCs the relative score hides
the differences a sign count should see.

    python bench/automl/compare_runs.py [--flaml F1.json,F2.json] A.json[,A2.json] B.json[,B2.json] ...
"""

from __future__ import annotations

import argparse
import json
import statistics

from bench_automl import gap
from datasets import LOWER_IS_BETTER


def load(paths: str) -> dict[tuple, dict]:
    cells = {}
    for path in paths.split(","):
        with open(path) as handle:
            for cell in json.load(handle):
                cells[(cell["dataset"], cell["seed"], cell["budget_s"])] = cell
    return cells


def best_default(cell: dict) -> float:
    values = (cell["lightgbm"], cell["linear"])
    return min(values) if cell["metric"] in LOWER_IS_BETTER else max(values)


def loss_gap(cell: dict) -> float:
    mine, best = cell["conveyor"]["score"], best_default(cell)
    if cell["metric"] in LOWER_IS_BETTER:
        return (mine - best) / abs(best)
    return (best - mine) / max(1.0 - best, 1e-3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flaml", default="", help="earlier runs that hold FLAML's cells")
    parser.add_argument("runs", nargs="+", help="each run: one or more JSON files joined by commas")
    args = parser.parse_args()
    flaml = {key: cell["flaml"]["score"] for path in filter(None, args.flaml.split(","))
             for key, cell in load(path).items() if "score" in cell.get("flaml", {})}
    runs = [load(paths) for paths in args.runs]
    keys = sorted(set.intersection(*[set(run) for run in runs]))
    print(f"{len(keys)} cells in every run")
    print("| run | within 0.5% of the best default | at least FLAML | median gap | better / worse than the first |")
    print("|---|---|---|---|---|")
    for index, (name, run) in enumerate(zip(args.runs, runs, strict=True)):
        # counted as the report counts them (bench_automl.gap, in percent)
        within = sum(gap(run[k]["conveyor"]["score"], best_default(run[k]), run[k]["metric"]) <= 0.5 for k in keys)
        versus = [k for k in keys if k in flaml]
        beat = sum(gap(run[k]["conveyor"]["score"], flaml[k], run[k]["metric"]) <= 0 for k in versus)
        gaps = [loss_gap(run[k]) for k in keys]
        versus_first = "-"
        if index:
            better = sum(loss_gap(run[k]) < loss_gap(runs[0][k]) - 1e-9 for k in keys)
            worse = sum(loss_gap(run[k]) > loss_gap(runs[0][k]) + 1e-9 for k in keys)
            versus_first = f"{better} / {worse}"
        print(f"| {name} | {within} of {len(keys)} | {beat} of {len(versus)} | {statistics.median(gaps):+.1%} | "
              f"{versus_first} |")


if __name__ == "__main__":
    main()
