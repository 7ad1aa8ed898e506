#!/usr/bin/env bash
# A first look at misp-warden's rule engine, with no network and no root:
# validate the shipped example config, then judge three pushes from the
# internal MISP to a partner the way the appliance judges them on the wire.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/misp-warden
cfg=config/misp-warden.json

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; set +e; "$@"; echo "(exit $?)"; set -e; }

run "$bin" check --config "$cfg"
run "$bin" eval --config "$cfg" --from 192.0.2.10 --to misp.partner.example \
    --method POST --path /events/add/metadata:1 --body demo/event-allowed.json
run "$bin" eval --config "$cfg" --from 192.0.2.10 --to misp.partner.example \
    --method POST --path /events/add/metadata:1 --body demo/event-blocked.json
gz=$(mktemp); trap 'rm -f "$gz"' EXIT
gzip -c demo/event-blocked.json > "$gz"
run "$bin" eval --config "$cfg" --from 192.0.2.10 --to misp.partner.example \
    --method POST --path /events/add/metadata:1 --header 'Content-Encoding: gzip' --body "$gz"
run "$bin" eval --config "$cfg" --from 192.0.2.10 --to misp.partner.example \
    --method GET --path /users/resetauthkey/1
