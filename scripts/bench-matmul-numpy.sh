#!/bin/bash
# Compares Kinora's f32 matmul (GPU time from timestamps, `kinora bench kernels`) with numpy's matmul on the CPU,
# same size, same machine, same run, and prints the ratio kinora/numpy of GFLOP/s.
# Usage: scripts/bench-matmul-numpy.sh [N]   (default N=1024; KINORA_BIN defaults to .build/release/kinora)
set -euo pipefail
n="${1:-1024}"
kinora="${KINORA_BIN:-.build/release/kinora}"
[ -x "$kinora" ] || { echo "no kinora binary at $kinora (swift build -c release, or set KINORA_BIN)" >&2; exit 1; }
python3 -c "import numpy" 2>/dev/null || { echo "numpy is missing: pip install numpy" >&2; exit 1; }

json=$("$kinora" bench kernels --filter matmul-f32 --matmul-size "$n" --repeats 3 --json)
ours=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["results"][0]["gflops"])' <<<"$json")
device=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["device"])' <<<"$json")

numpy_gflops=$(python3 - "$n" <<'PY'
import sys, time
import numpy as np
n = int(sys.argv[1])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(5):
    start = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - start)
times.sort()
print(2 * n ** 3 / times[len(times) // 2] / 1e9)
PY
)
python3 - "$n" "$device" "$ours" "$numpy_gflops" <<'PY'
import sys
n, device, ours, theirs = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
print(f"f32 matmul {n}x{n}x{n}")
print(f"  kinora ({device}): {ours:10.2f} GFLOP/s")
print(f"  numpy (CPU):       {theirs:10.2f} GFLOP/s")
print(f"  ratio kinora/numpy: {ours / theirs:.3f}")
PY
