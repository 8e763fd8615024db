"""The attack corpus (issue 16, part 10): every path- or URI-shaped input of the CLI and of `conveyor serve`'s
endpoints gets the MLflow CVE corpus (``../``, ``..\\``, ``%2e%2e%2f``, double encoding, absolute paths, ``file://``,
``//proc/self/root``, ``#``/``?`` tricks, NUL bytes, Unicode look-alikes, newlines, internal hosts). Each must be
refused with exit 2 (CLI) or a 4xx (HTTP) naming the field, with nothing written outside the project and nothing
stored. Symlinks are covered in test_security_holes.py (data add, data checkout); conveyor extracts no archives."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor as cv
from conveyor.cli.main import main
from conveyor.serve.runner import running_server

CORPUS = [
    "../../etc/passwd", "..\\..\\windows\\win.ini", "%2e%2e%2f%2e%2e%2fetc", "%252e%252e%252fetc", "..%c0%af..%c0%af",
    "/etc/passwd", "file:///etc/passwd", "//proc/self/root/etc/passwd", "x#/../../y", "x?/../../y", "a\x00b",
    "\uff0e\uff0e\uff0fetc", "\u2024\u2024/etc", "churn\n", "churn\r\nX: y", "s3://bucket/../../x",
    "http://127.0.0.1:9/x", "http://169.254.169.254/latest", "..", ".", "", "~/.ssh/id_rsa", "$(touch pwned)",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus") / "project"
    frame = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 3, "target": (np.arange(60) > 30) * 1})
    with cv.Project.init(root) as opened:
        opened.data.ingest(frame, "churn")
        model = LogisticRegression().fit(frame[["a", "b"]], frame["target"])
        from conveyor.registry.models import register_model
        from conveyor.registry.packaging import infer_inputs

        register_model(opened.stores, model, "churn", signature={"inputs": infer_inputs(frame[["a", "b"]], None),
                                                                "task": "classification"})
        opened.models.promote("churn:1", "champion")
    frame.to_csv(root / "data.csv", index=False)
    return root


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _run(args: list[str], capsys) -> tuple[int, dict]:
    try:
        main([*args, "--json"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr().out.strip()
    return code, json.loads(out) if out else {}


# (verb template, the field its error must name); {x} is the corpus entry
CLI_INPUTS = [
    (["data", "ingest", "data.csv", "--name", "{x}"], {"dataset name"}),
    (["data", "show", "{x}"], {"dataset name"}),
    (["data", "contract", "{x}"], {"dataset name"}),
    (["data", "checkout", "{x}", "out"], {"dataset name"}),
    (["data", "filter", "{x}", "--query", "a > 1", "--name", "f"], {"dataset name"}),
    (["data", "filter", "churn@latest", "--query", "a > 1", "--name", "{x}"], {"dataset name"}),
    (["models", "show", "{x}"], {"model name", "model", "alias"}),
    (["models", "promote", "churn:1", "--alias", "{x}"], {"alias"}),
    (["models", "promote", "{x}", "--alias", "challenger"], {"model name", "model", "alias"}),
    (["deploy", "docker", "{x}", "--out", "ctx"], {"model name", "model", "alias"}),
    (["deploy", "docker", "churn@champion", "--out", "ctx2", "--image", "{x}"], {"--image"}),
    (["data", "ingest", "{x}", "--name", "ok"], {"source"}),
    (["data", "add", "{x}", "--name", "ok"], {"source"}),
]


@pytest.mark.parametrize("template,fields", CLI_INPUTS, ids=[" ".join(t[:2]) + f"[{t.index('{x}')}]"
                                                             for t, _ in CLI_INPUTS])
def test_every_cli_input_refuses_the_corpus(project, monkeypatch, capsys, template, fields):
    monkeypatch.chdir(project)
    monkeypatch.setenv("CONVEYOR_USER", "tester")
    outside = project.parent
    before_outside, before_inside = _snapshot(outside), _snapshot(project)
    with cv.Project.open(project) as opened:
        datasets = len(opened.stores.datasets.versions())
    for entry in CORPUS:
        if template[1] in ("ingest", "add") and template[2] == "{x}" and (entry in ("~/.ssh/id_rsa", ".", "..")
                                                                            or entry.startswith("/")):
            continue  # a local path the user names is theirs to read on the command line (the server never fetches)
        args = [a.replace("{x}", entry) for a in template]
        code, answer = _run(args, capsys)
        assert code == 2, (args, answer)
        if "\x00" in entry and answer.get("error") == "usage":
            continue  # a Path argument: the option parser itself refuses a NUL byte (stderr names the argument)
        assert answer.get("field") in fields, (args, answer)
    assert _snapshot(outside) - before_outside <= {str(p) for p in _snapshot(outside) if p.startswith("project")}
    assert not {p for p in _snapshot(project) - before_inside if not p.startswith(".conveyor")}
    with cv.Project.open(project) as opened:
        assert len(opened.stores.datasets.versions()) == datasets


def test_the_project_option_refuses_the_corpus(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    for entry in ["../../nowhere", "%2e%2e%2f", "file:///etc", "//proc/self/root/nowhere", "x\n"]:
        code, answer = _run(["data", "list", "--project", entry], capsys)
        assert code == 2 and answer.get("field") == "project", (entry, answer)
    code, answer = _run(["data", "list", "--project", "a\x00b"], capsys)  # refused by the option parser itself
    assert code == 2 and answer["error"] == "usage"


@pytest.fixture(scope="module")
def server(project):
    with cv.Project.open(project) as opened, running_server(opened.serving_app("churn@champion")) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        yield client, opened


ROUTES = ["/v2/models/{x}", "/v2/models/{x}/ready", "/v2/models/{x}/infer", "/v2/models/churn/versions/{x}",
          "/v2/models/churn/versions/{x}/infer"]


@pytest.mark.parametrize("route", ROUTES)
def test_every_path_parameter_of_serve_refuses_the_corpus(server, route):
    client, _ = server
    body = {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
                       {"name": "b", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
    for entry in CORPUS:
        if entry in ("", ".", ".."):
            continue  # empty and dot segments are resolved by the client (RFC 3986) into another route
        for form in (urllib.parse.quote(entry, safe=""), urllib.parse.quote(urllib.parse.quote(entry, safe=""),
                                                                            safe="")):
            path = route.replace("{x}", form)
            answer = client.post(path, json=body) if path.endswith("/infer") else client.get(path)
            assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
            assert answer.json().get("field") in {"model", "version", "path", "method"}, (path, answer.text)


def test_feedback_ids_and_v2_ids_from_the_corpus_change_nothing(server):
    client, opened = server
    scored = client.post("/invocations", json={"dataframe_records": [{"a": 1.0, "b": 1.0}]}).json()
    labels = {entry: 1 for entry in CORPUS if entry}
    answer = client.post("/feedback", json={"labels": labels})
    assert answer.status_code == 200 and answer.json()["updated"] == 0
    empty = client.post("/feedback", json={"labels": {"": 1}})
    assert empty.status_code == 422 and empty.json()["field"] == "id"
    assert all(r.label is None for r in opened.stores.predictions.recent("churn") if r.id == scored["ids"][0])
    for entry in CORPUS:
        if entry == "":
            continue
        body = {"id": entry, "inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
                                        {"name": "b", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
        answer = client.post("/v2/models/churn/infer", json=body)
        if all(0x21 <= ord(c) <= 0x7E for c in entry):
            assert answer.status_code == 200, (entry, answer.text)
            assert answer.headers["x-request-id"] == entry  # printable: echoed as is
        else:
            assert answer.status_code == 422 and answer.json()["field"] == "id", (entry, answer.text)
