"""AutoML at equal time budgets: conveyor vs FLAML, beside LightGBM's defaults and a linear model fitted once, on
the same 75/25 splits of real datasets, over several seeds (each seed its own split and tool seed).

Each fit runs in its own interpreter (conveyor's venv for conveyor and the anchors, FLAML's venv under .bench/),
single-threaded; the driver scores every tool's test-set output with the same code and prints one table per budget
with the medians over seeds: scores, conveyor's gap to the best default, wall and CPU seconds (from process start to
exit, interpreter start-up and imports included).

    bash bench/run.sh automl [--budgets 10,30,60] [--datasets wine,shuttle] [--seeds 0,1,2] [--json out.json]
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
from datasets import CATEGORIES, DATASETS, LOWER_IS_BETTER, metric_for, score, split

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FLAML_PYTHON = ROOT / ".bench" / "flaml-venv" / "bin" / "python"
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
DEFAULTS = ("lightgbm", "linear")


def prepare(name: str, folder: Path, seed: int) -> dict:
    train, test, kind = split(name, seed)
    folder.mkdir(parents=True, exist_ok=True)
    train.to_parquet(folder / "train.parquet")
    test.to_parquet(folder / "test.parquet")
    classes = [] if kind == "regression" else sorted(train["target"].unique().tolist())
    meta = {"kind": kind, "classes": classes, "rows": len(train) + len(test), "columns": train.shape[1] - 1,
            "metric": metric_for(kind)}
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def fit(tool: str, folder: Path, budget: float, seed: int) -> dict:
    python = str(FLAML_PYTHON) if tool == "flaml" else sys.executable
    out = folder / f"{tool}-{budget:g}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([python, str(HERE / "fit_one.py"), tool, str(folder), str(budget), str(out), str(seed)],
                          capture_output=True, text=True, env={**os.environ, **SINGLE_THREAD}, cwd=ROOT)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1][:300] if done.stderr.strip() else "failed",
                "wall_s": wall, "cpu_s": cpu}
    info = json.loads(done.stdout.strip().splitlines()[-1])
    return {**info, "prefix": str(out), "wall_s": wall, "cpu_s": cpu}


def gap(value: float, reference: float, metric: str) -> float:
    """How much worse ``value`` is than ``reference``, in percent (negative: better)."""
    worse = value - reference if metric in LOWER_IS_BETTER else reference - value
    return 100.0 * worse / abs(reference)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", default="10,30,60")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--work", default="/tmp/train-bench")
    parser.add_argument("--json", default=None)
    parser.add_argument("--tools", default="conveyor,flaml", help="the searches to run (the defaults always run)")
    parser.add_argument("--report", default=None,
                        help="comma-separated JSON files of earlier runs: print their joined table, run nothing")
    args = parser.parse_args()
    if args.report:
        cells = [c for path in args.report.split(",") for c in json.loads(Path(path).read_text())]
        print(markdown(cells, sorted({c["budget_s"] for c in cells})))
        print(goal(cells))
        return
    tools = args.tools.split(",")
    budgets = [float(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    work = Path(args.work)
    cells = []  # one per dataset, seed and budget
    for name in args.datasets.split(","):
        for seed in seeds:
            folder = work / f"{name}-{seed}"
            meta = prepare(name, folder, seed)
            test_y = pd.read_parquet(folder / "test.parquet")["target"].to_numpy()
            anchors = fit("anchors", folder, 0, seed)
            defaults = {tool: score(meta["kind"], test_y, np.load(f"{anchors['prefix']}-{tool}.npy"), meta["classes"])
                        for tool in DEFAULTS} if "prefix" in anchors else {}
            for budget in budgets:
                cell = {"dataset": name, "seed": seed, "budget_s": budget, **meta, **defaults}
                for tool in tools:
                    outcome = fit(tool, folder, budget, seed)
                    if "prefix" in outcome:
                        outcome["score"] = score(meta["kind"], test_y, np.load(f"{outcome.pop('prefix')}.npy"),
                                                 meta["classes"])
                    cell[tool] = outcome
                    shown = outcome.get('score', outcome.get('error'))
                    print(f"{name:15s} seed {seed} {budget:4.0f}s {tool:9s} {shown}"
                          f" wall {outcome['wall_s']:.1f}s cpu {outcome['cpu_s']:.1f}s "
                          f"(defaults {defaults})", file=sys.stderr, flush=True)
                cells.append(cell)
                if args.json:  # after every cell: a run stopped early keeps what it measured
                    Path(args.json).write_text(json.dumps(cells, indent=2, default=str))
    print(markdown(cells, budgets))
    print(goal(cells))
    print("\nCategories: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in CATEGORIES.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(cells, indent=2, default=str))


def median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def markdown(cells: list[dict], budgets: list[float]) -> str:
    lines = []
    for budget in budgets:
        rows = [c for c in cells if c["budget_s"] == budget]
        names = list(dict.fromkeys(c["dataset"] for c in rows))
        lines += [f"\n### Budget {budget:g} s (single-threaded; medians over seeds)\n",
                  "| dataset | task | rows | metric | conveyor | FLAML | LightGBM defaults | linear | conveyor vs best "
                  "default | conveyor wall / CPU s | FLAML wall / CPU s | conveyor family (trials) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        within = beat_flaml = both = in_time = total = 0
        for name in names:
            group = [c for c in rows if c["dataset"] == name]
            first = group[0]
            metric = first["metric"]

            def values(tool, key="score", group=group):
                return [c[tool][key] for c in group if key in c.get(tool, {})]
            conv, flaml = median(values("conveyor")), median(values("flaml"))
            anchors = {t: median([c[t] for c in group if t in c]) for t in DEFAULTS}
            gaps = [gap(c["conveyor"]["score"], min(c[t] for t in DEFAULTS) if metric in LOWER_IS_BETTER
                        else max(c[t] for t in DEFAULTS), metric) for c in group if "score" in c["conveyor"]]
            for c in group:
                if "score" not in c["conveyor"]:
                    continue
                total += 1
                best = (min if metric in LOWER_IS_BETTER else max)(c[t] for t in DEFAULTS)
                within += gap(c["conveyor"]["score"], best, metric) <= 0.5
                if "score" in c.get("flaml", {}):
                    both += 1
                    beat_flaml += gap(c["conveyor"]["score"], c["flaml"]["score"], metric) <= 0
                in_time += c["conveyor"]["wall_s"] <= budget * 1.1
            families = sorted({f'{c["conveyor"].get("family", "-")} ({c["conveyor"].get("trials", "?")})'
                               for c in group})
            lines.append(f"| {name} | {first['kind']} | {first['rows']} | {metric} | {conv:.4f} | {flaml:.4f} | "
                         f"{anchors['lightgbm']:.4f} | {anchors['linear']:.4f} | {median(gaps):+.2f}% | "
                         f"{median(values('conveyor', 'wall_s')):.1f} / {median(values('conveyor', 'cpu_s')):.1f} | "
                         f"{median(values('flaml', 'wall_s')):.1f} / {median(values('flaml', 'cpu_s')):.1f} | "
                         f"{', '.join(families)} |")
        lines.append(f"\nOf {total} runs (dataset x seed): conveyor within 0.5% of the best default in {within}, "
                     f"at least FLAML's score in {beat_flaml} of the {both} FLAML finished, wall time within "
                     f"budget + 10% in {in_time}.")
    return "\n".join(lines)



def goal(cells: list[dict]) -> str:
    """Issue 13's goal over every cell (dataset x seed x budget), with each miss named."""
    scored = [c for c in cells if "score" in c.get("conveyor", {})]
    far, lost, late = [], [], []
    versus = 0
    for c in scored:
        metric, mine = c["metric"], c["conveyor"]["score"]
        best = (min if metric in LOWER_IS_BETTER else max)(c[t] for t in DEFAULTS)
        where = f"{c['dataset']}@{c['budget_s']:g}s/seed{c['seed']}"
        if gap(mine, best, metric) > 0.5:
            far.append(f"{where} {gap(mine, best, metric):+.1f}%")
        if "score" in c.get("flaml", {}):
            versus += 1
            if gap(mine, c["flaml"]["score"], metric) > 0:
                lost.append(f"{where} {gap(mine, c['flaml']['score'], metric):+.1f}%")
        if c["conveyor"]["wall_s"] > c["budget_s"] * 1.1:
            late.append(f"{where} {c['conveyor']['wall_s']:.1f}s")
    failed = [f"{c['dataset']}@{c['budget_s']:g}s/seed{c['seed']}" for c in cells if c not in scored]
    n = len(scored)
    share = 100.0 * (versus - len(lost)) / versus if versus else float("nan")
    return "\n".join([
        f"\nGoal over all {n} cells (dataset x budget x seed): within 0.5% of the best default in {n - len(far)} of "
        f"{n} (goal: all); at least FLAML's score in {versus - len(lost)} of {versus} ({share:.0f}%, goal: 90%); "
        f"wall within budget + 10% in {n - len(late)} of {n} (goal: all).",
        f"- worse than the best default by over 0.5%: {', '.join(far) or 'none'}",
        f"- below FLAML: {', '.join(lost) or 'none'}",
        f"- over budget + 10%: {', '.join(late) or 'none'}",
        *([f"- conveyor failed: {', '.join(failed)}"] if failed else [])])


if __name__ == "__main__":
    main()
