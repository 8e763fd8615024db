"""Dataset versions: content addressing, idempotent ingest, bad files, crash safety."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.data.datasets import ingest_file, ingest_frame, load_frame, resolve, to_table
from conveyor.store import Stores


@pytest.fixture
def frame():
    return pd.DataFrame({"x": [1.5, 2.5, None, 4.0], "city": ["a", "b", "a", None], "y": [0, 1, 0, 1]})


def test_same_file_twice_is_one_version(stores, frame, tmp_path):
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    first, created_first = ingest_file(stores, path, "churn")
    second, created_second = ingest_file(stores, path, "churn")
    assert (created_first, created_second) == (True, False)
    assert first.version == second.version
    assert len(stores.datasets.versions("churn")) == 1
    assert len(stores.artifacts.digests()) == 1


def test_any_change_gives_a_new_version(stores, frame):
    first, _ = ingest_frame(stores, frame, "churn")
    changed = frame.copy()
    changed.loc[0, "x"] = 1.6
    second, created = ingest_frame(stores, changed, "churn")
    assert created and second.version != first.version
    assert resolve(stores, "churn@latest").version == second.version
    assert resolve(stores, f"churn@{first.version[:8]}").version == first.version


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_formats_round_trip_with_schema_and_profile(stores, frame, tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    version, _ = ingest_file(stores, path, "d")
    assert version.rows == 4
    assert version.column_names == ["x", "city", "y"]
    assert {c["name"]: c["kind"] for c in version.columns} == {"x": "numeric", "city": "categorical", "y": "numeric"}
    assert version.profile["columns"]["x"]["nulls"] == 1
    assert version.source.endswith(suffix)
    loaded = load_frame(stores, version)
    assert loaded["x"].tolist()[:2] == [1.5, 2.5]
    assert loaded.shape == (4, 3)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b\n", "no rows"),
        ("dups.csv", b"a,a\n1,2\n", "duplicate column"),
        ("table.xlsx", b"whatever", "unknown extension"),
        ("broken.parquet", b"not parquet at all", "Cannot read"),
        ("broken.jsonl", b"{not json\n", "Cannot read"),
    ],
)
def test_bad_files_are_rejected_and_store_unchanged(stores, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=message):
        ingest_file(stores, path, "bad")
    assert stores.datasets.versions() == []
    assert stores.artifacts.digests() == []


def test_missing_file_and_unknown_dataset(stores, tmp_path):
    with pytest.raises(BadInputError, match="File not found"):
        ingest_file(stores, tmp_path / "nope.csv", "d")
    with pytest.raises(NotFoundError, match="Unknown dataset 'nope'"):
        resolve(stores, "nope")
    with pytest.raises(BadInputError, match="Invalid dataset name"):
        ingest_frame(stores, pd.DataFrame({"a": [1]}), "bad name!")


CRASHING_INGEST = textwrap.dedent(
    """
    import os, signal, sys
    import pandas as pd
    from conveyor.data.datasets import ingest_frame
    from conveyor.store import Stores
    from conveyor.store.sql.datasets import SqlDatasetStore

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if sys.argv[3] == "before-record":  # the blob is in place; die before the record that points at it
        SqlDatasetStore.add_version = die
    else:  # "mid-write": the blob's bytes are in a temporary file; die instead of renaming it into place
        os.replace = die
    stores = Stores.open(sys.argv[1], sys.argv[2])
    ingest_frame(stores, pd.DataFrame({"a": [1, 2, 3]}), "crashy")
    """
)


@pytest.mark.parametrize("moment", ["before-record", "mid-write"])
def test_sigkill_during_ingest_leaves_no_dangling_reference(tmp_path, moment):
    db, art = f"sqlite:///{tmp_path / 'meta.db'}", tmp_path / "artifacts"
    done = subprocess.run([sys.executable, "-c", CRASHING_INGEST, db, str(art), moment], capture_output=True,
                          timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    stores = Stores.open(db, str(art))
    try:
        assert stores.datasets.versions() == []  # no record points at anything
        leftovers = list(art.rglob(".tmp-*"))
        assert bool(leftovers) == (moment == "mid-write")  # a torn write stays a temp file, never a blob
        assert len(stores.artifacts.digests()) == (0 if moment == "mid-write" else 1)
        version, created = ingest_frame(stores, pd.DataFrame({"a": [1, 2, 3]}), "crashy")
        assert created
        assert load_frame(stores, version)["a"].tolist() == [1, 2, 3]
    finally:
        stores.close()


def test_version_id_ignores_library_versions_written_into_parquet(stores, frame, tmp_path):
    table = to_table(frame)
    pandas_meta = json.loads(table.schema.metadata[b"pandas"])  # what another pandas/pyarrow would have written
    pandas_meta.update(pandas_version="9.9.9", creator={"library": "pyarrow", "version": "99.0"})
    stamped = table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode(), b"writer": b"other"})
    pq.write_table(table, tmp_path / "plain.parquet")
    pq.write_table(stamped, tmp_path / "stamped.parquet")
    assert (tmp_path / "plain.parquet").read_bytes() != (tmp_path / "stamped.parquet").read_bytes()
    plain, _ = ingest_file(stores, tmp_path / "plain.parquet", "d")
    again, created = ingest_file(stores, tmp_path / "stamped.parquet", "d")  # the ingest path users take
    assert again.version == plain.version and created is False
    assert ingest_frame(stores, frame, "d")[0].version == plain.version
    changed = ingest_frame(stores, frame.assign(y=frame["y"] + 1), "d")[0]
    typed = ingest_frame(stores, frame.astype({"y": "float64"}), "d")[0]  # types are content
    assert len({plain.version, changed.version, typed.version}) == 3


def test_one_frame_as_parquet_or_json_lines_is_one_version(stores, tmp_path):
    """JSON values arrive as written: "007" stays text, an integer stays an integer (not a date), floats exact."""
    frame = pd.DataFrame({"f": [0.08474, 0.1, 2.2], "code": ["007", "x", "042"], "created_at": [1700000000] * 3})
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True, double_precision=15)
    versions = {ingest_file(stores, tmp_path / f"d{ext}", "d")[0].version for ext in (".parquet", ".jsonl")}
    assert len(versions) == 1
    loaded = load_frame(stores, stores.datasets.get_version("d"))
    assert loaded["code"].tolist() == ["007", "x", "042"] and loaded["created_at"].dtype == "int64"
    assert loaded["f"].tolist() == [0.08474, 0.1, 2.2]
