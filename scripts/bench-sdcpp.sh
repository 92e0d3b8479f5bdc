#!/usr/bin/env bash
# Seconds per UNet step (with CFG) and per VAE decode of SD 1.5: `kinora image` against stable-diffusion.cpp's sd-cli
# (ggml's Vulkan backend; the one vendored in PyPI's stable-diffusion-cpp-python 0.4.7, built with -DSD_VULKAN=ON),
# on the same Vulkan device, the same single-file checkpoint (full-size SD 1.5, random fp16 weights written by
# scripts/bench/make_sd15_checkpoint.py) and the same settings: 2 euler steps, CFG 7, a square picture of each size.
# Each run is a fresh process on both sides; runs alternate kinora, sd-cli, kinora, ... RUNS times per size.
#
# What is timed, from each side's own log:
# - a step: the second (last) step, whose weights are uploaded and whose pipelines were created in the first. Kinora
#   prints it with `--timings`; sd-cli's progress bar prints the mean over the steps so far after each step, so its
#   second step is 2 * mean(2) - mean(1) (2-decimal figures).
# - the decode: Kinora's from the end of the last step to the picture (it uploads the VAE's weights first);
#   sd-cli's "decode_first_stage completed, taking" (its weights are on the device since loading). Both include
#   creating that process's decode pipelines.
# The table holds the medians; ratio = sd-cli's median / Kinora's (above 1: Kinora is faster). A run in which
# sd-cli dies after sampling still gives its step (its decode is left out, "-" when none is left; its log is kept).
# On Debian 12's lavapipe (Mesa 22.3.6) sd-cli was seen to die with heap corruption inside the driver while creating
# pipelines, at the start of the UNet or of the decode.
#
# Everything the peer needs is made here once, into CACHE: Debian packages when missing (cmake, g++, glslc,
# libvulkan-dev, Mesa's lavapipe; installed when run as root), the sdist from files.pythonhosted.org (sha256
# checked), sd-cli built from it, and the checkpoint (seeded, ~2.1 GB). ggml's Vulkan backend leaves CPU devices out
# unless GGML_VK_VISIBLE_DEVICES names them, so it is set to the index of the device Kinora uses; both logs must
# name that device, and sd-cli's must not fall back to its CPU backend.
#
# KINORA_BIN: the kinora binary (default .build/release/kinora). SIZES (default "128 256"), RUNS (default 3),
# DEVICE: part of the Vulkan device's name (default llvmpipe). CACHE (default ~/.cache/kinora-bench/sdcpp), SEED
# (the checkpoint's, default 0). KINORA_ARGS, SDCPP_ARGS: extra arguments for each side. RUNNER: a command both
# programs are started through, e.g. RUNNER="scripts/lavapipe-coopmat.sh run" puts both on Mesa 26's lavapipe,
# where sd-cli runs (its Vulkan backend reports no matrix cores there; KINORA_TIER=fp16 keeps Kinora off them too).
set -euo pipefail

KINORA_BIN="${KINORA_BIN:-.build/release/kinora}"
SIZES="${SIZES:-128 256}"
RUNS="${RUNS:-3}"
DEVICE="${DEVICE:-llvmpipe}"
CACHE="${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kinora-bench/sdcpp}"
SEED="${SEED:-0}"
KINORA_ARGS="${KINORA_ARGS:-}"
SDCPP_ARGS="${SDCPP_ARGS:-}"
RUNNER="${RUNNER:-}"
PROMPT="a lighthouse on a cliff at dusk, oil painting"
STEPS=2
CFG=7
SDIST_NAME=stable_diffusion_cpp_python-0.4.7
SDIST_URL="https://files.pythonhosted.org/packages/b1/06/300aba9ac36e2166fbe45b4a29039a76f725ef08796f5472caf3e8c4e08d/\
$SDIST_NAME.tar.gz"
SDIST_SHA256=998d1957260dd5ae4e18a8acc0c14b0a8757aaa9f96515197b6d5bbf46df9282
here="$(cd "$(dirname "$0")" && pwd)"

[[ -x "$KINORA_BIN" ]] || { echo "no kinora binary at $KINORA_BIN (build with: swift build -c release)" >&2; exit 1; }
mkdir -p "$CACHE"

# Debian packages the peer's build and both runs need: a command already on PATH (a pip cmake, say) will do.
missing=()
for pair in cmake:cmake g++:g++ make:make glslc:glslc curl:curl python3:python3 libvulkan-dev: \
    mesa-vulkan-drivers: ca-certificates:; do
    package="${pair%%:*}" tool="${pair#*:}"
    [[ -n "$tool" ]] && command -v "$tool" > /dev/null && continue
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# The checkpoint writer's numpy: Debian's package for Debian's python3 (which refuses pip installs, PEP 668).
python3 -c "import numpy" 2>/dev/null || missing+=(python3-numpy)
if [[ "${#missing[@]}" -gt 0 ]]; then
    [[ "$(id -u)" -eq 0 ]] || { echo "missing packages (install as root): ${missing[*]}" >&2; exit 1; }
    echo "Installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
