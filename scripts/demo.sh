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

# Root for the namespaces: as root as it is, from a user account through sudo.
# shellcheck source=scripts/lib/root.sh
. scripts/lib/root.sh
as_root "$@"
for tool in ip nft curl openssl python3 cargo; do
    command -v "$tool" >/dev/null || { echo "demo: $tool is missing (system packages: scripts/setup.sh; Rust: rustup)" >&2; exit 1; }
done

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

bold "Building misp-warden, then a lab: namespaces for MISP, the gateway and the remote MISP"
# shellcheck source=scripts/lab/example.sh
. scripts/lab/example.sh
example_up "{}"
echo "lab $name: $name-in (MISP 192.0.2.10), $name-gw (gateway), $name-out (remote MISP 203.0.113.20)"

bold "Gateway ruleset: misp-warden nft --config config.json --mode gateway, loaded with nft -f"
ip netns exec "$name-gw" nft list table inet misp_warden | sed -n '/chain prerouting/,/^\t}/p'
bold "misp-warden started"
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
