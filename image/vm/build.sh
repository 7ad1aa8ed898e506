#!/usr/bin/env bash
# Builds the misp-warden gateway VM image: a bootable BIOS/MBR disk (one ext4
# partition, extlinux) with a minimal Debian 12, misp-warden and its systemd
# unit, the TPROXY routing helper, an example config and forwarding sysctls.
#
#   sudo image/vm/build.sh [options]
#
# Root is needed (debootstrap, chroot, one loop device for a few seconds).
# Host packages: debootstrap qemu-utils fdisk e2fsprogs extlinux syslinux-common.
# Scratch space: about 2 GB under --work (default /var/tmp/mw-vm).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

binary=$repo/target/release/misp-warden
unit=$repo/image/misp-warden.service
routing=$repo/nftables/routing.sh
apply=$repo/nftables/apply.sh
sysusers=$repo/image/misp-warden.sysusers.conf
readme=$repo/README.md
config=$repo/config/misp-warden.json
work_base=/var/tmp/mw-vm
out=
size=2G
suite=bookworm
mirror=
upgrade=yes
autologin=no
root_password_file=
ca_dir=

usage() {
    cat <<EOF
usage: $0 [options]
  --binary FILE          misp-warden binary (default: target/release/misp-warden)
  --unit FILE            systemd unit (default: image/misp-warden.service)
  --routing FILE         routing helper (default: nftables/routing.sh)
  --apply FILE           ruleset loader the unit runs (default: nftables/apply.sh)
  --sysusers FILE        sysusers.d snippet (default: image/misp-warden.sysusers.conf)
  --config FILE          config installed as /etc/misp-warden/config.json
                         (default: config/misp-warden.json)
  --out FILE             image to write; .qcow2 or .raw/.img (default:
                         WORK/misp-warden-gateway.qcow2)
  --size SIZE            disk size (default: $size)
  --work DIR             scratch and download cache (default: $work_base)
  --mirror URL           Debian mirror (default: the one in this host's apt sources)
  --no-upgrade           do not apply bookworm-updates/-security on top of bookworm
  --serial-autologin     log root in automatically on ttyS0 (labs and tests only)
  --root-password-file F set root's password to the first line of F (otherwise
                         root has no password and cannot log in)
  --ca-dir DIR           put DIR/ca.pem and DIR/ca.key (misp-warden ca init --dir
                         DIR) in the image instead of creating a CA on first boot
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --binary) binary=$2; shift 2 ;;
    --unit) unit=$2; shift 2 ;;
    --routing) routing=$2; shift 2 ;;
    --apply) apply=$2; shift 2 ;;
    --sysusers) sysusers=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --work) work_base=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --no-upgrade) upgrade=no; shift ;;
    --serial-autologin) autologin=yes; shift ;;
    --root-password-file) root_password_file=$2; shift 2 ;;
    --ca-dir) ca_dir=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

say() { printf '[build %4ds] %s\n' "$SECONDS" "$*"; }
die() { echo "build.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, a loop device)"
for tool in debootstrap qemu-img sfdisk losetup mkfs.ext4 extlinux chroot mount umount findmnt; do
    command -v "$tool" >/dev/null ||
        die "$tool not found (apt-get install debootstrap qemu-utils fdisk e2fsprogs extlinux syslinux-common)"
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$mbr" ] || die "$mbr not found (apt-get install syslinux-common)"
for f in "$binary" "$unit" "$routing" "$apply" "$sysusers" "$config" "$readme"; do
    [ -f "$f" ] || die "$f not found"
done
[ -x "$binary" ] || die "$binary is not executable"
[ -n "$root_password_file" ] && { [ -r "$root_password_file" ] || die "$root_password_file not readable"; }
if [ -n "$ca_dir" ]; then
    for f in ca.pem ca.key; do
        [ -r "$ca_dir/$f" ] || die "$ca_dir/$f not readable"
    done
fi

mkdir -p "$work_base"
work_base=$(cd "$work_base" && pwd)
out=${out:-$work_base/misp-warden-gateway.qcow2}
case $out in
*.qcow2) format=qcow2 ;;
*.raw | *.img) format=raw ;;
*) die "--out must end in .qcow2, .raw or .img" ;;
esac

