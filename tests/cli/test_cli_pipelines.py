"""`conveyor pipelines ...` as users call it: YAML pipelines with a helper file, cached re-runs, the DAG as a table,
JSON and an HTML page, a crash (SIGKILL) resumed without redoing finished steps, and bad files exit 2 naming the
file and the field."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FLOW = """
name: flow
steps:
  load:
    uses: steps.py:load
    inputs: {frame: "dataset:sales@latest"}
    outputs: {clean: dataset}
    params: {floor: 0}
  total:
    uses: steps.py:total
    inputs: {frame: load.clean}
    outputs: {total: value}
  report:
    uses: steps.py:report
    inputs: {total: total.total}
"""

STEPS = """
import os
import signal


def _count(name):
    with open(os.environ["COUNTS"], "a") as f:
        f.write(name + "\\n")


def load(frame, floor):
    _count("load")
    return frame[frame.amount >= floor].reset_index(drop=True)


def total(frame):
    _count("total")
    if os.path.exists(os.environ["CRASH"]):
        os.kill(os.getpid(), signal.SIGKILL)  # the whole `conveyor pipelines run` process dies here
    return float(frame.amount.sum())


def report(total):
    _count("report")
    return {"total": total}
"""


def conveyor(*args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONVEYOR_USER": "tester", "COUNTS": str(cwd / "counts.txt"), "CRASH": str(cwd / "crash")}
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def executions(root: Path) -> list[str]:
    path = root / "counts.txt"
    lines = path.read_text().split() if path.exists() else []
    path.write_text("")
    return lines


@pytest.fixture
def root(tmp_path: Path) -> Path:
    conveyor("init", str(tmp_path), cwd=tmp_path)
    (tmp_path / "sales.csv").write_text("amount\n1.5\n-2\n3\n")
    conveyor("data", "ingest", "sales.csv", "--name", "sales", cwd=tmp_path)
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "flow.yaml").write_text(FLOW)
    (tmp_path / "pipelines" / "steps.py").write_text(STEPS)
    return tmp_path


def test_run_twice_show_and_page(root: Path) -> None:
    listed = json.loads(conveyor("pipelines", "list", "--json", cwd=root).stdout)
    assert {p["name"]: p["steps"] for p in listed} == {"retrain": ["tick"], "flow": ["load", "total", "report"]}
    first = json.loads(conveyor("pipelines", "run", "flow", "--json", cwd=root).stdout)
    assert (first["status"], first["cache_hits"]) == ("succeeded", 0)
    assert executions(root) == ["load", "total", "report"]
    second = json.loads(conveyor("pipelines", "run", "flow", "--json", cwd=root).stdout)
    assert (second["status"], second["cache_hits"], second["steps"]) == ("succeeded", 3, 3)
    assert executions(root) == []
    assert [(e["from"], e["to"]) for e in second["edges"]] == [("load", "total"), ("total", "report")]
    runs = json.loads(conveyor("pipelines", "runs", "--json", cwd=root).stdout)
    assert [r["id"] for r in runs] == [second["run"], first["run"]]
    text = conveyor("pipelines", "show", first["run"][:10], cwd=root).stdout
    assert re.search(r"total\s.*succeeded\s.*no", text) and "cache hits 0/3" in text
    shown = json.loads(conveyor("pipelines", "show", second["run"], "--html", "page.html", "--json", cwd=root).stdout)
    assert all(n["cached"] for n in shown["nodes"])
    page = (root / "page.html").read_text()
    assert "<svg" in page and page.count('class="step"') == 3 and page.count('class="edge"') == 2
    assert 'data-step="report" data-status="succeeded" data-cached="true"' in page
    assert "3 of 3 steps from the cache" in page
    history = json.loads(conveyor("pipeline", "history", "--json", cwd=root).stdout)  # the singular names
    assert [r["id"] for r in history] == [second["run"], first["run"]]
    status = json.loads(conveyor("pipeline", "status", first["run"], "--json", cwd=root).stdout)
    assert (status["run"], status["status"], status["cache_hits"]) == (first["run"], "succeeded", 0)


def test_a_killed_run_resumes_without_redoing_finished_steps(root: Path) -> None:
    (root / "crash").touch()
    killed = conveyor("pipelines", "run", "flow", cwd=root, code=-9)
    assert killed.stdout == ""
    assert executions(root) == ["load", "total"]
    (run,) = json.loads(conveyor("pipelines", "runs", "--json", cwd=root).stdout)
    assert run["status"] == "running"  # it never got to say otherwise
    (root / "crash").unlink()
    resumed = json.loads(conveyor("pipelines", "run", "flow", "--resume", run["id"], "--json", cwd=root).stdout)
    assert (resumed["run"], resumed["status"]) == (run["id"], "succeeded")
    assert executions(root) == ["total", "report"]  # load finished before the crash and is not redone
    nodes = {n["step"]: n for n in resumed["nodes"]}
    assert nodes["total"]["attempts"] == 2 and nodes["load"]["attempts"] == 1


BAD = [
    ("bad.yaml", "steps:\n  a:\n    uses: steps.py:load\n    colour: red\n", "pipelines/bad.yaml:steps.a.colour"),
    ("bad.yaml", "steps:\n  a:\n    uses: steps.py:load\n    inputs: {frame: table:sales}\n",
     "pipelines/bad.yaml:steps.a.inputs.frame"),
    ("bad.yaml", "steps:\n  a:\n    uses: nowhere.py:load\n", "pipelines/bad.yaml:steps.a.uses"),
    ("bad.yaml", "steps:\n  a:\n    uses: steps.py:no_such_function\n", "pipelines/bad.yaml:steps.a.uses"),
    ("bad.yaml", "steps:\n  a:\n    uses: steps.py:total\n    inputs: {frame: b.x}\n  b:\n    uses: steps.py:total\n"
                 "    inputs: {frame: a.result}\n    outputs: {x: value}\n", "pipelines/bad.yaml:steps."),
    ("bad.yaml", "schedule: '0 25 * * *'\nsteps:\n  a:\n    uses: steps.py:load\n", "pipelines/bad.yaml:schedule"),
    ("bad.yaml", "on: [new_data]\nsteps:\n  a:\n    uses: steps.py:load\n", "pipelines/bad.yaml:on[0]"),
    ("bad.yaml", "steps: [1, 2\n", "pipelines/bad.yaml"),
    ("bad.py", "raise RuntimeError('oops')\n", "pipelines/bad.py"),
    ("zz.yaml", "name: flow\nsteps:\n  a:\n    uses: steps.py:load\n", "pipelines/zz.yaml:name"),
]


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A project with the flow pipeline and no data (enough to list pipelines)."""
    from conveyor.project import Project

    Project.init(tmp_path).close()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "flow.yaml").write_text(FLOW)
    (tmp_path / "pipelines" / "steps.py").write_text(STEPS)
    return tmp_path


@pytest.mark.parametrize(("name", "text", "field"), BAD)
def test_bad_pipeline_files_exit_2_naming_file_and_field(bare: Path, name: str, text: str, field: str) -> None:
    root = bare
    (root / "pipelines" / name).write_text(text)
    done = conveyor("pipelines", "list", "--json", cwd=root, code=2)
    error = json.loads(done.stdout)
    assert error["field"].startswith(field), error
    assert f"pipelines/{name}" in done.stderr and "Traceback" not in done.stderr
