#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ one after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 600); TARGETs among policy, decode, classify,
# sniff, config, json (default: all six). Each target fuzzes its working corpus
# fuzz/corpus/<target>/ (git-ignored), seeded from the committed
# fuzz/seeds/<target>/; crashes land in fuzz/artifacts/<target>/ and the
# libFuzzer output in fuzz/logs/<target>.log. One fuzzer process at a time
# (no -jobs/-workers: libFuzzer fuzzes in-process), at low priority.
#
# At the end a table: executions, exec/s, the final cov/ft, corpus size.
# Exits 1 if any target crashed (or timed out, or ran out of memory).
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`);
# the first build fetches the fuzz crate's dependencies from crates.io.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SECONDS_PER_TARGET="${1:-600}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi
shift || true
ALL=(policy decode classify sniff config json)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

max_len() {
    case "$1" in
        policy) echo 65536 ;;   # bodies: fixtures are a few KiB
        decode) echo 65536 ;;   # compressed bodies; decoded up to 1 MiB
        classify) echo 4096 ;;  # a request line
        sniff) echo 16384 ;;    # a ClientHello fits one TLS record
        config) echo 32768 ;;   # config files
        json) echo 65536 ;;     # documents, cut into chunks
        *) echo "unknown target $1 (one of: ${ALL[*]})" >&2; return 1 ;;
    esac
}

for t in "${TARGETS[@]}"; do max_len "$t" >/dev/null; done

mkdir -p fuzz/logs
: >fuzz/logs/build.log
echo "building fuzz targets (nightly, release with coverage)..." >&2
for t in "${TARGETS[@]}"; do
    (cd fuzz && cargo +nightly fuzz build "$t" 2>>logs/build.log >/dev/null) || {
        echo "build of $t failed, see fuzz/logs/build.log" >&2
        exit 2
    }
done

declare -A EXECS RATE COV FT CORP STATUS
failed=0
for t in "${TARGETS[@]}"; do
    corpus="fuzz/corpus/$t"
    artifacts="fuzz/artifacts/$t"
    log="fuzz/logs/$t.log"
    mkdir -p "$corpus" "$artifacts"
    # Seeds into the working corpus (kept if already there).
    if [ -d "fuzz/seeds/$t" ]; then cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true; fi
    before=$(find "$artifacts" -type f | wc -l)
    echo "== $t: ${SECONDS_PER_TARGET}s, max_len $(max_len "$t"), log $log" >&2
    set +e
    (cd fuzz && nice -n 10 cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -rss_limit_mb=2048 \
        -max_len="$(max_len "$t")" \
        -timeout=30 \
        -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/") >"$log" 2>&1
    rc=$?
    set -e
    after=$(find "$artifacts" -type f | wc -l)
    # The last status line: `#N DONE cov: C ft: F corp: K/S lim: L exec/s: R ...`
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    EXECS[$t]=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n 1)
    [ -n "${EXECS[$t]}" ] || EXECS[$t]=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
    RATE[$t]=$(grep -E '^stat::average_exec_per_sec:' "$log" | awk '{print $2}' | tail -n 1)
    [ -n "${RATE[$t]}" ] || RATE[$t]=$(grep -oE 'exec/s: [0-9]+' <<<"$last" | awk '{print $2}')
    COV[$t]=$(grep -oE 'cov: [0-9]+' <<<"$last" | awk '{print $2}')
    FT[$t]=$(grep -oE 'ft: [0-9]+' <<<"$last" | awk '{print $2}')
    CORP[$t]="$(find "$corpus" -type f | wc -l) files, $(du -sh "$corpus" | cut -f1)"
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        STATUS[$t]="CRASH (rc $rc, see $artifacts/)"
        failed=1
        grep -E '^(==[0-9]+==|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -n 8 >&2 || true
    else
        STATUS[$t]=ok
    fi
done

printf '\n%-9s %8s %12s %9s %7s %8s  %-22s %s\n' target seconds executions exec/s cov ft corpus status
for t in "${TARGETS[@]}"; do
    printf '%-9s %8s %12s %9s %7s %8s  %-22s %s\n' "$t" "$SECONDS_PER_TARGET" \
        "${EXECS[$t]:-?}" "${RATE[$t]:-?}" "${COV[$t]:-?}" "${FT[$t]:-?}" "${CORP[$t]}" "${STATUS[$t]}"
done
exit "$failed"
