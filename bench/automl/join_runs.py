"""Join a conveyor-only run's cells into earlier runs that hold FLAML's on the same datasets, seeds and budgets.

    python bench/automl/join_runs.py NEW.json[,NEW2.json] EARLIER.json[,EARLIER2.json] OUT.json

FLAML's search does not change between conveyor commits, so a pass that changes only conveyor can re-run conveyor
alone and report against FLAML's earlier figures (`--report OUT.json`); the report says when each was measured.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    new: dict[tuple, dict] = {}
    for path in sys.argv[1].split(","):
        with open(path) as handle:
            for cell in json.load(handle):
                new[(cell["dataset"], cell["seed"], cell["budget_s"])] = cell
    joined = []
    for path in sys.argv[2].split(","):
        with open(path) as handle:
            for cell in json.load(handle):
                key = (cell["dataset"], cell["seed"], cell["budget_s"])
                if key in new:
                    joined.append({**cell, "conveyor": new[key]["conveyor"]})
    with open(sys.argv[3], "w") as handle:
        json.dump(joined, handle)
    print(f"{len(joined)} cells joined")


if __name__ == "__main__":
    main()
