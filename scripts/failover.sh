#!/usr/bin/env bash
# Failover times of the active/passive pair (a program that measures, not a
# test): RUNS failovers per fault on the active box — daemon SIGKILL, daemon
# SIGTERM, interfaces down, box removed — each on a pair built for it
# (scripts/pair.sh) while MISP pushes allowed and blocked events in a loop;
# prints min, median and max of the time from the fault to the first
# allowed push through the other box. Every run is also checked as the
# tests check it (nothing blocked arrived, nothing unguarded); exit 1 if
# one was not. About 10 s a run.
#
#   sudo scripts/failover.sh [RUNS] [--faults kill,term,links,remove] [--markdown]
#
# --markdown prints the table docs/deployment.md shows. Root (or a user who may
# sudo); needs keepalived (scripts/setup.sh) and builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/root.sh
. scripts/lib/root.sh
as_root "$@"

runs=10
if [ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    runs=$1
    shift
fi
for tool in ip nft curl openssl keepalived python3 cargo; do
    command -v "$tool" >/dev/null || { echo "failover: $tool is missing (scripts/setup.sh; Rust: rustup)" >&2; exit 1; }
done

cargo build --release --quiet
# find_markers.py decodes what the remote received with brotli and zstandard.
venv=.venv
if ! "$venv/bin/python" -c 'import brotli, zstandard' 2>/dev/null; then
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check brotli zstandard
fi
MISP_WARDEN=$PWD/target/release/misp-warden exec "$venv/bin/python" scripts/lab/pair.py bench \
    --runs "$runs" "$@"
