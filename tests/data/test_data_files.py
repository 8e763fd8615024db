"""File-set versions: a folder as one version with a manifest; a one-file change stores only that file."""

from __future__ import annotations

import json

import pytest

from conveyor.core.errors import BadInputError
from conveyor.data.datasets import load_frame
from conveyor.data.files import add_files, checkout, read_manifest
from conveyor.data.history import describe_changes, log


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    for i in range(200):
        sub = root / f"class_{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"img_{i:03d}.bin").write_bytes(bytes([i % 256]) * (100 + i))
    (root / "big.bin").write_bytes(b"\x01" * (2 * 1024 * 1024))  # above the packing size: a blob of its own
    return root


def _blob_sizes(stores):
    return {d: len(stores.artifacts.get_bytes(d)) for d in stores.artifacts.digests()}


def test_a_folder_is_one_version_and_round_trips(stores, folder, tmp_path):
    version, created = add_files(stores, folder, "images")
    assert created and version.rows == 201 and version.meta["kind"] == "files"
    assert version.meta["bytes"] == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    manifest = read_manifest(stores, version)
    assert [f["path"] for f in manifest] == sorted(f["path"] for f in manifest)
    assert len(stores.artifacts.digests()) == 3  # one pack of small files, the big file, the manifest
    out = tmp_path / "out"
    assert checkout(stores, version, out) == 201
    for path in folder.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(folder)).read_bytes() == path.read_bytes()
    assert checkout(stores, version, out) == 0  # already right: nothing rewritten


def test_unchanged_folder_writes_nothing(stores, folder):
    first, _ = add_files(stores, folder, "images")
    blobs = stores.artifacts.digests()
    again, created = add_files(stores, folder, "images")
    assert not created and again.version == first.version
    assert stores.artifacts.digests() == blobs


def test_one_changed_file_stores_only_that_file(stores, folder, tmp_path):
    first, _ = add_files(stores, folder, "images")
    before = _blob_sizes(stores)
    changed = folder / "class_1" / "img_005.bin"
    changed.write_bytes(b"new content of one image")
    second, created = add_files(stores, folder, "images")
    assert created and second.version != first.version
    new_blobs = {d: n for d, n in _blob_sizes(stores).items() if d not in before}
    manifest_digest = second.artifact
    assert set(new_blobs) - {manifest_digest} and len(new_blobs) == 2  # a pack holding one file, the manifest
    pack_size = next(n for d, n in new_blobs.items() if d != manifest_digest)
    assert pack_size == len(b"new content of one image")
    assert second.meta["changes"] == {"added": [], "removed": [], "modified": ["class_1/img_005.bin"]}
    out = tmp_path / "out"
    checkout(stores, second, out)
    assert (out / "class_1" / "img_005.bin").read_bytes() == b"new content of one image"
    checkout(stores, first, tmp_path / "old")
    assert (tmp_path / "old" / "class_1" / "img_005.bin").read_bytes() == bytes([5]) * 105
    entries = log(stores.datasets.versions("images"))
    assert describe_changes(entries[-1]) == "+0 -0 ~1 files"


def test_added_and_removed_files_are_logged(stores, folder):
    add_files(stores, folder, "images")
    (folder / "class_0" / "img_000.bin").unlink()
    (folder / "new.txt").write_text("fresh")
    version, _ = add_files(stores, folder, "images")
    assert version.meta["changes"]["added"] == ["new.txt"]
    assert version.meta["changes"]["removed"] == ["class_0/img_000.bin"]


def test_bad_folders_and_tables_of_files(stores, tmp_path, folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="holds no files"):
        add_files(stores, tmp_path / "empty", "x")
    with pytest.raises(BadInputError, match="Not found"):
        add_files(stores, tmp_path / "missing", "x")
    version, _ = add_files(stores, folder, "images")
    with pytest.raises(BadInputError, match="set of files"):
        load_frame(stores, version)


def test_a_damaged_pack_is_found_on_checkout(tmp_path, stores, folder):
    version, _ = add_files(stores, folder, "images")
    pack = next(f["pack"] for f in read_manifest(stores, version) if "pack" in f)
    blob = tmp_path / "artifacts" / pack[:2] / pack[2:]
    data = blob.read_bytes()
    blob.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])
    from conveyor.core.errors import IntegrityError

    with pytest.raises(IntegrityError):
        checkout(stores, version, tmp_path / "out")
    assert json.loads(stores.artifacts.get_bytes(version.artifact))["files"]


def test_file_sets_and_quarantine_on_a_postgresql_store(postgres_db_url, tmp_path, folder):
    import pandas as pd

    from conveyor.data.contracts import infer_contract
    from conveyor.data.datasets import ingest_frame
    from conveyor.data.intake import ingest_checked
    from conveyor.store import Stores

    stores = Stores.open(postgres_db_url, str(tmp_path / "pg-artifacts"))
    try:
        first, _ = add_files(stores, folder, "images")
        (folder / "class_2" / "img_010.bin").write_bytes(b"changed")
        second, created = add_files(stores, folder, "images")
        assert created and second.version != first.version
        assert second.meta["changes"]["modified"] == ["class_2/img_010.bin"]
        assert add_files(stores, folder, "images")[1] is False
        reference, _ = ingest_frame(stores, pd.DataFrame({"a": range(100), "b": ["x", "y"] * 50}), "t")
        batch = pd.DataFrame({"a": range(100), "b": ["x", "z"] * 50})
        kept, _ = ingest_checked(stores, batch, "t", contract=infer_contract(reference), on_error="quarantine")
        assert kept.rows == 50 and stores.datasets.get_version("t.quarantine").rows == 50
    finally:
        stores.close()