# The mirror this host's apt uses (deb822 or one-line sources), else Debian's CDN.
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -v '^[[:space:]]*#' | grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ') || true
    mirror=${mirror:-http://deb.debian.org/debian}
fi
mirror=${mirror%/}
security_mirror=${mirror%/debian}/debian-security

cache=$work_base/cache/debs
mkdir -p "$cache/partial"
work=$(mktemp -d "$work_base/build.XXXXXX")
rootfs=$work/rootfs
raw=$work/disk.raw
mnt=$work/mnt
loop=

# Everything this script mounted lives under $work: unmount it all (deepest
# first), detach our one loop device, then remove the scratch directory.
cleanup() {
    local rc=$? m
    set +e
    while read -r m; do
        umount -l "$m"
    done < <(findmnt -rn -o TARGET | grep -F "$work/" | sort -r)
    [ -n "$loop" ] && losetup -d "$loop"
    # --one-file-system: should an unmount have failed, never descend into it.
    rm -rf --one-file-system "$work"
    [ "$rc" -eq 0 ] || echo "build.sh: FAILED (exit $rc) after ${SECONDS}s" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- rootfs
# The kernel comes after the upgrade, so that only the newest one is installed.
packages=systemd,systemd-sysv,udev,dbus,systemd-timesyncd,nftables,iproute2,ca-certificates
say "debootstrap $suite ($mirror) into $rootfs"
debootstrap --variant=minbase --include="$packages" --cache-dir="$cache" \
    "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

sources="deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main"
if [ "$upgrade" = yes ]; then
    echo "$sources" >"$rootfs/etc/apt/sources.list"
else
    echo "deb $mirror $suite main" >"$rootfs/etc/apt/sources.list"
fi

# proc, sys and dev for the package scripts (the kernel's builds the
# initramfs); apt's downloads go to the shared cache; no service starts.
mount -t proc proc "$rootfs/proc"
mount -t sysfs sysfs "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"
mount --bind "$cache" "$rootfs/var/cache/apt/archives"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
apt_steps='apt-get -q update'
[ "$upgrade" = yes ] && apt_steps="$apt_steps && apt-get -q -y --no-install-recommends dist-upgrade"
apt_steps="$apt_steps && apt-get -q -y --no-install-recommends install linux-image-amd64"
say "in the chroot: $apt_steps"
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 sh -c "$apt_steps" \
    >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; die "apt-get in the chroot failed"; }
for m in var/cache/apt/archives dev/pts dev sys proc; do
    umount "$rootfs/$m"
done
rm -f "$rootfs/usr/sbin/policy-rc.d"
echo "$sources" >"$rootfs/etc/apt/sources.list"

say "installing misp-warden"
# The binary goes where the unit's ExecStart= looks for it.
exec_path=$(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$unit" | head -n1)
case $exec_path in
/*) ;;
*) die "$unit: no absolute ExecStart= path found" ;;
esac
install -D -m 0755 "$binary" "$rootfs$exec_path"
if chroot "$rootfs" ldd "$exec_path" | grep -q 'not found'; then
    chroot "$rootfs" ldd "$exec_path" >&2
    die "$binary needs libraries Debian $suite lacks"
fi
install -D -m 0644 "$unit" "$rootfs/usr/lib/systemd/system/misp-warden.service"
install -D -m 0755 "$routing" "$rootfs/usr/lib/misp-warden/routing.sh"
install -D -m 0755 "$apply" "$rootfs/usr/lib/misp-warden/apply.sh"
install -D -m 0644 "$readme" "$rootfs/usr/share/doc/misp-warden/README.md"
install -D -m 0644 -t "$rootfs/usr/share/doc/misp-warden/docs" "$repo"/docs/*.md
install -D -m 0644 "$sysusers" "$rootfs/usr/lib/sysusers.d/misp-warden.conf"
chroot "$rootfs" systemd-sysusers /usr/lib/sysusers.d/misp-warden.conf
# Root reads it at start; the unprivileged daemon re-reads it on SIGHUP.
install -D -m 0640 -g "$(chroot "$rootfs" getent group misp-warden | cut -d: -f3)" \
    "$config" "$rootfs/etc/misp-warden/config.json"
chmod 0755 "$rootfs/etc/misp-warden"
if [ -n "$ca_dir" ]; then
    # As StateDirectory= would leave them: the daemon's, the key 0600.
    owner=$(chroot "$rootfs" getent passwd misp-warden | cut -d: -f3,4)
    install -d -m 0700 -o "${owner%:*}" -g "${owner#*:}" "$rootfs/var/lib/misp-warden"
    install -m 0644 -o "${owner%:*}" -g "${owner#*:}" "$ca_dir/ca.pem" "$rootfs/var/lib/misp-warden/ca.pem"
    install -m 0600 -o "${owner%:*}" -g "${owner#*:}" "$ca_dir/ca.key" "$rootfs/var/lib/misp-warden/ca.key"
fi
"$rootfs$exec_path" check --config "$rootfs/etc/misp-warden/config.json" >/dev/null ||
    die "$config: misp-warden check fails"
# What the unit's apply.sh will render at boot (needs the `nft` subcommand).
"$rootfs$exec_path" nft --config "$rootfs/etc/misp-warden/config.json" --mode gateway >/dev/null ||
    die "misp-warden nft --mode gateway fails for $config (binary too old?)"

say "configuring the system"
# image/vm/rootfs/ mirrors the image: the gateway and console-status units,
# sysctls, /etc/default/misp-warden, example .network files, a wait-online
# drop-in. Executables keep their x bit, everything else is 0644, all root's.
(cd "$here/rootfs" && find . -type f) | while read -r f; do
    mode=0644
    [ -x "$here/rootfs/$f" ] && mode=0755
    install -D -m "$mode" -o root -g root "$here/rootfs/$f" "$rootfs/${f#./}"
done
echo misp-warden >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmisp-warden\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$rootfs/etc/hosts"
: >"$rootfs/etc/resolv.conf"
uuid=$(cat /proc/sys/kernel/random/uuid)
printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$uuid" >"$rootfs/etc/fstab"

if [ "$autologin" = yes ]; then
    install -D -m 0644 /dev/stdin "$rootfs/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM
EOF
fi
if [ -n "$root_password_file" ]; then
    printf 'root:%s\n' "$(head -n1 "$root_password_file")" | chroot "$rootfs" chpasswd
fi

chroot "$rootfs" systemctl enable misp-warden.service misp-warden-gateway.service \
    misp-warden-console-status.service \
    systemd-networkd.service systemd-timesyncd.service >/dev/null 2>&1 ||
    die "systemctl enable failed"
[ -L "$rootfs/etc/systemd/system/multi-user.target.wants/misp-warden.service" ] ||
    die "misp-warden.service did not get enabled (no WantedBy=multi-user.target?)"

for f in vmlinuz initrd.img; do
    [ -e "$rootfs/$f" ] || die "no /$f in the rootfs"
done
install -D -m 0644 /dev/stdin "$rootfs/boot/extlinux/extlinux.conf" <<EOF
SERIAL 0 115200
DEFAULT misp-warden
PROMPT 0
TIMEOUT 10
LABEL misp-warden
    LINUX /vmlinuz
    INITRD /initrd.img
    APPEND root=UUID=$uuid ro console=tty0 console=ttyS0,115200n8
EOF

# An empty machine-id: each VM generates its own on its first boot.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/*

# ---------------------------------------------------------------- disk
say "making a $size disk: MBR, ext4 root (UUID $uuid), extlinux"
truncate -s "$size" "$raw"
echo 'label: dos
start=2048, type=83, bootable' | sfdisk --quiet "$raw"
read -r part_start part_sectors < <(sfdisk --dump "$raw" | sed -n 's/.*start= *\([0-9]*\), size= *\([0-9]*\).*/\1 \2/p')
[ "$part_start" = 2048 ] || die "unexpected partition start: $part_start"
# The partition through a loop device over its byte range (partition scanning
# is not available on every host).
loop=$(losetup --find --show --offset $((part_start * 512)) --sizelimit $((part_sectors * 512)) "$raw")
mkfs.ext4 -q -L misp-warden -U "$uuid" -d "$rootfs" "$loop"
mkdir -p "$mnt"
mount "$loop" "$mnt"
extlinux --install "$mnt/boot/extlinux" >"$work/extlinux.log" 2>&1 ||
    { cat "$work/extlinux.log" >&2; die "extlinux --install failed"; }
used=$(df -h --output=used "$mnt" | tail -n1 | tr -d ' ')
umount "$mnt"
losetup -d "$loop"
loop=
# extlinux took the loop device for a whole disk and wrote 0 as the boot
# sector's "hidden sectors" (bsHidden, offset 0x1c): the partition's start LBA,
# which the boot sector adds to every sector it reads.
printf '%08x' "$part_start" | sed 's/\(..\)\(..\)\(..\)\(..\)/\\x\4\\x\3\\x\2\\x\1/' |
    xargs -0 printf | dd of="$raw" bs=1 seek=$((part_start * 512 + 0x1c)) conv=notrunc status=none
dd if="$mbr" of="$raw" bs=440 count=1 conv=notrunc status=none

if [ "$format" = qcow2 ]; then
    say "converting to qcow2"
    qemu-img convert -c -O qcow2 "$raw" "$out.tmp"
else
    cp --sparse=always "$raw" "$out.tmp"
fi
mv "$out.tmp" "$out"
say "done: $out ($format, virtual size $size, $used used in the root fs, $(du -h "$out" | cut -f1) on disk) in ${SECONDS}s"
