#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: installs everything it needs
# into ./.venv (Python packages, the embedded model's parts, the JS build,
# the browser-test packages and, as root, Debian's chromium and a C compiler
# where there is none), then runs the
# linters, the type checker, the docs build, jest, pytest (unit, server, e2e) and the
# browser tests (ui-tests).
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -m "not e2e"   # extra arguments go to pytest
#
# TORCH_SPEC picks the torch build; the default is the CPU build pinned for
# CPU-only machines. On a CUDA machine use e.g. TORCH_SPEC=torch.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PYTHON="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }

step "Creating .venv and installing the package with its test and embedded extras"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
pip install -q --disable-pip-version-check "$TORCH_SPEC"
pip install -q --disable-pip-version-check ".[test,embedded]"

if ! command -v cc >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "A C compiler (low_memory builds its kernel with it; tests/unit/test_requant.py)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
fi

step "Python lint and types"
ruff check jupyter_codegen tests benchmarks evals
ruff format --check jupyter_codegen tests benchmarks evals
mypy
lint-imports --no-cache

step "Docs (Sphinx, warnings as errors)"
sphinx-build -W --keep-going -E -q -b html docs docs/_build/html

step "TypeScript: wire types up to date, lint (prettier, eslint) and jest"
jlpm install >/dev/null
jlpm wire:check
jlpm lint:check
jlpm test

step "Extension is installed and enabled"
jupyter server extension list 2>&1 | grep -E "jupyter_codegen.*enabled"
jupyter labextension list 2>&1 | grep -E "jupyter-codegen.*enabled"

step "pytest"
pytest "$@"

step "Browser tests (ui-tests)"
bash scripts/ui-tests.sh
