#!/usr/bin/env bash
# Encode throughput of `kinora encode` against the ffmpeg command, libx264 preset medium, from the same raw RGB24
# frames on the same machine. Prints fps for both and the ratio ours/ffmpeg per size.
# KINORA_BIN: the kinora binary (default .build/release/kinora). FRAMES_480P / FRAMES_1080P: frame counts.
# RUNS: runs per side (default 5), interleaved kinora, ffmpeg, kinora, ...; the fps printed are each side's median,
# and the ratio is the median of the ratios of each kinora run to the ffmpeg run right after it, which holds up best
# when other work on the machine comes and goes. The fps of every run are printed too.
set -euo pipefail

KINORA_BIN="${KINORA_BIN:-.build/release/kinora}"
FRAMES_480P="${FRAMES_480P:-120}"
FRAMES_1080P="${FRAMES_1080P:-48}"
RUNS="${RUNS:-5}"
[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "ffmpeg not found" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

# fps of one run of the command in "$@" over $frames frames.
timed() {
    local start end
    start=$(now)
    "$@" >/dev/null
    end=$(now)
    echo "$frames / ($end - $start)" | bc -l
}

bench() {
    local size="$1" frames="$2"
    local raw="$work/frames-$size.rgb"
    ffmpeg -v error -f lavfi -i "testsrc2=size=$size:rate=30" -frames:v "$frames" -pix_fmt rgb24 -f rawvideo "$raw"
    # Write the frames out now, so that neither side pays for the page-cache writeback.
    sync

    local fps_ours fps_theirs ours=() theirs=() ratios=()
    for _ in $(seq "$RUNS"); do
        fps_ours=$(timed "$KINORA_BIN" encode --raw-rgb "$size" --frames "$raw" --fps 30 --codec h264 --crf 23 \
            --preset medium -o "$work/ours-$size.mp4")
        fps_theirs=$(timed ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s "$size" -r 30 -i "$raw" -c:v libx264 \
            -preset medium -crf 23 -pix_fmt yuv420p -movflags +faststart "$work/ffmpeg-$size.mp4")
        ours+=("$(printf '%.2f' "$fps_ours")")
        theirs+=("$(printf '%.2f' "$fps_theirs")")
        ratios+=("$(echo "$fps_ours / $fps_theirs" | bc -l)")
    done

    printf '%-10s %5d frames   kinora %7.2f fps   ffmpeg %7.2f fps   ratio %.3f   (runs: kinora %s; ffmpeg %s)\n' \
        "$size" "$frames" "$(median "${ours[@]}")" "$(median "${theirs[@]}")" "$(median "${ratios[@]}")" \
        "${ours[*]}" "${theirs[*]}"
}

median() {
    printf '%s\n' "$@" | sort -g \
        | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "libx264 preset medium, crf 23, $(nproc) cores, $RUNS runs each (medians)"
bench 832x480 "$FRAMES_480P"
bench 1920x1080 "$FRAMES_1080P"
