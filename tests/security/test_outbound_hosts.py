"""SSRF: every URL conveyor calls out to (webhooks today) is refused before connecting when it points at a
loopback, private or link-local host that security.allowed_hosts does not list, and redirects are not followed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from conveyor.core.errors import BadInputError
from conveyor.core.hosts import check_url
from conveyor.testing.notifier_check import local_receiver

INTERNAL = ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x", "http://192.168.0.1/x",
            "http://172.16.5.4/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0/x", "http://100.64.0.1/x", "http://127.1/x",
            "http://2130706433/x", "https://LOCALHOST./x"]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_hosts_are_refused_unless_listed(url):
    with pytest.raises(BadInputError, match="refused before connecting") as caught:
        check_url(url, [], field="alerts.webhook.url")
    assert caught.value.field == "alerts.webhook.url"


def test_a_listed_host_and_a_public_address_pass():
    assert check_url("http://127.0.0.1:9/x", ["127.0.0.1"], field="f") == "http://127.0.0.1:9/x"
    assert check_url("http://localhost/x", ["LOCALHOST"], field="f")
    assert check_url("https://93.184.215.14/x", [], field="f")  # a public address, no lookup needed


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1/x", "ftp://h/x", "//proc/self/root",
                                 "http:///x", "http://h:99999/x", "/etc/passwd"])
def test_other_schemes_and_malformed_urls_are_refused(url):
    with pytest.raises(BadInputError) as caught:
        check_url(url, ["h", "127.0.0.1"], field="alerts.webhook.url")
    assert caught.value.field == "alerts.webhook.url" and "passwd" not in caught.value.message


def _monitor_project(tmp_path, webhook_url: str, allowed: list[str]):
    import numpy as np
    import pandas as pd

    import conveyor as cv

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "target": rng.integers(0, 2, 200)})
    with cv.Project.init(tmp_path) as project:
        result = project.training.train(project.data.ingest(frame, "ref")[0], "target", max_trials=1, budget=30)
        project.models.promote(result.model_version.ref, "champion")
        project.data.ingest(frame.assign(a=frame["a"] + 5), "current")
    config = yaml.safe_load((tmp_path / "conveyor.yaml").read_text())
    config["alerts"] = {"rules": [{"name": "hook", "signal": "drift.share", "threshold": 0.1,
                                   "notify": ["webhook", "log"]}], "webhook": {"url": webhook_url, "timeout": 5}}
    config["security"] = {"allowed_hosts": allowed}
    (tmp_path / "conveyor.yaml").write_text(yaml.safe_dump(config))
    return result.model_version.ref


def _monitor(tmp_path, ref: str, rule: str = "hook") -> dict:
    done = subprocess.run([sys.executable, "-m", "conveyor", "monitor", ref, "--current", "current@latest",
                           "--no-multivariate", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == 0, done.stderr
    [alert] = [a for a in json.loads(done.stdout)["alerts"] if a["rule"] == rule]
    return alert


def test_a_webhook_to_an_unlisted_internal_host_is_not_called_and_a_redirect_is_not_followed(tmp_path):
    with local_receiver() as target, local_receiver() as redirector:
        redirector.mode = f"redirect:{target.url}/stolen"
        ref = _monitor_project(tmp_path, f"{target.url}/hook", [])
        refused = _monitor(tmp_path, ref)
        assert refused["notified"] == ["log"] and target.requests == []
        assert "refused before connecting" in refused["notify_errors"]["webhook"]

        config = yaml.safe_load((tmp_path / "conveyor.yaml").read_text())
        config["security"] = {"allowed_hosts": ["127.0.0.1"]}
        config["alerts"]["webhook"]["url"] = f"{redirector.url}/hook"
        config["alerts"]["rules"][0]["name"] = "hook2"  # a fresh incident
        (tmp_path / "conveyor.yaml").write_text(yaml.safe_dump(config))
        redirected = _monitor(tmp_path, ref, "hook2")
        assert len(redirector.requests) == 1 and target.requests == []  # the redirect was not followed
        assert "redirect, which is not followed" in redirected["notify_errors"]["webhook"]

