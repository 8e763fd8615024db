"""`conveyor monitor`, `conveyor alerts` and `conveyor agent` on a real served model: requests and feedback over
HTTP to `conveyor serve`, whose resource use is sampled; the HTML report opened in headless Chromium."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from sklearn.datasets import load_breast_cancer

import conveyor as cv
from conveyor.testing.browser import screenshot
from conveyor.testing.processes import start_server


def conveyor(*args: str, cwd, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A champion served by `conveyor serve`, sent 300 drifted rows with their true labels as feedback."""
    root = tmp_path_factory.mktemp("monitored")
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    frame.columns = ["a", "b", "c", "d", "target"]
    with cv.Project.init(root) as project:
        result = project.training.train(project.data.ingest(frame, "cancer")[0], "target", max_trials=1, budget=60)
        project.models.promote(result.model_version.ref, "champion")
        project.configure("monitor", resource_interval=0.2)
        project.configure("alerts", rules=[{"name": "drift", "signal": "drift.share", "threshold": 0.2}])
    port = free_port()
    server = start_server("cancer@champion", "--port", str(port), cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        shifted = frame.sample(300, random_state=0, replace=True).assign(a=lambda f: f["a"] * 1.6)
        with httpx.Client(base_url=url, timeout=10) as client:
            for start in range(0, 300, 50):
                part = shifted.iloc[start : start + 50]
                answer = client.post("/invocations", json={"dataframe_records": part[["a", "b", "c", "d"]]
                                                           .to_dict("records")})
                assert answer.status_code == 200
                labels = dict(zip(answer.json()["ids"], part["target"].astype(int).tolist(), strict=True))
                assert client.post("/feedback", json={"labels": labels}).status_code == 200
        time.sleep(0.5)  # a few resource samples
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.communicate(timeout=60)
    return root


def test_monitor_prints_and_writes_a_report_that_renders(served, tmp_path):
    report = json.loads(conveyor("monitor", "cancer@champion", "--window", "300", "--json", cwd=served).stdout)
    assert report["drift"] is True and report["columns"]["a"]["drifted"] is True
    assert report["columns"]["b"]["drifted"] is False
    assert report["prediction_drift"]["method"] in ("chi2", "jensenshannon")
    assert report["multivariate"]["auc"] > 0.55
    assert report["performance"]["labelled"] == 300 and len(report["performance"]["accuracy_ci95"]) == 2
    assert report["resources"]["serve:cancer:1"]["rss_bytes"] > 0  # sampled inside the serving process
    assert set(report["gpu"]) == {"available", "reason", "gpus"}
    assert [a["rule"] for a in report["alerts"]] == ["drift"]

    table = conveyor("monitor", "cancer@champion", "--window", "300", cwd=served).stdout
    assert "Drift by column" in table and "Live performance" in table and "gpu:" in table
    page = served / ".conveyor" / "reports" / "cancer-1.html"
    html = page.read_text()
    assert "Over time" in html and "Alerts" in html and "http" not in html.split("<body>")[0]
    shot = screenshot(page, tmp_path / "report.png")
    assert shot.png.stat().st_size > 10_000
    assert not [m for m in shot.console if "error" in str(m).lower()]
    assert shot.title.startswith("Drift report: ") and shot.headings[0].startswith("Drift report for cancer")
    assert {"Over time", "Alerts", "Live performance", "Distributions"} <= set(shot.headings)
    for flag in ("--html", "--report"):  # --html on every verb that writes a page; the old flag stays
        chosen = tmp_path / f"chosen{flag}.html"
        written = conveyor("monitor", "cancer@champion", "--window", "300", "--no-multivariate", flag, str(chosen),
                           "--json", cwd=served)
        assert json.loads(written.stdout)["report"] == str(chosen) and "Over time" in chosen.read_text()


def test_alerts_list_and_ack(served):
    conveyor("monitor", "cancer@champion", "--window", "300", "--no-multivariate", "--json", cwd=served)
    alerts = json.loads(conveyor("alerts", "--json", cwd=served).stdout)
    assert len(alerts) == 1 and alerts[0]["count"] >= 2 and alerts[0]["status"] == "open"  # deduplicated
    done = conveyor("alerts", "ack", alerts[0]["id"][:8], cwd=served)
    assert "acknowledged" in done.stdout
    assert json.loads(conveyor("alerts", "--status", "open", "--json", cwd=served).stdout) == []
    assert "acked" in conveyor("alerts", cwd=served).stdout


def test_agent_once_through_the_cli(served):
    config = yaml.safe_load((served / "conveyor.yaml").read_text())
    config["retrain"] = {"model": "cancer", "on": ["drift"], "min_labels": 50}
    config.setdefault("monitor", {})["window"] = 300
    (served / "conveyor.yaml").write_text(yaml.safe_dump(config))
    tick = json.loads(conveyor("agent", "--once", "--json", cwd=served).stdout)
    assert "drift" in tick["triggers"]
    assert tick["decision"]["decision"] == "kept" and "no new data" in tick["decision"]["reason"]


@pytest.mark.parametrize(("args", "message"), [
    (["alerts", "ack", "ffffffff"], "No alert 'ffffffff'"),
    (["alerts", "--status", "sleeping"], "Unknown alert status"),
    (["monitor", "cancer@champion", "--since", "soon"], "Invalid duration"),
    (["monitor", "cancer@champion", "--current", "cancer@latest", "--window", "5"], "not both"),
    (["monitor", "ghost@champion"], "Unknown model 'ghost'"),
    (["agent", "ghost", "--once"], "Unknown model 'ghost'"),
])
def test_bad_input_exits_2_with_one_line(served, args, message):
    done = conveyor(*args, cwd=served, code=2)
    assert message in done.stderr and "Traceback" not in done.stderr


def test_agent_without_a_policy_says_what_to_set(tmp_path):
    cv.Project.init(tmp_path).close()
    done = conveyor("agent", "--once", cwd=tmp_path, code=2)
    assert "retrain.model" in done.stderr
