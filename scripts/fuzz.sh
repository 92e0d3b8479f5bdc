#!/bin/bash
# Fuzzes every weight-file reader and the workflow parser with libFuzzer: builds the harnesses of Fuzz/ with
# -sanitize=fuzzer,address, seeds each from the project's fixtures and its kept crash inputs, runs each for SECONDS,
# and prints executions and findings per reader. A crash, a hang (an input over 10 s) or an out-of-memory stops that
# reader; its input is written under fuzz-findings/<reader>/ (copy it to Tests/Fixtures/fuzz/<reader>/ to keep it as
# a regression test). Exit status 1 when any reader found something.
#
#   scripts/fuzz.sh [SECONDS] [READER...]     readers: safetensors onnx ncnn pytorch lora sentencepiece tokenizer-json workflow (default: all, 60 s each)
#   FUZZ_SEED=N fixes the random seed (CI does, so its short run is repeatable); 0 or unset picks one.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(safetensors onnx ncnn pytorch lora sentencepiece tokenizer-json workflow)

build_log=$(mktemp)
if ! swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$build_log" 2>&1; then
    grep -E "error" "$build_log" >&2
    echo "fuzz: the harnesses did not build (log: $build_log)" >&2
    exit 2
fi
grep -E "^Build complete" "$build_log"
rm -f "$build_log"

seeds_for() {
    case "$1" in
        safetensors) ls Tests/Fixtures/pytorch/expected.safetensors Tests/Fixtures/piper/*.safetensors ;;
        onnx) ls Tests/Fixtures/fuzz/seeds/onnx/* ;;
        ncnn) ls Tests/Fixtures/fuzz/seeds/ncnn/* ;;
        pytorch) ls Tests/Fixtures/pytorch/*.pt ;;
        lora) ls Tests/Fixtures/lora/sd-*.safetensors ;;
        sentencepiece) ls Tests/Fixtures/t5-tokenizer/*/spiece.model ;;
        tokenizer-json) ls Tests/Fixtures/t5-tokenizer/*/tokenizer*.json ;;
        workflow) ls examples/*.yaml Tests/Fixtures/workflow/*.yaml ;;
    esac
    [ -d "Tests/Fixtures/fuzz/$1" ] && find "Tests/Fixtures/fuzz/$1" -type f
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
printf '%-12s %12s %10s  %s\n' reader executions "exec/s" result
for reader in "${readers[@]}"; do
    corpus="$work/$reader"
    findings="fuzz-findings/$reader"
    mkdir -p "$corpus" "$findings"
    # Seeds keep their folder in their name: several fixtures share a file name (spiece.model).
    seeds_for "$reader" | while read -r seed; do cp "$seed" "$corpus/$(basename "$(dirname "$seed")")-$(basename "$seed")"; done
    log="$work/$reader.log"
    ASAN_OPTIONS=detect_leaks=0 ".build-fuzz/release/fuzz-$reader" "$corpus" -max_total_time="$seconds" \
        -max_len=65536 -timeout=10 -rss_limit_mb=4096 -seed="${FUZZ_SEED:-0}" -artifact_prefix="$findings/" \
        -print_final_stats=1 \
        >"$log" 2>&1
    status=$?
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    if [ "$status" -eq 0 ]; then
        result="0 crashes, 0 hangs"
        rmdir "$findings" 2>/dev/null
    else
        failed=1
        result="FOUND: $(ls "$findings" | tr '\n' ' ')(log: $log kept as $findings/log.txt)"
        cp "$log" "$findings/log.txt"
    fi
    printf '%-12s %12s %10s  %s\n' "$reader" "${runs:-?}" "${rate:-?}" "$result"
done
rmdir fuzz-findings 2>/dev/null
exit "$failed"
