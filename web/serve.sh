#!/usr/bin/env bash
# Builds the page (web/build.sh) and serves it on localhost, where WebGPU
# is allowed (a secure context): ./web/serve.sh [PORT], default 8000.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8000}
./web/build.sh
echo "open http://127.0.0.1:$port/"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory web
