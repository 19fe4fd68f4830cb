#!/usr/bin/env bash
# One prepared device check, for the `run` tool of a session that is lent a GPU (15 minutes of
# device time in all, so one call):  run command="bash bench/gpu_session.sh" timeout_s=540
# Builds sow with CUDA (the image has torch, CuPy, JAX, pybind11, scikit-build-core, cmake,
# ninja and nvcc; no registry), runs tests/gpu and the GPU test of tests/test_jax.py, then bench/bench_gpu.py, each under its own
# time limit so that a hang in one still leaves the others' output. Everything goes to $OUT
# (build.log, tests.log, bench.log, gpu.json, nvidia-smi.txt); the figures go into
# bench/RESULTS.md by hand, with the device named.
set -uo pipefail
OUT=${OUT:-/tmp/sow-gpu-out}
mkdir -p "$OUT"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee -a "$OUT/summary.txt"
start=$(date +%s)
timeout 300 python3 -m pip install --no-build-isolation -q . > "$OUT/build.log" 2>&1
echo "build rc=$? in $(( $(date +%s) - start )) s" | tee -a "$OUT/summary.txt"
t=$(date +%s)
timeout 150 python3 -m pytest -q -p no:cacheprovider -x tests/gpu > "$OUT/tests.log" 2>&1
echo "tests/gpu rc=$? in $(( $(date +%s) - t )) s: $(tail -1 "$OUT/tests.log")" | tee -a "$OUT/summary.txt"
timeout 60 python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_jax.py > "$OUT/tests_jax.log" 2>&1
echo "jax gpu rc=$?: $(tail -1 "$OUT/tests_jax.log")" | tee -a "$OUT/summary.txt"
t=$(date +%s)
timeout 150 python3 bench/bench_gpu.py --json "$OUT/gpu.json" > "$OUT/bench.log" 2>&1
echo "bench_gpu rc=$? in $(( $(date +%s) - t )) s" | tee -a "$OUT/summary.txt"
tail -40 "$OUT/bench.log"
