# shellcheck shell=bash
# Shared set-up, sourced by scripts/test.sh and scripts/demo.sh: cd to the repo root and make .venv with the
# package installed editable with the extras in $EXTRAS (default dev: every extra plus the test tools; the demo
# asks for demo: training, serving and monitoring plus its data). Not meant to be run on its own.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
EXTRAS="${EXTRAS:-dev}"

if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating .venv"
    python3 -m venv .venv
fi

echo "==> installing conveyor-mlops[$EXTRAS] into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]"
