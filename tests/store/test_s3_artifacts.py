"""The artifact store on a real S3-compatible server (moto's, a subprocess on 127.0.0.1): the contract, multipart
uploads for big blobs, retries when S3 throttles (a proxy that answers 503 SlowDown), and dataset versions on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from conveyor.core.errors import BadInputError, StoreError
from conveyor.data.datasets import ingest_file, load_frame
from conveyor.data.files import add_files, checkout
from conveyor.store import Stores, open_artifact_store
from conveyor.store.artifacts import ArtifactStore
from conveyor.store.hashing import digest_bytes
from conveyor.store.s3 import MIN_PART_SIZE, S3ArtifactStore, s3_settings_from_env
from conveyor.testing.artifact_contract import ArtifactStoreContract
from conveyor.testing.s3 import S3Server, throttling_proxy


class TestS3Artifacts(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, s3_env: S3Server) -> ArtifactStore:
        return open_artifact_store(f"s3://{s3_env.bucket()}/artifacts")

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        assert isinstance(store, S3ArtifactStore)
        store.fs.pipe_file(store._path(digest), b"bit rot")


def _parts(store: S3ArtifactStore, digest: str) -> int:
    """How many parts S3 assembled the object from (a multipart ETag ends in -N; a single PUT's has no dash)."""
    etag = store.fs.info(store._path(digest), refresh=True)["ETag"].strip('"')
    return int(etag.rsplit("-", 1)[1]) if "-" in etag else 0


def test_big_blobs_go_up_in_parts_and_small_ones_in_one_request(s3_env: S3Server, tmp_path: Path) -> None:
    store = S3ArtifactStore(f"s3://{s3_env.bucket()}/a", multipart_threshold=MIN_PART_SIZE, part_size=MIN_PART_SIZE)
    big = os.urandom(2 * MIN_PART_SIZE + 1234)
    digest = store.put_bytes(big)
    assert _parts(store, digest) == 3
    assert store.get_bytes(digest) == big
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(MIN_PART_SIZE + 1))
    from_file = store.put_file(path)
    assert _parts(store, from_file) == 2
    assert store.get_bytes(from_file) == path.read_bytes()
    small = store.put_bytes(b"x" * 1000)
    assert _parts(store, small) == 0
    assert store.digests() == sorted([digest, from_file, small])
    # no upload is left open behind the finished objects
    bucket = store.root.split("/")[0]
    assert store.fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", []) == []


@pytest.mark.slow  # botocore backs off (jittered, about a second) before each of the ~10 retries
def test_throttled_requests_are_retried_until_they_pass(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_env.bucket()
    with throttling_proxy(s3_env.endpoint, throttle=lambda n: n % 2 == 1) as proxy:  # every other request: 503
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        store = S3ArtifactStore(f"s3://{bucket}/t", multipart_threshold=MIN_PART_SIZE, part_size=MIN_PART_SIZE,
                                max_attempts=3)
        blobs = [os.urandom(100) for _ in range(3)] + [os.urandom(MIN_PART_SIZE + 10)]
        digests = [store.put_bytes(blob) for blob in blobs]
        assert [store.get_bytes(d) for d in digests] == blobs
        assert store.digests() == sorted(digests)
    assert proxy.throttled >= 8 and proxy.forwarded >= 8  # half the requests were refused, and all got through
    assert "PUT" in proxy.methods and "POST" in proxy.methods  # the multipart upload was throttled and retried too


def test_throttling_that_does_not_stop_is_a_store_error_after_max_attempts(
        s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_env.bucket()
    store_url = f"s3://{bucket}/t"
    S3ArtifactStore(store_url)  # the prefix exists before the throttling starts
    with throttling_proxy(s3_env.endpoint, throttle=lambda n: True) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        with pytest.raises(StoreError, match=rf"s3://{bucket}/t failed after 2 attempts") as failed:
            S3ArtifactStore(store_url, max_attempts=2).put_bytes(b"never stored")
    assert "throttling" in str(failed.value) and "CONVEYOR_S3_MAX_ATTEMPTS" in str(failed.value)
    # every request went out exactly twice (the existence check, then the upload), and nothing got through
    assert proxy.forwarded == 0 and proxy.methods[-2:] == ["PUT", "PUT"]
    assert proxy.methods[0::2] == proxy.methods[1::2]


def test_settings_from_the_environment() -> None:
    assert s3_settings_from_env({}) == {}
    assert s3_settings_from_env({"CONVEYOR_S3_MULTIPART_THRESHOLD": "8MiB", "CONVEYOR_S3_PART_SIZE": "6000000",
                                 "CONVEYOR_S3_MAX_ATTEMPTS": "4"}) == {
        "multipart_threshold": 8 * 2**20, "part_size": 6_000_000, "max_attempts": 4}
    with pytest.raises(BadInputError, match="CONVEYOR_S3_PART_SIZE='lots' is not a size"):
        s3_settings_from_env({"CONVEYOR_S3_PART_SIZE": "lots"})
    with pytest.raises(BadInputError, match="CONVEYOR_S3_MAX_ATTEMPTS='0'"):
        s3_settings_from_env({"CONVEYOR_S3_MAX_ATTEMPTS": "0"})
    with pytest.raises(BadInputError, match="smaller than S3's minimum of 5 MiB"):
        S3ArtifactStore("s3://never-opened/x", part_size=1024)


@pytest.fixture
def s3_stores(s3_env: S3Server, tmp_path: Path) -> Iterator[Stores]:
    opened = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", f"s3://{s3_env.bucket()}/artifacts")
    yield opened
    opened.close()


def test_dataset_versions_live_on_s3(s3_stores: Stores, tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5, None, 4.0], "city": ["a", "b", "a", None], "y": [0, 1, 0, 1]})
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    first, created = ingest_file(s3_stores, path, "churn")
    again, created_again = ingest_file(s3_stores, path, "churn")
    assert (created, created_again) == (True, False) and again.version == first.version
    assert s3_stores.artifacts.digests() == [first.artifact]  # the Parquet file is an S3 object
    pd.testing.assert_frame_equal(load_frame(s3_stores, first), frame)

    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    files, _ = add_files(s3_stores, folder, "images")
    out = tmp_path / "out"
    assert checkout(s3_stores, files, out) == 2
    assert (out / "a.txt").read_text() == "alpha"
    assert digest_bytes((out / "sub" / "b.bin").read_bytes()) == digest_bytes((folder / "sub" / "b.bin").read_bytes())
