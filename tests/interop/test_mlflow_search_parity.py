"""MLflow's search grammar gives the same runs, in the same order, as MLflow itself: the real client searches its own
SQLite store, Conveyor searches the imported copy of it (on SQLite, in memory and on PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.core.entities import Metric, Run
from conveyor.interop.mlflow.importer import import_mlflow
from conveyor.interop.mlflow.search import search_runs
from conveyor.store import Stores

pytestmark = pytest.mark.slow  # the real MLflow client logs a store and searches it

EXPERIMENTS = ["churn", "fraud", "ranking"]

FILTERS = [
    "",
    "metrics.auc > 0.8",
    "metrics.auc > 0.8 and params.model = 'rf'",
    "metrics.auc > 0.8 AND params.model = 'rf' AND tags.team = 'growth'",
    "metrics.auc = 0.74",
    "metrics.auc != 0.74",
    "metrics.loss <= 0.45",
    "metrics.loss < 0.5 and params.lr = '0.1'",
    "metrics.`val.acc` >= 0.7",
    "metric.auc >= 0.5 and metrics.auc < 0.8",
    "attributes.status = 'FINISHED'",
    "attributes.status != 'FINISHED'",
    "attribute.status = 'KILLED'",
    "attributes.run_name = 'gbm'",
    "attributes.run_name LIKE 'rf-%'",
    "attributes.run_name ILIKE 'RF-%'",
    "attributes.run_name = \"it's quoted\"",
    "run.run_name LIKE '%-_'",
    "attributes.start_time > 0",
    "attributes.end_time > 0 and params.model = 'lr'",
    "params.model != 'rf'",
    "params.model LIKE '%b%'",
    "params.depth = '5'",
    "params.C = '0.5'",
    "tags.team ILIKE 'growth'",
    "tags.team = 'Growth'",
    "tags.`my key` = 'value-3'",
    "tags.\"my key\" LIKE 'value-%' and metrics.auc > 0.7",
    "tags.team LIKE 'risk%'",
    "tags.reviewed IS NULL",
    "tags.reviewed IS NOT NULL",
    "tags.team = 'nobody'",
    "params.model = 'rf' and params.model = 'lr'",
]
ORDERS = [
    [],
    ["metrics.auc DESC"],
    ["metrics.auc"],
    ["metrics.loss ASC"],
    ["params.model"],
    ["params.model DESC", "metrics.auc DESC"],
    ["attributes.run_name DESC"],
    ["attributes.start_time ASC"],
    ["tags.`my key` DESC"],
]

MLFLOW_SEARCH = """
import json, sys, warnings
warnings.filterwarnings("ignore")
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
ids = [client.get_experiment_by_name(n).experiment_id for n in json.loads(sys.argv[2])]
out = []
for filter_string, order in json.loads(sys.argv[3]):
    runs = client.search_runs(ids, filter_string, order_by=order, max_results=1000)
    out.append([r.info.run_id for r in runs])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def cases(mlflow_python, mlflow_store) -> list[tuple[str, list[str]]]:
    model_runs = mlflow_store["model_runs"]
    filters = [*FILTERS, f"attributes.run_id IN ('{model_runs[0]}', '{model_runs[1]}')",
               f"attributes.run_id NOT IN ('{model_runs[0]}') and params.C = '1.0'",
               f"attributes.run_id = '{model_runs[1]}'"]
    return [(f, o) for f in filters for o in ([[]] if f.startswith("attributes.run_id") else ORDERS)]


@pytest.fixture(scope="module")
def mlflow_answers(run_in_mlflow, mlflow_store, cases) -> list[list[str]]:
    out = run_in_mlflow(MLFLOW_SEARCH, mlflow_store["uri"], json.dumps(EXPERIMENTS), json.dumps(cases),
                        cwd=Path(mlflow_store["folder"]))
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def imported(mlflow_python, mlflow_store, tmp_path_factory) -> tuple[list[Run], list[str]]:
    """The imported runs (read back from a SQLite store the importer wrote) and the ids of EXPERIMENTS there."""
    folder = tmp_path_factory.mktemp("conveyor")
    stores = Stores.open(f"sqlite:///{folder / 'meta.db'}", str(folder / "artifacts"))
    try:
        import_mlflow(stores, mlflow_store["uri"], python=str(mlflow_python))
        return ([stores.runs.get(r.id) for r in stores.runs.search()],
                [stores.runs.experiment_by_name(name).id for name in EXPERIMENTS])
    finally:
        stores.close()


def copy_runs(runs: list[Run], stores: Stores) -> Stores:
    """The runs (with their latest metrics) in another store, to search them there."""
    for run in runs:
        stores.runs.create(run)
        stores.runs.log_metrics(run.id, [Metric(k, v, 0, 0.0) for k, v in run.metrics.items()])
    return stores


@pytest.fixture(params=["sqlite", "memory", "postgresql"])
def searched(request, imported, tmp_path) -> Stores:
    if request.param == "memory":
        stores = Stores.in_memory()
    elif request.param == "sqlite":
        stores = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    else:
        stores = Stores.open(request.getfixturevalue("postgres_db_url"), str(tmp_path / "artifacts"))
    yield copy_runs(imported[0], stores), imported[1]
    stores.close()


def test_every_filter_and_order_gives_the_runs_mlflow_gives_in_its_order(searched, cases, mlflow_answers):
    searched, experiment_ids = searched
    assert len(mlflow_answers) == len(cases)
    differences = []
    for (filter_string, order), expected in zip(cases, mlflow_answers, strict=True):
        got, token = search_runs(searched, experiment_ids, filter_string, order, max_results=1000)
        if [r.id for r in got] != expected or token is not None:
            differences.append((filter_string, order, expected, [r.id for r in got]))
    assert not differences
    assert sum(1 for answer in mlflow_answers if answer) > len(cases) // 2  # most cases select something


def test_the_fixture_holds_what_the_filters_tell_apart(mlflow_answers, cases, mlflow_store):
    """The cases are not vacuous: they select different sets, including empty and full ones."""
    everything = len(mlflow_store["runs"])
    sizes = {len(answer) for answer in mlflow_answers}
    assert 0 in sizes and everything in sizes and len(sizes) >= 6
