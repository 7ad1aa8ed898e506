#!/bin/sh
# Policy routing for misp-warden's TPROXY rulesets (root only).
#
#   routing.sh up     packets marked 1 are delivered locally (table 100)
#   routing.sh down   remove that again
#
# TPROXY hands a packet to the listener but does not change its destination
# address, so the routing decision would still forward it (or, on the same
# host, send it out). These two rules per family route every packet carrying
# the ruleset's mark to the local stack instead:
#
#   ip rule add fwmark 1 lookup 100
#   ip route add local 0.0.0.0/0 dev lo table 100      (and ::/0 for IPv6)
#
# Both commands are idempotent: `up` twice leaves one rule, `down` on a clean
# host succeeds. MARK and TABLE can be overridden from the environment; they
# must match the ruleset (`misp-warden nft` uses 1 and 100).
set -eu

MARK=${MARK:-1}
TABLE=${TABLE:-100}

down() {
    for family in -4 -6; do
        # Delete every copy, in case `up` ran more than once by other means.
        while ip "$family" rule del fwmark "$MARK" lookup "$TABLE" 2>/dev/null; do :; done
        ip "$family" route flush table "$TABLE" 2>/dev/null || true
    done
}

up() {
    down
    ip -4 rule add fwmark "$MARK" lookup "$TABLE"
    ip -4 route add local 0.0.0.0/0 dev lo table "$TABLE"
    # A host with IPv6 disabled has no IPv6 routing to set up.
    if [ -e /proc/net/if_inet6 ]; then
        ip -6 rule add fwmark "$MARK" lookup "$TABLE"
        ip -6 route add local ::/0 dev lo table "$TABLE"
    fi
}

case ${1:-} in
up) up ;;
down) down ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
