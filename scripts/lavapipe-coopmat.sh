#!/bin/bash
# A CPU Vulkan device with tensor cores: Mesa 26's lavapipe, which has VK_KHR_cooperative_matrix (Debian 12's Mesa 22
# has not), so that the cooperative-matrix kernels run and are checked on a machine without a GPU.
#
#   scripts/lavapipe-coopmat.sh install          fetch it once into $KINORA_COOPMAT_DIR (/opt/kinora/lavapipe-coopmat)
#   scripts/lavapipe-coopmat.sh run PROGRAM ARGS runs an ELF program on it, with Debian 13's validation layer
#   scripts/lavapipe-coopmat.sh conformance      installs it, builds kinora-gpu-check and runs every conformance case
#                                                on it with validation; fails unless every case ran and passed; then
#                                                builds and runs the tensor-core XCTests there
#
# Mesa 26 (trixie-backports) needs Debian 13's C library, so it is not installed system-wide: its packages and their
# libraries are unpacked into one folder, and `run` starts the program with that folder's dynamic loader and
# libraries (a newer glibc runs binaries built for Debian 12's). Only Vulkan sees the difference: the loader, the
# lavapipe driver and the validation layer (Debian 12's layer predates VK_KHR_cooperative_matrix) all come from
# the folder. Packages are fetched over https from deb.debian.org and checked against the SHA-256 sums of the
# suites' package indexes.
set -euo pipefail

root=${KINORA_COOPMAT_DIR:-/opt/kinora/lavapipe-coopmat}
mirror=https://deb.debian.org/debian
# The driver from trixie-backports; everything it and the layer load from trixie (or its backports, when the driver
# was built against a library there). The LLVM and libdisplay-info it links are read from its Depends, so a rebuild of
# the backport against newer ones is followed; a library still missing after that fails the install by name.
driver_suite=trixie-backports
base_suite=trixie
base_packages=(libc6 libstdc++6 libgcc-s1 libz3-4 libxml2 libffi8 libedit2 libtinfo6 libicu76 liblzma5 libbsd0 libmd0
               libzstd1 zlib1g libexpat1 libwayland-client0 libdrm2 libvulkan1 vulkan-validationlayers)
lib=$root/usr/lib/x86_64-linux-gnu

die() { echo "lavapipe-coopmat: $*" >&2; exit 1; }

# The package index of suite $1 into the file $2.
index() {
    curl -fsSL --retry 3 "$mirror/dists/$1/main/binary-amd64/Packages.xz" | xz -d > "$2" \
        || die "cannot read the $1 package index from $mirror"
}

# The index entry of package $1 in the first of the indexes that follow that has it.
entry() {
    local package=$1; shift
    local file
    for file in "$@"; do
        awk -v p="Package: $package" '$0 == p { on = 1 } on && /^$/ { exit } on' "$file" | grep . && return
    done
    return 1
}

# Downloads and unpacks package $1 from the first of the indexes that follow that has it, checked against its SHA-256.
fetch() {
    local package=$1; shift
    local record file sum
    record=$(entry "$package" "$@") || die "$package is in neither $driver_suite nor $base_suite"
    file=$(awk '/^Filename:/ { print $2 }' <<<"$record")
    sum=$(awk '/^SHA256:/ { print $2 }' <<<"$record")
    [ -n "$file" ] && [ -n "$sum" ] || die "$package: no file or checksum in the index"
    curl -fsSL --retry 3 -o "$root/deb/${file##*/}" "$mirror/$file" || die "cannot download $file"
    echo "$sum  $root/deb/${file##*/}" | sha256sum -c --quiet - || die "$file: SHA-256 mismatch"
    dpkg-deb -x "$root/deb/${file##*/}" "$root"
}

