"""`conveyor users ...` and `conveyor tokens ...` as scripts call them: the token printed once, CONVEYOR_TOKEN as
the caller, roles enforced, every change in the audit trail under the authenticated identity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def conveyor(project: Path, *args: str, token: str | None = None, code: int = 0) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_TOKEN", "CONVEYOR_BOOTSTRAP_TOKEN_FILE")}
    env["CONVEYOR_USER"] = "mallory"  # an environment variable never names the actor once identities exist
    if token is not None:
        env["CONVEYOR_TOKEN"] = token
    done = subprocess.run([sys.executable, "-m", "conveyor", *args, "--project", str(project)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def test_users_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "conveyor", "init", str(tmp_path)], check=True, capture_output=True,
                   timeout=120)
    refused = conveyor(tmp_path, "users", "add", "bob", "--role", "viewer", code=2)
    assert "first identity must be an admin" in refused.stderr
    admin = json.loads(conveyor(tmp_path, "users", "add", "ana", "--role", "admin", "--json").stdout)
    assert admin["token"].startswith("cvy_") and admin["role"] == "admin"
    denied = conveyor(tmp_path, "users", "add", "bob", "--role", "viewer", code=2)  # no token now
    assert "Invalid, expired or revoked token" in denied.stderr
    bob = conveyor(tmp_path, "users", "add", "bob", "--role", "viewer", token=admin["token"]).stdout.strip()
    assert bob.startswith("cvy_") and "\n" not in bob  # plain output: the token alone on stdout
    forbidden = conveyor(tmp_path, "users", "list", token=bob, code=2)
    assert "'bob' (viewer) may not do users.manage" in forbidden.stderr
    second = json.loads(conveyor(tmp_path, "tokens", "create", "--expires", "1d", "--json", token=bob).stdout)
    mine = json.loads(conveyor(tmp_path, "tokens", "list", "--json", token=second["token"]).stdout)
    assert [t["identity"] for t in mine] == ["bob", "bob"] and all("token" not in t for t in mine)
    conveyor(tmp_path, "tokens", "revoke", second["token_id"], token=bob)
    conveyor(tmp_path, "tokens", "list", token=second["token"], code=2)
    conveyor(tmp_path, "users", "grant", "bob", "--role", "approver", "--model", "churn", token=bob, code=2)
    conveyor(tmp_path, "users", "grant", "bob", "--role", "approver", "--model", "churn", token=admin["token"])
    granted = json.loads(conveyor(tmp_path, "users", "list", "--json", token=admin["token"]).stdout)
    assert granted[1]["grants"] == [{"kind": "model", "name": "churn", "role": "approver"}]
    conveyor(tmp_path, "users", "ungrant", "bob", "--model", "churn", token=admin["token"])
    conveyor(tmp_path, "users", "revoke", "bob", token=admin["token"])
    conveyor(tmp_path, "tokens", "list", token=bob, code=2)
    listed = json.loads(conveyor(tmp_path, "users", "list", "--json", token=admin["token"]).stdout)
    assert [(u["name"], u["active"]) for u in listed] == [("ana", True), ("bob", False)]
    conveyor(tmp_path, "models", "list", code=2)  # every verb needs a token once identities exist
    trail = json.loads(conveyor(tmp_path, "models", "audit", "--json", token=admin["token"]).stdout)["entries"]
    assert [(e["actor"], e["action"], e["subject"]) for e in trail] == [
        (trail[0]["actor"], "user.add", "ana"), ("ana", "user.add", "bob"), ("bob", "token.create", "bob"),
        ("bob", "token.revoke", "bob"), ("ana", "grant.add", "bob"), ("ana", "grant.revoke", "bob"),
        ("ana", "user.revoke", "bob")]
    assert trail[0]["actor"].startswith("local:")
