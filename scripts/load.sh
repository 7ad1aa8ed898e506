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

# shellcheck source=scripts/lab/example.sh
. scripts/lab/example.sh
# The example config, limits at their defaults but for the memory figures:
# a 64 MiB body limit and a 256 MiB budget.
example_up '{"max_body_bytes": 67108864, "body_budget_bytes": 268435456}'
# Other hosts on MISP's network: the attackers.
for a in 60 61 62 63 70 71 80; do ip -n "$name-in" addr add "192.0.2.$a/24" dev in0; done
pid=$warden_pid

echo "load: ${seconds}s of $idle idle connections, $slow slowloris clients, $bombs gzip bombs (1 GiB each) and MISP pushing 100 KB events"
ip netns exec "$name-in" python3 scripts/lab/load.py --ca "$dir/warden-ca.pem" --pid "$pid" \
    --seconds "$seconds" --idle "$idle" --slowloris "$slow" --bombs "$bombs" | python3 -m json.tool
echo "limits: max_connections 4096, max_connections_per_source 256, header_timeout 30 s, handshake 10 s, max_body_bytes 64 MiB, body_budget_bytes 256 MiB, max_decompression_ratio 200"
grep -c 'verdict=' "$dir/warden.log" | sed 's/^/audit lines: /'
grep -m3 'verdict="error"' "$dir/warden.log" || true
