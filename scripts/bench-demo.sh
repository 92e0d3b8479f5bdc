#!/usr/bin/env bash
# The README's main job, measured: examples/demo.yaml rendered from an empty cache, rendered again (every stage from
# the cache), and rendered from an empty cache once more but killed (SIGKILL) as soon as its autoregressive stream
# has finished chunk KILL_AFTER, then resumed. Prints the wall time of each, the stages the resumed render took from
# the cache, whether the resumed file's frames and audio are those of the uninterrupted one (FFmpeg's framemd5), and
# the first render's report: per stage its time, predicted and measured device peak, frames per second.
# KINORA_BIN: the binary (default .build/release/kinora). WORKFLOW (default examples/demo.yaml). KILL_AFTER: the
# chunk after which the third render is killed (default 2).
set -euo pipefail

KINORA_BIN="$(realpath "${KINORA_BIN:-.build/release/kinora}")"
WORKFLOW="$(realpath "${WORKFLOW:-examples/demo.yaml}")"
KILL_AFTER="${KILL_AFTER:-2}"
[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l | xargs printf "%.2f"; }

echo "device: $("$KINORA_BIN" devices 2>/dev/null | grep -m1 '(selected)' | sed 's/^\[[0-9]*\] *//')"

start=$(now)
"$KINORA_BIN" render "$WORKFLOW" -o "$work/first.mp4" --cache-dir "$work/cache" --progress none >/dev/null
echo "first render (empty cache): $(elapsed "$start") s"
cp "$work/first.report.txt" "$work/first-report.txt"

start=$(now)
"$KINORA_BIN" render "$WORKFLOW" -o "$work/again.mp4" --cache-dir "$work/cache" --progress none >/dev/null
echo "cached re-render: $(elapsed "$start") s ($(head -1 "$work/again.report.txt" | sed 's/.*: //'))"

# The third render: killed once a stage named */chunk-$KILL_AFTER has finished, then run again on the same cache.
start=$(now)
"$KINORA_BIN" render "$WORKFLOW" -o "$work/killed.mp4" --cache-dir "$work/resume" --progress json \
    >"$work/events.jsonl" 2>/dev/null &
pid=$!
killed=no
while kill -0 "$pid" 2>/dev/null; do
    if grep -q "\"event\":\"stage_finished\".*/chunk-$KILL_AFTER\"" "$work/events.jsonl" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null && killed=yes
        break
    fi
    sleep 0.05
done
wait "$pid" 2>/dev/null || true
[[ "$killed" == yes ]] || { echo "the render ended before its stream's chunk $KILL_AFTER finished" >&2; exit 1; }
echo "killed after chunk $KILL_AFTER at $(elapsed "$start") s; output left under its final name: \
$([[ -e "$work/killed.mp4" ]] && echo yes || echo no)"
start=$(now)
"$KINORA_BIN" render "$WORKFLOW" -o "$work/killed.mp4" --cache-dir "$work/resume" --progress none >/dev/null
echo "resumed render: $(elapsed "$start") s ($(head -1 "$work/killed.report.txt" | sed 's/.*: //'))"
python3 - "$work/killed.report.json" <<'PY'
import json, sys
stages = json.load(open(sys.argv[1]))["stages"]
chunks = [s["stage"] for s in stages if "/chunk-" in s["stage"]]
print("  chunks from the cache:", ", ".join(s["stage"] for s in stages if "/chunk-" in s["stage"] and s["cacheHit"])
      or "none", f"(of {len(chunks)})")
PY
same=$(cmp -s <(ffmpeg -v error -i "$work/first.mp4" -map 0:v -map 0:a? -f framemd5 -) \
    <(ffmpeg -v error -i "$work/killed.mp4" -map 0:v -map 0:a? -f framemd5 -) && echo yes || echo no)
echo "resumed file's frames and audio identical to the uninterrupted render's: $same"
echo
cat "$work/first-report.txt"
