#!/usr/bin/env bash
# Run one benchmark, creating its anchor's venv under .bench/ first if it is missing.
#   bash bench/run.sh tracking [--repeats N] [--json PATH] [--markdown PATH]
#   bash bench/run.sh demo [--repeats N] [--fast]
#   bash bench/run.sh serving [--seconds S] [--loadtest-seconds S] [--json PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
export MLFLOW_DISABLE_TELEMETRY=true

benchmark="${1:-}"
shift || true
case "$benchmark" in
  tracking)
    venv=.bench/mlflow-venv
    if [ ! -x "$venv/bin/mlflow" ]; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet mlflow scikit-learn
    fi
    exec .venv/bin/python bench/tracking/bench_tracking.py "$@"
    ;;
  demo)
    exec .venv/bin/python bench/demo/bench_demo.py "$@"
    ;;
  serving)
    if [ ! -x .bench/mlserver-venv/bin/mlserver ]; then
      python3 -m venv .bench/mlserver-venv
      .bench/mlserver-venv/bin/pip install --quiet mlserver mlserver-lightgbm mlserver-sklearn 'uvloop<0.22'
    fi
    if [ ! -x .bench/mlflow-venv/bin/mlflow ] || ! .bench/mlflow-venv/bin/python -c "import lightgbm" 2>/dev/null; then
      [ -x .bench/mlflow-venv/bin/python ] || python3 -m venv .bench/mlflow-venv
      .bench/mlflow-venv/bin/pip install --quiet mlflow scikit-learn lightgbm
    fi
    python="${PYTHON:-.venv/bin/python}"
    [ -x "$python" ] || python="$(command -v python)"
    exec "$python" bench/serving/bench_serving.py "$@"
    ;;
  *)
    echo "usage: bash bench/run.sh tracking|demo|serving [options]   (options: --help)" >&2
    exit 2
    ;;
esac
