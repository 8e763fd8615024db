#!/usr/bin/env bash
# Run one benchmark, creating its anchor's venv under .bench/ first if it is missing.
#   bash bench/run.sh tracking [--repeats N] [--json PATH] [--markdown PATH]
#   bash bench/run.sh demo [--repeats N] [--fast]
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
  *)
    echo "usage: bash bench/run.sh tracking|demo [options]   (options: --help)" >&2
    exit 2
    ;;
esac
