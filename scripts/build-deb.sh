#!/usr/bin/env bash
# Builds the Debian package from this repository with dpkg-deb — no
# debhelper, no cargo-deb:
#
#   scripts/build-deb.sh [--binary FILE] [--output DIR]
#       → DIR/misp-warden_<version>-1_<arch>.deb (default DIR: target/debian)
#
# The package: /usr/bin/misp-warden, the systemd unit, the sysusers file,
# apply.sh and routing.sh, the example rulesets and the monitoring files, an
# example config in /etc/misp-warden/config.json (a conffile, 0640
# root:misp-warden) and /etc/default/misp-warden; maintainer scripts that
# create the account and /var/lib/misp-warden (0700) and never enable or
# start the service. Needs cargo (unless --binary), dpkg-deb, dpkg-shlibdeps.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin= out=$repo/target/debian
while [ $# -gt 0 ]; do
    case $1 in
    --binary) bin=$2; shift 2 ;;
    --output) out=$2; shift 2 ;;
    *) echo "usage: $0 [--binary FILE] [--output DIR]" >&2; exit 2 ;;
    esac
done
say() { echo "build-deb.sh: $*" >&2; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -1)
arch=$(dpkg --print-architecture)
deb_version=$version-1
if [ -z "$bin" ]; then
    say "cargo build --release (the first time takes minutes)"
    (cd "$repo" && cargo build --release --bin misp-warden)
    bin=$repo/target/release/misp-warden
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/misp-warden-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
pkg=$repo/packaging/debian
# Files and directories in the package: root's, 0644/0755, whatever the
# checkout's umask was.
umask 022
inst() { install -D -m "$1" "$2" "$root/$3"; }

inst 0755 "$bin" usr/bin/misp-warden
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/misp-warden"
inst 0644 "$repo/image/misp-warden.service" lib/systemd/system/misp-warden.service
inst 0644 "$repo/image/misp-warden.sysusers.conf" usr/lib/sysusers.d/misp-warden.conf
inst 0755 "$repo/nftables/apply.sh" usr/lib/misp-warden/apply.sh
inst 0755 "$repo/nftables/routing.sh" usr/lib/misp-warden/routing.sh
for f in gateway container-host same-host; do
    # `#!/usr/sbin/nft -f` scripts: run one to load the example ruleset.
    inst 0755 "$repo/nftables/$f.nft" "usr/share/misp-warden/nftables/$f.nft"
done
inst 0644 "$repo/config/misp-warden.schema.json" usr/share/misp-warden/misp-warden.schema.json
inst 0644 "$repo/monitoring/grafana-dashboard.json" usr/share/misp-warden/monitoring/grafana-dashboard.json
inst 0644 "$repo/monitoring/alerts.yml" usr/share/misp-warden/monitoring/alerts.yml
inst 0644 "$repo/config/misp-warden.json" etc/misp-warden/config.json
inst 0644 "$pkg/default" etc/default/misp-warden
doc=usr/share/doc/misp-warden
inst 0644 "$repo/README.md" "$doc/README.md"
for f in "$repo"/docs/*.md; do
    inst 0644 "$f" "$doc/docs/$(basename "$f")"
done
inst 0644 "$pkg/copyright" "$doc/copyright"
# The changelog: this build, dated by the last commit (reproducible).
when=$(git -C "$repo" log -1 --format=%cD 2>/dev/null || date -R)
commit=$(git -C "$repo" log -1 --format=%h 2>/dev/null || echo unknown)
mkdir -p "$root/$doc"
printf 'misp-warden (%s) unstable; urgency=medium\n\n  * Built from the misp-warden repository at commit %s.\n\n -- misp-warden maintainers <misp-warden@example.org>  %s\n' \
    "$deb_version" "$commit" "$when" | gzip -9n >"$root/$doc/changelog.Debian.gz"
mkdir -p "$root/usr/share/man/man1"
gzip -9n <"$pkg/misp-warden.1" >"$root/usr/share/man/man1/misp-warden.1.gz"
chmod 0644 "$root/$doc/changelog.Debian.gz" "$root/usr/share/man/man1/misp-warden.1.gz"
if [ -s "$pkg/lintian-overrides" ]; then
    inst 0644 "$pkg/lintian-overrides" usr/share/lintian/overrides/misp-warden
fi

# Control: the shared libraries the binary needs, from dpkg-shlibdeps.
mkdir -p "$work/shlibs/debian" "$root/DEBIAN"
printf 'Source: misp-warden\n\nPackage: misp-warden\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/misp-warden" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: misp-warden
Version: $deb_version
Architecture: $arch
Maintainer: misp-warden maintainers <misp-warden@example.org>
Installed-Size: $size
Depends: $shlibs, nftables, iproute2, systemd
Section: net
Priority: optional
Homepage: https://github.com/MISP/misp-guard
Description: transparent guard for MISP server synchronisation
 misp-warden stops sensitive threat intelligence from leaving a MISP
 instance through server sync, by the rules of misp-guard (whose
 config.json it reads unchanged), as a transparent appliance: nftables hands
 it MISP's sync connections, it terminates their TLS with a local CA,
 understands MISP's sync protocol and lets through only what the rules
 allow, failing closed on anything it does not understand.
 .
 The service is not started on installation: edit
 /etc/misp-warden/config.json, run misp-warden check, then enable it.
CONTROL
printf '/etc/misp-warden/config.json\n/etc/default/misp-warden\n' >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
    install -m 0755 "$pkg/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"

mkdir -p "$out"
deb=$out/misp-warden_${deb_version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
say "$deb ($(du -h "$deb" | cut -f1))"
echo "$deb"
