#!/bin/sh
# Renders misp-warden's ruleset for a config and loads it, with the policy
# routing TPROXY needs (root only). The systemd unit runs this before the
# daemon starts and on reload; the end-to-end tests load rulesets through it.
#
#   apply.sh CONFIG [MODE] [--nat]
#
# MODE is gateway (default), container-host or same-host. The binary is
# $MISP_WARDEN, else misp-warden on PATH. Nothing is loaded when rendering
# fails: the previous ruleset, if any, stays in force. Loading replaces the
# table `inet misp_warden` atomically.
#
# There is deliberately no "remove" here: a stopped daemon behind a loaded
# ruleset refuses sync traffic (fail closed); removing the ruleset would let
# it pass unguarded. To uninstall: nft delete table inet misp_warden &&
# routing.sh down.
set -eu

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
    echo "usage: $0 CONFIG [gateway|container-host|same-host] [--nat]" >&2
    exit 2
fi
config=$1
mode=${2:-gateway}
nat=${3:-}
if [ -n "$nat" ] && [ "$nat" != --nat ]; then
    echo "$0: unknown option $nat" >&2
    exit 2
fi

# A failed render stops here (set -e), before nft sees anything.
ruleset=$("${MISP_WARDEN:-misp-warden}" nft --config "$config" --mode "$mode" ${nat:+"$nat"})
printf '%s\n' "$ruleset" | nft -f -
if [ -z "$nat" ]; then
    "$(dirname "$0")/routing.sh" up
fi
