"""AutoML at equal time budgets: conveyor vs FLAML vs default LightGBM, on the same splits of real datasets.

Each fit runs in its own interpreter (conveyor's venv for conveyor and LightGBM, FLAML's venv under .bench/),
single-threaded; the driver scores every tool's test-set output with the same code, ranks the tools per dataset
(1 = best) and prints the table with mean ranks. Wall and CPU seconds are reported per fit.

    bash bench/run.sh automl [--budgets 10,60] [--datasets cancer,segment] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import DATASETS, metric_for, score, split

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FLAML_PYTHON = ROOT / ".bench" / "flaml-venv" / "bin" / "python"
TOOLS = ("conveyor", "flaml", "lightgbm")
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def prepare(name: str, folder: Path) -> dict:
    train, test, kind = split(name)
    folder.mkdir(parents=True, exist_ok=True)
    train.to_parquet(folder / "train.parquet")
    test.to_parquet(folder / "test.parquet")
    classes = [] if kind == "regression" else sorted(train["target"].unique().tolist())
    meta = {"kind": kind, "classes": classes, "rows": len(train) + len(test), "columns": train.shape[1] - 1,
            "missing": bool(train.isna().any().any()),
            "categorical": int(sum(pd.api.types.is_string_dtype(train[c]) for c in train.columns if c != "target"))}
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def fit(tool: str, folder: Path, budget: float) -> dict:
    python = str(FLAML_PYTHON) if tool == "flaml" else sys.executable
    out = folder / f"{tool}-{budget:g}.npy"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([python, str(HERE / "fit_one.py"), tool, str(folder), str(budget), str(out)],
                          capture_output=True, text=True, env={**os.environ, **SINGLE_THREAD}, cwd=ROOT)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1][:300] if done.stderr.strip() else "failed",
                "wall_s": wall}
    info = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**info, "output": str(out), "wall_s": wall, "cpu_s": cpu}


def rank(scores: dict[str, float], lower_is_better: bool) -> dict[str, float]:
    ordered = sorted(scores.values(), reverse=not lower_is_better)
    ranks = {}
    for tool, value in scores.items():  # ties share the mean of their places
        places = [i + 1 for i, v in enumerate(ordered) if np.isclose(v, value, rtol=0, atol=1e-12)]
        ranks[tool] = float(np.mean(places))
    return ranks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", default="10,60")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--work", default="/tmp/train-bench")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    names = args.datasets.split(",")
    work = Path(args.work)
    results = []
    for name in names:
        folder = work / name
        meta = prepare(name, folder)
        test_y = pd.read_parquet(folder / "test.parquet")["target"].to_numpy()
        metric = metric_for(meta["kind"])
        for budget in budgets:
            row = {"dataset": name, "kind": meta["kind"], "rows": meta["rows"], "metric": metric, "budget_s": budget}
            scores = {}
            for tool in TOOLS:
                if tool == "lightgbm" and budget != budgets[0]:
                    row["lightgbm"] = next(r["lightgbm"] for r in results if r["dataset"] == name)
                    if "score" in row["lightgbm"]:
                        scores[tool] = row["lightgbm"]["score"]
                    continue
                outcome = fit(tool, folder, budget)
                if "output" in outcome:
                    outcome["score"] = score(meta["kind"], test_y, np.load(outcome.pop("output")), meta["classes"])
                    scores[tool] = outcome["score"]
                row[tool] = outcome
                print(f"{name:14s} {budget:4.0f}s {tool:9s} {outcome.get('score', outcome.get('error'))} "
                      f"wall {outcome['wall_s']:.1f}s cpu {outcome.get('cpu_s', 0):.1f}s", file=sys.stderr, flush=True)
            row["ranks"] = rank(scores, metric == "rmse")
            results.append(row)
    print(markdown(results, budgets))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


def markdown(results: list[dict], budgets: list[float]) -> str:
    lines = []
    for budget in budgets:
        rows = [r for r in results if r["budget_s"] == budget]
        lines += [f"\n### Budget {budget:g} s (single-threaded)\n",
                  "| dataset | task | rows | metric | conveyor | FLAML | LightGBM defaults | conveyor family | "
                  "conveyor wall/CPU s | FLAML wall/CPU s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            def cell(tool, r=r):
                outcome = r[tool]
                if "score" not in outcome:
                    return "error"
                return f"{outcome['score']:.4f} ({r['ranks'][tool]:g})"
            c, f = r["conveyor"], r["flaml"]
            lines.append(f"| {r['dataset']} | {r['kind']} | {r['rows']} | {r['metric']} | {cell('conveyor')} | "
                         f"{cell('flaml')} | {cell('lightgbm')} | {c.get('family', '-')} | "
                         f"{c['wall_s']:.1f} / {c.get('cpu_s', 0):.1f} | {f['wall_s']:.1f} / {f.get('cpu_s', 0):.1f} |")
        means = {t: np.mean([r["ranks"][t] for r in rows if t in r["ranks"]]) for t in TOOLS}
        wins = sum(1 for r in rows if "conveyor" in r["ranks"] and "flaml" in r["ranks"]
                   and r["ranks"]["conveyor"] <= r["ranks"]["flaml"])
        lines.append(f"\nMean rank (1 = best): conveyor {means['conveyor']:.2f}, FLAML {means['flaml']:.2f}, "
                     f"LightGBM defaults {means['lightgbm']:.2f}; conveyor at least FLAML's score on "
                     f"{wins} of {len(rows)} datasets.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
