#!/usr/bin/env bash
# The one test command: what a developer runs and what CI (.ci/run) runs.
# Formatting, lints, every Rust test (unit, integration, the CLI as a user
# runs it), the JSON schema check, and the PyMISP corpus (real client
# serialisations through `misp-warden eval`).
set -euo pipefail
cd "$(dirname "$0")/.."

# Python test helpers live in a private virtualenv, created on first use.
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# h2: the HTTP/2 frame-level client of the bypass corpus (tests/e2e_bypass.rs);
# brotli, zstandard: its marker search decodes what the remote received with
# decoders of its own (scripts/lab/find_markers.py), not with the product's.
if ! "$venv/bin/python" -c 'import jsonschema, pymisp, h2, brotli, zstandard' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'jsonschema>=4.18' pymisp 'h2>=4.1' brotli zstandard
fi

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
"$venv/bin/python" scripts/check_schema.py
"$venv/bin/python" scripts/pymisp_corpus.py target/debug/misp-warden
