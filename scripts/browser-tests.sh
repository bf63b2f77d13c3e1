#!/usr/bin/env bash
# The engine's tests inside headless Chromium: the GPU kernels on WebGPU
# (crates/wgsl/tests/browser.rs) and the CPU backend compiled to WebAssembly
# against the native golden digests (crates/gan/tests/wasm_golden.rs).
#
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-test-runner at the
# Cargo.lock version of wasm-bindgen, chromium and chromedriver (.ci/run
# installs all four). WebGPU runs on SwiftShader (Vulkan on the CPU):
# without those flags headless Chromium gives no adapter, and a missing
# adapter fails the tests, never skips them.
set -euo pipefail
cd "$(dirname "$0")/.."

# wasm-bindgen-test-runner must be the exact version of the wasm-bindgen
# the tests link: it reads the test binary's custom sections.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
have=$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "browser-tests: need wasm-bindgen-test-runner $want (have: ${have:-none});" \
    "run: cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

# A fresh profile per run (Chromium refuses two instances on one profile),
# removed after.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
config="$profile/webdriver.json"
sed "s|\"--no-first-run\"|\"--no-first-run\", \"--user-data-dir=$profile/chrome\"|" \
  scripts/webdriver.json > "$config"

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$config"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
# A test here runs hundreds of kernels on SwiftShader: more than the
# runner's default 20 s.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}"

# `--bench`: instead of the tests, the dispatch-cost benchmark
# (crates/wgsl/tests/browser_bench.rs; benches/browser_dispatch.sh), with
# its output shown.
if [ "${1:-}" = "--bench" ]; then
  exec cargo test --release --target wasm32-unknown-unknown -p minimax-wgsl --test browser_bench -- --nocapture
fi

# Any arguments go to both test binaries (a name filter, `--nocapture`).
cargo test --release --target wasm32-unknown-unknown -p minimax-wgsl --test browser "$@"
cargo test --release --target wasm32-unknown-unknown -p minimax-gan --test wasm_golden "$@"
