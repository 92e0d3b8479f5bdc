#!/usr/bin/env bash
# The activation figures of the model catalog (models/*.yaml), measured: `kinora bench model FAMILY
# --catalog-figures` for every family. The image families' stages are recorded and planned at several sizes
# (Graph.memoryPlan, which the activation arena allocates exactly), nothing is run: sd15, sd2 and sdxl over
# full-size random F16 weights (SDXL takes about 6 GB of host memory on a CPU driver), tiny-sd15 and tiny-sdxl over
# their committed weights. piper-vits is run on the installed voice (scripts/setup.sh), speaking sentences of a word
# to about eight seconds. Each family prints its samples and, per component, the largest bytes per unit: the
# figure the catalog takes, so that scaling it never under-predicts a stage within the measured range. The Wan video
# families (tiny-wan21, tiny-wan22 over their committed weights; wan21-t2v-1.3b, wan22-ti2v-5b over full-size random
# F16 weights, which takes about 10 GB of host memory for the 5B DiT) are planned stage by stage with the Wan memory
# plan at two or three clip sizes (UMT5 per token, DiT per latent voxel, VAE per pixel of a frame). The upscalers
# (realesr-animevideov3 at 256² and 1024², realesrgan-x4plus and -anime at 128² and 256²) and rife (416x240 and
# 832x480 frame pairs, one and four frames between) run their installed weights (scripts/setup.sh) on random pictures
# and print each run's allocator peak, weights included: the catalog's `measured:` peaks.
#
# KINORA_BIN: the kinora binary (default .build/release/kinora; build it with `swift build -c release`).
# FAMILIES: the families to measure (default: all fourteen). VRAM: the budget the device is opened with (default 24GB:
# a CPU driver reports less than a full-size UNet's weights take). OUT: a folder that keeps each family's output
# as FAMILY.txt. Arguments after the options go to every `kinora bench model` (e.g. --device 0, or --json; with
# --precision fp16 or bf16 every family is measured in it, which piper-vits refuses: leave it out of FAMILIES then).
set -euo pipefail

KINORA_BIN="${KINORA_BIN:-.build/release/kinora}"
FAMILIES="${FAMILIES:-tiny-sd15 tiny-sdxl sd15 sd2 sdxl piper-vits tiny-wan21 tiny-wan22 wan21-t2v-1.3b wan22-ti2v-5b
    realesr-animevideov3 realesrgan-x4plus realesrgan-x4plus-anime rife}"
VRAM="${VRAM:-24GB}"
OUT="${OUT:-}"

[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
if [[ -n "$OUT" ]]; then
    mkdir -p "$OUT"
fi

for family in $FAMILIES; do
    echo "== $family"
    started=$SECONDS
    if [[ -n "$OUT" ]]; then
        "$KINORA_BIN" bench model "$family" --catalog-figures --vram "$VRAM" "$@" | tee "$OUT/$family.txt"
    else
        "$KINORA_BIN" bench model "$family" --catalog-figures --vram "$VRAM" "$@"
    fi
    echo "($family: $((SECONDS - started)) s)"
done
