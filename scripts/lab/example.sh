# shellcheck shell=bash
# Sourced (bash) by scripts/demo.sh and scripts/load.sh: the shipped example
# config running in a namespace lab (scripts/lab.sh) — the remote MISP
# misp.partner.example, misp-warden on the gateway behind the ruleset it
# renders. Root only; everything it makes goes when the calling script exits.
#
#   example_up [WARDEN_JSON]   build (or $MISP_WARDEN_BIN), lab, config
#                              (WARDEN_JSON: extra `warden` keys), ruleset,
#                              remote, daemon; waits for both
# Afterwards: $name (lab), $dir (its files: config.json, warden.log,
# warden-ca.pem, received.jsonl), $bin, $warden_pid.

example_cleanup() {
    for pid in "${example_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/lab.sh down "$name"
    rm -rf "$dir"
    # Started through sudo: the build goes back to the user (scripts/lib/root.sh).
    if declare -F _as_root_give_back >/dev/null; then _as_root_give_back; fi
}

example_up() {
    local extra=${1:-"{}"}
    # The first build takes minutes (a release build with fat LTO): show it.
    # MISP_WARDEN_BIN runs a binary built already instead (tests/demo.rs).
    if [ -n "${MISP_WARDEN_BIN:-}" ]; then
        :
    elif [ -x target/release/misp-warden ]; then
        cargo build --release --quiet
    else
        echo "the first release build takes a few minutes; cargo shows its progress:"
        cargo build --release
    fi
    bin=${MISP_WARDEN_BIN:-$PWD/target/release/misp-warden}
    name=mw$(basename "$0" .sh | tr -cd '[:lower:]' | cut -c1-6)$$
    dir=$(mktemp -d "/tmp/misp-warden-$name.XXXXXX")
    chmod 0755 "$dir"
    example_pids=()
    trap example_cleanup EXIT
    scripts/lab.sh up "$name" "$dir" >/dev/null

    # The shipped example config, with the daemon's files placed in the lab.
    python3 - "$dir" "$extra" <<'PY'
import json, sys
d, extra = sys.argv[1], json.loads(sys.argv[2])
cfg = json.load(open("config/misp-warden.json"))
cfg["warden"].update({
    "ca_cert": f"{d}/warden-ca.pem", "ca_key": f"{d}/warden-ca.key",
    "upstream_ca": f"{d}/remote-ca.pem", "user": "nobody", "group": "nogroup",
}, **extra)
json.dump(cfg, open(f"{d}/config.json", "w"), indent=2)
PY
    MISP_WARDEN=$bin scripts/lab.sh guard "$name" "$dir/config.json" gateway

    ip netns exec "$name-out" python3 scripts/lab/remote_misp.py --listen 203.0.113.20:443 \
        --cert "$dir/partner.pem" --key "$dir/partner.key" \
        --record "$dir/received.jsonl" --ready "$dir/remote.ready" >"$dir/remote.log" 2>&1 &
    example_pids+=($!)
    # As many descriptors as this host allows: the daemon's own limits, not
    # the host's, should be what stops abuse.
    ulimit -n "$(ulimit -Hn)"
    # `ip netns exec` execs the daemon in place: this PID is the daemon's.
    ip netns exec "$name-gw" "$bin" run --config "$dir/config.json" 2>"$dir/warden.log" &
    warden_pid=$!
    example_pids+=("$warden_pid")
    for _ in $(seq 100); do
        grep -q 'misp-warden ready' "$dir/warden.log" 2>/dev/null && [ -e "$dir/remote.ready" ] && return 0
        sleep 0.1
    done
    cat "$dir/warden.log" >&2
    return 1
}
