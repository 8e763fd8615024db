"""The retraining policy: a challenger must beat the champion on the same recent holdout to be promoted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.data.datasets import ingest_frame
from conveyor.pipeline.retrain import recent_holdout, retrain
from conveyor.registry.models import promote, resolve_model
from conveyor.train.trainer import train


def world(seed: int, flip: bool, rows: int = 1500) -> pd.DataFrame:
    """y depends on x1 before the change and on the opposite sign of x1 after it (concept drift), x1 shifts."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(1.0 if flip else 0.0, 1.0, rows)
    x2 = rng.normal(0.0, 1.0, rows)
    logit = (-2.5 if flip else 2.5) * x1 + 0.5 * x2
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": rng.choice(["red", "blue"], rows), "y": y})


@pytest.fixture
def with_champion(stores):
    first, _ = ingest_frame(stores, world(0, flip=False), "w")
    trained = train(stores, first, "y", max_trials=3, budget_seconds=60)
    promote(stores, trained.model_version.ref, "champion")
    return trained.model_version


def test_drift_then_retrain_promotes_a_better_challenger(stores, with_champion):
    ingest_frame(stores, world(1, flip=True), "w")
    decision = retrain(stores, "w", max_trials=3, budget_seconds=60)
    assert decision.decision == "promoted"
    assert decision.drift is True and "x1" in decision.drifted_columns
    assert decision.challenger_score > decision.champion_score
    assert resolve_model(stores, "w@champion").ref == decision.challenger == "w:2"
    assert resolve_model(stores, "w@challenger").ref == "w:2"
    recorded = [e for e in stores.registry.audit_log() if e.action == "retrain_decision"]
    assert recorded[-1].details["decision"] == "promoted" and recorded[-1].details["champion_score"] is not None


def test_a_challenger_that_is_not_better_is_kept_out(stores, with_champion):
    ingest_frame(stores, world(2, flip=False), "w")  # same world: no real gain to be had
    decision = retrain(stores, "w", max_trials=3, budget_seconds=60, min_improvement=0.05)
    assert decision.decision == "kept"
    assert "not better by more than" in decision.reason
    assert resolve_model(stores, "w@champion").ref == with_champion.ref
    assert resolve_model(stores, "w@challenger").ref == "w:2"


def test_no_new_data_means_no_retraining(stores, with_champion):
    decision = retrain(stores, "w", max_trials=2)
    assert decision.decision == "kept" and "no new data" in decision.reason
    assert len(stores.registry.versions("w")) == 1


def test_retrain_without_a_champion_says_how_to_get_one(stores):
    ingest_frame(stores, world(0, flip=False), "w")
    with pytest.raises(NotFoundError, match=r"Unknown model 'w'\. There are no models yet"):
        retrain(stores, "w", max_trials=1)
    train(stores, stores.datasets.get_version("w"), "y", max_trials=1)
    with pytest.raises(NotFoundError, match="no alias 'champion'") as caught:
        retrain(stores, "w", max_trials=1)
    assert "conveyor models promote w:N --alias champion" in str(caught.value)


def test_recent_holdout_takes_the_newest_rows():
    frame = pd.DataFrame({"t": [5, 1, 4, 2, 3], "v": range(5)})
    train_part, holdout = recent_holdout(frame, 0.4, "t", seed=0)
    assert sorted(holdout["t"]) == [4, 5] and sorted(train_part["t"]) == [1, 2, 3]


def test_an_undefined_metric_on_the_holdout_keeps_the_champion(stores, with_champion):
    newest = world(3, flip=True).assign(t=range(1500))
    newest.loc[newest["t"] >= 1200, "y"] = 1  # the newest fifth holds one class: ROC AUC is undefined there
    ingest_frame(stores, newest, "w")
    decision = retrain(stores, "w", max_trials=2, budget_seconds=60, time_column="t")
    assert decision.decision == "kept" and "undefined" in decision.reason
    assert resolve_model(stores, "w@champion").ref == with_champion.ref


def test_new_data_without_the_champions_columns_is_refused_before_training(stores, with_champion):
    ingest_frame(stores, world(4, flip=True).drop(columns=["x2"]), "w")
    with pytest.raises(BadInputError, match="x2"):
        retrain(stores, "w", max_trials=1)
    assert [v.ref for v in stores.registry.versions("w")] == [with_champion.ref]


def test_a_challenger_that_fails_a_quality_gate_is_kept_out_of_every_alias(stores, with_champion):
    ingest_frame(stores, world(1, flip=True), "w")  # the challenger would win on the metric...
    decision = retrain(stores, "w", max_trials=3, budget_seconds=60,
                       train_options={"gates": {"max_model_mb": 0.000001}})  # ...but no model is this small
    assert decision.decision == "kept"
    assert "failed quality gate" in decision.reason and "max_model_mb" in decision.reason
    assert resolve_model(stores, "w@champion").ref == with_champion.ref
    assert "challenger" not in stores.registry.aliases("w")
    recorded = [e for e in stores.registry.audit_log() if e.action == "retrain_decision"]
    assert recorded[-1].details["decision"] == "kept"
