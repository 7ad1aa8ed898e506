#!/usr/bin/env bash
# Boots the gateway VM image under QEMU and checks, over its serial console,
# that misp-warden is active and its nftables table is loaded; then powers the
# VM off through ACPI and checks that it went down cleanly.
#
#   sudo image/vm/boot-test.sh [--image FILE] [--timeout SECONDS] [--accel auto|kvm|tcg]
#                              [build.sh options]
#
# Without --image it first builds one with build.sh (passing the other options
# on) and reports how long that took. --accel auto (the default) uses KVM when
# /dev/kvm is there and falls back to TCG when the VM does not boot under it.
# The disk is opened with snapshot=on: the image is not changed.
# Root is needed for the build; the boot alone needs only /dev/kvm access.
# Host packages: qemu-system-x86 (and build.sh's for a build).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work_base=/var/tmp/mw-vm
image=
timeout=900
accel=auto
build_args=()

while [ $# -gt 0 ]; do
    case $1 in
    --image) image=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    --work) work_base=$2; build_args+=("$1" "$2"); shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) build_args+=("$1"); shift ;;
    esac
done

say() { printf '[boot-test %4ds] %s\n' "$SECONDS" "$*"; }
die() { echo "boot-test.sh: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
mkdir -p "$work_base"

build_secs=
if [ -z "$image" ]; then
    image=$work_base/misp-warden-gateway-test.qcow2
    say "building $image"
    start=$SECONDS
    "$here/build.sh" --out "$image" "${build_args[@]}"
    build_secs=$((SECONDS - start))
elif [ ${#build_args[@]} -gt 0 ]; then
    die "build.sh options given with --image: ${build_args[*]}"
fi
[ -f "$image" ] || die "$image not found"
case $image in
*.qcow2) format=qcow2 ;;
*) format=raw ;;
esac

work=$(mktemp -d "$work_base/boot.XXXXXX")
log=$work/serial.log
saved_log=$work_base/boot-test-serial.log
qemu_pid=

# Kill only the QEMU this script started, by its PID; keep a copy of the log.
cleanup() {
    local rc=$?
    set +e
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid"
        for _ in $(seq 20); do
            kill -0 "$qemu_pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$qemu_pid" 2>/dev/null && kill -9 "$qemu_pid"
        wait "$qemu_pid" 2>/dev/null
    fi
    [ -f "$log" ] && cp "$log" "$saved_log" && echo "serial log: $saved_log"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The monitor on two FIFOs, both held open here read-write (fds 3 and 4) so
# that no open blocks: commands go into mon.in, answers pile up in mon.out.
mkfifo "$work/mon.in" "$work/mon.out"
exec 3<>"$work/mon.in" 4<>"$work/mon.out"
monitor() { echo "$1" >&3; }

start_qemu() { # ACCEL CPU
    : >"$log"
    say "booting $image ($1, 2 vCPUs, 1 GiB, two user-mode NICs with no host access)"
    boot_start=$SECONDS
    qemu-system-x86_64 -accel "$1" -cpu "$2" -machine q35 -smp 2 -m 1024 \
        -drive "file=$image,if=virtio,format=$format,snapshot=on" \
        -nic user,restrict=on,model=virtio-net-pci,mac=52:54:00:00:00:01 \
        -nic user,restrict=on,model=virtio-net-pci,mac=52:54:00:00:00:02 \
        -display none -serial "file:$log" -monitor "pipe:$work/mon" \
        -no-reboot </dev/null >"$work/qemu.out" 2>&1 3>&- 4>&- &
    qemu_pid=$!
    used_accel=$1
}

stop_qemu() {
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=
}

if [ "$accel" = auto ]; then
    if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel=kvm; else accel=tcg; fi
    fallback=$accel
else
    fallback=
fi
if [ "$accel" = kvm ]; then start_qemu kvm host; else start_qemu tcg max; fi

marker='misp-warden-status: end'
while ! grep -aq "$marker" "$log" 2>/dev/null; do
    # Nested KVM can fail inside the BIOS already (seen: "failed to set MSR
    # 0x10a", "KVM internal error ... emulation failure"): the bootloader's
    # banner never shows. In auto mode, boot again under TCG.
    if [ "$fallback" = kvm ] && { ! kill -0 "$qemu_pid" 2>/dev/null ||
        { [ $((SECONDS - boot_start)) -ge 30 ] && ! [ -s "$log" ]; }; }; then
        say "KVM does not boot here ($(grep -m1 -aiE 'error|assert' "$work/qemu.out" || echo 'no output in 30s')); falling back to TCG"
        stop_qemu
        fallback=
        start_qemu tcg max
    fi
    if ! kill -0 "$qemu_pid" 2>/dev/null; then
        cat "$work/qemu.out" >&2
        tail -n 40 "$log" >&2 2>/dev/null
        qemu_pid=
        die "QEMU exited before the status was printed"
    fi
    if [ $((SECONDS - boot_start)) -ge "$timeout" ]; then
        tail -n 40 "$log" >&2
        die "no '$marker' on the serial console within ${timeout}s"
    fi
    sleep 2
done
boot_secs=$((SECONDS - boot_start))
say "status printed after ${boot_secs}s:"
grep -a 'misp-warden-status:' "$log" | tr -d '\r'

failed=0
if grep -aq 'misp-warden-status: systemctl is-active misp-warden: active' "$log"; then
    say "PASS misp-warden.service is active"
else
    say "FAIL misp-warden.service is not active"
    failed=1
fi
if grep -aq 'misp-warden-status: forwarding: ipv4 1, ipv6 1' "$log" &&
    grep -aq 'misp-warden-status: systemctl is-active misp-warden-gateway: active' "$log"; then
    say "PASS forwarding is on, switched on by misp-warden-gateway.service"
else
    say "FAIL forwarding is off, or misp-warden-gateway.service is not active"
    failed=1
fi
if grep -aq 'misp-warden-status:   table inet misp_warden {' "$log"; then
    say "PASS table inet misp_warden is loaded"
else
    say "FAIL table inet misp_warden is not loaded"
    failed=1
fi
if grep -aq 'misp-warden-status: CA /var/lib/misp-warden/ca.pem SHA-256' "$log"; then
    say "PASS the CA exists (created on first boot, or built in with --ca-dir)"
else
    say "FAIL no CA at /var/lib/misp-warden/ca.pem"
    failed=1
fi

say "ACPI power button (system_powerdown)"
down_start=$SECONDS
monitor system_powerdown
while kill -0 "$qemu_pid" 2>/dev/null && [ $((SECONDS - down_start)) -lt 120 ]; do
    sleep 1
done
if kill -0 "$qemu_pid" 2>/dev/null; then
    say "FAIL the guest did not power off within 120s; quitting QEMU"
    monitor quit
    failed=1
else
    wait "$qemu_pid" || true
    qemu_pid=
    if grep -aq 'reboot: Power down' "$log"; then
        say "PASS powered off cleanly in $((SECONDS - down_start))s"
    else
        say "FAIL QEMU exited without the kernel's 'reboot: Power down'"
        failed=1
    fi
fi

[ -n "$build_secs" ] && say "build took ${build_secs}s"
say "boot to status took ${boot_secs}s ($used_accel)"
if [ "$failed" -ne 0 ]; then
    say "FAILED"
    exit 1
fi
say "OK"
