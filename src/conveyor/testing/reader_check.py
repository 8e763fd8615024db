"""``check_reader``: prove that a file-format reader keeps the contract of ``conveyor.data.readers.Reader``.

Fails with an AssertionError naming the broken rule unless:

1. ``name`` is a non-empty string and ``suffixes`` lower-case extensions with their dot;
2. a small frame (integers, floats with a missing value, text with a missing value, non-ASCII text and a comma,
   booleans) written by ``write`` comes back equal from ``load``;
3. ``load_chunks`` of that file, two rows at a time, concatenates to the same frame, in order;
4. an empty file, a missing file and a folder are refused with a BadInputError (for ``load`` and
   ``load_chunks``);
5. a truncated file and bytes of another kind either read as a DataFrame or raise BadInputError: never another
   exception (a user must never see a parser's traceback).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.data.readers import Reader


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3, 4, 5],
        "x": [0.5, None, 2.25, -1.0, 1e6],
        "city": ["berlin", None, "Zürich", 'a, "quoted" b', "paris"],
        "flag": [True, False, True, True, False],
    })


def check_reader(reader: Reader | type[Reader]) -> dict[str, Any]:
    """Run the checks above in a temporary folder; return what was read (``frame``, ``chunks``) for more asserts."""
    reader = reader() if isinstance(reader, type) else reader
    assert isinstance(reader, Reader), f"{type(reader).__name__} is not a conveyor.data.readers.Reader"
    assert isinstance(reader.name, str) and reader.name, "a reader needs a name (what format=... selects)"
    assert reader.suffixes and all(s.startswith(".") and s == s.lower() for s in reader.suffixes), \
        f"suffixes must be lower-case extensions with their dot, got {reader.suffixes!r}"
    expected = sample_frame()
    with tempfile.TemporaryDirectory(prefix="check-reader-") as folder:
        root = Path(folder)
        path = root / f"sample{reader.suffixes[0]}"
        reader.write(expected.copy(), path)
        frame = reader.load(path)
        _equal(frame, expected, "the frame load() read back differs from the one write() wrote")
        chunks = list(reader.load_chunks(path, 2))
        assert chunks and all(len(c) <= 2 for c in chunks), "load_chunks(path, 2) gave chunks over 2 rows"
        _equal(pd.concat(chunks, ignore_index=True), expected, "the chunks of load_chunks() differ from the file")

        empty = root / f"empty{reader.suffixes[0]}"
        empty.write_bytes(b"")
        for bad, what in ((empty, "an empty file"), (root / f"missing{reader.suffixes[0]}", "a missing file"),
                          (root, "a folder")):
            _refused(lambda bad=bad: reader.load(bad), f"load() of {what}")
            _refused(lambda bad=bad: list(reader.load_chunks(bad, 2)), f"load_chunks() of {what}")

        data = path.read_bytes()
        truncated = root / f"truncated{reader.suffixes[0]}"
        truncated.write_bytes(data[: max(1, len(data) // 2)])
        other = root / f"other{reader.suffixes[0]}"
        other.write_bytes(b"PK\x03\x04 this is a zip archive, not a table \x00\x01\x02")
        for bad, what in ((truncated, "a truncated file"), (other, "bytes of another format")):
            _tolerated(lambda bad=bad: reader.load(bad), f"load() of {what}")
    return {"frame": frame, "chunks": chunks}


def _equal(got: pd.DataFrame, expected: pd.DataFrame, message: str) -> None:
    assert isinstance(got, pd.DataFrame), f"{message}: got {type(got).__name__}, not a DataFrame"
    try:
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False, check_exact=False)
    except AssertionError as exc:
        raise AssertionError(f"{message}: {exc}") from None


def _refused(call: Any, what: str) -> None:
    try:
        call()
    except BadInputError:
        return
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}, not a BadInputError: {exc}") from exc
    raise AssertionError(f"{what} was accepted; it must raise a BadInputError")


def _tolerated(call: Any, what: str) -> None:
    try:
        result = call()
    except BadInputError:
        return
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}, not a BadInputError: {exc}") from exc
    assert isinstance(result, pd.DataFrame), f"{what} returned {type(result).__name__}, not a DataFrame"
