#!/usr/bin/env bash
# Regenerates nftables/{gateway,container-host,same-host}.nft: what
# `misp-warden nft` renders for the shipped example config. They are examples
# to read; on a real host render from your own config (the systemd unit does).
# tests/cli.rs fails when these files and the renderer disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
for mode in gateway container-host same-host; do
    target/debug/misp-warden nft --config config/misp-warden.json --mode "$mode" >"nftables/$mode.nft"
done
