"""Whether a fitted model is broken rather than merely weak: judged on unseen rows (the holdout) where there are
some, and on the rows it was fitted on where there are none (the refit on every labelled row).

Boosted trees can diverge on many classes: leaf values computed from near-zero hessians blow up, and the model
predicts confidently wrong classes. LightGBM's and histogram gradient boosting's 15-class defaults on flights_carrier
scored log-loss 24-30 on the test rows and on their own fitting rows alike, where predicting the class shares scores
2.3; the same defaults on fewer rows (a cross-validation fold) can stay sound, so a refit breaks where its trial did
not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from conveyor.evaluate.metrics import classification_metrics, greater_is_better, regression_metrics

DIVERGED_FACTOR = 3.0  # a holdout loss this many times the validation's (and half the constant's) is divergence
OWN_ROWS_CHECKED = 2_000  # a refit is checked on at most this many of its own rows: divergence shows on most rows


def constant_score(y_train: pd.Series, y_holdout: pd.Series, task: str, classes: list, metric: str) -> float | None:
    """The holdout ``metric`` of a constant prediction: the training rows' mean, or their class shares."""
    if task == "regression":
        return regression_metrics(y_holdout.to_numpy(), np.full(len(y_holdout), float(y_train.mean()))).get(metric)
    shares = y_train.value_counts(normalize=True).reindex(classes, fill_value=0.0).to_numpy(dtype=float)
    proba = np.tile(shares, (len(y_holdout), 1))
    predicted = np.repeat(np.asarray(classes)[[int(np.argmax(shares))]], len(y_holdout))
    return classification_metrics(y_holdout.to_numpy(), predicted, proba, classes, only=metric).get(metric)


def diverged(holdout: float | None, validation: float | None, constant: float | None, metric: str) -> bool:
    """Whether a model's holdout figure shows a broken fit, not the noise between a validation and a test set:
    no figure, or worse than a constant prediction, or (for losses) ``DIVERGED_FACTOR`` times its validation
    score and more than half the constant's loss. Tiny losses moving 3x (wine: 0.0006 -> 0.002) are not."""
    if holdout is None or not np.isfinite(holdout):
        return True
    sign = 1.0 if greater_is_better(metric) else -1.0
    if constant is not None and np.isfinite(constant) and sign * holdout < sign * constant:
        return True
    return (sign < 0 and validation is not None and constant is not None
            and holdout > DIVERGED_FACTOR * validation and holdout > 0.5 * constant)


def probabilities_diverged(metrics: dict[str, float], constant_loss: float | None) -> bool:
    """Whether a classifier's holdout log-loss shows broken probabilities, whatever metric the search optimised:
    over ``DIVERGED_FACTOR`` times the constant prediction's. LightGBM's 15-class defaults on flights_carrier, chosen
    by accuracy (the default metric for many classes), scored 0.34 accuracy on the holdout, above the largest
    class's share, so the check on accuracy passed them, and log-loss 22.7 where the class shares score 2.3. A sound
    model's few certain misses (a forest's zero probabilities) stay far below the factor."""
    loss = metrics.get("log_loss")
    if loss is None or constant_loss is None or not np.isfinite(constant_loss):
        return False
    return not np.isfinite(loss) or loss > DIVERGED_FACTOR * constant_loss


def broke_on_holdout(metrics: dict[str, float], validation: float | None, constant: float | None,
                     constant_loss: float | None, metric: str) -> bool:
    """Whether a model's holdout metrics show a broken fit: the requested metric :func:`diverged` from its
    ``validation`` score, or a classifier's probabilities did (:func:`probabilities_diverged`)."""
    return diverged(metrics.get(metric), validation, constant, metric) \
        or probabilities_diverged(metrics, constant_loss)


def _own_sample(rows: pd.DataFrame, target: str, task: str, seed: int) -> pd.DataFrame:
    """At most about ``OWN_ROWS_CHECKED`` of ``rows``; for classes, each class in proportion but with 20 rows at
    least (all it has, if fewer): without its rare class a sample judges a model against a constant that never
    meets the rows it gets wrong."""
    if len(rows) <= OWN_ROWS_CHECKED:
        return rows
    if task == "regression":
        return rows.sample(OWN_ROWS_CHECKED, random_state=seed)
    parts = [group.sample(min(len(group), max(20, round(OWN_ROWS_CHECKED * len(group) / len(rows)))),
                          random_state=seed) for _, group in rows.groupby(target, sort=False)]
    return pd.concat(parts)


def fails_own_rows(model, rows: pd.DataFrame, target: str, task: str, classes: list, seed: int = 0) -> bool:
    """Whether a fitted model scores worse than a constant prediction on rows it was fitted on (a sample of
    ``OWN_ROWS_CHECKED``): a model that cannot fit the rows it saw has diverged. The only check left for a refit on
    every labelled row; a sound model passes it with room to spare, since it is scored on rows it learnt from.

    Judged on log-loss (classifiers) or RMSE (regressors) whatever metric the search optimises: both are defined on
    any sample (ROC AUC is not on a sample holding one class), and a constant is a fair bar for them (it is not for
    calibration error, on which the class shares are nearly perfect)."""
    sample = _own_sample(rows, target, task, seed)
    features, y_true = sample.drop(columns=[target]), sample[target].to_numpy()
    if task == "regression":
        predicted = np.asarray(model.predict(features), dtype=float)
        constant = float(rows[target].mean())
        loss = float(np.sqrt(np.mean((predicted - y_true) ** 2)))
        return not np.isfinite(loss) or loss > float(np.sqrt(np.mean((constant - y_true) ** 2)))
    index = {label: i for i, label in enumerate(classes)}
    columns = np.array([index.get(label, -1) for label in y_true])
    known = columns >= 0
    if not known.any():
        return False  # nothing to judge on: labels the classes do not hold
    proba = np.asarray(model.predict_proba(features), dtype=float)[known]
    shares = rows[target].value_counts(normalize=True).reindex(classes, fill_value=0.0).to_numpy(dtype=float)
    picked = columns[known]

    def log_loss(p: np.ndarray) -> float:
        return float(np.mean(-np.log(np.clip(p, 1e-15, 1.0))))

    loss = log_loss(proba[np.arange(len(picked)), picked])
    return not np.isfinite(loss) or loss > log_loss(shares[picked])
