# shellcheck shell=bash
# Sourced by the scripts a person runs as root (demo.sh, test.sh):
#
#   as_root "$@"    run as root; from a user account, start again through
#                   sudo, keeping that user's Rust toolchain (rustup keeps it
#                   in the home directory, which sudo's PATH leaves out)
#   as_root --optional "$@"
#                   the same, but without sudo carry on unprivileged
#
# Started by root itself, nothing changes: no sudo is needed (a fresh
# container or VM has none). Started through sudo, what the run creates in
# the checkout (target/, .venv/) and in the user's cargo home is given back
# to that user at exit, so a later run without root can still build.

as_root() {
    local optional=
    if [ "${1:-}" = --optional ]; then
        optional=1
        shift
    fi
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null; then
            if [ -n "$optional" ]; then
                echo "$(basename "$0"): not root and no sudo: the tests that need root will say they skipped" >&2
                return 0
            fi
            echo "$(basename "$0"): needs root (network namespaces); run it as root (sudo is not installed)" >&2
            exit 1
        fi
        local cargo_bin
        cargo_bin=$(dirname "$(command -v cargo 2>/dev/null || echo "$HOME/.cargo/bin/cargo")")
        # The user's PATH, with the toolchain, and root's sbin directories (nft, ip).
        exec sudo env "PATH=$cargo_bin:$PATH:/usr/local/sbin:/usr/sbin:/sbin" \
            "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}" \
            "$0" "$@"
    fi
    if [ -n "${SUDO_USER:-}" ] && [ "${SUDO_USER}" != root ]; then
        local home
        home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
        # `sudo scripts/x.sh` straight away: sudo's PATH has no ~/.cargo/bin.
        if ! command -v cargo >/dev/null && [ -x "$home/.cargo/bin/cargo" ]; then
            export PATH="$home/.cargo/bin:$PATH"
            export CARGO_HOME=${CARGO_HOME:-$home/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$home/.rustup}
        fi
        _as_root_owner="${SUDO_UID:-}:${SUDO_GID:-}"
        trap _as_root_give_back EXIT
    fi
}

# Files root created for the sudo user go back to that user (nothing to do
# when root started the script itself).
_as_root_give_back() {
    local status=$?
    [ -n "${_as_root_owner:-}" ] || return $status
    local dirs=(target .venv)
    case "${CARGO_HOME:-}" in /root* | "") ;; *) dirs+=("$CARGO_HOME") ;; esac
    for d in "${dirs[@]}"; do
        [ -e "$d" ] && chown -R --from=0:0 "$_as_root_owner" "$d" 2>/dev/null
    done
    return $status
}
