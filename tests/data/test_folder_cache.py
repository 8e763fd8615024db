"""The folder fingerprint of `add_files` (conveyor.data.folder_cache): an unchanged folder is its last version
without a look at the per-file cache or the manifest, and every kind of change is still seen."""

from __future__ import annotations

import json
import os

import pytest

from conveyor.core.errors import BadInputError
from conveyor.data.files import add_files


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    for i in range(12):
        sub = root / f"d{i % 3}" / ("deep" if i % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:02d}.txt").write_bytes(b"x" * (10 + i))
    return root


@pytest.fixture
def settled(monkeypatch):
    """Files written a moment ago count as settled (the settle rule has its own test below)."""
    import conveyor.data.hash_cache as hash_cache

    monkeypatch.setattr(hash_cache, "SETTLE_NS", 0)


@pytest.fixture
def looked(monkeypatch):
    """What an add looked at file by file: ("manifest", name) per manifest parsed, ("read", path) per file read."""
    import conveyor.data.files as files

    seen: list[tuple[str, str]] = []
    real_manifest, real_read = files.read_manifest, files._read_small

    def manifest(stores, version):
        seen.append(("manifest", version.name))
        return real_manifest(stores, version)

    def read(path):
        seen.append(("read", path))
        return real_read(path)

    monkeypatch.setattr(files, "read_manifest", manifest)
    monkeypatch.setattr(files, "_read_small", read)
    return seen


def _add(stores, tree, tmp_path, name="t"):
    return add_files(stores, tree, name, hash_cache=tmp_path / "hashes.json")


def test_an_unchanged_folder_is_its_last_version_without_a_look_at_each_file(stores, tree, tmp_path, settled,
                                                                             looked):
    first, created = _add(stores, tree, tmp_path)
    assert created and len([k for k, _ in looked if k == "read"]) == 12
    recorded = json.loads((tmp_path / "hashes.folders.json").read_text())["folders"]
    assert recorded[str(tree)][1] == first.version
    looked.clear()
    again, created = _add(stores, tree, tmp_path)
    assert not created and again == first and looked == []  # no manifest parsed, no file read
    os.remove(tmp_path / "hashes.folders.json")  # without the fingerprint: the manifest and the stat cache
    assert _add(stores, tree, tmp_path) == (first, False) and looked == [("manifest", "t")]


@pytest.mark.parametrize("change", ["modified", "added", "removed", "renamed", "nested", "touched"])
def test_every_change_to_the_folder_is_seen(stores, tree, tmp_path, settled, looked, change):
    first, _ = _add(stores, tree, tmp_path)
    target = tree / "d1" / "deep" / "f01.txt"
    if change == "modified":
        target.write_bytes(b"y" * 11)  # same size
    elif change == "added":
        (tree / "d0" / "new.txt").write_bytes(b"new")
    elif change == "removed":
        target.unlink()
    elif change == "renamed":
        target.rename(target.with_name("g01.txt"))
    elif change == "nested":
        (tree / "d2" / "a" / "b").mkdir(parents=True)
        (tree / "d2" / "a" / "b" / "leaf.txt").write_bytes(b"leaf")
    else:  # touched: same bytes, a new mtime
        stat = target.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns - 5_000_000_000))
    looked.clear()
    second, created = _add(stores, tree, tmp_path)
    assert ("manifest", "t") in looked  # the fingerprint did not match: the full add ran
    expected = {"modified": {"modified": ["d1/deep/f01.txt"]}, "added": {"added": ["d0/new.txt"]},
                "removed": {"removed": ["d1/deep/f01.txt"]},
                "renamed": {"added": ["d1/deep/g01.txt"], "removed": ["d1/deep/f01.txt"]},
                "nested": {"added": ["d2/a/b/leaf.txt"]}}.get(change)
    if expected is None:  # touched: the same bytes, so the same version, after reading that one file again
        assert (second, created) == (first, False) and [p for k, p in looked if k == "read"] == [str(target)]
    else:
        assert created and {k: v for k, v in second.meta["changes"].items() if v} == expected
    looked.clear()
    assert _add(stores, tree, tmp_path) == (second, False) and looked == []  # the new fingerprint is recorded


def test_a_file_changed_during_the_add_is_seen_next_time(stores, tree, tmp_path, settled, monkeypatch):
    import conveyor.data.files as files

    real = files._read_small
    target = tree / "d0" / "f00.txt"

    def read_then_write(path):
        result = real(path)
        if path == str(target):
            target.write_bytes(b"written while the add ran")  # after its bytes were read and hashed
        return result

    monkeypatch.setattr(files, "_read_small", read_then_write)
    _add(stores, tree, tmp_path)
    monkeypatch.setattr(files, "_read_small", real)
    second, created = _add(stores, tree, tmp_path)
    assert created and second.meta["changes"]["modified"] == ["d0/f00.txt"]


