"""Encryption at rest: the artifact contract holds on encrypted stores, nothing readable reaches the disk, every kind
of tampering is detected, and key rotation re-wraps data keys without rewriting data."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.core.errors import BadInputError, IntegrityError
from conveyor.project import Project
from conveyor.store.artifacts import ArtifactStore, FsspecArtifactStore, InMemoryArtifactStore
from conveyor.store.encrypted_artifacts import KEY_SUFFIX, EncryptedArtifactStore
from conveyor.store.encryption import Keyring, load_keyring, new_key
from conveyor.store.hashing import digest_bytes
from conveyor.testing.artifact_contract import ArtifactStoreContract

KEY, OTHER = new_key(), new_key()


def encrypted(tmp_path: Path, *keys: str, chunk: int = 64) -> EncryptedArtifactStore:
    return EncryptedArtifactStore(FsspecArtifactStore(str(tmp_path / "artifacts")),
                                  Keyring.of(keys or (KEY,), "test"), chunk=chunk)


class TestEncryptedInMemoryArtifacts(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self) -> EncryptedArtifactStore:
        return EncryptedArtifactStore(InMemoryArtifactStore(), Keyring.of([KEY], "test"))

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        assert isinstance(store, EncryptedArtifactStore) and isinstance(store.inner, InMemoryArtifactStore)
        sealed = bytearray(store.inner._blobs[digest])
        sealed[-1] ^= 1
        store.inner._blobs[digest] = bytes(sealed)


class TestEncryptedLocalArtifacts(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> EncryptedArtifactStore:
        return encrypted(tmp_path, chunk=1024 * 1024)

    def corrupt(self, store: ArtifactStore, digest: str) -> None:
        assert isinstance(store, EncryptedArtifactStore) and isinstance(store.inner, FsspecArtifactStore)
        Path(store.inner._path(digest)).write_bytes(b"bit rot")


def _files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]


def test_content_address_is_the_plaintext_digest_and_no_plaintext_is_on_disk(tmp_path):
    store = encrypted(tmp_path)
    data = b"secret-customer-4711," * 50
    digest = store.put_bytes(data)
    assert digest == digest_bytes(data)  # the address does not change with encryption
    assert store.put_bytes(data) == digest and store.digests() == [digest]  # stored once
    on_disk = b"".join(p.read_bytes() for p in _files(tmp_path))
    assert b"secret-customer" not in on_disk
    assert store.get_bytes(digest) == data
    plain = FsspecArtifactStore(str(tmp_path / "plain"))
    assert plain.put_bytes(data) == digest  # the same address as an unencrypted store's


def test_each_tampering_is_detected(tmp_path):
    store = encrypted(tmp_path, chunk=16)
    first = store.put_bytes(bytes(range(100)))
    second = store.put_bytes(bytes(range(100, 200)))
    path = Path(store.inner._path(first))
    sealed = path.read_bytes()
    step, header = 16 + 16, 8

    def expect_corrupt(content: bytes, what: str) -> None:
        path.write_bytes(content)
        with pytest.raises(IntegrityError, match=f"{first[:12]} is corrupt"):
            store.get_bytes(first)
        path.write_bytes(sealed)
        assert store.get_bytes(first) == bytes(range(100)), what

    edited = bytearray(sealed)
    edited[header + 3] ^= 0x40
    expect_corrupt(bytes(edited), "an edited byte")
    chunks = [sealed[header + i:header + i + step] for i in range(0, len(sealed) - header, step)]
    expect_corrupt(sealed[:header] + chunks[1] + chunks[0] + b"".join(chunks[2:]), "swapped chunks")
    expect_corrupt(sealed[:header] + b"".join(chunks[:-1]), "the last chunk dropped (truncated at a boundary)")
    expect_corrupt(sealed[:-5], "truncated inside a chunk")
    expect_corrupt(sealed + chunks[0], "a chunk appended")
    expect_corrupt(Path(store.inner._path(second)).read_bytes(), "another object's ciphertext under this address")
    key_path = Path(store.inner._path(first + KEY_SUFFIX))
    record = key_path.read_bytes()
    key_path.write_bytes(Path(store.inner._path(second + KEY_SUFFIX)).read_bytes())  # another object's data key
    with pytest.raises(IntegrityError, match="data key fails authentication"):
        store.get_bytes(first)
    key_path.unlink()  # without its key record the sealed bytes do not hash to the address
    with pytest.raises(IntegrityError, match=f"{first[:12]} is corrupt"):
        store.get_bytes(first)
    key_path.write_bytes(record)
    assert store.get_bytes(first) == bytes(range(100))


def test_a_wrong_key_is_named_not_reported_as_corruption(tmp_path):
    digest = encrypted(tmp_path).put_bytes(b"weights")
    with pytest.raises(IntegrityError, match="not among the keys of test"):
        encrypted(tmp_path, OTHER).get_bytes(digest)


def test_rotation_rewraps_data_keys_without_rewriting_data(tmp_path):
    old = encrypted(tmp_path)
    digests = [old.put_bytes(f"object {i}".encode() * 20) for i in range(3)]
    legacy = FsspecArtifactStore(str(tmp_path / "artifacts")).put_bytes(b"written before encryption was on")
    sealed = {d: Path(old.inner._path(d)).read_bytes() for d in digests}
    report = encrypted(tmp_path, OTHER, KEY).rotate()
    assert (report.rewrapped, report.encrypted) == (3, 1)
    assert {d: Path(old.inner._path(d)).read_bytes() for d in digests} == sealed  # data untouched
    assert b"written before" not in Path(old.inner._path(legacy)).read_bytes()
    only_new = encrypted(tmp_path, OTHER)  # the old key is gone now
    assert [only_new.get_bytes(d) for d in digests] == [f"object {i}".encode() * 20 for i in range(3)]
    assert only_new.get_bytes(legacy) == b"written before encryption was on"
    with pytest.raises(IntegrityError, match="not among the keys"):
        encrypted(tmp_path, KEY).get_bytes(digests[0])
    assert encrypted(tmp_path, OTHER).rotate().rewrapped == 0  # nothing left to do


def test_keyring_sources(tmp_path):
    assert load_keyring(tmp_path, None, {}) is None
    assert load_keyring(tmp_path, None, {"CONVEYOR_ENCRYPTION_KEY": f"{OTHER},{KEY}"}).older[0] == \
        base64.b64decode(KEY)
    (tmp_path / "k").write_text(f"{KEY}\n{OTHER}\n")

    class Section:
        key_file, hook = "k", None

    assert load_keyring(tmp_path, Section(), {}).current == base64.b64decode(KEY)
    (tmp_path / "hook_mod.py").write_text(f"def keys():\n    return [{OTHER!r}]\n")
    Section.key_file, Section.hook = None, "hook_mod:keys"
    sys.path.insert(0, str(tmp_path))
    try:
        assert load_keyring(tmp_path, Section(), {}).current == base64.b64decode(OTHER)
    finally:
        sys.path.remove(str(tmp_path))
    with pytest.raises(BadInputError, match="not base64 of 32 bytes") as caught:
        load_keyring(tmp_path, None, {"CONVEYOR_ENCRYPTION_KEY": "c2hvcnQ="})
    assert caught.value.field == "CONVEYOR_ENCRYPTION_KEY"


def conveyor(*args: str, cwd: Path, env: dict[str, str], code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def test_a_dataset_ingested_with_a_key_file_leaves_no_plaintext_on_disk(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_ENCRYPTION_KEY", raising=False)
    env = {"CONVEYOR_USER": "tester", "CONVEYOR_ENCRYPTION_KEY": ""}
    conveyor("init", str(tmp_path), cwd=tmp_path, env=env)
    (tmp_path / "kek").write_text(KEY + "\n")
    with open(tmp_path / "conveyor.yaml", "a") as handle:
        handle.write("security:\n  encryption:\n    key_file: kek\n")
    rows = "\n".join(f"{i},zebra-marker-{i:05d}" for i in range(300))
    (tmp_path / "people.csv").write_text("id,secret\n" + rows + "\n")
    conveyor("data", "ingest", "people.csv", "--name", "people", cwd=tmp_path, env=env)
    (tmp_path / "people.csv").unlink()
    conveyor("data", "filter", "people@latest", "--query", "id < 5", "--name", "few", cwd=tmp_path, env=env)
    blobs = [p for p in (tmp_path / ".conveyor" / "artifacts").rglob("*") if p.is_file()]
    assert blobs and not any(b"zebra-marker" in p.read_bytes() for p in blobs)
    with Project.open(tmp_path) as project:  # read back through the key
        assert project.data.load_frame("few@latest")["secret"].tolist() == [f"zebra-marker-{i:05d}" for i in range(5)]
    (tmp_path / "kek").write_text(OTHER + "\n")  # the wrong key: refused with the key's source named, exit 2
    failed = conveyor("data", "filter", "people@latest", "--query", "id < 9", "--name", "more", cwd=tmp_path, env=env,
                      code=2)
    assert "security.encryption.key_file" in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr
    (tmp_path / "conveyor.yaml").write_text((tmp_path / "conveyor.yaml").read_text().replace("key_file: kek", ""))
    keyless = conveyor("data", "filter", "people@latest", "--query", "id < 9", "--name", "more", cwd=tmp_path,
                       env=env, code=2)  # no key at all: named as a missing key, not as corruption
    assert "is encrypted at rest, and no encryption key is set" in keyless.stderr
    assert "CONVEYOR_ENCRYPTION_KEY" in keyless.stderr and "corrupt" not in keyless.stderr


def test_rotate_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_ENCRYPTION_KEY", raising=False)
    conveyor("init", str(tmp_path), cwd=tmp_path, env={})
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n")
    off = conveyor("encryption", "rotate", cwd=tmp_path, env={}, code=2)
    assert "security.encryption" in off.stderr
    conveyor("data", "ingest", "t.csv", "--name", "t", cwd=tmp_path, env={})  # stored before encryption was on
    key = conveyor("encryption", "new-key", cwd=tmp_path, env={}).stdout.strip()
    assert len(base64.b64decode(key)) == 32
    blobs = [p for p in (tmp_path / ".conveyor" / "artifacts").rglob("*") if p.is_file()]
    assert blobs and not any(p.read_bytes()[:4] == b"CVE1" for p in blobs)
    done = conveyor("encryption", "rotate", "--json", cwd=tmp_path, env={"CONVEYOR_ENCRYPTION_KEY": key})
    assert json.loads(done.stdout)["encrypted"] == len(blobs)
    assert all(p.read_bytes()[:4] == b"CVE1" for p in blobs)
