"""Every built-in drift test passes check_drift_test, and the checker fails tests that break the contract."""

from __future__ import annotations

import numpy as np
import pytest

from conveyor.core.errors import BadInputError
from conveyor.stats import DRIFT_TESTS, DriftTest, Measurement, Verdict
from conveyor.stats.numeric import KolmogorovSmirnov
from conveyor.testing.drift_tests import check_drift_test

BUILT_INS = ["ks", "wasserstein", "chi2", "jensenshannon", "psi"]


def test_the_built_ins_are_registered():
    assert set(BUILT_INS) <= set(DRIFT_TESTS.names())
    assert all(DRIFT_TESTS.origin(name) == "conveyor" for name in BUILT_INS)


@pytest.mark.parametrize("name", BUILT_INS)
def test_every_built_in_keeps_the_contract(name):
    check_drift_test(DRIFT_TESTS.get(name))


def test_declared_thresholds_and_effect_floors_are_todays():
    declared = {name: (DRIFT_TESTS.get(name).threshold, DRIFT_TESTS.get(name).effect_floor) for name in BUILT_INS}
    assert declared == {"ks": (0.05, 0.1), "wasserstein": (0.1, 0.0), "chi2": (0.05, 0.1),
                        "jensenshannon": (0.1, 0.0), "psi": (0.2, 0.0)}


class MeanGap(DriftTest):
    """A sound little test: the gap between the means, in reference stds."""

    name = "mean_gap"
    kinds = ("numeric",)
    threshold = 0.5

    def measure(self, reference, current):
        gap = abs(current.mean - reference.mean) / (reference.std or 1.0)
        return Measurement(gap, None, {"mean_gap": gap})


def test_a_sound_plug_in_passes():
    check_drift_test(MeanGap())


class AlwaysDrifts(MeanGap):
    name = "always"

    def judge(self, measured):
        return super().judge(measured).__class__("always", measured.score, self.threshold, True)


class NotANumber(MeanGap):
    name = "nan"

    def measure(self, reference, current):
        return Measurement(float("nan"), None, {})


class IgnoresItsFloor(KolmogorovSmirnov):
    name = "floorless"

    def measure(self, reference, current):
        measured = super().measure(reference, current)
        return Measurement(measured.score, None, measured.stats)  # the KS effect no longer reaches the floor


class ScoresEveryKind(MeanGap):
    name = "greedy"

    def score(self, reference, current):
        try:
            return super().score(reference, current)
        except BadInputError:  # answers for a kind it does not declare instead of refusing it
            return Verdict(self.name, 0.0, self.threshold, False)


class Random(MeanGap):
    name = "random"

    def measure(self, reference, current):
        gap = super().measure(reference, current).score
        return Measurement(gap + np.random.default_rng().random() * 1e-6, None, {})


@pytest.mark.parametrize(("broken", "message"), [
    (AlwaysDrifts(), "identical numeric samples"),
    (NotANumber(), "not finite"),
    (IgnoresItsFloor(), "effect floor"),
    (ScoresEveryKind(), "scored a (bool|categorical) column"),
    (Random(), "scored .* then"),
])
def test_the_checker_fails_a_test_that_breaks_the_contract(broken, message):
    with pytest.raises(AssertionError, match=message):
        check_drift_test(broken)


def test_kinds_must_be_declared():
    class NoKinds(MeanGap):
        name = "nokinds"
        kinds = ()

    with pytest.raises(AssertionError, match="kinds"):
        check_drift_test(NoKinds())
