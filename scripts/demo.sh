#!/usr/bin/env bash
# Set up .venv and run the end-to-end demo.   Usage: scripts/demo.sh [conveyor demo args...]
set -euo pipefail

# shellcheck source=scripts/_venv.sh
EXTRAS=demo source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

exec .venv/bin/conveyor demo "$@"
