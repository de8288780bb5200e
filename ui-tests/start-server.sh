#!/usr/bin/env bash
# Start JupyterLab with jupyter-codegen for the ui-tests.
#   bash start-server.sh tiny 8888       # a tiny random-weight model (built here)
#   bash start-server.sh embedded 8889   # the embedded Qwen2.5-Coder 1.5B
#   bash start-server.sh scripted 8890   # the remote engine on scripted_chat.py's canned replies
# UI_SERVER_ARGS adds server options, e.g. UI_SERVER_ARGS=--CodegenApp.quantize=int8
set -euo pipefail
cd "$(dirname "$0")"
kind="$1"
port="$2"
args=(--config jupyter_server_test_config.py --port "$port" --no-browser)
[ "$(id -u)" = 0 ] && args+=(--allow-root)
case "$kind" in
  tiny)
    model_dir="${TMPDIR:-/tmp}/jupyter-codegen-ui-tiny-model"
    python ../tests/tiny_model.py "$model_dir" >/dev/null
    export JUPYTER_CODEGEN_MODEL="$model_dir"
    args+=(--CodegenApp.device=cpu --CodegenApp.dtype=float32)
    ;;
  embedded)
    export JUPYTER_CODEGEN_MODEL="embedded:qwen2.5-coder-1.5b-instruct"
    ;;
  scripted)
    # A scripted OpenAI-compatible chat server (predictable fixes and edits)
    # behind the remote engine; it exits when this process (the Jupyter
    # server, after exec) is gone.
    port_file="$(mktemp -u "${TMPDIR:-/tmp}/codegen-ui-chat-XXXX")"
    python scripted_chat.py --port-file "$port_file" --watch-pid $$ &
    for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
    chat_port="$(cat "$port_file")"
    rm -f "$port_file"
    unset JUPYTER_CODEGEN_MODEL JUPYTER_CODEGEN_REMOTE_URL
    args+=(--CodegenApp.remote_url="http://127.0.0.1:$chat_port/v1" --CodegenApp.model=scripted-chat)
    ;;
  *)
    echo "usage: start-server.sh tiny|embedded|scripted PORT" >&2
    exit 2
    ;;
esac
# Extra server options (word-split on purpose), e.g. --CodegenApp.quantize=int8.
# shellcheck disable=SC2206
[ -n "${UI_SERVER_ARGS:-}" ] && args+=(${UI_SERVER_ARGS})
export JUPYTERLAB_GALATA_ROOT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/codegen-ui-$kind-XXXX")"
exec jupyter lab "${args[@]}"
