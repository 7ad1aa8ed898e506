#!/usr/bin/env bash
# An active/passive pair of misp-warden gateways in network namespaces, with
# Debian's keepalived (VRRP) moving a virtual address on each side (root only).
#
#   pair.sh up NAME DIR             build the lab (no process started): MISP,
#                                   a switch, boxes a and b, the remote; the
#                                   pair's CA, configs and rulesets in DIR
#   pair.sh box NAME DIR BOX        (re)build one box's namespace, as a box
#                                   boots: links, ruleset, then forwarding on
#   pair.sh warden NAME DIR BOX     run BOX's misp-warden   } in the foreground
#   pair.sh keepalived NAME DIR BOX run BOX's keepalived    } (exec: the caller
#   pair.sh remote NAME DIR         run the remote MISP     }  owns the process)
#   pair.sh active NAME             which box holds the virtual addresses:
#                                   a, b, none, or split (they disagree)
#   pair.sh links NAME BOX up|down  BOX's two interfaces up or down
#   pair.sh remove NAME BOX         the box is gone: SIGSTOP, then SIGKILL,
#                                   every process in its namespace (by PID),
#                                   delete it; prints when it went silent
#   pair.sh down NAME               remove everything (idempotent): SIGTERM,
#                                   then SIGKILL, to the processes left in the
#                                   lab's namespaces, by PID; delete them
#
# NAME-in   in0  192.0.2.10         the internal MISP; default route via
#     |                              192.0.2.1, the inside virtual address
# NAME-sw   br-in   (a switch: two bridges, in a namespace of their own with
#     |     br-out   bridge netfilter off, so no box sees bridged frames)
# NAME-a    gw-in 192.0.2.2    gw-out 203.0.113.2    } + 192.0.2.1, 203.0.113.1
# NAME-b    gw-in 192.0.2.3    gw-out 203.0.113.3    }   on the active box
#     |
# NAME-out  out0 203.0.113.20       the remote MISP (misp.partner.example);
#                                   default route via 203.0.113.1
#
# Each box runs the same config (DIR/BOX/config.json, the lab's instances
# blocking tlp:red; the same bytes on both, naming files relative to DIR/BOX)
# with a copy of one CA (DIR/BOX/ca.pem, .key; MISP trusts DIR/ca.pem), and
# keepalived with scripts/lab/keepalived.conf (-i BOX). A box
# loads its ruleset before it forwards anything, and keeps it loaded whatever
# its daemon does. The binary is $MISP_WARDEN (default: misp-warden on PATH).
# Files: DIR/BOX/warden.log, keepalived.log; DIR/remote.jsonl, capture/.
# Only documentation addresses are used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${MISP_WARDEN:-misp-warden}
case $bin in /*) ;; */*) bin=$PWD/$bin ;; esac

usage() {
    sed -n '4,21p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

nsctl() {
    local ns=$1
    shift
    ip netns exec "$ns" sysctl -qw "$@" >/dev/null
}

newns() {
    local ns=$1
    if [ -e "/run/netns/$ns" ]; then
        echo "pair.sh: namespace $ns already exists" >&2
        exit 1
    fi
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    nsctl "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# The box's own last octet: a .2, b .3.
octet() {
    case $1 in
    a) echo 2 ;;
    b) echo 3 ;;
    *)
        echo "pair.sh: no box $1 (a or b)" >&2
        exit 2
        ;;
    esac
}

# The same bytes on both boxes, as on a real pair: the daemon runs in its
# box's directory, and the config names the box's files relative to it.
config() {
    local dir=$1 box=$2
    cat >"$dir/$box/config.json" <<'EOF'
{
  "allowlist": {"urls": [], "domains": []},
  "compartments_rules": {"can_reach": {"internal": ["partners"], "partners": ["internal"]}},
  "instances": {
    "misp_internal": {"ip": "192.0.2.10", "host": "misp.internal.example", "port": 443,
      "compartment_id": "internal", "affiliation": "lab",
      "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": ["tlp:red"]},
      "blocked_distribution_levels": ["0"], "blocked_sharing_groups_uuids": [],
      "blocked_attribute_types": [], "blocked_attribute_categories": [], "blocked_object_types": []},
    "misp_partner": {"ip": "203.0.113.20", "host": "misp.partner.example", "port": 443,
      "compartment_id": "partners", "affiliation": "lab",
      "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": ["tlp:red"]},
      "blocked_distribution_levels": ["0"], "blocked_sharing_groups_uuids": [],
      "blocked_attribute_types": [], "blocked_attribute_categories": [], "blocked_object_types": []}
  },
  "warden": {
    "listen": ["0.0.0.0:8888", "[::]:8888"],
    "metrics_listen": "127.0.0.1:9102",
    "ca_cert": "ca.pem",
    "ca_key": "ca.key",
    "upstream_ca": "../remote-ca.pem",
    "user": "nobody",
    "group": "nogroup"
  }
}
EOF
    chmod 0644 "$dir/$box/config.json"
    (cd "$dir/$box" && "$bin" check --config config.json >/dev/null)
}

