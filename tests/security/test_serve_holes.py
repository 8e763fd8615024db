"""Regression tests for the holes a real `conveyor serve` had (issue 16, part 9): decoded-size and column bombs,
guessable prediction ids with overwritable labels, 500s on deep nesting, duplicate Parquet columns, a V2 id with
CR/LF echoed into a header, CSV rows scored shifted, and a token on the command line or an empty one."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.registry.models import register_model
from conveyor.registry.packaging import infer_inputs
from conveyor.serve.app import create_app
from conveyor.serve.runner import running_server
from conveyor.store import Stores

PARQUET = {"content-type": "application/vnd.apache.parquet"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    stores = Stores.open(f"sqlite:///{tmp / 'm.db'}", str(tmp / "artifacts"))
    frame = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 3})
    model = LogisticRegression().fit(frame, (frame["a"] > 30).astype(int))
    register_model(stores, model, "t", signature={"inputs": infer_inputs(frame, None), "task": "classification"})
    with running_server(create_app(stores, "t:1")) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client, stores
    stores.close()


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def test_a_small_parquet_body_that_decodes_huge_is_refused(served):
    client, _ = served
    bomb = _parquet(pa.table({"a": [1.0] * 10_000, "b": ["x" * 20_000] * 10_000}))
    assert len(bomb) < 4096  # ~1 KB on the wire, 200 MB decoded
    answer = client.post("/invocations", content=bomb, headers=PARQUET)
    assert answer.status_code == 413 and answer.json()["field"] == "body"
    assert "decodes to more than" in answer.json()["message"]


def test_too_many_json_columns_are_refused_before_the_work(served):
    client, _ = served
    wide = {"a": 1.0, "b": 1.0, **{f"x{i}": 1 for i in range(20_000)}}
    answer = client.post("/invocations", json={"dataframe_records": [wide]})
    assert answer.status_code == 413 and answer.json()["field"] == "dataframe_records"
    columnar = client.post("/invocations", json={"inputs": {f"c{i}": [1] for i in range(20_000)}})
    assert columnar.status_code == 413 and columnar.json()["field"] == "inputs"


def test_duplicate_parquet_columns_are_a_422(served):
    client, _ = served
    answer = client.post("/invocations", content=_parquet(pa.table([pa.array([1.0]), pa.array([2.0])],
                                                                   names=["a", "a"])), headers=PARQUET)
    assert answer.status_code == 422 and "repeats the column 'a'" in answer.json()["message"]


@pytest.mark.parametrize("path", ["/invocations", "/v2/models/t/infer", "/feedback"])
def test_deeply_nested_values_are_a_422_not_a_500(served, path):
    client, _ = served
    deep = b"[" * 1000 + b"1" + b"]" * 1000
    body = b'{"dataframe_records":[{"a":' + deep + b',"b":1}], "inputs": ' + deep + b"}"
    answer = client.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422 and "nested deeper" in answer.json()["message"]
    brackets_in_strings = {"dataframe_records": [{"a": 1.0, "b": 2.0, "note": "[" * 100}]}
    assert client.post("/invocations", json=brackets_in_strings).status_code == 200


@pytest.mark.parametrize("rid", ["x\r\nSet-Cookie: a=b", "caf\u00e9", "", "x" * 129])
def test_a_v2_id_with_control_or_non_ascii_characters_is_refused(served, rid):
    client, _ = served
    body = {"id": rid, "inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]},
                                  {"name": "b", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
    answer = client.post("/v2/models/t/infer", json=body)
    if rid == "":  # an empty id means "make one up", as before
        assert answer.status_code == 200 and len(answer.headers["x-request-id"]) == 32
        return
    assert answer.status_code == 422 and answer.json()["field"] == "id"
    assert "set-cookie" not in answer.headers


def test_a_csv_row_with_more_fields_than_the_header_is_refused(served):
    client, _ = served
    answer = client.post("/invocations", content=b"a,b\n1,2,3\n", headers={"content-type": "text/csv"})
    assert answer.status_code == 422 and "more fields than the header" in answer.json()["message"]
    fine = client.post("/invocations", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})
    assert fine.status_code == 200


def test_prediction_ids_are_unguessable_and_labels_write_once(served):
    client, stores = served
    ids = client.post("/invocations", json={"dataframe_records": [{"a": 1.0, "b": 1.0}] * 50}).json()["ids"]
    assert len(set(ids)) == 50
    # no shared prefix and no counter: neighbouring ids differ in about half of their 128 bits
    for first, second in itertools.pairwise(ids):
        assert first[:8] != second[:8]
        assert bin(int(first, 16) ^ int(second, 16)).count("1") > 30
    assert client.post("/feedback", json={"labels": {ids[0]: 1}}).json() == {"updated": 1, "missing": []}
    # another client's label cannot be overwritten, and the answer is the one an unknown id gets
    overwrite = client.post("/feedback", json={"labels": {ids[0]: 0}}).json()
    unknown = client.post("/feedback", json={"labels": {"0" * 32: 0}}).json()
    assert overwrite == {"updated": 0, "missing": [ids[0]]} and unknown == {"updated": 0, "missing": ["0" * 32]}
    labels = {r.id: r.label for r in stores.predictions.recent("t")}
    assert labels[ids[0]] == 1


def _serve(args: list[str], env: dict[str, str], root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conveyor", "serve", "t@champion", "--project", str(root), *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_serve_refuses_a_token_on_the_command_line_and_an_empty_one(tmp_path):
    import conveyor as cv

    cv.Project.init(tmp_path).close()
    on_line = _serve(["--token", "s3cret"], {}, tmp_path)
    assert on_line.returncode == 2 and "--token-file" in on_line.stderr and "s3cret" not in on_line.stderr
    empty_env = _serve([], {"CONVEYOR_SERVE_TOKEN": ""}, tmp_path)
    assert empty_env.returncode == 2 and "CONVEYOR_SERVE_TOKEN is set but empty" in empty_env.stderr
    (tmp_path / "token").write_text("\n")
    empty_file = _serve(["--token-file", str(tmp_path / "token")], {}, tmp_path)
    assert empty_file.returncode == 2 and "is empty" in empty_file.stderr
    for done in (on_line, empty_env, empty_file):
        assert "Traceback" not in done.stderr


def test_serve_reads_its_token_from_a_file(tmp_path):
    from conveyor.cli.serving import serve_token

    (tmp_path / "token").write_text("s3cret\n")
    assert serve_token(tmp_path / "token") == "s3cret"
