"""MLflow filter strings and order_by on Conveyor's runs store: the grammar, clear errors that name the token and its
position, values that only ever travel as bound parameters (an injection corpus), LIKE's case rules and paging;
on SQLite, in memory and on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.core.entities import Metric, Run
from conveyor.core.errors import BadInputError
from conveyor.interop.mlflow.filters import Clause, OrderBy, parse_filter, parse_order_by
from conveyor.interop.mlflow.search import search_runs
from conveyor.store import Stores
from conveyor.store import schema as t

HOSTILE = [
    "'; DROP TABLE runs; --",
    "x' OR '1'='1",
    "\" OR 1=1 --",
    "%' OR run_id LIKE '%",
    "\\'; SELECT 1; --",
    "); DELETE FROM run_params; --",
    "Robert'); DROP TABLE run_tags;--",
    "ünïcödé ☃ \x01",
]


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.fixture(params=["sqlite", "memory", "postgresql"])
def stores(request, tmp_path):
    if request.param == "memory":
        opened = Stores.in_memory()
    elif request.param == "sqlite":
        opened = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    else:
        opened = Stores.open(request.getfixturevalue("postgres_db_url"), str(tmp_path / "artifacts"))
    specs = [("a1", "alpha", "finished", {"model": "rf"}, {"team": "Growth"}, {"auc": 0.9}),
             ("a2", "Alpha-2", "failed", {"model": "lr"}, {"team": "growth"}, {"auc": 0.7}),
             ("a3", "beta", "finished", {"model": "RF"}, {"team": "core"}, {}),
             ("a4", "gamma", "running", {"model": "rf"}, {}, {"auc": 0.8})]
    for i, (rid, name, status, params, tags, metrics) in enumerate(specs):
        opened.runs.create(Run(id=rid * 8, name=name, status=status, started_at=1000.0 + i, params=params,
                               tags=tags, experiment="1" if i < 3 else "2"))
        opened.runs.log_metrics(rid * 8, [Metric(k, v, 0, 1.0) for k, v in metrics.items()])
    for i, value in enumerate(HOSTILE):
        opened.runs.create(Run(id=f"h{i}" * 8, name=value, started_at=10.0 + i, params={"model": value},
                               tags={"team": value}, experiment="3"))
    yield opened
    opened.close()


def names(stores, filter_string="", order=None, experiments=("1", "2")) -> list[str]:
    return [r.name for r in search_runs(stores, list(experiments), filter_string, order or [], max_results=100)[0]]


def test_the_grammar_reads_mlflow_identifiers_keys_values_and_keywords():
    parsed = parse_filter("metrics.auc > 0.8 and params.model = 'rf' AND tags.`my key` like \"x%\" "
                          "and attr.status In ('FINISHED', \"FAILED\") and tags.\"a b\" IS NOT NULL "
                          "and attributes.start_time >= 1e3 and parameters.lr != 'it''s' and metrics.loss<=-1.5")
    assert parsed.clauses == (
        Clause("metric", "auc", ">", 0.8), Clause("param", "model", "=", "rf"), Clause("tag", "my key", "LIKE", "x%"),
        Clause("attribute", "status", "IN", ("FINISHED", "FAILED")), Clause("tag", "a b", "IS NOT NULL", None),
        Clause("attribute", "start_time", ">=", 1000.0), Clause("param", "lr", "!=", "it's"),
        Clause("metric", "loss", "<=", -1.5))
    assert parse_order_by(["metrics.auc DESC", "attributes.start_time", "tags.`my key` asc"]) == [
        OrderBy("metric", "auc", False), OrderBy("attribute", "start_time", True), OrderBy("tag", "my key", True)]
    assert parse_filter("  ").clauses == ()


@pytest.mark.parametrize(("text", "token", "position"), [
    ("metrics.auc > 'high'", "'high'", 14),
    ("params.model = rf", "rf", 15),
    ("metrics.auc > 0.8 or params.model = 'rf'", "or", 18),
    ("metrics.auc > 0.8 params.model = 'rf'", "params.model", 18),
    ("runs.auc > 1", "runs.auc", 0),
    ("attributes.artifact_uri = 'x'", "attributes.artifact_uri", 0),
    ("params.model LIKE", "<end>", 17),
    ("params.model = 'rf", "'rf", 15),
    ("metrics.auc LIKE '%'", "LIKE", 12),
    ("params.model > 'a'", ">", 13),
    ("params.model IN ('a')", "IN", 13),
    ("attributes.run_id IN 'a'", "'a'", 21),
    ("attributes.run_id IN ('a' 'b')", "'b')", 26),
    ("params.model = 'a'; DROP TABLE runs", ";", 18),
    ("params.model = 'x' OR 1=1", "OR", 19),
])
def test_a_bad_filter_names_the_token_and_its_position(text, token, position):
    with pytest.raises(BadInputError) as caught:
        parse_filter(text)
    message = str(caught.value)
    assert f"found {token!r}" in message and f"at position {position} " in message, message
    assert caught.value.field == "filter"


@pytest.mark.parametrize("item", ["metrics.auc DOWN", "auc DESC", "metrics.auc DESC extra"])
def test_a_bad_order_by_item_is_refused(item):
    with pytest.raises(BadInputError, match="Invalid order_by"):
        parse_order_by([item])


def test_clauses_combine_and_compare_as_mlflow_does(stores):
    assert names(stores, "metrics.auc > 0.75") == ["gamma", "alpha"]
    assert names(stores, "metrics.auc > 0.75 and params.model = 'rf'") == ["gamma", "alpha"]
    assert names(stores, "params.model != 'rf'") == ["beta", "Alpha-2"]  # a run without the key never matches
    assert names(stores, "tags.team != 'core'") == ["Alpha-2", "alpha"]
    assert names(stores, "tags.team IS NULL") == ["gamma"]
    assert names(stores, "attributes.status = 'FINISHED'") == ["beta", "alpha"]
    assert names(stores, "attributes.status IN ('FAILED', 'RUNNING')") == ["gamma", "Alpha-2"]
    assert names(stores, "attributes.start_time >= 1001000 and attributes.start_time < 1003000") == ["beta",
                                                                                                      "Alpha-2"]
    assert names(stores, "", experiments=["2"]) == ["gamma"]


def test_like_is_case_sensitive_and_ilike_is_not_on_every_backend(stores):
    assert names(stores, "params.model LIKE 'r%'") == ["gamma", "alpha"]
    assert names(stores, "params.model ILIKE 'r%'") == ["gamma", "beta", "alpha"]
    assert names(stores, "attributes.run_name LIKE 'Alpha%'") == ["Alpha-2"]
    assert names(stores, "attributes.run_name LIKE 'a_pha'") == ["alpha"]
    assert names(stores, "tags.team ILIKE 'GROWTH'") == ["Alpha-2", "alpha"]


def test_order_by_puts_runs_without_the_key_last_in_either_direction(stores):
    assert names(stores, order=["metrics.auc DESC"]) == ["alpha", "gamma", "Alpha-2", "beta"]
    assert names(stores, order=["metrics.auc ASC"]) == ["Alpha-2", "gamma", "alpha", "beta"]
    assert names(stores, order=["params.model", "attributes.run_name DESC"]) == ["beta", "Alpha-2", "gamma", "alpha"]
    assert names(stores, order=["attributes.start_time"]) == ["alpha", "Alpha-2", "beta", "gamma"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_compared_literally_and_change_nothing(stores, value):
    exact = [f"params.model = {_quoted(value)}", f"tags.team = {_quoted(value)}",
             f"attributes.run_name = {_quoted(value)}", f"attributes.run_id IN ({_quoted(value)}, 'a1a1a1a1')",
             f"attributes.run_name != {_quoted(value)} and attributes.run_name = {_quoted(value)}"]
    for clause in exact:
        assert names(stores, clause, experiments=["3"]) == ([] if "!=" in clause or "IN" in clause
                                                                  else [value]), clause
    matched = names(stores, f"tags.team LIKE {_quoted(value)}", experiments=["3"])
    assert value in matched and (len(matched) == 1 or "%" in value)  # a wildcard in the value is a wildcard
    assert len(names(stores, "")) == 4  # nothing dropped or deleted
    assert len(names(stores, "", experiments=["3"])) == len(HOSTILE)
    assert names(stores, f"tags.`{value.replace('`', '')}` = 'x'") == []  # a hostile key is a key


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_values_reach_the_database_as_bound_parameters(dialect):
    secret = "zz'; DROP TABLE runs; --"
    where = parse_filter(f"params.model = {_quoted(secret)} and tags.`k{secret}` LIKE {_quoted(secret)} and "
                         f"metrics.auc > 0.123456 and attributes.run_id IN ({_quoted(secret)})").where(dialect.name)
    compiled = sa.select(t.runs.c.id).where(where).compile(dialect=dialect)
    assert "DROP" not in str(compiled) and "0.123456" not in str(compiled)
    assert secret in {str(v) for v in compiled.params.values() if not isinstance(v, list)}
    assert 0.123456 in compiled.params.values()


def test_pages_follow_one_another_and_bad_tokens_or_sizes_are_refused(stores):
    seen, token = [], None
    while True:
        page, token = search_runs(stores, ["1", "2"], "", ["attributes.run_name"], max_results=3,
                                  page_token=token)
        seen += [r.name for r in page]
        if token is None:
            break
    assert seen == ["Alpha-2", "alpha", "beta", "gamma"]
    with pytest.raises(BadInputError, match="page token"):
        search_runs(stores, None, "", None, page_token="not-a-token")
    with pytest.raises(BadInputError, match="max_results"):
        search_runs(stores, None, "", None, max_results=0)
