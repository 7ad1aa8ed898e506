#!/usr/bin/env bash
# Installs every system package the demo and the tests need, from Debian's
# (or Ubuntu's) archive with apt-get. The one list: .ci/run calls this, the
# development guide (docs/development.md) names it. Rust itself (rustup, cargo) is not installed here.
#
#   scripts/setup.sh            as root, or as a user who may sudo
#   scripts/setup.sh --list     print the packages and exit
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    # the demo and the namespace lab (tests/lab/, scripts/lab.sh)
    nftables iproute2 curl openssl ca-certificates util-linux gzip
    python3 python3-venv            # the lab's remote MISP; .venv for pymisp, jsonschema, h2
    # tests/systemd.rs and the package test: systemd-analyze
    systemd
    # tests/container.rs and tests/compose.rs: images from Debian's packages
    # (podman-compose itself comes from PyPI into .venv: scripts/test.sh)
    buildah podman runc
    # tests/deb.rs: the .deb built, checked and installed into a throwaway root;
    # tests/compose.rs: the stand-in misp-core (debootstrap too)
    dpkg-dev debootstrap lintian
    # tests/monitoring.rs: promtool checks the alert rules (the package brings
    # the Prometheus server too; where systemd runs, it starts it on :9090)
    prometheus
    # tests/e2e_pair.rs and scripts/failover.sh: the active/passive pair (VRRP;
    # its service starts only with /etc/keepalived/keepalived.conf, never written)
    keepalived
    # scripts/demo.sh and scripts/test.sh ask for root with it when run as a user
    sudo
    # scripts/bench.sh: the nginx path of the benchmark (bench/run.py starts its
    # own nginx; the package's service is disabled below when it came with it)
    nginx-light
)

if [ "${1:-}" = --list ]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages are installed"
    exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root (sudo is not installed)" >&2; exit 1; }
    as_root=(sudo)
fi
# Whether nginx (the package with the binary and the service) comes with
# this install: then its service is ours to keep off.
fresh_nginx=
dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q 'install ok installed' || fresh_nginx=1
echo "setup: installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ -n "$fresh_nginx" ]; then
    # Debian's nginx enables and starts a host-wide service listening on :80;
    # nothing here uses it (the benchmark runs its own nginx in a namespace).
    if [ -d /run/systemd/system ]; then
        "${as_root[@]}" systemctl disable --now --quiet nginx.service
    else
        "${as_root[@]}" systemctl disable --quiet nginx.service 2>/dev/null || true
        "${as_root[@]}" invoke-rc.d nginx stop 2>/dev/null || true
    fi
    echo "setup: nginx installed with its service stopped and disabled"
fi
echo "setup: done"
