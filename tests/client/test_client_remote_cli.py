"""The CLI's verbs against a real `conveyor server` (CONVEYOR_SERVER): real subprocesses, the same output and
errors as on a local project, and stderr saying which server is used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def conveyor(*args: str, env: dict[str, str], cwd: Path, code: int = 0, stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, input=stdin, timeout=300)
    assert done.returncode == code, done.stderr
    return done


def test_verbs_run_against_the_server(served: tuple[Path, str], tmp_path: Path, user_env, churn_frame,
                                      seeded_project) -> None:
    _root, url = served
    csv = tmp_path / "churn.csv"
    churn_frame().to_csv(csv, index=False)
    remote = {**user_env, "CONVEYOR_SERVER": url}
    local_root = seeded_project(tmp_path / "local")

    ingested = conveyor("data", "ingest", str(csv), "--name", "clicks", "--json", env=remote, cwd=tmp_path)
    assert f"using the server at {url} (CONVEYOR_SERVER)" in ingested.stderr
    local = conveyor("data", "ingest", str(csv), "--name", "clicks", "--json", "--project", str(local_root),
                     env=user_env, cwd=tmp_path)
    assert "using the server" not in local.stderr
    assert json.loads(ingested.stdout)["version"] == json.loads(local.stdout)["version"]
    assert not (tmp_path / ".conveyor").exists()  # nothing written beside the user

    listed = json.loads(conveyor("data", "list", "--json", env=remote, cwd=tmp_path).stdout)
    assert [v["name"] for v in listed] == ["clicks"]
    promoted = json.loads(conveyor("models", "promote", "churn:2", "--alias", "champion", "--json", env=remote,
                                   cwd=tmp_path).stdout)
    assert promoted["version"] == 2
    models = json.loads(conveyor("models", "list", "--json", env=remote, cwd=tmp_path).stdout)
    assert {m["model_version"]: m["aliases"] for m in models} == {"churn:1": [], "churn:2": ["champion"]}
    assert json.loads(conveyor("runs", "list", "--json", env=remote, cwd=tmp_path).stdout) == []

    missing_remote = conveyor("models", "show", "chrn@champion", env=remote, cwd=tmp_path, code=2)
    missing_local = conveyor("models", "show", "chrn@champion", "--project", str(local_root), env=user_env,
                             cwd=tmp_path, code=2)
    assert missing_remote.stderr.splitlines()[-1] == missing_local.stderr.splitlines()[-1]
    assert "Did you mean 'churn'" in missing_remote.stderr and "Traceback" not in missing_remote.stderr


BESIDE_THE_STORE = [("data", "add", ".", "--name", "files"), ("monitor", "churn@champion"),
                    ("score", "churn@champion", "in.csv", "out.csv")]


@pytest.mark.parametrize("verb", BESIDE_THE_STORE, ids=lambda v: " ".join(v[:2]))
def test_verbs_that_run_beside_the_store_refuse_remotely(served: tuple[Path, str], tmp_path: Path, user_env,
                                                          verb: tuple[str, ...]) -> None:
    _root, url = served
    done = conveyor(*verb, env={**user_env, "CONVEYOR_SERVER": url}, cwd=tmp_path, code=2)
    assert url in done.stderr and "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert not (tmp_path / ".conveyor").exists()  # nothing done on a local store instead


def test_an_unreachable_server_is_one_clear_line(tmp_path: Path, user_env) -> None:
    env = {**user_env, "CONVEYOR_SERVER": "http://127.0.0.1:9"}
    done = conveyor("data", "list", env=env, cwd=tmp_path, code=2)
    assert "Cannot reach the conveyor server at http://127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr


def test_login_stores_a_private_token_and_logout_forgets_it(served: tuple[Path, str], tmp_path: Path,
                                                            user_env) -> None:
    _root, url = served
    done = conveyor("login", url, "--token-stdin", "--json", env=user_env, cwd=tmp_path, stdin="s3cret-token\n")
    assert json.loads(done.stdout)["actor"].startswith("local:")
    stored = Path(user_env["XDG_CONFIG_HOME"]) / "conveyor" / "credentials.toml"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert "s3cret-token" in stored.read_text() and url in stored.read_text()
    assert "s3cret-token" not in done.stdout + done.stderr
    listed = conveyor("models", "list", "--json", env=user_env, cwd=tmp_path)  # no CONVEYOR_SERVER: the login
    assert f"using the server at {url} (conveyor login)" in listed.stderr
    conveyor("logout", env=user_env, cwd=tmp_path)
    assert "s3cret-token" not in stored.read_text()
    after = conveyor("models", "list", "--json", env=user_env, cwd=tmp_path)  # the local folder again
    assert "using the server" not in after.stderr


def test_login_to_something_that_is_not_a_server_stores_nothing(tmp_path: Path, user_env) -> None:
    conveyor("login", "http://127.0.0.1:9", "--token-stdin", env=user_env, cwd=tmp_path, stdin="t\n", code=2)
    assert not (Path(user_env["XDG_CONFIG_HOME"]) / "conveyor" / "credentials.toml").exists()


@pytest.mark.slow
def test_train_runs_here_or_on_the_server_and_registers_there(served: tuple[Path, str], tmp_path: Path, user_env,
                                                               churn_frame) -> None:
    root, url = served
    csv = tmp_path / "train.csv"
    churn_frame(300, seed=4).to_csv(csv, index=False)
    remote = {**user_env, "CONVEYOR_SERVER": url}
    conveyor("data", "ingest", str(csv), "--name", "subs", env=remote, cwd=tmp_path)
    on_server = json.loads(conveyor("train", "subs", "--target", "churn", "--trials", "2", "--budget", "30s",
                                    "--remote", "--json", env=remote, cwd=tmp_path).stdout)
    assert on_server["model_version"] == "subs:1" and on_server["trials"] >= 1
    here = json.loads(conveyor("train", "subs", "--target", "churn", "--trials", "2", "--budget", "30s",
                               "--evaluate", "basic", "--json", env=remote, cwd=tmp_path).stdout)
    assert here["model_version"] == "subs:2" and here["trials"] >= 1
    assert not (tmp_path / ".conveyor").exists()  # trained here, stored only on the server
    from conveyor.client import connect
    from conveyor.project import Project

    with connect(url) as client:  # one job: --remote's; the default trained in the CLI's process
        assert [job["kind"] for job in client.connection.get("/jobs")["items"]] == ["train"]
    with Project.open(root) as project:  # both are in the server's project
        for trained in (on_server, here):
            assert project.models.get(trained["model_version"]).run_id == trained["run"]
            assert project.monitoring.reference_stats(trained["model_version"])
        assert "evaluation.json" in project.runs.get(here["run"]).artifacts


def test_remote_training_needs_a_server(tmp_path: Path, user_env) -> None:
    from conveyor.project import Project

    Project.init(tmp_path).close()  # a local project, and no server set
    done = conveyor("train", "subs", "--remote", "--project", str(tmp_path), env=user_env, cwd=tmp_path, code=2)
    assert "--remote" in done.stderr and "Traceback" not in done.stderr
