"""Variance filter: drops quasi-constant columns (one value in at least ``max_share`` of the rows)."""

from __future__ import annotations

from conveyor.features.selectors.base import FeatureDecision, SelectionData, Selector


class VarianceFilter(Selector):
    name = "variance"
    scores_columns = False

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        frame, limit = data.frame, data.max_share
        share = {c: float(frame[c].value_counts(normalize=True, dropna=False).iloc[0]) for c in data.scored}
        return [FeatureDecision(c, s < limit, s, f"most common value in {s:.1%} of rows"
                                + (f" (>= {limit:.0%}: quasi-constant)" if s >= limit else ""))
                for c, s in share.items()]


SELECTOR = VarianceFilter()
