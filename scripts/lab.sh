#!/usr/bin/env bash
# The network-namespace test lab for misp-warden (root only).
#
#   lab.sh up NAME DIR              build the lab, write its certificates into DIR
#   lab.sh guard NAME CONFIG MODE [--nat]
#                                   load the ruleset `misp-warden nft --mode MODE`
#                                   renders for CONFIG (binary: $MISP_WARDEN)
#   lab.sh down NAME                tear it down (idempotent; kills nothing)
#   lab.sh certs DIR                only the certificates `up` writes (scripts/pair.sh)
#
# Three namespaces joined by plain veth pairs (no bridge: with br_netfilter
# loaded, bridged frames would bypass TPROXY):
#
#   NAME-in  in0 192.0.2.10        2001:db8:1::10       the internal MISP (clients)
#      |
#   NAME-gw  gw-in 192.0.2.1       2001:db8:1::1        the gateway (a plain router
#                                                        until `guard` loads a ruleset)
#            gw-out 203.0.113.1    2001:db8:2::1
#      |
#   NAME-out out0 203.0.113.20/.21/.30  2001:db8:2::20  the remote MISPs
#
# `guard … --nat` uses NAT redirect instead of TPROXY (hosts without TPROXY;
# the daemon then reads the original destination from conntrack). Without
# `guard` the gateway is a plain router, the baseline for benchmarks and for
# checking the lab. Only documentation ranges are used.
set -euo pipefail

usage() {
    echo "usage: $0 up NAME DIR | guard NAME CONFIG MODE [--nat] | down NAME | certs DIR" >&2
    exit 2
}

# All three namespaces of a lab, in teardown order.
namespaces() { echo "$1-in" "$1-gw" "$1-out"; }

# `sysctl -w` inside namespace $1.
nsctl() {
    local ns=$1
    shift
    ip netns exec "$ns" sysctl -qw "$@" >/dev/null
}

down() {
    local name=$1 ns
    for ns in $(namespaces "$name"); do
        # Deleting a namespace destroys its veth ends (and the peers with them).
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
}

# `guard NAME CONFIG MODE [--nat]`: nftables/apply.sh (as the systemd unit
# runs it) in NAME-gw for gateway and container-host, in NAME-in for
# same-host (MISP and the daemon then both run there): the ruleset
# `misp-warden nft` renders for CONFIG and MODE, and the policy routing
# TPROXY needs. Loading again replaces the table atomically.
guard() {
    local name=$1 config=$2 mode=$3 nat=${4:-} bin=${MISP_WARDEN:-misp-warden}
    local ns=$name-gw
    if [ "$mode" = same-host ]; then
        ns=$name-in
        # Marked packets come back in on lo with MISP's address as source.
        # Forwarding on, as on a host that also runs containers: the harder
        # case, where a packet the listener does not take could be routed on.
        nsctl "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.lo.rp_filter=0 \
            net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    fi
    ip netns exec "$ns" env MISP_WARDEN="$bin" \
        sh "$(dirname "$0")/../nftables/apply.sh" "$config" "$mode" ${nat:+"$nat"}
}

