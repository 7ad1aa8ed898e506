#!/usr/bin/env bash
# Builds misp-warden's container image from scratch (root only):
#
#   image/container/build.sh [--output FILE] [--name NAME] [--binary FILE]
#
# No base image and no container registry: the image holds a statically
# linked misp-warden (glibc, crt-static), and from Debian's own packages
# (apt-get download, dpkg-deb -x) nft, ip, dash and dirname with exactly the
# shared libraries they load, plus the CA bundle of ca-certificates.
# nftables/apply.sh and routing.sh go in unchanged; entrypoint.sh loads the
# ruleset, then execs the daemon. buildah assembles the image, stores it in
# the local container storage as NAME (default localhost/misp-warden:latest) and
# writes it as a docker-archive (what `docker load` and `podman load` read)
# to FILE (default target/misp-warden-image.tar).
#
# Work files (the .deb cache, the staging trees) go to target/container/;
# the binary is built in target/static/ so it never waits for the lock of
# the ordinary target directory (--binary FILE: use that statically linked
# build instead). Needs: cargo, buildah, apt-get, dpkg-deb.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/target/misp-warden-image.tar
name=localhost/misp-warden:latest
bin=

while [ $# -gt 0 ]; do
    case $1 in
    --output) out=${2:?--output needs a file}; shift 2 ;;
    --name) name=${2:?--name needs a name}; shift 2 ;;
    --binary) bin=${2:?--binary needs a file}; shift 2 ;;
    *)
        echo "usage: $0 [--output FILE] [--name NAME] [--binary FILE]" >&2
        exit 2
        ;;
    esac
