"""Time `conveyor demo` end to end (wall and CPU of the whole process tree), median of N runs.

    bash bench/run.sh demo [--repeats 3] [--fast]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONVEYOR = Path(sys.executable).with_name("conveyor")


def one_run(fast: bool) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(CONVEYOR), "demo", "--json", *(["--fast"] if fast else [])],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads(done.stdout)
    return {"wall": wall, "cpu": cpu, "decision": summary["decision"], "drift": summary["drift"],
            "reported": summary["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    runs = [one_run(args.fast) for _ in range(args.repeats)]
    print("| run | wall s | CPU s | drift | decision |")
    print("|---|---:|---:|---|---|")
    for index, run in enumerate(runs, 1):
        print(f"| {index} | {run['wall']:.1f} | {run['cpu']:.1f} | {run['drift']} | {run['decision']} |")
    print(f"| **median** | **{statistics.median(r['wall'] for r in runs):.1f}** | "
          f"**{statistics.median(r['cpu'] for r in runs):.1f}** | | |")


if __name__ == "__main__":
    main()
