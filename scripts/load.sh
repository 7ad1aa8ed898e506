#!/usr/bin/env bash
# The load program (root; not a test): misp-warden in the namespace lab
# under abuse — thousands of idle connections, slowloris clients,
# decompression bombs — while MISP keeps pushing. Prints the daemon's peak
# memory and descriptors and the normal traffic's success rate, with the
# limits in force (scripts/lab/load.py does the work).
#
#   sudo scripts/load.sh [SECONDS] [IDLE] [SLOWLORIS] [BOMBS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30} idle=${2:-3000} slow=${3:-200} bombs=${4:-20}

cargo build --release --quiet
bin=$PWD/target/release/misp-warden
name=mwload$$
dir=$(mktemp -d /tmp/misp-warden-load.XXXXXX)
chmod 0755 "$dir"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/lab.sh down "$name"
    rm -rf "$dir"
}
trap cleanup EXIT

scripts/lab.sh up "$name" "$dir" >/dev/null
# Other hosts on MISP's network: the attackers.
for a in 60 61 62 63 70 71 80; do ip -n "$name-in" addr add "192.0.2.$a/24" dev in0; done

# The example config in the lab, limits at their defaults but for the
# memory figures: a 64 MiB body limit and a 256 MiB budget.
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
cfg = json.load(open("config/misp-warden.json"))
cfg["warden"].update({
    "ca_cert": f"{d}/warden-ca.pem", "ca_key": f"{d}/warden-ca.key",
    "upstream_ca": f"{d}/remote-ca.pem", "user": "nobody", "group": "nogroup",
    "max_body_bytes": 64 << 20, "body_budget_bytes": 256 << 20,
})
json.dump(cfg, open(f"{d}/config.json", "w"), indent=2)
PY
MISP_WARDEN=$bin scripts/lab.sh guard "$name" "$dir/config.json" gateway

ip netns exec "$name-out" python3 scripts/lab/remote_misp.py --listen 203.0.113.20:443 \
    --cert "$dir/partner.pem" --key "$dir/partner.key" \
    --record "$dir/received.jsonl" --ready "$dir/remote.ready" >"$dir/remote.log" 2>&1 &
pids+=($!)
# As many descriptors as this host allows (the limits, not the host, should
# be what stops the abuse).
ulimit -n "$(ulimit -Hn)"
ip netns exec "$name-gw" "$bin" run --config "$dir/config.json" 2>"$dir/warden.log" &
pids+=($!)
for _ in $(seq 100); do
    grep -q 'misp-warden ready' "$dir/warden.log" 2>/dev/null && [ -e "$dir/remote.ready" ] && break
    sleep 0.1
done
grep -q 'misp-warden ready' "$dir/warden.log" || { cat "$dir/warden.log"; exit 1; }
# The daemon itself: `ip netns exec` execs it in place.
pid=${pids[-1]}

echo "load: ${seconds}s of $idle idle connections, $slow slowloris clients, $bombs gzip bombs (1 GiB each) and MISP pushing 100 KB events"
ip netns exec "$name-in" python3 scripts/lab/load.py --ca "$dir/warden-ca.pem" --pid "$pid" \
    --seconds "$seconds" --idle "$idle" --slowloris "$slow" --bombs "$bombs" | python3 -m json.tool
echo "limits: max_connections 4096, max_connections_per_source 256, header_timeout 30 s, handshake 10 s, max_body_bytes 64 MiB, body_budget_bytes 256 MiB, max_decompression_ratio 200"
grep -c 'verdict=' "$dir/warden.log" | sed 's/^/audit lines: /'
grep -m3 'verdict="error"' "$dir/warden.log" || true
