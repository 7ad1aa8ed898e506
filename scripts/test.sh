#!/usr/bin/env bash
# The one test command: what a developer runs and what CI (.ci/run) runs.
# Formatting, lints, every Rust test (unit, integration, the CLI as a user
# runs it, the end-to-end lab), the JSON schema check, and the PyMISP corpus
# (real client serialisations through `misp-warden eval`).
#
# Run it as root, or as a user who may sudo (it asks sudo itself): the
# end-to-end tests build network namespaces. Without sudo it runs unprivileged. System packages: scripts/setup.sh.
# MISP_WARDEN_REQUIRE_ALL=1 (CI sets it) turns every test's "skipped" — not
# root, a tool missing — into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/root.sh
. scripts/lib/root.sh
as_root --optional "$@"

# Python test helpers live in a private virtualenv, created on first use and
# made again when a previous attempt left it half-made.
venv=.venv
# h2: the HTTP/2 frame-level client of the bypass corpus (tests/e2e_bypass.rs);
# brotli, zstandard: its marker search decodes what the remote received with
# decoders of its own (scripts/lab/find_markers.py), not with the product's;
# podman-compose: tests/compose.rs (Debian's 1.0.3 passes network_mode
# "service:…" to podman as it is, which podman does not know).
helpers=('jsonschema>=4.18' pymisp 'h2>=4.1' brotli zstandard 'podman-compose>=1.1')
if [ -e "$venv" ] && ! { [ -x "$venv/bin/python" ] && [ -x "$venv/bin/pip" ] &&
    "$venv/bin/python" -c 'import sys' 2>/dev/null; }; then
    echo "test.sh: $venv is incomplete (an earlier attempt failed): making it again" >&2
    rm -rf "$venv"
fi
if [ ! -e "$venv" ]; then
    if ! python3 -m venv "$venv"; then
        rm -rf "$venv"
        echo "test.sh: python3 -m venv failed; install the system packages: scripts/setup.sh" >&2
        exit 1
    fi
fi
if ! "$venv/bin/python" -c 'import jsonschema, pymisp, h2, brotli, zstandard' 2>/dev/null || [ ! -x "$venv/bin/podman-compose" ]; then
    echo "test.sh: installing the Python test helpers into $venv: ${helpers[*]}" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${helpers[@]}"
fi

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
"$venv/bin/python" scripts/check_schema.py
"$venv/bin/python" scripts/pymisp_corpus.py target/debug/misp-warden