up() {
    local name=$1 dir=$2 ns
    local in=$name-in gw=$name-gw out=$name-out

    for ns in $(namespaces "$name"); do
        if [ -e "/run/netns/$ns" ]; then
            echo "lab.sh: namespace $ns already exists" >&2
            exit 1
        fi
    done
    # From here on, whatever fails takes the half-built lab with it (a global:
    # the trap runs after up's locals are gone).
    building=$name
    trap 'down "$building"' EXIT

    for ns in $in $gw $out; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # No duplicate address detection: addresses are usable at once.
        nsctl "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done

    # The two wires, created directly inside the namespaces.
    ip -n "$in" link add in0 type veth peer name gw-in netns "$gw"
    ip -n "$gw" link add gw-out type veth peer name out0 netns "$out"

    # Inside: the internal MISP.
    nsctl "$in" net.ipv6.conf.in0.accept_dad=0
    ip -n "$in" addr add 192.0.2.10/24 dev in0
    ip -n "$in" -6 addr add 2001:db8:1::10/64 dev in0 nodad
    ip -n "$in" link set in0 up
    ip -n "$in" route add default via 192.0.2.1
    ip -n "$in" -6 route add default via 2001:db8:1::1

    # Gateway: a router with reverse-path filtering off (TPROXY needs it).
    nsctl "$gw" net.ipv6.conf.gw-in.accept_dad=0 net.ipv6.conf.gw-out.accept_dad=0
    ip -n "$gw" addr add 192.0.2.1/24 dev gw-in
    ip -n "$gw" -6 addr add 2001:db8:1::1/64 dev gw-in nodad
    ip -n "$gw" addr add 203.0.113.1/24 dev gw-out
    ip -n "$gw" -6 addr add 2001:db8:2::1/64 dev gw-out nodad
    ip -n "$gw" link set gw-in up
    ip -n "$gw" link set gw-out up
    nsctl "$gw" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    nsctl "$gw" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.lo.rp_filter=0 net.ipv4.conf.gw-in.rp_filter=0 net.ipv4.conf.gw-out.rp_filter=0

    # Outside: the remote MISPs, one address per role.
    nsctl "$out" net.ipv6.conf.out0.accept_dad=0
    ip -n "$out" addr add 203.0.113.20/24 dev out0   # misp.partner.example
    ip -n "$out" addr add 203.0.113.21/24 dev out0   # misp.rogue.example
    ip -n "$out" addr add 203.0.113.30/24 dev out0   # unknown.example
    ip -n "$out" -6 addr add 2001:db8:2::20/64 dev out0 nodad  # misp6.partner.example
    ip -n "$out" link set out0 up
    ip -n "$out" route add default via 203.0.113.1
    ip -n "$out" -6 route add default via 2001:db8:2::1

    # Name resolution inside: `ip netns exec NAME-in` bind-mounts this over /etc/hosts.
    mkdir -p "/etc/netns/$in"
    cat >"/etc/netns/$in/hosts" <<'EOF'
127.0.0.1       localhost
::1             localhost ip6-localhost ip6-loopback
203.0.113.20    misp.partner.example
2001:db8:2::20  misp6.partner.example
203.0.113.21    misp.rogue.example
203.0.113.30    unknown.example
EOF
    chmod 0644 "/etc/netns/$in/hosts"

    certificates "$dir"
    trap - EXIT
}

# `ca NAME CN`: a self-signed ECDSA P-256 CA, DIR/NAME.pem + DIR/NAME.key.
ca() {
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# `leaf NAME CA SAN`: a server certificate DIR/NAME.pem + .key signed by CA.
leaf() {
    local name=$1 issuer=$2 san=$3 cn=${3#DNS:} usage=${4:-serverAuth}
    cn=${cn%%,*}
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
    printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=$usage" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 -extfile "$name.ext" \
        -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

certificates() {
    local dir=$1
    mkdir -p "$dir"
    chmod 0755 "$dir"
    (
        cd "$dir"
        umask 022
        ca remote-ca "misp-warden lab remote CA"
        leaf partner remote-ca \
            "DNS:misp.partner.example,DNS:misp6.partner.example,IP:203.0.113.20,IP:2001:db8:2::20"
        # The rogue server's CA is trusted by nobody.
        ca rogue-ca "misp-warden lab rogue CA"
        leaf rogue rogue-ca "DNS:misp.rogue.example,IP:203.0.113.21"
        # The internal MISP's own certificate (issued by the same CA the
        # remotes trust): presented by misp-warden to inbound sync
        # (instances.<id>.tls.server_cert), and by the internal server itself.
        leaf internal remote-ca \
            "DNS:misp.internal.example,DNS:misp6.internal.example,IP:192.0.2.10,IP:2001:db8:1::10"
        # The client certificate misp-warden presents to a remote that asks
        # for one (instances.<id>.tls.client_cert), issued by the remote's CA.
        leaf warden-client remote-ca "DNS:misp-warden.lab.example" clientAuth
        # Throwaway test material: certificates world-readable; keys readable
        # by the group the lab's daemon runs as (nogroup, 65534, also in the
        # container image) — misp-warden refuses a key open to every account.
        chmod 0644 ./*.pem
        chgrp 65534 ./*.key
        chmod 0640 ./*.key
    )
}

[ $# -ge 1 ] || usage
case $1 in
up)
    [ $# = 3 ] || usage
    up "$2" "$3"
    ;;
guard)
    if [ $# -lt 4 ] || [ $# -gt 5 ]; then usage; fi
    if [ $# = 5 ] && [ "$5" != --nat ]; then usage; fi
    guard "$2" "$3" "$4" "${5:-}"
    ;;
down)
    [ $# = 2 ] || usage
    down "$2"
    ;;
certs)
    [ $# = 2 ] || usage
    certificates "$2"
    ;;
*) usage ;;
esac
