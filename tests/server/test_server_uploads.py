"""Chunked, resumable uploads: chunks append in order, a refused offset names where to resume, a client that
disconnects mid-chunk leaves nothing half-written, an oversized chunk is 413, and the ingested version is the one a
local ingest of the same table gives."""

from __future__ import annotations

import io
import socket
import time
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest

from conveyor.project import Project
from conveyor.serve import running_server
from conveyor.server import create_app
from conveyor.server.limits import Limits

API = "/api/v1"
OCTETS = {"Content-Type": "application/octet-stream"}


def parquet_of(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@pytest.fixture
def http(server: str):
    with httpx.Client(base_url=server + API, timeout=30) as client:
        yield client


def _start(http: httpx.Client, size: int) -> str:
    answer = http.post("/uploads", json={"size": size})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_chunks_resume_and_ingest_the_same_version_as_a_local_ingest(http: httpx.Client, project: Project,
                                                                   tmp_path) -> None:
    frame = pd.DataFrame({"x": range(500), "label": ["a", "b"] * 250})
    data = parquet_of(frame)
    upload = _start(http, len(data))
    half = len(data) // 2
    assert http.patch(f"/uploads/{upload}", params={"offset": 0}, content=data[:half], headers=OCTETS).json()[
        "offset"] == half
    wrong = http.patch(f"/uploads/{upload}", params={"offset": 0}, content=data[half:], headers=OCTETS)
    assert wrong.status_code == 409 and f"offset={half}" in wrong.json()["hint"]
    early = http.post(f"/uploads/{upload}/ingest", json={"name": "uploaded"})
    assert early.status_code == 422 and "of" in early.json()["message"]
    assert http.get(f"/uploads/{upload}").json()["offset"] == half  # where to resume
    http.patch(f"/uploads/{upload}", params={"offset": half}, content=data[half:], headers=OCTETS)
    done = http.post(f"/uploads/{upload}/ingest", json={"name": "uploaded"}).json()
    assert done["created"] is True
    with Project.init(tmp_path / "local") as local:
        version, _ = local.data.ingest(frame, "uploaded")
    assert done["version"]["version"] == version.version
    assert project.data.get("uploaded@latest").rows == 500
    assert http.get(f"/uploads/{upload}").status_code == 404  # an ingested upload is gone


def test_a_client_that_disconnects_mid_chunk_leaves_nothing_half_written(http: httpx.Client, server: str) -> None:
    upload = _start(http, 1000)
    http.patch(f"/uploads/{upload}", params={"offset": 0}, content=b"a" * 100, headers=OCTETS)
    where = urlsplit(server)
    with socket.create_connection((where.hostname, where.port)) as raw:
        raw.sendall((f"PATCH {API}/uploads/{upload}?offset=100 HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/octet-stream\r\nContent-Length: 900\r\n\r\n").encode() + b"b" * 300)
        time.sleep(0.3)
    time.sleep(0.5)
    assert http.get(f"/uploads/{upload}").json()["offset"] == 100
    resumed = http.patch(f"/uploads/{upload}", params={"offset": 100}, content=b"c" * 900, headers=OCTETS)
    assert resumed.json()["offset"] == 1000


def test_a_body_over_the_configured_limit_is_413(project: Project) -> None:
    with running_server(create_app(project, limits=Limits(max_body=1000, max_upload=5000))) as url, \
            httpx.Client(base_url=url + API, timeout=30) as http:
        whole = http.post("/uploads", json={"size": 5001})
        assert whole.status_code == 413 and whole.json()["field"] == "size"
        upload = _start(http, 5000)
        too_big = http.patch(f"/uploads/{upload}", params={"offset": 0}, content=b"x" * 1001, headers=OCTETS)
        assert too_big.status_code == 413 and too_big.json()["error"] == "payload_too_large"
        assert http.get(f"/uploads/{upload}").json()["offset"] == 0
        fits = http.patch(f"/uploads/{upload}", params={"offset": 0}, content=b"x" * 1000, headers=OCTETS)
        assert fits.json()["offset"] == 1000
        big_json = http.post("/uploads", content=b'{"size": 1, "pad": "' + b"y" * 2000 + b'"}',
                             headers={"Content-Type": "application/json"})
        assert big_json.status_code == 413


def test_an_upload_that_is_not_parquet_is_refused_and_kept(http: httpx.Client) -> None:
    upload = _start(http, 10)
    http.patch(f"/uploads/{upload}", params={"offset": 0}, content=b"not a file", headers=OCTETS)
    refused = http.post(f"/uploads/{upload}/ingest", json={"name": "junk"})
    assert refused.status_code == 422 and "Parquet" in refused.json()["message"]