# `box NAME DIR BOX`: the box's namespace, cabled to the switch, its
# addresses, its ruleset (nftables/apply.sh, as the unit runs it) — and only
# then forwarding, so it never routes MISP's traffic unguarded.
box() {
    local name=$1 dir=$2 b=$3 n
    n=$(octet "$b")
    local ns=$name-$b sw=$name-sw
    newns "$ns"
    ip -n "$ns" link add gw-in type veth peer name "$b-in" netns "$sw"
    ip -n "$ns" link add gw-out type veth peer name "$b-out" netns "$sw"
    ip -n "$sw" link set "$b-in" master br-in up
    ip -n "$sw" link set "$b-out" master br-out up
    ip -n "$ns" addr add "192.0.2.$n/24" dev gw-in
    ip -n "$ns" addr add "203.0.113.$n/24" dev gw-out
    nsctl "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.lo.rp_filter=0 net.ipv4.conf.gw-in.rp_filter=0 net.ipv4.conf.gw-out.rp_filter=0
    ip netns exec "$ns" env MISP_WARDEN="$bin" sh "$here/../nftables/apply.sh" "$dir/$b/config.json" gateway
    ip -n "$ns" link set gw-in up
    ip -n "$ns" link set gw-out up
    nsctl "$ns" net.ipv4.ip_forward=1
}

up() {
    local name=$1 dir=$2 ns
    for ns in in sw a b out; do
        if [ -e "/run/netns/$name-$ns" ]; then
            echo "pair.sh: namespace $name-$ns already exists" >&2
            exit 1
        fi
    done
    building=$name
    trap 'down "$building"' EXIT

    mkdir -p "$dir"
    chmod 0755 "$dir"
    bash "$here/lab.sh" certs "$dir"
    # The pair's one interception CA, a copy on each box.
    "$bin" ca init --dir "$dir/ca" >/dev/null
    cp "$dir/ca/ca.pem" "$dir/ca.pem"
    for b in a b; do
        mkdir -p "$dir/$b"
        chmod 0755 "$dir/$b"
        install -m 0644 "$dir/ca/ca.pem" "$dir/$b/ca.pem"
        install -m 0640 -g 65534 "$dir/ca/ca.key" "$dir/$b/ca.key"
        config "$dir" "$b"
    done

    # The switch: two bridges in a namespace of their own. Bridge netfilter
    # off there (br_netfilter may be loaded on the host).
    newns "$name-sw"
    nsctl "$name-sw" net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
        net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
    ip -n "$name-sw" link add br-in type bridge
    ip -n "$name-sw" link add br-out type bridge
    ip -n "$name-sw" link set br-in up
    ip -n "$name-sw" link set br-out up

    # The internal MISP, routing through the inside virtual address.
    newns "$name-in"
    ip -n "$name-in" link add in0 type veth peer name in netns "$name-sw"
    ip -n "$name-sw" link set in master br-in up
    ip -n "$name-in" addr add 192.0.2.10/24 dev in0
    ip -n "$name-in" link set in0 up
    ip -n "$name-in" route add default via 192.0.2.1
    mkdir -p "/etc/netns/$name-in"
    cat >"/etc/netns/$name-in/hosts" <<'EOF'
127.0.0.1       localhost
203.0.113.20    misp.partner.example
EOF
    chmod 0644 "/etc/netns/$name-in/hosts"

    # The remote MISP, answering through the outside virtual address.
    newns "$name-out"
    ip -n "$name-out" link add out0 type veth peer name out netns "$name-sw"
    ip -n "$name-sw" link set out master br-out up
    ip -n "$name-out" addr add 203.0.113.20/24 dev out0
    ip -n "$name-out" link set out0 up
    ip -n "$name-out" route add default via 203.0.113.1

    box "$name" "$dir" a
    box "$name" "$dir" b
    trap - EXIT
}

