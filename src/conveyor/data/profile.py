"""Column profiles: the summary stored beside every dataset version, which stands in for its rows later.

A profile is ``{"format": 2, "rows": n, "columns": {name: column_profile}}``. Each column profile is the column's
sketch in the one format of :mod:`conveyor.stats.sketch` (quantiles on the 0.1 % grid, category shares with rare
values pooled into ``"__other__"``, null share, count, kind), so ``conveyor data diff``, ``conveyor retrain`` and
contracts compare versions from it without reading rows, plus what people read in ``conveyor data show``: the
column's ``dtype`` and, for dates, ``distinct``, ``min`` and ``max`` as ISO strings.

Profiles stored by older versions (101 quantiles, the top 50 categories) are read through
:mod:`conveyor.stats.legacy`. Everything is plain JSON (never a numpy scalar, never NaN).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.core.kinds import column_kind
from conveyor.stats import FORMAT, sketch_column


def profile_frame(df: pd.DataFrame) -> dict[str, Any]:
    """Profile every column of ``df``: ``{"format": 2, "rows": n, "columns": {name: column_profile}}``."""
    duplicates = sorted(name for name, n in Counter(str(c) for c in df.columns).items() if n > 1)
    if duplicates:
        raise BadInputError(
            f"Column names must be unique to be profiled; repeated: {', '.join(duplicates)}.",
            field=duplicates[0],
            hint="Rename or drop the repeated columns.",
        )
    return profile_document(len(df), {str(name): profile_column(series) for name, series in df.items()})


def profile_document(rows: int, columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "rows": rows, "columns": columns}


def profile_column(series: pd.Series) -> dict[str, Any]:
    """Profile one column: its sketch, its dtype, and for dates their range."""
    kind = column_kind(series)
    profile = sketch_column(series, kind) | {"dtype": str(series.dtype)}
    if kind == "datetime":
        profile["distinct"] = int(series.nunique(dropna=True))
        profile["min"] = _iso(series.min())
        profile["max"] = _iso(series.max())
    return profile


def _iso(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat()
