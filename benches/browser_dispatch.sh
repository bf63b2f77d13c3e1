#!/usr/bin/env bash
# What one dispatch costs on headless Chromium's WebGPU (SwiftShader here),
# by kernel and size: crates/wgsl/tests/browser_bench.rs, a benchmark run
# through wasm-bindgen-test (scripts/browser-tests.sh's setup). Prints
# `RESULT bench=browser_dispatch …` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/browser-tests.sh --bench 2>&1 | grep -E "RESULT|adapter:|test result"
