#!/bin/sh
# The container's entrypoint: what the systemd unit does, in one process tree.
#
#   1. refuse an invalid config before touching the firewall;
#   2. load the ruleset `misp-warden nft` renders for it, with the policy
#      routing TPROXY needs (nftables/apply.sh, unchanged) — in the network
#      namespace the container runs in: the host's (--network host) or the
#      gateway's;
#   3. exec the daemon as PID 1: it binds, then drops to warden.user with no
#      capabilities at all.
#
# Environment:
#   MISP_WARDEN_CONFIG  the config file (default /etc/misp-warden/config.json)
#   MISP_WARDEN_MODE    gateway (default), container-host or same-host
#   MISP_WARDEN_NAT     1: NAT redirect instead of TPROXY (apply.sh --nat)
#   MISP_WARDEN_APPLY   0: load no ruleset (the host manages it)
#
# With arguments, runs `misp-warden ARGS...` instead (check, nft, eval, ...)
# and touches nothing.
#
# Like the unit, this never removes the ruleset: a stopped container behind a
# loaded ruleset refuses sync traffic (fail closed).
set -eu

bin=/usr/bin/misp-warden
if [ $# -gt 0 ]; then
    exec "$bin" "$@"
fi

config=${MISP_WARDEN_CONFIG:-/etc/misp-warden/config.json}
mode=${MISP_WARDEN_MODE:-gateway}
nat=
case ${MISP_WARDEN_NAT:-0} in
0 | '') ;;
1) nat=--nat ;;
*)
    echo "entrypoint: MISP_WARDEN_NAT must be 0 or 1" >&2
    exit 2
    ;;
esac

if [ ! -r "$config" ]; then
    echo "entrypoint: no config at $config (mount one, or set MISP_WARDEN_CONFIG)" >&2
    exit 2
fi
"$bin" check --config "$config"
if [ "${MISP_WARDEN_APPLY:-1}" != 0 ]; then
    # Needs CAP_NET_ADMIN in the container's network namespace.
    if ! MISP_WARDEN=$bin /usr/lib/misp-warden/apply.sh "$config" "$mode" $nat; then
        echo "entrypoint: cannot load the ruleset (the container needs CAP_NET_ADMIN:" \
            "--cap-add NET_ADMIN; MISP_WARDEN_APPLY=0 if the host loads it)" >&2
        exit 1
    fi
    echo "entrypoint: ruleset loaded (mode $mode${nat:+, $nat})" >&2
fi
exec "$bin" run --config "$config"
