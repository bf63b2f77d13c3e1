#!/usr/bin/env bash
# Builds the engine for the browser: crates/web compiled to WebAssembly,
# and wasm-bindgen's JavaScript glue, into web/pkg/ (not committed).
# Adds the wasm32 target and wasm-bindgen-cli when they are missing; the
# CLI must be the version of the `wasm-bindgen` crate in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ]; then
  # Not --locked: its lock file names a webpki-roots this registry lacks.
  cargo install wasm-bindgen-cli --version "$want"
fi

cargo build --release --target wasm32-unknown-unknown -p minimax-web
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
  target/wasm32-unknown-unknown/release/minimax_web.wasm
echo "built web/pkg/ ($(du -k web/pkg/minimax_web_bg.wasm | cut -f1) KiB of wasm)"
