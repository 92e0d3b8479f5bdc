#!/usr/bin/env bash
# Encode throughput of `kinora encode` against the ffmpeg command, libx264 preset medium, from the same raw RGB24
# frames on the same machine. Prints fps for both and the ratio ours/ffmpeg per size.
# KINORA_BIN: the kinora binary (default .build/release/kinora). FRAMES_480P / FRAMES_1080P: frame counts.
set -euo pipefail

KINORA_BIN="${KINORA_BIN:-.build/release/kinora}"
FRAMES_480P="${FRAMES_480P:-120}"
FRAMES_1080P="${FRAMES_1080P:-48}"
[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "ffmpeg not found" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

bench() {
    local size="$1" frames="$2"
    local raw="$work/frames-$size.rgb"
    ffmpeg -v error -f lavfi -i "testsrc2=size=$size:rate=30" -frames:v "$frames" -pix_fmt rgb24 -f rawvideo "$raw"

    local start end ours theirs
    start=$(now)
    "$KINORA_BIN" encode --raw-rgb "$size" --frames "$raw" --fps 30 --codec h264 --crf 23 --preset medium \
        -o "$work/ours-$size.mp4" >/dev/null
    end=$(now)
    ours=$(echo "$frames / ($end - $start)" | bc -l)

    start=$(now)
    ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -s "$size" -r 30 -i "$raw" -c:v libx264 -preset medium -crf 23 \
        -pix_fmt yuv420p -movflags +faststart "$work/ffmpeg-$size.mp4"
    end=$(now)
    theirs=$(echo "$frames / ($end - $start)" | bc -l)

    printf '%-10s %5d frames   kinora %7.2f fps   ffmpeg %7.2f fps   ratio %.3f\n' \
        "$size" "$frames" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
}

echo "libx264 preset medium, crf 23, $(nproc) cores"
bench 832x480 "$FRAMES_480P"
bench 1920x1080 "$FRAMES_1080P"
