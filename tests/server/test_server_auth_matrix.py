"""The RBAC matrix: every route of the REST API, read from the app's router, for every role, over real HTTP.

A route without a declared action fails here; so does a route whose declared action differs from the table below,
and a role whose HTTP answer differs from ``allowed(role, action)`` (403 where it may not, never 401/403 where it
may). The requests are built to fail harmlessly after the permission check (unknown ids, empty bodies), so the
walk changes nothing."""

from __future__ import annotations

import re

import pytest
from tests.server.auth_fixtures import ROLES, Served, add_users, serve

from conveyor.security import ACTIONS, allowed
from conveyor.server.auth import PUBLIC, action_of, api_routes

# (method, path) -> the action it must declare; the table pins today's routes
EXPECTED = {
    ("GET", "/api/v1/health"): PUBLIC, ("GET", "/api/v1/server-info"): PUBLIC, ("GET", "/api/v1/whoami"): "tokens.own",
    ("GET", "/api/v1/datasets"): "read", ("GET", "/api/v1/datasets/diff"): "read",
    ("POST", "/api/v1/datasets/validate"): "read", ("POST", "/api/v1/datasets/contracts"): "data.write",
    ("GET", "/api/v1/datasets/{name}/log"): "read", ("GET", "/api/v1/datasets/{ref}"): "read",
    ("GET", "/api/v1/datasets/{ref}/lineage"): "read", ("GET", "/api/v1/datasets/{ref}/scan"): "read",
    ("GET", "/api/v1/datasets/{ref}/file"): "read", ("POST", "/api/v1/datasets/{ref}/filter"): "data.write",
    ("POST", "/api/v1/datasets/{ref}/split"): "data.write",
    ("GET", "/api/v1/runs"): "read", ("GET", "/api/v1/runs/compare"): "read", ("GET", "/api/v1/runs/resolve"): "read",
    ("GET", "/api/v1/runs/{run_id}"): "read", ("GET", "/api/v1/runs/{run_id}/metrics/{key}"): "read",
    ("GET", "/api/v1/runs/{ref}/evaluation"): "read", ("GET", "/api/v1/runs/{run_id}/artifacts/{name:path}"): "read",
    ("GET", "/api/v1/models"): "read", ("GET", "/api/v1/models/resolve"): "read",
    ("GET", "/api/v1/models/deleted"): "read",
    ("GET", "/api/v1/models/card"): "read", ("GET", "/api/v1/models/{name}/versions/{version}"): "read",
    ("GET", "/api/v1/models/{name}/versions/{version}/evaluation"): "read",
    ("GET", "/api/v1/models/{name}/versions/{version}/file"): "models.download",
    ("GET", "/api/v1/models/{name}/aliases"): "read", ("GET", "/api/v1/models/{name}/aliases/{alias}/history"): "read",
    ("POST", "/api/v1/models/{name}/aliases/{alias}"): "models.promote",
    ("POST", "/api/v1/models/{name}/aliases/{alias}/rollback"): "models.promote",
    ("GET", "/api/v1/audit"): "read", ("POST", "/api/v1/audit/verify"): "read",
    ("POST", "/api/v1/models/{name}/versions/{version}/approvals"): "models.promote",
    ("GET", "/api/v1/approvals"): "read", ("POST", "/api/v1/approvals/{request_id}/approve"): "models.approve",
    ("POST", "/api/v1/approvals/{request_id}/reject"): "models.approve",
    ("GET", "/api/v1/alerts"): "read", ("POST", "/api/v1/alerts/{alert_id}/ack"): "monitor.write",
    ("GET", "/api/v1/monitoring/samples"): "read", ("GET", "/api/v1/monitoring/reference"): "read",
    ("POST", "/api/v1/monitoring/checks"): "monitor.write", ("GET", "/api/v1/predictions"): "read",
    ("GET", "/api/v1/training/budget"): "read", ("GET", "/api/v1/training/options"): "read",
    ("POST", "/api/v1/uploads"): "data.write", ("GET", "/api/v1/uploads/{upload_id}"): "data.write",
    ("PATCH", "/api/v1/uploads/{upload_id}"): "data.write",
    ("POST", "/api/v1/uploads/{upload_id}/ingest"): "data.write",
    ("POST", "/api/v1/jobs"): "runs.write", ("GET", "/api/v1/jobs"): "read", ("GET", "/api/v1/jobs/{job_id}"): "read",
    ("GET", "/api/v1/jobs/{job_id}/log"): "read",
    ("POST", "/api/v1/runs"): "runs.write", ("POST", "/api/v1/runs/{run_id}/params"): "runs.write",
    ("POST", "/api/v1/runs/{run_id}/tags"): "runs.write", ("POST", "/api/v1/runs/{run_id}/metrics"): "runs.write",
    ("PUT", "/api/v1/runs/{run_id}/artifacts/{name:path}"): "runs.write",
    ("POST", "/api/v1/runs/{run_id}/artifacts/{name:path}"): "runs.write",
    ("POST", "/api/v1/runs/{run_id}/end"): "runs.write",
    ("POST", "/api/v1/models/{name}/versions"): "models.register",
    ("POST", "/api/v1/feedback"): "monitor.write",
    ("GET", "/api/v1/connections"): "read", ("POST", "/api/v1/connections"): "settings.write",
    ("DELETE", "/api/v1/connections/{name}"): "settings.write",
    ("POST", "/api/v1/connections/{name}/test"): "settings.write",
    ("POST", "/api/v1/connections/{name}/ingest"): "data.write",
    ("POST", "/api/v1/datasets/{name}/refresh"): "data.write",
    ("GET", "/api/v1/pipelines"): "read", ("GET", "/api/v1/pipelines/runs"): "read",
    ("GET", "/api/v1/pipelines/runs/{run_id}"): "read", ("POST", "/api/v1/pipelines/{name}/webhook"): "runs.write",
}
# bodies that make an allowed call fail after the permission check (the walk must not create anything)
BODIES = {("POST", "/api/v1/runs"): {"name": 7}}
MLFLOW_BODY = {"experiment_id": "999999999"}  # an MLflow create in no experiment that exists: refused after the check
PLACEHOLDERS = {"version": "999", "key": "score", "name:path": "nosuch"}


