#!/usr/bin/env bash
# Builds the libFuzzer targets under Fuzz/ and runs each for SECONDS (default 60); exits
# non-zero on the first crash, leak or failed invariant, leaving the input in Fuzz/artifacts/.
#
#   scripts/fuzz.sh 300            # make fuzz: five minutes per target
#   scripts/fuzz.sh 10             # the short run in make test
#   FUZZ_TARGETS="FuzzTTS" scripts/fuzz.sh 60
#   Fuzz/.build/debug/FuzzTTS Fuzz/artifacts/crash-…   # replay one input
#
# Each target starts from the committed seeds (Fuzz/Corpus/<target>, from sensor_vectors.json);
# what it finds goes to a scratch corpus that is thrown away, so runs never dirty the tree.
set -euo pipefail
SECONDS_PER_TARGET="${1:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/Fuzz"
SWIFT="${SWIFT:-swift}"
TARGETS="${FUZZ_TARGETS:-FuzzMilesightDecoders FuzzPressacDecoders FuzzMilesightGateway FuzzChirpStack FuzzTTS FuzzPressacGateway FuzzIrisys}"

echo "== building fuzz targets (swift build -Xswiftc -sanitize=fuzzer)"
# Only a root package's pins count: build against the same dependency versions as the product.
cp "$ROOT/Package.resolved" "$FUZZ/Package.resolved"
(cd "$FUZZ" && "$SWIFT" build -c debug --scratch-path .build \
    -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library)

mkdir -p "$FUZZ/artifacts"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
failed=0
for target in $TARGETS; do
    mkdir -p "$WORK/$target"
    echo "== $target for ${SECONDS_PER_TARGET}s"
    if ! "$FUZZ/.build/debug/$target" "$WORK/$target" "$FUZZ/Corpus/$target" \
        -dict="$FUZZ/json.dict" -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$FUZZ/artifacts/$target-" \
        >"$WORK/$target.log" 2>&1; then
        tail -n 40 "$WORK/$target.log"
        echo "FAIL $target: crash input in $FUZZ/artifacts/ (replay: $FUZZ/.build/debug/$target <file>)"
        failed=$((failed + 1))
        continue
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/$target.log" | grep -o '[0-9]*$' || echo "?")
    echo "ok $target: $runs inputs, no crash"
done
total=$(echo $TARGETS | wc -w)
echo "fuzz: $((total - failed)) of $total targets clean, $failed crashed"
[ "$failed" -eq 0 ]
