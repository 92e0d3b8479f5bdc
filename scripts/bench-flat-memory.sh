#!/usr/bin/env bash
# Flat memory over a render's length: the same workflow rendered at a short and a long duration (default 10 s and
# 600 s), each from an empty cache, and the host's peak resident memory (/usr/bin/time) and the device's peak (the
# render report's largest measured stage peak) compared. Frames stream from each shot's stages into the encoder and
# the mix is made block by block, so both peaks should not grow with the length; the script prints both renders'
# figures and the ratios long/short.
#
# The workflow (written by this script) has the parts whose work grows with the length: four shots of a quarter of
# the duration each — two stills with camera moves (tiny-sd15), a text-to-video clip (tiny-wan21) held to its shot's
# end, and an autoregressive stream from the tiny causal Wan as long as its shot — a crossfade and a fade, a voice
# line at the start and one at the end, and the demo's music bed looped over the whole cut. KINORA_BIN: the binary (default
# .build/release/kinora). SHORT, LONG: the durations in seconds. KEEP=1 keeps the work folder.
set -euo pipefail

KINORA_BIN="$(realpath "${KINORA_BIN:-.build/release/kinora}")"
SHORT="${SHORT:-10}"
LONG="${LONG:-600}"
[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 1; }
root="$(cd "$(dirname "$0")/.." && pwd)"

work="$(mktemp -d)"
[[ "${KEEP:-0}" == 1 ]] && echo "work folder: $work" || trap 'rm -rf "$work"' EXIT
cp "$root/examples/music/pad.ogg" "$work/pad.ogg"

# The workflow of $1 seconds, in $work/flat-$1.yaml.
write_workflow() {
    python3 - "$1" "$work/flat-$1.yaml" <<'PY'
import sys
seconds, path = float(sys.argv[1]), sys.argv[2]
quarter = seconds / 4
text = f"""version: 1
output: {{file: flat-{sys.argv[1]}.mp4, size: 256x144, fps: 24, codec: h264, crf: 23}}
models:
  hero: {{catalog: tiny-sd15}}
  clip: {{catalog: tiny-wan21}}
  stream: {{catalog: tiny-wan21-causal}}
  narrator: {{catalog: piper-vits}}
shots:
  - {{id: harbour, prompt: a harbour at dawn, seed: 1, duration: {quarter}, size: 64x64,
     camera: {{zoom: [1.0, 1.2], pan: [0.0, 0.05]}}, final: {{model: hero, steps: 2}}}}
  - {{id: waves, prompt: waves on a beach, seed: 2, duration: {quarter}, motion: video,
     transition: {{crossfade: 0.5}}, final: {{model: clip, steps: 2, size: 64x64, frames: 17}}}}
  - {{id: market, prompt: a fish market, seed: 3, duration: {quarter}, motion: stream,
     transition: {{fade: 0.5}}, final: {{model: stream, size: 64x64}}}}
  - {{id: lighthouse, prompt: a lighthouse at sunset, seed: 4, duration: {quarter + 0.5}, size: 64x64,
     camera: none, final: {{model: hero, steps: 2}}}}
voices:
  - {{id: first, text: Every morning the harbour wakes., voice: narrator, start: 0.2}}
  - {{id: last, text: And the light brings them home., voice: narrator, start: {seconds - 3}}}
music:
  - {{id: bed, file: pad.ogg, loop: true, gain: -8 dB, fade_out: 2}}
"""
open(path, "w").write(text)
PY
}

# Renders $1 seconds from an empty cache; prints "wall_s host_peak_kib device_peak_bytes frames".
render() {
    local seconds="$1"
    write_workflow "$seconds"
    local log="$work/time-$seconds.txt"
    /usr/bin/time -v "$KINORA_BIN" render "$work/flat-$seconds.yaml" --cache-dir "$work/cache-$seconds" \
        --progress none 2>"$log" >/dev/null || { cat "$log" >&2; exit 1; }
    local wall host device frames
    wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
    host=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
    device=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print(max([s.get('measuredPeakBytes') or 0 for s in r['stages']]))" "$work/flat-$seconds.report.json")
    frames=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 \
        "$work/flat-$seconds.mp4")
    echo "$wall $host $device $frames"
}

echo "device: $("$KINORA_BIN" devices 2>/dev/null | grep -m1 '(selected)' | sed 's/^\[[0-9]*\] *//')"
read -r short_wall short_host short_device short_frames < <(render "$SHORT")
echo "short ($SHORT s, $short_frames frames): wall $short_wall, host peak $short_host KiB, device peak $short_device B"
read -r long_wall long_host long_device long_frames < <(render "$LONG")
echo "long ($LONG s, $long_frames frames): wall $long_wall, host peak $long_host KiB, device peak $long_device B"
python3 -c "import sys; s,l,sd,ld = map(float, sys.argv[1:]); \
print(f'ratio long/short: host peak {l/s:.3f}, device peak {ld/max(sd,1):.3f}')" \
    "$short_host" "$long_host" "$short_device" "$long_device"