# Which box has the inside (and outside) virtual address.
active() {
    local name=$1 b in out owners=""
    for b in a b; do
        [ -e "/run/netns/$name-$b" ] || continue
        in=$(ip -n "$name-$b" -4 -o addr show dev gw-in 2>/dev/null | grep -c ' 192\.0\.2\.1/' || true)
        out=$(ip -n "$name-$b" -4 -o addr show dev gw-out 2>/dev/null | grep -c ' 203\.0\.113\.1/' || true)
        if [ "$in" != 0 ] && [ "$out" != 0 ]; then
            owners="$owners$b"
        elif [ "$in" != 0 ] || [ "$out" != 0 ]; then
            echo split
            return
        fi
    done
    case $owners in
    "") echo none ;;
    a | b) echo "$owners" ;;
    *) echo split ;;
    esac
}

# The PIDs of every process in namespace $1 (none when it is gone).
pids_in() {
    [ -e "/run/netns/$1" ] || return 0
    ip netns pids "$1" 2>/dev/null || true
}

remove() {
    local ns=$1-$2 pids
    octet "$2" >/dev/null
    pids=$(pids_in "$ns")
    # Frozen first, all of them, then killed: as a box that loses power, it
    # says nothing more (keepalived's child, told of its parent's death,
    # would otherwise announce its leaving and hand over early).
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -STOP $pids 2>/dev/null || true
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    fi
    date +%s.%N # when it went silent
    ip netns del "$ns" 2>/dev/null || true
    # The kernel dismantles a namespace in the background: done when the
    # box's cables are gone from the switch (at most 10 s).
    for _ in $(seq 100); do
        ip -n "$1-sw" link show "$2-in" >/dev/null 2>&1 ||
            ip -n "$1-sw" link show "$2-out" >/dev/null 2>&1 || return 0
        sleep 0.1
    done
    echo "pair.sh: $ns is still being dismantled after 10 s" >&2
    exit 1
}

down() {
    local name=$1 ns pids i
    local all=("$name-in" "$name-a" "$name-b" "$name-out" "$name-sw")
    for ns in "${all[@]}"; do
        pids=$(pids_in "$ns")
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
    done
    for i in $(seq 50); do
        pids=$(for ns in "${all[@]}"; do pids_in "$ns"; done)
        [ -n "$pids" ] || break
        if [ "$i" = 50 ]; then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
        fi
        sleep 0.1
    done
    for ns in "${all[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
}

[ $# -ge 1 ] || usage
case $1 in
up)
    [ $# = 3 ] || usage
    up "$2" "$3"
    ;;
box)
    [ $# = 4 ] || usage
    box "$2" "$3" "$4"
    ;;
warden)
    [ $# = 4 ] || usage
    octet "$4" >/dev/null
    cd "$3/$4"
    exec ip netns exec "$2-$4" "$bin" run --config config.json
    ;;
keepalived)
    [ $# = 4 ] || usage
    octet "$4" >/dev/null
    # -n: in the foreground; -l -D: log to stderr; -P: VRRP only.
    exec ip netns exec "$2-$4" keepalived -n -l -D -G -P -i "$4" -f "$here/lab/keepalived.conf" \
        -p "$3/$4/keepalived.pid" -r "$3/$4/vrrp.pid"
    ;;
remote)
    [ $# = 3 ] || usage
    exec ip netns exec "$2-out" python3 -u "$here/lab/remote_misp.py" --listen 203.0.113.20:443 \
        --cert "$3/partner.pem" --key "$3/partner.key" --record "$3/remote.jsonl" \
        --capture "$3/capture" --ready "$3/remote.ready"
    ;;
active)
    [ $# = 2 ] || usage
    active "$2"
    ;;
links)
    [ $# = 4 ] || usage
    octet "$3" >/dev/null
    case $4 in up | down) ;; *) usage ;; esac
    ip -n "$2-$3" link set gw-in "$4"
    ip -n "$2-$3" link set gw-out "$4"
    ;;
remove)
    [ $# = 3 ] || usage
    remove "$2" "$3"
    ;;
down)
    [ $# = 2 ] || usage
    down "$2"
    ;;
*) usage ;;
esac
