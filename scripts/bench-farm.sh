#!/usr/bin/env bash
# The render farm on one machine: each workflow rendered from an empty cache by one process (`kinora render`), and by
# two shards at once then the assembly (`kinora render --devices D,D`: two `--shard` processes, then the assembly),
# alternating, RUNS times each. Prints the wall times, their medians, the speed-up, and the shards' own times from
# their records. The workflows: examples/demo.yaml, and twelve tiny-sd15 stills with camera moves, two voice lines
# and the demo's music bed (written into a temporary folder). Compiled pipelines are warmed by one render first and
# kept in a folder of the run's own, so no run compiles them.
# Both shards share this machine's CPU cores (on lavapipe every device is the CPU): the speed-up is what the cores
# left over by one render give, not what a second GPU would.
# KINORA_BIN: the binary (default .build/release/kinora). DEVICE: the device each shard runs on (default: the
# default device). RUNS (default 2; about 25 minutes on 2 busy cores with lavapipe).
set -euo pipefail
cd "$(dirname "$0")/.."

KINORA_BIN="$(realpath "${KINORA_BIN:-.build/release/kinora}")"
RUNS="${RUNS:-2}"
[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
device="${DEVICE:-$("$KINORA_BIN" devices --json | python3 -c '
import json, sys
print(next(d["index"] for d in json.load(sys.stdin) if d["selected"]))')}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KINORA_PIPELINE_CACHE="$work/pipelines"
now() { date +%s.%N; }

# Twelve one-second stills of the tiny SD 1.5 (4 guided steps at 64x64), cut at 256x144, two voice lines, music.
mkdir -p "$work/twelve/music"
cp examples/music/pad.ogg "$work/twelve/music/"
{
    printf 'version: 1\noutput: {file: twelve.mp4, size: 256x144, fps: 24, codec: h264, crf: 20}\n'
    printf 'models:\n  hero: {catalog: tiny-sd15}\n  narrator: {catalog: piper-vits}\nshots:\n'
    for i in $(seq 1 12); do
        printf '  - {id: s%d, prompt: shot %d of a harbour at dawn, negative: blurry, seed: %d, duration: 1,\n' \
            "$i" "$i" "$i"
        printf '     camera: {zoom: [1.0, 1.1]}, size: 64x64, final: {model: hero, steps: 4, cfg: 7.5}}\n'
    done
    printf 'voices:\n'
    printf '  - {id: a, text: Every morning the harbour wakes before the town does., voice: narrator, start: 0.5}\n'
    printf '  - {id: b, text: And every evening the light brings them home., voice: narrator, start: 7}\n'
    printf 'music:\n  - {id: pad, file: music/pad.ogg, gain: -8 dB}\n'
} > "$work/twelve/twelve.yaml"

echo "machine: $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "device: $("$KINORA_BIN" devices --json | python3 -c '
import json, sys
print(next(d["name"] for d in json.load(sys.stdin) if d["selected"]))') (index $device, for both shards)"
"$KINORA_BIN" render "$work/twelve/twelve.yaml" --cache-dir "$work/warm" -o "$work/warm.mp4" --progress none \
    >/dev/null

median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.1f}")' "$@"; }

for workflow in "$(realpath examples/demo.yaml)" "$work/twelve/twelve.yaml"; do
    name=$(basename "$workflow" .yaml)
    singles=() farms=()
    for run in $(seq 1 "$RUNS"); do
        start=$(now)
        "$KINORA_BIN" render "$workflow" --cache-dir "$work/$name-single-$run" -o "$work/$name-single.mp4" \
            --progress none >/dev/null
        singles+=("$(echo "$(now) - $start" | bc -l)")
        start=$(now)
        "$KINORA_BIN" render "$workflow" --cache-dir "$work/$name-farm-$run" -o "$work/$name-farm.mp4" \
            --devices "$device,$device" --progress none >/dev/null
        farms+=("$(echo "$(now) - $start" | bc -l)")
        shards=$(python3 - "$work/$name-farm-$run/farm/$name-final" <<'PY'
import datetime, json, sys
parts = []
for index in (1, 2):
    record = json.load(open(f"{sys.argv[1]}/shard-{index}-of-2.json"))
    seconds = (datetime.datetime.fromisoformat(record["updated"].replace("Z", "+00:00"))
               - datetime.datetime.fromisoformat(record["started"].replace("Z", "+00:00"))).total_seconds()
    parts.append(f"shard {index}: {len(record['owners'])} items, {record['stagesComputed']} stages, {seconds:.0f} s")
print("; ".join(parts))
PY
)
        printf '%s run %d: one process %.1f s, two shards + assembly %.1f s (%s)\n' "$name" "$run" \
            "${singles[-1]}" "${farms[-1]}" "$shards"
    done
    single=$(median "${singles[@]}")
    farm=$(median "${farms[@]}")
    printf '%s: median one process %s s, two shards + assembly %s s, speed-up %.2fx\n' "$name" "$single" "$farm" \
        "$(echo "$single / $farm" | bc -l)"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
