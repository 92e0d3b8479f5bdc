#!/usr/bin/env bash
# One prepared check for a lent GPU machine (NVIDIA H100/H200, no Swift there), in two halves.
#
#   bash scripts/gpu-check.sh --prepare   here: builds kinora-gpu-check (release, --static-swift-stdlib, no media
#                                         libraries), checks what it links, packs it into .gpu-check/, downloads the
#                                         Vulkan loader's .debs into .gl/ and the diffusers wheels into .whl/ (all
#                                         three ignored by git), checks the size that travels, and prints the exact
#                                         call of the device tool's `run`.
#   bash scripts/gpu-check.sh             there (what that call runs): installs the loader if missing, then lists the
#                                         devices, checks every kernel against its CPU reference (tensor-core
#                                         variants included), times the kernel benchmarks (--size large) and SD 1.5's
#                                         512² UNet step and VAE decode, and times the same in PyTorch CUDA
#                                         (scripts/bench-torch.py, diffusers from the carried wheels), printing each as
#                                         ours/PyTorch last. Logs go to $OUT (./gpu-check-out without it). Each step
#                                         gets what is left of an 8-minute budget; a failing step does not stop the
#                                         later ones, and the exit status is non-zero if any step failed.
#
# To try the second half on a machine without a GPU (lavapipe, PyTorch on the CPU): BENCH_SIZE=small SD_SIZE=64
# TORCH_DEVICE=cpu PYTHON=/path/to/python-with-torch bash scripts/gpu-check.sh
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bundle=.gpu-check
binary_name=kinora-gpu-check
# Wheels for bench-torch.py's model stages: the image has PyTorch, huggingface_hub, safetensors and the rest, not these.
wheels=(diffusers==0.42.1 importlib_metadata==10.2.0)
# What may travel: the working tree and the carried folders together (the device tool's limit is 64 MiB).
travel_limit=$((60 * 1024 * 1024))

