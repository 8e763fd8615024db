"""The vectorised checks decide a batch as pandera does: each case below is checked both ways and must agree;
where they defer (a dtype they do not handle), `validate` still gives pandera's answer with its report."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pandera.errors as pe
import pytest

from conveyor.data.contracts import build_schema, validate
from conveyor.data.vector_checks import passes

N = 200


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=N)
    x[[3, 50]] = np.nan
    return pd.DataFrame({
        "id": np.arange(N), "x": x, "y": rng.uniform(0, 10, N), "n": rng.integers(0, 5, N),
        "c": pd.Series(rng.choice(["a", "b", "c"], N), dtype=object).where(np.arange(N) != 7, None),
        "cat": pd.Categorical(rng.choice(["lo", "hi"], N)), "b": rng.integers(0, 2, N).astype(bool),
        "s": pd.array(rng.choice(["p", "q"], N), dtype="string"),
        "down": np.arange(N)[::-1] * 1.5, "r": np.where(np.arange(N) == 5, 4, np.arange(N)),  # sorted, one repeat
    })


def pandera_passes(contract: dict, frame: pd.DataFrame) -> bool:
    try:
        build_schema(contract).validate(frame, lazy=True)
    except pe.SchemaErrors:
        return False
    return True


def contract(**columns) -> dict:
    return {"dataset": "t", "columns": columns}


CASES = {
    "all pass": contract(id={"kind": "numeric", "nullable": False, "unique": True, "min": 0, "max": N},
                         x={"kind": "numeric", "nullable": True, "min": -10, "max": 10},
                         y={"kind": "numeric", "nullable": False, "min": 0, "max": 10},
                         n={"kind": "numeric", "allowed": [0, 1, 2, 3, 4]},
                         c={"kind": "categorical", "nullable": True, "allowed": ["a", "b", "c"]},
                         cat={"kind": "categorical", "nullable": False, "allowed": ["lo", "hi", "mid"]},
                         b={"kind": "bool", "nullable": False, "allowed": [True, False]},
                         s={"kind": "categorical", "allowed": ["p", "q"]}),
    "nulls in a non-nullable float": contract(x={"kind": "numeric", "nullable": False}),
    "a None in a non-nullable text column": contract(c={"kind": "categorical", "nullable": False}),
    "above the max": contract(y={"kind": "numeric", "max": 9.5}),
    "below the min": contract(y={"kind": "numeric", "min": 0.5}),
    "min only": contract(n={"kind": "numeric", "min": 0}),
    "max only, integer bound on floats": contract(x={"kind": "numeric", "max": 100}),
    "a value not allowed": contract(c={"kind": "categorical", "allowed": ["a", "b"]}),
    "a category not allowed": contract(cat={"kind": "categorical", "allowed": ["lo"]}),
    "a string-dtype value not allowed": contract(s={"kind": "categorical", "allowed": ["p"]}),
    "numbers not allowed": contract(n={"kind": "numeric", "allowed": [0, 1, 2]}),
    "not unique": contract(n={"kind": "numeric", "unique": True}),
    "unique": contract(y={"kind": "numeric", "unique": True}),
    "unique and sorted": contract(id={"kind": "numeric", "unique": True}),
    "decreasing and unique": contract(down={"kind": "numeric", "unique": True}),
    "sorted with a repeat": contract(r={"kind": "numeric", "unique": True}),
    "rows in range": {**contract(id={"kind": "numeric"}), "rows": {"min": 10, "max": N}},
    "too few rows": {**contract(id={"kind": "numeric"}), "rows": {"min": N + 1, "max": 10 * N}},
    "too many rows": {**contract(id={"kind": "numeric"}), "rows": {"min": 1, "max": N - 1}},
}


@pytest.mark.parametrize("case", CASES)
def test_the_same_verdict_as_pandera(case, frame):
    expected = pandera_passes(CASES[case], frame)
    assert passes(CASES[case], frame) is expected
    assert validate(CASES[case], frame).passed is expected


def test_the_expected_verdicts(frame):
    """The cases above are not all passing (or all failing): which ones pass is known."""
    verdicts = {case: passes(spec, frame) for case, spec in CASES.items()}
    assert {case for case, ok in verdicts.items() if ok} == {
        "all pass", "min only", "max only, integer bound on floats", "unique", "unique and sorted",
        "decreasing and unique", "rows in range"}


def test_what_it_does_not_decide_goes_to_pandera(frame):
    """A range on text, uniqueness over nulls: not decided here (False), and `validate` gives pandera's verdict
    and report."""
    text_range = contract(c={"kind": "categorical", "nullable": True, "min": "a", "max": "z"})
    unique_nulls = contract(x={"kind": "numeric", "nullable": True, "unique": True})
    repeated = frame.assign(x=frame["x"].where(frame.index != 11, frame["x"][10]))  # nulls and a duplicate
    for spec, batch in ((text_range, frame), (unique_nulls, repeated)):
        assert passes(spec, batch) is False
        assert validate(spec, batch).passed is pandera_passes(spec, batch)
    failed = validate(contract(y={"kind": "numeric", "max": 9.5}), frame)
    assert not failed.passed and failed.failures[0].column == "y" and failed.failures[0].count > 0


def test_a_passing_batch_does_not_import_pandera(frame):
    import subprocess

    code = ("import sys, pandas as pd, numpy as np\nfrom conveyor.data.contracts import validate\n"
            "f = pd.DataFrame({'a': np.arange(5)})\n"
            "assert validate({'columns': {'a': {'kind': 'numeric', 'min': 0, 'max': 9}}}, f).passed\n"
            "print('pandera' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
