"""Authentication on the platform server over real HTTP: tokens, 401 bodies, the actor of every record, grants,
no existence oracle, the failure throttle, per-token rate limits, the access log and audited downloads."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
import pytest
from tests.server.auth_fixtures import Served, add_users, bare_project, serve

from conveyor.core.actors import acting_as
from conveyor.core.tls import tls_options
from conveyor.project import Project
from conveyor.security import add_identity
from conveyor.serve import running_server
from conveyor.server import create_app
from conveyor.store.identities import Identity
from conveyor.testing.tls import client_context, self_signed_certificate


@pytest.fixture(scope="module")
def authed(project) -> Served:
    tokens = add_users(project)
    for served in serve(project):
        served.tokens.update(tokens)
        yield served


def test_without_a_token_every_route_but_health_is_401_naming_how_to_get_one(authed: Served) -> None:
    assert authed.call("GET", "/health").status_code == 200
    answer = authed.call("GET", "/models")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    body = answer.json()
    assert set(body) == {"error", "message", "field", "hint"}
    assert body["error"] == "unauthenticated" and body["field"] == "token"
    assert "conveyor users add" in body["hint"] and "Authorization: Bearer" in body["hint"]
    wrong = authed.call("GET", "/models", "cvy_not-a-real-token")
    assert wrong.status_code == 401 and wrong.json()["message"] == "Invalid, expired or revoked token."
    assert authed.call("GET", "/whoami").status_code == 401


def test_whoami_names_the_tokens_identity_its_role_and_grants(authed: Served) -> None:
    me = authed.call("GET", "/whoami", "granted").json()
    assert me["actor"] == "granted" and me["authenticated"] is True and me["role"] == "viewer"
    assert me["grants"] == [{"kind": "model", "name": "churn", "role": "approver"}]


def test_the_actor_of_a_record_is_the_authenticated_identity_not_the_environment(authed: Served, monkeypatch
                                                                                   ) -> None:
    monkeypatch.setenv("CONVEYOR_USER", "someone-else")
    answer = authed.call("POST", "/models/churn/aliases/candidate", "scientist", json={"version": 2})
    assert answer.status_code == 200, answer.text
    last = authed.project.models.audit()[-1]
    assert (last.actor, last.action) == ("scientist", "promote")


def test_a_revoked_token_is_refused(authed: Served) -> None:
    made = add_identity(authed.project.stores, "leaver", "scientist", actor="tests")
    assert authed.call("GET", "/models", made.secret).status_code == 200
    from conveyor.security import revoke_identity

    revoke_identity(authed.project.stores, "leaver", actor="tests")
    assert authed.call("GET", "/models", made.secret).status_code == 401


def test_a_grant_on_one_model_lets_a_viewer_approve_that_models_promotions_only(authed: Served) -> None:
    authed.project.configure("registry", protected=["champion"])
    asked = authed.call("POST", "/models/churn/aliases/champion", "scientist", json={"version": 2})
    assert asked.status_code == 200 and asked.json()["status"] == "pending_approval", asked.text
    request = asked.json()["request"]
    assert authed.call("POST", f"/approvals/{request}/approve", "scientist", json={}).status_code == 403
    done = authed.call("POST", f"/approvals/{request}/approve", "granted", json={"reason": "looks good"})
    assert done.status_code == 200, done.text
    assert authed.project.models.aliases("churn")["champion"] == 2
    approvals = [e for e in authed.project.models.audit() if e.action == "approve"]
    assert approvals[-1].actor == "granted"
    # the grant is on churn only: the same viewer may not promote (its role) nor approve elsewhere
    assert authed.call("POST", "/models/churn/aliases/candidate", "granted", json={"version": 1}).status_code == 403


def test_a_refusal_never_tells_whether_the_object_exists(authed: Served) -> None:
    known = authed.call("POST", "/models/churn/aliases/candidate/rollback", "viewer", json={})
    unknown = authed.call("POST", "/models/nosuch/aliases/candidate/rollback", "viewer", json={})
    assert known.status_code == unknown.status_code == 403
    assert known.json()["message"].replace("churn", "X") == unknown.json()["message"].replace("nosuch", "X")
    # an identity that may not even read gets the 404 an unknown object gets, for known and unknown alike
    with acting_as(None):
        authed.project.stores.identities.add_identity(Identity("outsider", "guest", "user", 0.0, "tests"))
    from conveyor.security.identities import PREFIX, _store_token

    secret = PREFIX + "outsider-token-" + "x" * 40
    _store_token(authed.project.stores, authed.project.stores.identities.get_identity("outsider"), secret, None, "")
    there = authed.call("GET", "/models/churn/versions/1", secret)
    absent = authed.call("GET", "/models/nosuch/versions/1", secret)
    assert there.status_code == absent.status_code == 404
    assert there.json() == absent.json()


def test_a_model_download_is_audited_under_the_caller(authed: Served) -> None:
    answer = authed.call("GET", "/models/churn/versions/1/file", "viewer")
    assert answer.status_code == 200 and len(answer.content) > 100
    last = authed.project.models.audit()[-1]
    assert (last.action, last.actor, last.subject) == ("model.download", "viewer", "churn:1")
    assert last.details["bytes"] == len(answer.content) and last.details["source"] == "127.0.0.1"


def test_auth_failures_and_writes_go_to_the_access_log(authed: Served) -> None:
    authed.call("GET", "/runs", "cvy_wrong-token-for-the-log")
    authed.call("POST", "/alerts/nosuch/ack", "scientist", json={})
    entries = authed.app.state.gate.access.entries()
    assert any(e["event"] == "auth.failure" and e["source"] == "127.0.0.1" for e in entries)
    assert any(e["event"] == "request" and e["actor"] == "scientist" and e["path"] == "/api/v1/alerts/nosuch/ack"
               for e in entries)
    assert not any("cvy_wrong" in str(e) for e in entries)  # never the token
    assert not any(e.action == "auth.failure" for e in authed.project.models.audit())  # not in the chain


def test_failed_tokens_throttle_the_address_with_retry_after(tmp_path) -> None:
    project = bare_project(tmp_path / "p", rate_limit={"failures": 3})
    good = add_identity(project.stores, "ops", "admin", actor="tests").secret
    with project:
        for served in serve(project):
            for _ in range(3):
                assert served.call("GET", "/runs", "cvy_guess").status_code == 401
            refused = served.call("GET", "/runs", good)  # even a valid token, from this address, for a while
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["error"] == "throttled"


def test_a_token_over_its_rate_limit_gets_429_and_another_token_does_not(tmp_path) -> None:
    project = bare_project(tmp_path / "p", rate_limit={"per_token": 5})
    first = add_identity(project.stores, "busy", "admin", actor="tests").secret
    second = add_identity(project.stores, "calm", "viewer", actor="tests").secret
    with project:
        for served in serve(project):
            assert [served.call("GET", "/runs", first).status_code for _ in range(5)] == [200] * 5
            over = served.call("GET", "/runs", first)
            assert over.status_code == 429 and 1 <= int(over.headers["retry-after"]) <= 60
            assert "security.rate_limit" in over.json()["hint"]
            assert served.call("GET", "/runs", second).status_code == 200


def test_with_no_users_nothing_changes(tmp_path) -> None:
    project = bare_project(tmp_path / "p")
    with project:
        for served in serve(project):
            me = served.call("GET", "/whoami").json()
            assert me["authenticated"] is False and me["actor"].startswith("local:")
            assert served.call("GET", "/runs").status_code == 200


def test_server_refuses_a_non_loopback_bind_with_no_users(tmp_path) -> None:
    bare_project(tmp_path / "p").close()
    done = subprocess.run([sys.executable, "-m", "conveyor", "server", "--project", str(tmp_path / "p"), "--host",
                           "0.0.0.0", "--port", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Refusing to listen on 0.0.0.0" in done.stderr + done.stdout
    assert "conveyor users add" in done.stderr + done.stdout


def login_cookie(url: str, token: str, verify) -> str:
    """Sign in through the UI's form (its CSRF token included); the session's Set-Cookie header."""
    with httpx.Client(verify=verify, follow_redirects=False) as client:
        form = client.get(f"{url}/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        answer = client.post(f"{url}/login", data={"csrf": csrf, "token": token, "next": "/runs"})
    assert answer.status_code == 303 and answer.headers["location"] == "/runs", answer.text
    return next(v for v in answer.headers.get_list("set-cookie") if v.startswith("conveyor_session="))


def test_the_session_cookie_is_secure_under_tls_and_always_httponly_and_strict(tmp_path) -> None:
    cert, key = self_signed_certificate(tmp_path / "tls")
    project = bare_project(tmp_path / "p")
    token = add_identity(project.stores, "ops", "admin", actor="tests").secret
    with project:
        with running_server(create_app(project), tls=tls_options(cert, key)) as url:
            secure = login_cookie(url, token, client_context(cert)).lower()
        with running_server(create_app(project)) as url:
            plain = login_cookie(url, token, True).lower()
    assert "secure" in secure and "httponly" in secure and "samesite=strict" in secure
    assert "secure" not in plain and "httponly" in plain and "samesite=strict" in plain


def test_a_ui_form_needs_its_own_action_a_viewer_may_read_pages_but_not_promote(authed: Served) -> None:
    with httpx.Client(follow_redirects=False) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get(f"{authed.url}/login").text).group(1)
        signed_in = browser.post(f"{authed.url}/login", data={"csrf": csrf, "token": authed.tokens["viewer"]})
        assert signed_in.status_code == 303
        page = browser.get(f"{authed.url}/models/churn")
        assert page.status_code == 200 and 'id="signed-in">viewer<' in page.text
        before = authed.project.models.aliases("churn")
        refused = browser.post(f"{authed.url}/models/churn/promote",
                               data={"csrf": csrf, "version": "1", "alias": "candidate"})
        assert refused.status_code == 403 and "may not do models.promote" in refused.text
        assert authed.project.models.aliases("churn") == before


def test_with_no_users_requests_cost_no_auth_query_and_the_first_user_turns_auth_on_at_once(tmp_path) -> None:
    import sqlalchemy as sa

    project = bare_project(tmp_path / "p")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = project.stores.identities.db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with project:
            for served in serve(project):
                served.app.state.gate.auth_recheck = 3600.0  # only this process's own additions may turn it on
                assert served.call("GET", "/whoami").json()["authenticated"] is False
                statements.clear()
                for _ in range(50):
                    assert served.call("GET", "/whoami").status_code == 200
                assert statements == []  # /whoami reads nothing itself with auth off: any query was the check's
                # the first identity, added through another store object of this process: on for the next request
                with Project.open(tmp_path / "p") as other:
                    secret = add_identity(other.stores, "ana", "admin", actor="tests").secret
                refused = served.call("GET", "/whoami")
                assert refused.status_code == 401, refused.text
                assert served.call("GET", "/whoami", who=secret).json()["actor"] == "ana"
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_the_first_user_added_by_another_process_counts_within_the_recheck_interval(tmp_path) -> None:
    project = bare_project(tmp_path / "p")
    with project:
        for served in serve(project):
            served.app.state.gate.auth_recheck = 0.2
            assert served.call("GET", "/whoami").status_code == 200
            done = subprocess.run([sys.executable, "-m", "conveyor", "users", "add", "ana", "--role", "admin",
                                   "--project", str(tmp_path / "p")], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            time.sleep(0.3)
            assert served.call("GET", "/whoami").status_code == 401
