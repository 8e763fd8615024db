#!/usr/bin/env bash
# Run one benchmark, creating its anchor's venv under .bench/ first if it is missing.
#   bash bench/run.sh tracking [--repeats N] [--server-runs 20] [--json PATH] [--markdown PATH]
#   bash bench/run.sh tracking-profile [--count 4] [--repeats 3] [--no-example]
#   bash bench/run.sh demo [--repeats N] [--fast]
#   bash bench/run.sh monitoring [--sizes 10000,100000,1000000] [--skip-loop] [--markdown PATH]
#   bash bench/run.sh automl [--budgets 10,30,60] [--datasets wine,shuttle] [--seeds 0,1,2] [--json PATH]
#   bash bench/run.sh data [--gb 1.0] [--files 10000] [--rows 1000000] [--skip-validation] [--markdown PATH]
#   bash bench/run.sh serving [--seconds S] [--loadtest-seconds S] [--only conveyor,mlserver] [--concurrency 16] [--rows 32] [--json PATH]
#   bash bench/run.sh security [--repeats N]
#   bash bench/run.sh features [--feature-rows 1000000] [--entity-rows 100000] [--repeats 3] [--markdown PATH]
#   bash bench/run.sh server [--runs 10000] [--requests 200] [--skip-mlflow] [--markdown PATH]
#   bash bench/run.sh edge [--repeats 3] [--requests 300] [--family lightgbm] [--json PATH]
#   bash bench/run.sh capacity [--seconds 5] [--rows 50000] [--runs 100] [--processes 1,4] [--skip-postgres] [--json PATH]
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
  tracking-profile)
    venv=.bench/mlflow-venv
    if [ ! -x "$venv/bin/mlflow" ]; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet mlflow scikit-learn
    fi
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/tracking/profile_log_model.py \
      --mlflow-python "$venv/bin/python" "$@"
    ;;
  demo)
    exec .venv/bin/python bench/demo/bench_demo.py "$@"
    ;;
  monitoring)
    venv=.bench/evidently-venv
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import evidently" 2>/dev/null; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet evidently 'pandas<3'
    fi
    # the project's interpreter: .venv here, or the one on PATH (e.g. an activated shared venv)
    python=.venv/bin/python
    [ -x "$python" ] || python=python
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" bench/monitoring/bench_monitoring.py "$@"
    ;;
  automl)
    venv=.bench/flaml-venv
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import flaml" 2>/dev/null; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet 'flaml[automl]' lightgbm xgboost pandas pyarrow
    fi
    exec "${CONVEYOR_PYTHON:-.venv/bin/python}" bench/automl/bench_automl.py "$@"
    ;;
  data)
    if [ ! -x .bench/dvc-venv/bin/dvc ]; then
      python3 -m venv .bench/dvc-venv
      .bench/dvc-venv/bin/python -m pip install --quiet dvc
    fi
    if [[ " $* " != *" --skip-validation "* ]] && { [ ! -x .bench/validation-venv/bin/python ] || ! .bench/validation-venv/bin/python -c "import great_expectations, pandera, pyarrow" 2>/dev/null; }; then
      python3 -m venv .bench/validation-venv
      .bench/validation-venv/bin/python -m pip install --quiet pandera great-expectations pyarrow
    fi
    exec .venv/bin/python bench/data/bench_data.py "$@"
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
  security)
    python="${PYTHON:-.venv/bin/python}"
    [ -x "$python" ] || python="$(command -v python)"
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" bench/security/bench_model_formats.py "$@"
    ;;
  features)
    venv=.bench/feast-venv
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import feast" 2>/dev/null; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet feast pandas pyarrow
    fi
    python="${PYTHON:-.venv/bin/python}"
    [ -x "$python" ] || python="$(command -v python)"
    exec "$python" bench/features/bench_features.py "$@"
    ;;
  server)
    if [ ! -x .bench/mlflow-venv/bin/mlflow ]; then
      [ -x .bench/mlflow-venv/bin/python ] || python3 -m venv .bench/mlflow-venv
      .bench/mlflow-venv/bin/pip install --quiet mlflow
    fi
    python="${PYTHON:-.venv/bin/python}"
    [ -x "$python" ] || python="$(command -v python)"
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" bench/server/bench_server.py "$@"
    ;;
  edge)
    python=.venv/bin/python
    [ -x "$python" ] || python=python
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" bench/edge/bench_edge.py "$@"
    ;;
  capacity)
    python="${PYTHON:-.venv/bin/python}"
    [ -x "$python" ] || python="$(command -v python)"
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" bench/capacity/bench_capacity.py "$@"
    ;;
  *)
    echo "usage: bash bench/run.sh tracking|demo|data|monitoring|automl|serving|security|features|server|edge|capacity [options]   (options: --help)" >&2
    exit 2
    ;;
esac
