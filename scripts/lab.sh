#!/usr/bin/env bash
# From a fresh clone to JupyterLab with jupyter-codegen on the embedded model.
# Installs into ./.venv, then starts JupyterLab; extra arguments go to `jupyter lab`.
#
# TORCH_SPEC picks the torch build (default: the CPU build for CPU-only
# machines); on a CUDA machine use TORCH_SPEC=torch.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
pip install -q --disable-pip-version-check "$TORCH_SPEC"
pip install -q --disable-pip-version-check ".[embedded]"

args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec jupyter lab "${args[@]}" "$@"
