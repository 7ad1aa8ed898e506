#!/usr/bin/env bash
# The side-by-side benchmark (root; not a test): the same workloads over
# four paths in namespace labs — `direct` (the gateway only routes),
# `misp-warden` (TPROXY + TLS interception + inspection), `mitmproxy`
# (transparent mode, no addon) and `nginx` (TLS terminated and
# re-originated, nothing judged) — one table with the ratios
# misp-warden/direct, mitmproxy/misp-warden and misp-warden/nginx; with
# --warden-b BIN a fifth, `misp-warden-b` (another misp-warden build, set up
# as `misp-warden` is) and the ratio misp-warden-b/misp-warden. See
# bench/README.md.
#
#   sudo scripts/bench.sh [--quick] [--json FILE] [--only SUBSTR,...] [--paths PATH,...]
#                         [--warden-b BIN] [--repeat N]
#
# Builds misp-warden and bench/ (mwbench: remote, clients, generator),
# generates the events once into target/bench/data, installs mitmproxy from
# PyPI into target/bench/venv once, then runs bench/run.py, which sets up,
# measures and removes everything it created. nginx is Debian's
# (nginx-light, from scripts/setup.sh); run.py starts its own nginx process
# with a configuration of its own, the host's nginx service plays no part.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root (network namespaces)" >&2; exit 1; }

quick= paths=
args=("$@")
for i in "${!args[@]}"; do
    case ${args[i]} in
        --quick) quick=1 ;;
        --paths) paths=${args[i+1]-} ;;
        --paths=*) paths=${args[i]#--paths=} ;;
        # Relative to where bench.sh was started, not to the repository.
        --warden-b) [ -n "${args[i+1]-}" ] && args[i+1]=$(cd "$caller" && realpath -- "${args[i+1]}") ;;
        --warden-b=*) args[i]=--warden-b=$(cd "$caller" && realpath -- "${args[i]#--warden-b=}") ;;
    esac
done
# Whether path $1 runs (all of them without --paths; run.py checks the list).
runs() { case ",${paths:-$1}," in *",$1,"*) ;; *) return 1 ;; esac; }
paths=${paths// /}

extra=()
if runs nginx; then
    nginx=$(PATH=$PATH:/usr/sbin command -v nginx) ||
        { echo "bench.sh: nginx is missing (scripts/setup.sh installs nginx-light)" >&2; exit 1; }
    extra+=(--nginx "$nginx")
fi

cargo build --release --quiet
CARGO_TARGET_DIR=$PWD/target/bench/cargo cargo build --release --quiet --manifest-path bench/Cargo.toml
mwbench=$PWD/target/bench/cargo/release/mwbench

data=$PWD/target/bench/data
if [ -n "$quick" ]; then sizes=1,10; else sizes=1,10,50,100; fi
echo "bench: generating events (cached in $data)" >&2
"$mwbench" gen --out "$data" --sizes "$sizes"

if runs mitmproxy; then
    venv=$PWD/target/bench/venv
    if [ ! -x "$venv/bin/mitmdump" ]; then
        echo "bench: installing mitmproxy into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet mitmproxy
    fi
    extra+=(--mitmdump "$venv/bin/mitmdump")
fi

exec python3 bench/run.py --warden "$PWD/target/release/misp-warden" --mwbench "$mwbench" \
    --data "$data" "${extra[@]}" "${args[@]}"