install() {
    [ -f "$root/ready" ] && return
    if ! command -v curl > /dev/null || ! command -v xz > /dev/null; then
        apt-get update -qq && apt-get install -y -qq curl xz-utils > /dev/null
    fi
    rm -rf "$root"
    mkdir -p "$root/deb"
    local backports=$root/deb/Packages.$driver_suite base=$root/deb/Packages.$base_suite
    index "$driver_suite" "$backports"
    index "$base_suite" "$base"
    local driver versioned package
    driver=$(entry mesa-vulkan-drivers "$backports") || die "mesa-vulkan-drivers is not in $driver_suite"
    versioned=$(grep '^Depends:' <<<"$driver" | grep -oE 'lib(llvm|display-info)[0-9.]+' | sort -u)
    echo "lavapipe-coopmat: mesa-vulkan-drivers $(awk '/^Version:/ { print $2 }' <<<"$driver") from" \
        "$driver_suite, with" $versioned
    fetch mesa-vulkan-drivers "$backports"
    for package in $versioned "${base_packages[@]}"; do
        fetch "$package" "$backports" "$base"
    done
    local missing
    missing=$("$lib/ld-linux-x86-64.so.2" --library-path "$lib" --list "$lib/libvulkan_lvp.so" | grep "not found") \
        || true
    [ -z "$missing" ] || die "the driver needs libraries the install lacks: $missing"
    cat > "$root/lvp_icd.json" <<JSON
{"file_format_version": "1.0.1", "ICD": {"library_path": "$lib/libvulkan_lvp.so", "api_version": "1.4.0"}}
JSON
    local layers=$root/usr/share/vulkan/explicit_layer.d
    sed -i "s#\"library_path\": \"libVkLayer_khronos_validation.so\"#\"library_path\": \"$lib/libVkLayer_khronos_validation.so\"#" \
        "$layers/VkLayer_khronos_validation.json"
    rm -rf "$root/deb"
    touch "$root/ready"
    echo "lavapipe-coopmat: $(ls "$root"/usr/share/doc | grep -c .) packages in $root"
}

run() {
    [ -f "$root/ready" ] || die "not installed; run: $0 install"
    [ $# -ge 1 ] || die "usage: $0 run PROGRAM [ARGS...]"
    local program
    program=$(command -v "$1") || die "$1: no such program"
    shift
    VK_ICD_FILENAMES=$root/lvp_icd.json VK_DRIVER_FILES=$root/lvp_icd.json \
        VK_LAYER_PATH=$root/usr/share/vulkan/explicit_layer.d \
        exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$program" "$@"
}

# Every kernel against its CPU reference on the tensor-core tier: no case may fail or be skipped, so a driver that
# lost its cooperative matrix fails here instead of passing by skipping.
conformance() {
    install
    swift build --product kinora-gpu-check > /dev/null
    local output
    output=$("$0" run .build/debug/kinora-gpu-check conformance --validation --seed "${SEED:-20261206}") \
        || { grep -vE '^PASS ' <<<"$output" || true; die "conformance failed"; }
    grep -vE '^PASS ' <<<"$output"
    grep -q "tier cooperative-matrix" <<<"$output" || die "the device is not on the cooperative-matrix tier"
    grep -qE "conformance: [0-9]+ passed, 0 failed, 0 skipped" <<<"$output" || die "cases were skipped"
    # The tensor-core XCTests, which the default device (Debian's lavapipe, without cooperative matrices) skips.
    swift build --build-tests > /dev/null
    output=$("$0" run .build/debug/KinoraPackageTests.xctest "$tensor_core_tests" 2>&1) \
        || { echo "$output"; die "tensor-core tests failed"; }
    local totals
    totals=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" <<<"$output" | tail -1 || true)
    echo "${totals:-no test totals}"
    grep -qE "Executed [1-9][0-9]* tests?, with (.* skipped and )?0 failures" <<<"$totals" \
        || { echo "$output"; die "the tensor-core tests did not run"; }
}

tensor_core_tests=KinoraTensorTests.TensorCoreKernelTests,KinoraTensorTests.CooperativeMatrixMatmulTests,KinoraTensorTests.Float8CooperativeMatrixTests

case "${1:-}" in
    install) install ;;
    run) shift; run "$@" ;;
    conformance) conformance ;;
    *) die "usage: $0 install | run PROGRAM [ARGS...] | conformance" ;;
esac
