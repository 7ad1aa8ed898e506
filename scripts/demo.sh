#!/usr/bin/env bash
# misp-warden doing its job, in a self-contained lab (root, Linux; nothing
# outside three network namespaces it creates and removes):
#
#   internal MISP 192.0.2.10 ──▶ gateway: nftables TPROXY ──▶ misp-warden ──▶ remote MISP 203.0.113.20
#
# The "internal MISP" pushes two events to misp.partner.example over HTTPS,
# exactly as MISP's sync does (POST /events/add/metadata:1). It has no proxy
# setting: the gateway's nftables rules hand the connections to misp-warden,
# which judges them with config/misp-warden.json. One event is allowed and
# arrives byte for byte; the other carries personal data (a `person` object,
# a blocked object type) and never leaves the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "demo: needs root (it creates network namespaces); try: sudo $0" >&2
    exit 1
fi
for tool in ip nft curl openssl python3; do
    command -v "$tool" >/dev/null || { echo "demo: $tool is missing (apt-get install nftables iproute2 curl openssl python3)" >&2; exit 1; }
done

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

bold "Building misp-warden (release)"
cargo build --release --quiet
bin=$PWD/target/release/misp-warden

name=mwdemo$$
dir=$(mktemp -d /tmp/misp-warden-demo.XXXXXX)
chmod 0755 "$dir"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/lab.sh down "$name"
    rm -rf "$dir"
}
trap cleanup EXIT

bold "Lab: namespaces $name-in (MISP), $name-gw (gateway), $name-out (remote MISP)"
scripts/lab.sh up "$name" "$dir"

# The shipped example config, with the daemon's files placed in the lab.
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
cfg = json.load(open("config/misp-warden.json"))
cfg["warden"].update({
    "ca_cert": f"{d}/warden-ca.pem", "ca_key": f"{d}/warden-ca.key",
    "upstream_ca": f"{d}/remote-ca.pem", "user": "nobody", "group": "nogroup",
})
json.dump(cfg, open(f"{d}/config.json", "w"), indent=2)
PY

bold "Gateway ruleset: misp-warden nft --config config.json --mode gateway, loaded with nft -f"
MISP_WARDEN=$bin scripts/lab.sh guard "$name" "$dir/config.json" gateway
ip netns exec "$name-gw" nft list table inet misp_warden | sed -n '/chain prerouting/,/^\t}/p'

ip netns exec "$name-out" python3 scripts/lab/remote_misp.py --listen 203.0.113.20:443 \
    --cert "$dir/partner.pem" --key "$dir/partner.key" \
    --record "$dir/received.jsonl" --ready "$dir/remote.ready" >"$dir/remote.log" 2>&1 &
pids+=($!)
ip netns exec "$name-gw" "$bin" run --config "$dir/config.json" 2>"$dir/warden.log" &
pids+=($!)
for _ in $(seq 50); do
    grep -q 'misp-warden ready' "$dir/warden.log" 2>/dev/null && [ -e "$dir/remote.ready" ] && break
    sleep 0.1
done
grep -q 'misp-warden ready' "$dir/warden.log" || { cat "$dir/warden.log"; exit 1; }
cat "$dir/warden.log"

push() {
    bold "MISP pushes $1 to https://misp.partner.example/events/add/metadata:1"
    ip netns exec "$name-in" curl -sS --max-time 20 --cacert "$dir/warden-ca.pem" \
        -H 'Authorization: demo-sync-key-not-a-real-one' -H 'Content-Type: application/json' \
        -H 'Accept: application/json' --data-binary "@$1" \
        -o "$dir/answer" -w 'HTTP %{http_code}\n' https://misp.partner.example/events/add/metadata:1
    if grep -q '"Forbidden"' "$dir/answer"; then
        python3 -m json.tool "$dir/answer"
    fi
}
push demo/event-allowed.json
push demo/event-blocked.json

bold "What the remote MISP received"
python3 - "$dir/received.jsonl" <<'PY'
import base64, hashlib, json, sys
allowed = hashlib.sha256(open("demo/event-allowed.json", "rb").read()).hexdigest()
blocked = hashlib.sha256(open("demo/event-blocked.json", "rb").read()).hexdigest()
for line in open(sys.argv[1]):
    r = json.loads(line)
    what = {allowed: "demo/event-allowed.json, byte for byte",
            blocked: "demo/event-blocked.json (LEAKED!)"}.get(r["body_sha256"], f"{len(base64.b64decode(r['body_b64']))} bytes")
    print(f"  {r['method']} {r['path']}  <- {what}")
PY

bold "What misp-warden logged (no attribute values, no keys)"
grep -E 'allowed|block' "$dir/warden.log" | sed -n '1,10p'
bold "Done: the lab is being removed."
