#!/usr/bin/env bash
# The one test command: installs what the tests need, lints, checks import layers and types, runs pytest (the whole
# suite with coverage and its floor; with arguments, just what they select).
# Usage: scripts/test.sh [pytest args...]   (runnable from any directory)
set -euo pipefail

have_pg() {
    command -v pg_ctl >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}

# Debian packages the tests need: PostgreSQL (the metadata store tests start a throwaway server), Chromium
# (HTML reports are opened headless and screenshotted) and Redis (the online feature store's contract suite).
missing=()
have_pg || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)  # the web UI's browser tests (selenium)
if ((${#missing[@]})); then
    echo "==> installing ${missing[*]}"
    sudo=()
    if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
# kubectl renders the Kustomize overlays `conveyor deploy kustomize` writes (kubectl kustomize, no cluster needed);
# Debian names its package kubernetes-client, other repositories kubectl.
if ! command -v kubectl >/dev/null 2>&1; then
    sudo=()
    if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y kubectl \
        || "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y kubernetes-client
fi

# Also cds to the repo root.
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

# The S3 tests start moto's S3-compatible server (the dev extra's moto[server]) as a subprocess: fail here, plainly,
# if it is missing, rather than in every S3 test.
.venv/bin/python -c "import moto.server" || { echo "moto[server] is not installed in .venv" >&2; exit 1; }

echo "==> ruff check"
.venv/bin/ruff check src tests bench

echo "==> lint-imports"
.venv/bin/lint-imports

echo "==> mypy"
.venv/bin/mypy

# the real MLflow clients (3.x, and 2.x for the slow test) that the MLflow compatibility tests run, in venvs built
# once and cached under .cache/ (or $CONVEYOR_TEST_CACHE)
echo "==> MLflow client venvs"
.venv/bin/python -c "from conveyor.testing.mlflow_env import mlflow_python; mlflow_python(3); mlflow_python(2)"

if (($# == 0)); then
    # the whole suite, with coverage (CLI subprocesses included) and the floor in [tool.coverage.report]: on two
    # workers (a test file stays on one, with its module fixtures), then the tests that time themselves, alone
    echo "==> pytest --cov -n 2 (all but the serial tests)"
    rm -f .coverage .coverage.*
    .venv/bin/python -m pytest --cov --cov-report= --cov-fail-under=0 -n 2 --dist loadfile -m "not serial"
    echo "==> pytest --cov -m serial (alone), then the coverage of both"
    exec .venv/bin/python -m pytest --cov --cov-append --cov-report=term -m serial
fi
echo "==> pytest $*"
exec .venv/bin/python -m pytest "$@"
