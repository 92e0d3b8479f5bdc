#!/bin/sh
# Regenerates pad.ogg, the demo's music cue: a 10-second A-minor pad (A3, C4, E4 sine tones with a slow tremolo and
# fades), mono 22.05 kHz Ogg Vorbis, about 15 KB. Needs the ffmpeg command-line tool.
set -e
cd "$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "sine=frequency=220:sample_rate=22050:duration=10" \
    -f lavfi -i "sine=frequency=261.63:sample_rate=22050:duration=10" \
    -f lavfi -i "sine=frequency=329.63:sample_rate=22050:duration=10" \
    -filter_complex "[0][1][2]amix=inputs=3,tremolo=f=0.5:d=0.3,afade=t=in:d=1.5,afade=t=out:st=7:d=3,volume=0.8" \
    -ac 1 -c:a libvorbis -q:a 0 -map_metadata -1 -fflags +bitexact -flags:a +bitexact pad.ogg
