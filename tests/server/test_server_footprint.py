"""What `conveyor server` loads to answer /api/v1/health: not the data and training stacks (pandas, scikit-learn,
SciPy, PyArrow, numpy), which only the verbs that need them import. Start-up time itself is measured in bench/server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conveyor.project import Project

HEAVY = ("pandas", "numpy", "sklearn", "scipy", "pyarrow", "lightgbm", "xgboost")

PROBE = """
import json, sys
from starlette.testclient import TestClient
from conveyor.cli.server import _app
with TestClient(_app(sys.argv[1], None, None)) as client:
    health = client.get("/api/v1/health")
    runs = client.get("/api/v1/runs")
print(json.dumps({"health": health.status_code, "runs": runs.status_code,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
"""


def test_health_answers_without_the_data_and_training_stacks(tmp_path: Path) -> None:
    Project.init(tmp_path / "p", name="lean").close()
    done = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), str(tmp_path / "p")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["health"] == 200 and seen["runs"] == 200
    assert {m.split(".")[0] for m in seen["loaded"]} == set(), seen["loaded"]