python3 -c "import numpy" 2>/dev/null \
    || { echo "no numpy for $(command -v python3) (Debian's python3-numpy serves /usr/bin/python3)" >&2; exit 1; }

# sd-cli, built once from the sdist's vendored stable-diffusion.cpp.
source_dir="$CACHE/$SDIST_NAME/vendor/stable-diffusion.cpp"
SD_CLI="$source_dir/build/bin/sd-cli"
if [[ ! -x "$SD_CLI" ]]; then
    tarball="$CACHE/$SDIST_NAME.tar.gz"
    if [[ ! -f "$tarball" ]] || ! echo "$SDIST_SHA256  $tarball" | sha256sum -c --quiet - 2>/dev/null; then
        echo "Downloading $SDIST_URL"
        curl -fsSL -o "$tarball.partial" "$SDIST_URL"
        echo "$SDIST_SHA256  $tarball.partial" | sha256sum -c --quiet - \
            || { echo "$SDIST_NAME.tar.gz does not have the pinned sha256" >&2; rm -f "$tarball.partial"; exit 1; }
        mv "$tarball.partial" "$tarball"
    fi
    [[ -f "$source_dir/CMakeLists.txt" ]] || tar -xzf "$tarball" -C "$CACHE"
    # ggml-vulkan asks for VK_EXT_layer_settings (validation's best-practice checks, only with its validation
    # switch on); Debian 12's Vulkan headers (1.3.239) predate that extension, so without it the instance is created
    # without those settings.
    vulkan_source="$source_dir/ggml/src/ggml-vulkan/ggml-vulkan.cpp"
    if ! grep -q "#ifdef VK_EXT_layer_settings" "$vulkan_source"; then
        sed -i -e 's|^    VkBool32 enable_best_practice = layer_settings;$|#ifdef VK_EXT_layer_settings\n&|' \
            -e 's|^\(    vk::InstanceCreateInfo instance_create_info(vk::InstanceCreateFlags{}, &app_info, layers, '\
'extensions\), &layer_setting_info);$|&\n#else\n\1);\n#endif|' "$vulkan_source"
        grep -q "^#ifdef VK_EXT_layer_settings" "$vulkan_source" && grep -q "layers, extensions);$" "$vulkan_source" \
            || { echo "could not patch $vulkan_source for Debian's Vulkan headers" >&2; exit 1; }
    fi
    echo "Building sd-cli (ggml Vulkan) in $source_dir/build; this takes a while once"
    cmake -S "$source_dir" -B "$source_dir/build" -DSD_VULKAN=ON -DSD_BUILD_EXAMPLES=ON -DCMAKE_BUILD_TYPE=Release \
        > "$CACHE/sd-cli-configure.log" 2>&1 || { tail -30 "$CACHE/sd-cli-configure.log" >&2; exit 1; }
    cmake --build "$source_dir/build" -j"$(nproc)" --target sd-cli > "$CACHE/sd-cli-build.log" 2>&1 \
        || { tail -30 "$CACHE/sd-cli-build.log" >&2; exit 1; }
fi

# The checkpoint both sides load.
checkpoint="$CACHE/sd15-random-seed$SEED.safetensors"
[[ -f "$checkpoint" ]] || python3 "$here/bench/make_sd15_checkpoint.py" "$checkpoint" --seed "$SEED"

