#!/usr/bin/env bash
# gpu_device.sh: what a machine with a real GPU checks and measures, in
# one run of under 5 minutes (after the build). Its RESULT lines are what
# BENCHMARKS.md's GPU sections record; lavapipe can give their counts, not
# a GPU's speed.
#
#   benches/gpu_device.sh                    # on a machine with a GPU
#   benches/gpu_device.sh --allow-software   # anywhere: a software rasterizer
#                                            # (lavapipe) stands in, with
#                                            # smaller sizes; proves the script
#
# Without --allow-software it insists on a hardware adapter: if wgpu sees
# only a software rasterizer, it says so and stops, rather than measure
# lavapipe as if it were the GPU.
#
# The steps, each printing `RESULT key=value …` lines (grep them):
#   1. the adapter, named, and millions of Gaussian draws on it, all finite
#      (crates/wgsl/benches/gpu_device.rs);
#   2. the GPU tests, with MINIMAX_REQUIRE_GPU=1 (a missing GPU fails them);
#   3. the matmul bench (benches/gpu_matmul.rs) at n = 256 … 4096: GFLOP/s
#      per kernel and the fraction of the adapter's FP32 peak where known
#      (MINIMAX_FP32_PEAK_GFLOPS sets it for an adapter the table lacks);
#   4. a GAN step's host time and commands: hand-written variants
#      (crates/wgsl/benches/gpu_step.rs) and the trainers' own step
#      (benches/gpu_trainer.rs);
#   5. the 1-D GAN example on the GPU and on the CPU, steps/s side by side;
#   6. the image GAN example (digits_gan) likewise, on Fashion-MNIST where
#      it is installed, else the shipped 8×8 digits.
# A step that fails is reported and the others still run; the script exits
# 1 if any failed.
#
# The build comes first (release, the project's one profile). A machine
# that cannot reach crates.io needs the dependencies beforehand (`cargo
# vendor`, or a ~/.cargo/registry copied over).
set -uo pipefail
cd "$(dirname "$0")/.."

allow_software=0
for arg in "$@"; do
  case "$arg" in
    --allow-software) allow_software=1 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

failed=()
started=$(date +%s)
step() { echo; echo "=== $* ($(($(date +%s) - started)) s)"; }
# run NAME TIMEOUT COMMAND…: runs it, notes a failure (or a timeout).
run() {
  local name=$1 limit=$2
  shift 2
  timeout "$limit" "$@"
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "RESULT step=$name ok=0 exit=$rc"
    failed+=("$name")
  fi
  return "$rc"
}

step "0. build"
run build 1200 cargo build --release --workspace --all-targets --examples -q || exit 1
run build 600 cargo test --release --workspace --no-run -q || exit 1

step "1. the adapter, and Gaussian draws on it"
adapter_flags=(--require-hardware --draws-millions 16)
[ "$allow_software" = 1 ] && adapter_flags=(--draws-millions 4)
log=$(mktemp)
run adapter 180 cargo bench -q -p minimax-wgsl --bench gpu_device -- "${adapter_flags[@]}" \
  >"$log" 2>&1
grep -v XDG_RUNTIME_DIR "$log"
if ! grep -q 'check=adapter .*ok=1' "$log"; then
  echo "no usable adapter: stopping (--allow-software lets a software rasterizer stand in)"
  exit 1
fi
software=$(sed -n 's/.*check=adapter .*software=\([01]\).*/\1/p' "$log")

step "2. the GPU tests (MINIMAX_REQUIRE_GPU=1)"
export MINIMAX_REQUIRE_GPU=1
run tests_wgsl 900 cargo test --release -q -p minimax-wgsl && echo "RESULT step=tests_wgsl ok=1"
run tests_gan_gpu 300 cargo test --release -q --test gan_gpu && echo "RESULT step=tests_gan_gpu ok=1"

step "3. matmul throughput"
if [ "$software" = 1 ]; then
  # lavapipe: a few GFLOP/s; 4096³ would take minutes.
  run matmul 300 cargo bench -q --bench gpu_matmul -- --sizes 256,512 --kernels auto,large,small,tiled
else
  run matmul 300 cargo bench -q --bench gpu_matmul -- --sizes 256,512,1024 \
    --kernels auto,large,small,tiled,naive
  run matmul_large 300 cargo bench -q --bench gpu_matmul -- --sizes 2048,4096 \
    --kernels auto,large,tiled --no-cpu
fi

step "4. a GAN step: host time and commands"
run gpu_step 300 cargo bench -q -p minimax-wgsl --bench gpu_step
run gpu_trainer 300 cargo bench -q --bench gpu_trainer

out=$(mktemp -d)
# One run of example `name` on `device` (further flags after them); prints
# its device and timing lines and a RESULT line with its steps/s, from the
# example's "trained N steps in X s (Y steps/s)" line.
example() {
  local name=$1 device=$2 steps=$3
  shift 3
  run "${name}_$device" 300 cargo run --release -q --example "$name" -- \
    --device "$device" --steps "$steps" --log-every "$steps" --out "$out/$name-$device" "$@" \
    >"$out/$name-$device.log" 2>&1
  grep -E '^device:|^data:|trained|per step' "$out/$name-$device.log" | sed 's/^/  /'
  local rate
  rate=$(sed -n 's/.*trained .* (\([0-9.]*\) steps\/s).*/\1/p' "$out/$name-$device.log")
  echo "RESULT bench=$name device=$device steps=$steps steps_per_sec=${rate:-?}"
  eval "rate_$device=${rate:-0}"
}
ratio() {
  awk -v g="$rate_gpu" -v c="$rate_cpu" 'BEGIN { if (c > 0) printf "%.2f", g / c; else print "?" }'
}

step "5. the 1-D GAN, GPU and CPU"
gan_steps=3000
[ "$software" = 1 ] && gan_steps=200
rate_gpu=0 rate_cpu=0
example gaussian_gan gpu "$gan_steps"
example gaussian_gan cpu "$gan_steps"
echo "RESULT bench=gaussian_gan gpu_over_cpu=$(ratio)"

step "6. the image GAN, GPU and CPU"
# Fashion-MNIST at its real size (the classic preset: G 100-128-256-512-1024-784
# with batch norm, D 784-512-256-1) where Debian's dataset-fashion-mnist is
# installed; else the shipped 8×8 digits. The judging classifier is trained
# on first use (cached under out/classifiers/), outside the timed training.
image_steps=300
[ "$software" = 1 ] && image_steps=20
data=digits
[ -d /usr/share/datasets/fashion-mnist ] && data=fashion
rate_gpu=0 rate_cpu=0
example digits_gan gpu "$image_steps" --data "$data" --judge-samples 1000
example digits_gan cpu "$image_steps" --data "$data" --judge-samples 1000
echo "RESULT bench=image_gan data=$data gpu_over_cpu=$(ratio)"
rm -rf "$out" "$log"

step "done"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "RESULT script=gpu_device ok=0 failed=${failed[*]} seconds=$(($(date +%s) - started))"
  exit 1
fi
echo "RESULT script=gpu_device ok=1 seconds=$(($(date +%s) - started))"