@pytest.fixture
def reads(monkeypatch):
    """Paths whose bytes `add_files` opened (every file it reads or hashes goes through files._read_small)."""
    import conveyor.data.files as files

    opened: list[str] = []
    real = files._read_small

    def counting(path):
        opened.append(path)
        return real(path)

    monkeypatch.setattr(files, "_read_small", counting)
    return opened


@pytest.mark.parametrize("large", [False, True])
def test_an_unchanged_readd_with_the_hash_cache_reads_no_file(stores, folder, tmp_path, reads, monkeypatch, large):
    import conveyor.data.files as files
    import conveyor.data.hash_cache as hash_cache

    monkeypatch.setattr(hash_cache, "SETTLE_NS", 0)  # the files here were written just now (see the racy test)
    if large:
        monkeypatch.setattr(files, "LARGE_FILE", 1024 * 1024)  # big.bin goes the memory-mapped, kernel-copied way
    cache = tmp_path / "hashes.json"
    first, _ = add_files(stores, folder, "images", hash_cache=cache)
    assert len(reads) == 201
    reads.clear()
    again, created = add_files(stores, folder, "images", hash_cache=cache)
    assert not created and again.version == first.version and reads == []
    assert add_files(stores, folder, "images")[0].version == first.version and len(reads) == 201  # no cache: read


def test_an_edited_file_of_the_same_size_and_mtime_is_hashed_again(stores, folder, tmp_path, reads, monkeypatch):
    import os

    import conveyor.data.hash_cache as hash_cache

    monkeypatch.setattr(hash_cache, "SETTLE_NS", 0)
    cache = tmp_path / "hashes.json"
    add_files(stores, folder, "images", hash_cache=cache)
    edited = folder / "class_1" / "img_005.bin"
    before = edited.stat()
    edited.write_bytes(b"\xff" * before.st_size)  # same size
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the mtime set back: only ctime moved
    assert edited.stat().st_size == before.st_size and edited.stat().st_mtime_ns == before.st_mtime_ns
    reads.clear()
    second, created = add_files(stores, folder, "images", hash_cache=cache)
    assert created and second.meta["changes"]["modified"] == ["class_1/img_005.bin"]
    assert reads == [str(edited)]


def test_a_file_hashed_within_the_settle_time_of_its_change_is_read_again(stores, folder, tmp_path, reads):
    cache = tmp_path / "hashes.json"
    add_files(stores, folder, "images", hash_cache=cache)  # written a moment ago: could change within one tick
    reads.clear()
    add_files(stores, folder, "images", hash_cache=cache)
    assert len(reads) == 201


def test_a_damaged_hash_cache_is_ignored(stores, folder, tmp_path, reads):
    cache = tmp_path / "hashes.json"
    cache.write_text("{not json")
    _, created = add_files(stores, folder, "images", hash_cache=cache)
    assert created and len(reads) == 201 and json.loads(cache.read_text())["files"]


def test_the_hash_cache_forgets_files_gone_from_the_folder(stores, folder, tmp_path):
    cache = tmp_path / "hashes.json"
    add_files(stores, folder, "images", hash_cache=cache)
    gone = folder / "class_2" / "img_010.bin"
    assert str(gone.resolve()) in json.loads(cache.read_text())["files"]
    gone.unlink()
    add_files(stores, folder, "images", hash_cache=cache)
    kept = json.loads(cache.read_text())["files"]
    assert str(gone.resolve()) not in kept and len(kept) == 200


def test_the_hash_cache_knows_a_folder_by_any_spelling_of_its_path(stores, folder, tmp_path, reads, monkeypatch):
    """Cache entries are keyed by absolute, normalised paths: a folder added as `images` from its parent and
    again as `/abs/.../sub/../images/` (or a single file by a relative path) is not read again."""
    import conveyor.data.hash_cache as hash_cache

    monkeypatch.setattr(hash_cache, "SETTLE_NS", 0)
    cache = tmp_path / "hashes.json"
    monkeypatch.chdir(folder.parent)
    first, _ = add_files(stores, "images", "images", hash_cache=cache)
    one, _ = add_files(stores, "images/big.bin", "big", hash_cache=cache)
    reads.clear()
    (folder.parent / "sub").mkdir()
    again, created = add_files(stores, f"{folder.parent}/sub/../images/", "images", hash_cache=cache)
    assert not created and again.version == first.version and reads == []
    assert add_files(stores, str(folder / "big.bin"), "big", hash_cache=cache)[0] == one and reads == []
    assert set(json.loads(cache.read_text())["files"]) == {str(p) for p in folder.rglob("*") if p.is_file()}


def test_an_add_pauses_the_cyclic_collector_and_resumes_it_even_when_it_fails(stores, folder, tmp_path):
    import gc

    seen = []
    add_files(stores, folder, "imgs", progress=lambda done, total: seen.append(gc.isenabled()))
    assert seen and not any(seen)  # paused while the files were read
    assert gc.isenabled()
    with pytest.raises(BadInputError):
        add_files(stores, tmp_path / "missing", "imgs")
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that had it off keeps it off
        add_files(stores, folder, "imgs")
        assert not gc.isenabled()
    finally:
        gc.enable()
