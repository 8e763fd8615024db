"""No selection: every input column is kept (the default)."""

from __future__ import annotations

from conveyor.features.selectors.base import FeatureDecision, SelectionData, Selector


class NoSelection(Selector):
    name = "none"
    selects = False
    scores_columns = False

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        return [FeatureDecision(c, True, None, "no selection configured") for c in data.frame.columns]


SELECTOR = NoSelection()