# The device: Kinora's index for it is Vulkan's enumeration order, which GGML_VK_VISIBLE_DEVICES counts in too.
# shellcheck disable=SC2086
index=$($RUNNER "$KINORA_BIN" devices | sed -n "s/^\[\([0-9]*\)\] .*$DEVICE.*/\1/p" | head -1)
[[ -n "$index" ]] || { echo "no Vulkan device named like '$DEVICE' (kinora devices lists them)" >&2; exit 1; }
export GGML_VK_VISIBLE_DEVICES="$index"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The median of the numbers on standard input ("nan" lines, runs without that figure, left out; "nan" if none).
median() {
    { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END {
        if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One Kinora run: prints "step decode device".
run_kinora() {
    local size=$1 seed=$2 log="$work/kinora.log"
    # shellcheck disable=SC2086
    if ! $RUNNER "$KINORA_BIN" image --model "$checkpoint" --prompt "$PROMPT" --steps "$STEPS" --cfg "$CFG" \
        --sampler euler --width "$size" --height "$size" --seed "$seed" --device "$index" --stream-weights off \
        --timings -o "$work/kinora.png" $KINORA_ARGS > "$log" 2>&1; then
        echo "kinora failed:" >&2; tail -20 "$log" >&2; return 1
    fi
    local step decode device
    step=$(sed -n "s|^step $STEPS/$STEPS: \([0-9.]*\) s$|\1|p" "$log")
    decode=$(sed -n 's/^decode: \([0-9.]*\) s$/\1/p' "$log")
    device=$(sed -n 's/^device: //p' "$log")
    [[ -n "$step" && -n "$decode" && "$device" == *"$DEVICE"* ]] \
        || { echo "kinora's log lacks its timings or names another device:" >&2; cat "$log" >&2; return 1; }
    echo "$step $decode $device"
}

# One sd-cli run: prints "step decode device", decode "nan" when sd-cli died after sampling (its log is kept in
# CACHE/sd-cli-failure.log).
run_sdcpp() {
    local size=$1 seed=$2 log="$work/sdcpp.log" status=0
    # shellcheck disable=SC2086
    $RUNNER "$SD_CLI" -m "$checkpoint" -p "$PROMPT" --steps "$STEPS" --cfg-scale "$CFG" --sampling-method euler \
        -W "$size" -H "$size" -s "$seed" -o "$work/sdcpp.png" -v $SDCPP_ARGS > "$log" 2>&1 || status=$?
    if [[ "$status" -ne 0 ]]; then
        cp "$log" "$CACHE/sd-cli-failure.log"
        echo "sd-cli exited with status $status (log: $CACHE/sd-cli-failure.log):" >&2
        tail -3 "$log" >&2
    fi
    local device
    device=$(sed -n 's/.*ggml_vulkan: [0-9]* = \(.*\) | uma.*/\1/p' "$log" | head -1)
    if [[ "$device" != *"$DEVICE"* ]] || grep -q "Using CPU backend\|loading CPU backend" "$log"; then
        echo "sd-cli did not run on a Vulkan device named like '$DEVICE':" >&2; grep -i "vulkan\|backend" "$log" >&2
        return 1
    fi
    # The progress bar redraws with carriage returns: "  |====| 1/2 - 3.21s/it" (or "- 1.52it/s").
    tr '\r' '\n' < "$log" | awk -v steps="$STEPS" -v device="$device" '
        match($0, /[0-9]+\/[0-9]+ - [0-9.]+(s\/it|it\/s)/) {
            split(substr($0, RSTART, RLENGTH), f, /[\/ ]+/)
            value = f[4] + 0; if (f[4] ~ /it$/) value = 1 / value
            if (f[2] == steps) mean[f[1]] = value
        }
        /decode_first_stage completed, taking/ {
            match($0, /taking [0-9.]+s/); decode = substr($0, RSTART + 7, RLENGTH - 8)
        }
        END {
            if (!((steps - 1) in mean) || !(steps in mean)) exit 1
            printf "%.3f %s %s\n", steps * mean[steps] - (steps - 1) * mean[steps - 1], decode == "" ? "nan" : decode,
                device
        }' || { echo "sd-cli's log lacks its step times:" >&2; tail -5 "$log" >&2; return 1; }
}

rows=()
kinora_device="" sdcpp_device=""
for size in $SIZES; do
    : > "$work/kinora.times"; : > "$work/sdcpp.times"
    for ((run = 1; run <= RUNS; run++)); do
        read -r step decode kinora_device < <(run_kinora "$size" "$run") || exit 1
        echo "$step $decode" >> "$work/kinora.times"
        printf "size %d run %d kinora: step %7.2f s  decode %7.2f s\n" "$size" "$run" "$step" "$decode"
        read -r step decode sdcpp_device < <(run_sdcpp "$size" "$run") || exit 1
        echo "$step $decode" >> "$work/sdcpp.times"
        printf "size %d run %d sd-cli: step %7.2f s  decode %7s s\n" "$size" "$run" "$step" "$decode"
    done
    ks=$(cut -d' ' -f1 "$work/kinora.times" | median); kd=$(cut -d' ' -f2 "$work/kinora.times" | median)
    ss=$(cut -d' ' -f1 "$work/sdcpp.times" | median); sd=$(cut -d' ' -f2 "$work/sdcpp.times" | median)
    # A side with no figure (sd-cli died before its decode ended) prints "-".
    rows+=("$(awk -v size="$size" -v ks="$ks" -v ss="$ss" -v kd="$kd" -v sd="$sd" '
        function cell(x, width) { return x ~ /^[0-9.]+$/ ? sprintf("%" width ".3f", x) : sprintf("%" width "s", "-") }
        function ratio(a, b) {
            return a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0 ? sprintf("%7.2fx", a / b) : "       -"
        }
        BEGIN { print sprintf("%-6s", size) " " cell(ks, 12) " " cell(ss, 14) " " ratio(ss, ks) " " cell(kd, 14) " " \
            cell(sd, 16) " " ratio(sd, kd) }')")
done

echo
echo "device: kinora $kinora_device; sd-cli $sdcpp_device"
echo "SD 1.5, random fp16 single file ($(basename "$checkpoint")), $STEPS euler steps, CFG $CFG; medians of $RUNS runs"
echo "per side, alternating; ratio = sd-cli / kinora (above 1: kinora is faster)"
printf "%-6s %12s %14s %8s %14s %16s %8s\n" size "ours s/step" "theirs s/step" ratio "ours decode s" \
    "theirs decode s" ratio
printf "%s\n" "${rows[@]}"