done
case $out in /*) ;; *) out=$PWD/$out ;; esac

say() { echo "build.sh: [${SECONDS}s] $*" >&2; }
die() {
    say "$*"
    exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (buildah's storage, chroot for ld.so)"
for tool in cargo buildah apt-get dpkg-deb chroot tar; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install buildah, or see image/container/README.md)"
done

# Debian packages that go into the image: the programs, then every library
# they load (checked below: a missing one fails the build).
programs=(nftables iproute2 dash coreutils ca-certificates)
libraries=(libc6 libnftables1 libnftnl11 libmnl0 libjansson4 libgmp10 libxtables12
    libedit2 libtinfo6 libbsd0 libmd0 libbpf1 libelf1 zlib1g libcap2)
# What is taken from them: path in the package -> path in the image.
binaries=(
    /usr/sbin/nft:/usr/sbin/nft
    /bin/ip:/usr/bin/ip
    /bin/dash:/usr/bin/dash
    /usr/bin/dirname:/usr/bin/dirname
)

arch=$(dpkg --print-architecture)
triple=$(uname -m)-unknown-linux-gnu
work=$repo/target/container
debs=$work/debs
pkgroot=$work/packages
rootfs=$work/rootfs
mkdir -p "$debs"

# 1. The daemon, statically linked: it resolves warden.user and
#    warden.group itself, from /etc/passwd and /etc/group (glibc's "files"
#    service is built into libc; no NSS module needed).
if [ -z "$bin" ]; then
    say "building the static binary ($triple)"
    RUSTFLAGS='-C target-feature=+crt-static' CARGO_PROFILE_RELEASE_STRIP=symbols \
        CARGO_TARGET_DIR=$repo/target/static \
        cargo build --release --target "$triple" --manifest-path "$repo/Cargo.toml" --bin misp-warden
    bin=$repo/target/static/$triple/release/misp-warden
fi
[ -x "$bin" ] || die "no binary $bin"
if LC_ALL=C ldd "$bin" 2>&1 | grep -q '=>'; then
    die "$bin is not statically linked"
fi
version=$("$bin" --version | awk '{print $2}')

# 2. The Debian packages, downloaded once per version into target/container/debs.
#    `apt-get download --print-uris` names the file of each candidate version.
pkgs=()
for pkg in "${programs[@]}" "${libraries[@]}"; do
    pkgs+=("$pkg:$arch")
done
say "fetching ${#pkgs[@]} Debian packages"
if ! uris=$(apt-get download --print-uris "${pkgs[@]}" 2>/dev/null); then
    say "apt-get cannot find them all: running apt-get update once"
    apt-get update -qq
    uris=$(apt-get download --print-uris "${pkgs[@]}") || die "cannot locate the packages"
fi
files=()
missing=()
while read -r _ file _ sum; do
    files+=("$debs/$file")
    # Fetched before, and intact?
    if ! echo "${sum#SHA256:}  $debs/$file" | sha256sum --check --status 2>/dev/null; then
        missing+=("${file%%_*}:$arch")
    fi
done <<<"$uris"
[ ${#files[@]} = ${#pkgs[@]} ] || die "apt-get named ${#files[@]} files for ${#pkgs[@]} packages"
if [ ${#missing[@]} -gt 0 ]; then
    # Into a root-owned directory: no sandbox user (_apt) for the download.
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null)
fi
for f in "${files[@]}"; do
    [ -s "$f" ] || die "apt-get did not download $f"
done

rm -rf "$pkgroot" "$rootfs"
mkdir -p "$pkgroot"
for f in "${files[@]}"; do
    dpkg-deb -x "$f" "$pkgroot"
done

# 3. The image's tree: merged /usr, only what is used.
mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64} "$rootfs"/usr/lib/misp-warden \
    "$rootfs"/etc/{misp-warden,ssl/certs} "$rootfs"/var/lib/misp-warden \
    "$rootfs"/{tmp,run,proc,sys,dev,root} "$rootfs"/usr/share/doc
for d in bin sbin lib lib64; do
    ln -s "usr/$d" "$rootfs/$d"
done
ln -s dash "$rootfs/usr/bin/sh"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/var/lib/misp-warden" "$rootfs/root"

interp=
for f in "$pkgroot"/lib64/ld-linux-*.so.*; do
    [ -e "$f" ] && interp=${f#"$pkgroot"/}
done
[ -n "$interp" ] || die "no dynamic loader in libc6"
declare -A libs=(["/$interp"]=1)
for pair in "${binaries[@]}"; do
    from=${pair%%:*} to=${pair#*:}
    [ -f "$pkgroot$from" ] || die "no $from in the packages"
    install -m 0755 "$pkgroot$from" "$rootfs$to"
    # The loader of the packages lists what it would load, inside their tree.
    listing=$(chroot "$pkgroot" "/$interp" --list "$from") || die "ld.so --list $from failed: $listing"
    if grep -q 'not found' <<<"$listing"; then
        die "$from needs a library no listed package has: $listing"
    fi
    while read -r lib; do
        libs[$lib]=1
    done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<<"$listing")
done
for lib in "${!libs[@]}"; do
    # Through the /lib and /lib64 links into /usr; the file itself, not the symlink.
    mkdir -p "$(dirname "$rootfs$lib")"
    cp -L "$pkgroot$lib" "$rootfs$lib"
done
cp -a "$pkgroot/etc/iproute2" "$rootfs/etc/iproute2"
# What update-ca-certificates would write: every certificate of the package.
cat "$pkgroot"/usr/share/ca-certificates/mozilla/*.crt >"$rootfs/etc/ssl/certs/ca-certificates.crt"
for pkg in "${programs[@]}" "${libraries[@]}"; do
    if [ -f "$pkgroot/usr/share/doc/$pkg/copyright" ]; then
        mkdir -p "$rootfs/usr/share/doc/$pkg"
        cp "$pkgroot/usr/share/doc/$pkg/copyright" "$rootfs/usr/share/doc/$pkg/"
    fi
done

install -m 0755 "$bin" "$rootfs/usr/bin/misp-warden"
install -m 0755 "$repo/nftables/apply.sh" "$repo/nftables/routing.sh" "$rootfs/usr/lib/misp-warden/"
install -m 0755 "$here/entrypoint.sh" "$rootfs/usr/lib/misp-warden/entrypoint"
install -m 0644 "$here"/rootfs/etc/{passwd,group,nsswitch.conf} "$rootfs/etc/"
mkdir -p "$rootfs/usr/share/doc/misp-warden"
install -m 0644 "$repo/README.md" "$rootfs/usr/share/doc/misp-warden/"
install -D -m 0644 -t "$rootfs/usr/share/doc/misp-warden/docs" "$repo"/docs/*.md

# Smoke test before packing: the programs start, from the image's tree alone.
for cmd in "misp-warden --version" "nft --version" "ip -V" "dirname /a/b"; do
    if ! ran=$(chroot "$rootfs" /bin/sh -c "$cmd" 2>&1); then
        die "'$cmd' does not run in the image tree: $ran"
    fi
done

# 4. One layer, owned by root, files in a stable order.
tar --create --file "$work/rootfs.tar" --directory "$rootfs" --numeric-owner \
    --owner=0 --group=0 --sort=name .

# 5. The image.
say "assembling $name with buildah"
old=$(buildah images --quiet --noheading "$name" 2>/dev/null || true)
ctr=$(buildah from --quiet --pull-never scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add --quiet "$ctr" "$work/rootfs.tar" / >/dev/null
buildah config \
    --entrypoint '["/usr/lib/misp-warden/entrypoint"]' --cmd '[]' \
    --env MISP_WARDEN_CONFIG=/etc/misp-warden/config.json \
    --env MISP_WARDEN_MODE=gateway \
    --env PATH=/usr/sbin:/usr/bin \
    --volume /var/lib/misp-warden \
    --workingdir / --stop-signal SIGTERM \
    --os linux --arch "$arch" \
    --label org.opencontainers.image.title=misp-warden \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.description="Transparent guard for MISP server synchronisation (run with CAP_NET_ADMIN in the gateway's network namespace)" \
    "$ctr"
buildah commit --quiet --format docker --rm "$ctr" "$name" >/dev/null
trap - EXIT
# The previous build of NAME, now untagged, unless something still uses it.
new=$(buildah images --quiet --noheading "$name")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
    buildah rmi "$old" >/dev/null 2>&1 || true
fi

mkdir -p "$(dirname "$out")"
rm -f "$out"
# Tagged with NAME only (a reference here would add a second name).
buildah push --quiet "$name" "docker-archive:$out" >/dev/null
say "wrote $out ($(du -h "$out" | cut -f1)), image $name $new"