def test_a_folder_changed_within_the_settle_time_gets_no_fingerprint(stores, tree, tmp_path, looked):
    _add(stores, tree, tmp_path)  # the files were written a moment ago: they could change within one clock tick
    assert not (tmp_path / "hashes.folders.json").exists()  # nothing recorded
    looked.clear()
    _add(stores, tree, tmp_path)
    assert ("manifest", "t") in looked and len([k for k, _ in looked if k == "read"]) == 12


def test_the_fingerprint_answers_only_for_a_name_holding_that_version(stores, tree, tmp_path, settled, looked):
    first, _ = _add(stores, tree, tmp_path)
    looked.clear()
    other, created = _add(stores, tree, tmp_path, name="other")
    assert created and other.name == "other" and other.version == first.version
    assert ("manifest", "t") not in looked  # "t"'s fingerprint was not taken for "other"


def test_a_folder_emptied_after_its_fingerprint_is_refused(stores, tree, tmp_path, settled):
    _add(stores, tree, tmp_path)
    for path in sorted(tree.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    with pytest.raises(BadInputError, match="holds no files"):
        _add(stores, tree, tmp_path)


def test_a_damaged_folder_cache_only_costs_the_full_add(stores, tree, tmp_path, settled, looked):
    first, _ = _add(stores, tree, tmp_path)
    (tmp_path / "hashes.folders.json").write_text("{not json")
    looked.clear()
    assert _add(stores, tree, tmp_path) == (first, False) and looked == [("manifest", "t")]
    looked.clear()
    assert _add(stores, tree, tmp_path) == (first, False) and looked == []  # rewritten whole


def test_packs_written_on_their_own_thread_round_trip(stores, tree, tmp_path, monkeypatch):
    import conveyor.data.files as files

    monkeypatch.setattr(files, "PACK_BYTES", 40)  # a new pack every two or three files: several in flight in turn
    version, _ = _add(stores, tree, tmp_path)
    manifest = files.read_manifest(stores, version)
    assert len({f["pack"] for f in manifest}) >= 4
    out = tmp_path / "out"
    assert files.checkout(stores, version, out) == 12
    assert all((out / f["path"]).read_bytes() == (tree / f["path"]).read_bytes() for f in manifest)


def test_a_pack_that_cannot_be_written_fails_the_add_and_records_no_version(stores, tree, tmp_path, monkeypatch):
    real = type(stores.artifacts).put_bytes

    def failing(self, data):
        if len(data) > 100:  # the pack, not the manifest
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(type(stores.artifacts), "put_bytes", failing)
    with pytest.raises(OSError, match="No space left"):
        _add(stores, tree, tmp_path)
    assert stores.datasets.versions("t") == []


def test_a_pack_streamed_to_a_local_folder_that_fails_leaves_no_version_and_no_temporary_file(tmp_path, tree,
                                                                                               monkeypatch):
    from conveyor.store import Stores
    from conveyor.store.copying import StreamedBlob
    from conveyor.store.local_artifacts import LocalArtifactStore

    stores = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "blobs"))
    stores.artifacts = LocalArtifactStore(str(tmp_path / "blobs"))  # what `data add` uses: the streamed writer
    try:
        monkeypatch.setattr(StreamedBlob, "commit", lambda self: (_ for _ in ()).throw(OSError(28, "No space")))
        with pytest.raises(OSError, match="No space"):
            _add(stores, tree, tmp_path)
        assert stores.datasets.versions("t") == []
        assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []
    finally:
        stores.close()


def test_the_canonical_manifest_is_json_dumps_byte_for_byte():
    from conveyor.data.files import _canonical

    paths = ["a.txt", 'quote"back\\slash', "tab\tnew\nline\x01", "ünïcödé/ß", "emoji 🙂", "surrogate \udcff", ""]
    manifest = [{"path": p, "bytes": i * 1000, "digest": f"{i:064x}", **({"pack": "f" * 64, "offset": i} if i % 2
                                                                          else {})} for i, p in enumerate(paths)]
    manifest.append({"path": "odd", "bytes": 1, "digest": "0" * 64, "extra": [1.5, None, True]})  # any other shape
    expected = json.dumps({"files": manifest}, separators=(",", ":"), sort_keys=True).encode()
    assert _canonical(manifest) == expected
    assert _canonical([]) == b'{"files":[]}'


def test_the_version_identity_is_json_dumps_of_path_bytes_and_digest_byte_for_byte():
    from conveyor.data.files import _identity

    paths = ["a.txt", 'quote"back\\slash', "tab\tnew\nline\x01", "ünïcödé/ß", "emoji 🙂", "surrogate \udcff"]
    located = [(p, i * 1000, {"digest": f"{i:064x}", "pack": "f" * 64, "offset": i}) for i, p in enumerate(paths)]
    identity = [{"path": p, "bytes": size, "digest": entry["digest"]} for p, size, entry in located]
    assert _identity(located) == json.dumps({"files": identity}, separators=(",", ":"), sort_keys=True).encode()
    assert _identity([]) == b'{"files":[]}'