@pytest.fixture(scope="module")
def authed(project) -> Served:
    tokens = add_users(project)
    for served in serve(project):
        served.tokens.update(tokens)
        yield served


def concrete(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PLACEHOLDERS.get(m.group(1), "nosuch"), path)


def test_every_api_route_declares_exactly_one_known_action(authed: Served) -> None:
    routes = api_routes(authed.app)
    assert len(routes) >= len(EXPECTED)
    for method, path, route in routes:
        declared = action_of(route)
        assert len(declared) == 1, f"{method} {path} declares {declared or 'no action'}: add requires(ACTION)"
        assert declared[0] == PUBLIC or declared[0] in ACTIONS, f"{method} {path}: unknown action {declared[0]}"


def test_the_routes_declare_the_actions_of_the_table(authed: Served) -> None:
    declared = {(method, path): action_of(route)[0] for method, path, route in api_routes(authed.app)}
    for key, action in EXPECTED.items():
        assert declared.get(key) == action, f"{key}: declares {declared.get(key)}, the table says {action}"
    assert set(EXPECTED) <= set(declared)


def test_each_role_gets_exactly_the_allowed_set_over_http(authed: Served) -> None:
    mismatches = []
    runs_before = len(authed.project.runs.list(limit=10_000))
    aliases_before = authed.project.models.aliases("churn")
    for method, path, route in api_routes(authed.app):
        action = action_of(route)[0]
        body = BODIES.get((method, path), MLFLOW_BODY if "/mlflow/" in path else {})
        kwargs = {"json": body} if method in ("POST", "PATCH", "PUT") else {}
        anonymous = authed.call(method, concrete(path), **kwargs)
        if action == PUBLIC:
            assert anonymous.status_code == 200, (method, path, anonymous.text)
        else:
            assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        for role in ROLES:
            answer = authed.call(method, concrete(path), role, **kwargs)
            may = action == PUBLIC or allowed(role, action)
            refused = answer.status_code in (401, 403)
            if may == refused:
                mismatches.append((role, method, path, action, answer.status_code, answer.text[:200]))
            if refused and "/mlflow" in path:  # MLflow clients read MLflow's error shape
                assert answer.json()["error_code"] == "PERMISSION_DENIED", answer.text
            elif refused:
                assert answer.json()["error"] == "forbidden", answer.text
    assert not mismatches, mismatches
    assert len(authed.project.runs.list(limit=10_000)) == runs_before  # the walk created nothing
    assert authed.project.models.aliases("churn") == aliases_before


def test_every_role_and_action_pair_is_walked(authed: Served) -> None:
    """Each action a route declares is refused to at least one role or allowed to all by the matrix; the walk
    above therefore saw both answers (allowed and 403) for every role-limited action."""
    walked = {action_of(r)[0] for _, _, r in api_routes(authed.app)} - {PUBLIC}
    limited = {a for a in walked if not all(allowed(role, a) for role in ROLES)}
    assert {"data.write", "runs.write", "models.promote", "models.approve", "monitor.write"} <= limited
