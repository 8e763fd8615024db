"""What a feature-selection method is, and the numeric view of the input columns the methods score.

A :class:`Selector` turns :class:`SelectionData` into one :class:`FeatureDecision` per scored input column (kept or
not, its score, and why). Methods that score a matrix get one or more numeric columns per input column, with the
input column each came from (``sources``), so a method's scores are summed or maxed back to the column a user knows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass
class FeatureDecision:
    column: str
    kept: bool
    score: float | None
    why: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SelectionData:
    """The training rows as a selection method sees them (free-text columns are not scored)."""

    frame: pd.DataFrame  # the input columns as they are
    scored: list[str]  # the columns to decide on
    matrix: np.ndarray  # numeric columns, median-filled
    sources: list[str]  # the input column of each matrix column
    discrete: list[bool]  # whether each matrix column holds category codes
    target: np.ndarray  # class codes or values
    task: str
    keep: float  # share of columns the ranking methods keep
    max_share: float  # the variance filter's limit on the most common value's share
    seed: int

    def per_column(self, scores: np.ndarray, how: Callable[[float, float], float] = max) -> dict[str, float]:
        """Matrix-column scores combined per input column."""
        result: dict[str, float] = {}
        for score, name in zip(scores, self.sources, strict=True):
            result[name] = how(result[name], float(score)) if name in result else float(score)
        return result

    def top(self, scores: dict[str, float]) -> set[str]:
        """The ``keep`` share of columns with the highest scores (at least one)."""
        count = max(1, math.ceil(self.keep * len(scores)))
        return set(sorted(scores, key=lambda n: -scores[n])[:count])

    def ranked(self, scores: dict[str, float], label: str) -> list[FeatureDecision]:
        """Decisions that keep the top share of ``scores``."""
        kept = self.top(scores)
        return [FeatureDecision(c, c in kept, s, f"{label} {s:.4f}: " + ("in" if c in kept else "not in")
                                + f" the top {self.keep:.0%}") for c, s in scores.items()]


class Selector:
    """One selection method: ``decide`` returns a decision for every column in ``data.scored``."""

    name: str = ""
    selects: bool = True  # False: keeps every column as it is (``decide`` gets them all, free text included)
    scores_columns: bool = True  # False: decides without the numeric matrix (``data.matrix`` is left empty)

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<feature selection {self.name}>"