prepare() {
    set -e
    echo "== building $binary_name (release, static Swift runtime)"
    swift build -c release --static-swift-stdlib --product "$binary_name"
    local built=".build/release/$binary_name"
    echo "== what it links"
    ldd "$built"
    # Only glibc's own libraries and the C++ runtime that every Linux with PyTorch has; libvulkan is loaded with dlopen.
    local unexpected
    local allowed='linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|lib(c|m|dl|pthread|rt|util)\.so\.[0-9]+'
    allowed+='|libstdc\+\+\.so\.6|libgcc_s\.so\.1'
    unexpected=$(ldd "$built" | awk '{print $1}' | grep -vE "^($allowed)$" || true)
    if [[ -n "$unexpected" ]]; then
        echo "gpu-check: $built needs libraries the GPU machine lacks: $unexpected" >&2
        exit 1
    fi
    echo "== smoke test on this machine's device"
    "$built" devices | tail -8
    if ! "$built" devices | grep -Eq "tensor-core kernels +yes"; then
        echo "gpu-check: this build has no tensor-core kernels (glslang 13 missing): run scripts/setup.sh" >&2
        exit 1
    fi
    mkdir -p "$bundle"
    strip -o "$bundle/$binary_name" "$built"
    xz -T0 -6 -f "$bundle/$binary_name"

    echo "== Vulkan loader .debs (the device tool's README command)"
    rm -rf .gl
    mkdir -p .gl /tmp/amd64/partial
    local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    # shellcheck disable=SC2086
    apt-get $o update -qq
    # shellcheck disable=SC2086
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

    echo "== wheels for bench-torch.py --model"
    rm -rf .whl
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any -d .whl "${wheels[@]}"

    for folder in .gl "$bundle" .whl; do
        git check-ignore -q "$folder" || { echo "gpu-check: $folder is not ignored by git" >&2; exit 1; }
    done
    local travelling
    travelling=$( (git ls-files -co --exclude-standard -z; find .gl "$bundle" .whl -type f -print0) \
        | du -cb --files0-from=- | tail -1 | cut -f1)
    echo "== $((travelling / 1024 / 1024)) MiB would travel (limit 64 MiB): the binary packed is" \
        "$(du -h "$bundle/$binary_name.xz" | cut -f1)"
    if ((travelling > travel_limit)); then
        echo "gpu-check: $travelling bytes would travel, over $travel_limit" >&2
        exit 1
    fi
    cat <<EOF

Ready. On a session that is lent a GPU, make this one call of the device tool's run (nothing else first):
  command:   for f in .gl/*.deb; do dpkg -x \$f /; done; ldconfig; bash scripts/gpu-check.sh
  carry:     [".gl", "$bundle", ".whl"]
  timeout_s: 540
Its files come back from \$OUT: gpu-check.log (everything), devices.txt, conformance.txt, kernels.json, sd15.json and
torch.txt (the ours/PyTorch table, also the end of the reply). Then call give_back.
EOF
}

# Runs "$@" with at most $1 seconds (or what is left of the budget), its output into $out/$2 and the log.
step() {
    local cap=$1 file=$2
    shift 2
    local left=$((deadline - SECONDS))
    ((left < cap)) && cap=$left
    if ((cap < 10)); then
        echo "== skipped (budget spent): $*"
        failed+=("$file: no time left")
        return 1
    fi
    echo "== $* (at most ${cap} s)"
    local started=$SECONDS
    # Standard output into the file and the log; standard error (warnings) into the log only.
    timeout --kill-after=10 "$cap" "$@" | tee "$out/$file"
    local status=${PIPESTATUS[0]}
    echo "== exit $status after $((SECONDS - started)) s"
    ((status == 0)) || failed+=("$file: exit $status")
    return "$status"
}

check() {
    out="${OUT:-$root/gpu-check-out}"
    mkdir -p "$out"
    exec > >(tee "$out/gpu-check.log") 2>&1
    deadline=$((SECONDS + 470))
    failed=()
    echo "== $(date -u +%FT%TZ) on $(hostname): $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader \
        2>/dev/null || echo 'no nvidia-smi')"
    if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
        for deb in .gl/*.deb; do dpkg -x "$deb" /; done
        ldconfig
    fi
    local binary=/tmp/$binary_name
    if [[ -f "$bundle/$binary_name.xz" ]]; then
        if command -v xz > /dev/null; then
            xz -dc "$bundle/$binary_name.xz" > "$binary"
        else
            python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' \
                "$bundle/$binary_name.xz" > "$binary"
        fi
        chmod +x "$binary"
    else
        binary="$root/.build/release/$binary_name"
    fi
    [[ -x "$binary" ]] || { echo "gpu-check: no $binary_name; run scripts/gpu-check.sh --prepare first" >&2; exit 1; }
    # The NVIDIA driver's ICD file is not always where the loader looks (the device tool's README).
    local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if ! "$binary" devices --json 2>/dev/null | grep -q '"vendorID" : 4318' && [[ -f "$icd" ]]; then
        export VK_DRIVER_FILES="$icd"
        export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
        echo "== no NVIDIA Vulkan device by default; VK_DRIVER_FILES=$icd"
    fi
    step 60 devices.txt "$binary" devices
    step 120 conformance.txt "$binary" conformance
    step 150 kernels.json "$binary" bench --size "${BENCH_SIZE:-large}" --json
    step 120 sd15.json "$binary" sd15 --size "${SD_SIZE:-512}" --json
    local python="${PYTHON:-python3}" model=()
    if ls .whl/*.whl > /dev/null 2>&1 && "$python" -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target /tmp/gpu-check-site .whl/*.whl; then
        export PYTHONPATH=/tmp/gpu-check-site${PYTHONPATH:+:$PYTHONPATH}
    fi
    if [[ -s "$out/sd15.json" ]] && "$python" -c 'import diffusers' 2> /dev/null; then
        model=(--model "$out/sd15.json")
    fi
    PYTHONUNBUFFERED=1 step 150 torch.txt "$python" scripts/bench-torch.py "$out/kernels.json" \
        --device "${TORCH_DEVICE:-cuda}" "${model[@]}"
    echo "== $(tail -1 "$out/conformance.txt" 2>/dev/null)"
    if ((${#failed[@]})); then
        echo "== failed steps: ${failed[*]}"
        exit 1
    fi
    echo "== every step finished in $SECONDS s"
}

case "${1:-}" in
    --prepare) prepare ;;
    "") check ;;
    *) echo "usage: scripts/gpu-check.sh [--prepare]" >&2; exit 2 ;;
esac
