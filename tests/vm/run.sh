#!/bin/bash
# tests/vm/run.sh: run tests/vm/guest-tests.sh inside a cgroup v2 VM.
#
# Boots Debian's linux-image-cloud-amd64 kernel under qemu (TCG) with an
# initramfs of busybox-static, the built husk-oci, a busybox rootfs for
# bundles and the guest test script; the guest mounts cgroup2 alone
# (cgroup_no_v1=all), runs the tests and powers off.  Prints the guest's
# TAP lines and "N passed, N failed"; exits 0 when all passed, 1 on a
# failure, 77 when the VM can not be had (no qemu, no kernel package).
#
# Environment:
#   HUSK_OCI        husk-oci to test (default: build/husk-oci of this tree)
#   HUSK_VM_CACHE   kernel cache (default /var/cache/husk-vm)
#   HUSK_VM_TIMEOUT hard limit for the VM in seconds (default 600)
#   HUSK_VM_SMP     guest vCPUs (default 2)
#   HUSK_VM_ONLY    space-separated guest test names to run (default: all)
#   HUSK_VM_LOG     keep the full serial console log here
#   HUSK_VM_INSTALL set to 0 to never apt-get install qemu
#   HUSK_VM_QEMU    the qemu-system-x86_64 to use (default: from PATH)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
HUSK_OCI=${HUSK_OCI:-$top/build/husk-oci}
cache=${HUSK_VM_CACHE:-/var/cache/husk-vm}
vm_timeout=${HUSK_VM_TIMEOUT:-600}
smp=${HUSK_VM_SMP:-2}

skip() {
	echo "SKIP: $*"
	exit 77
}
die() {
	echo "error: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

[ -x "$HUSK_OCI" ] || die "no husk-oci at $HUSK_OCI (build first, or set HUSK_OCI)"
file_out=$(file -L "$HUSK_OCI" 2>/dev/null || true)
case $file_out in
*"dynamically linked"*) die "$HUSK_OCI is dynamically linked: the guest needs a static binary" ;;
esac
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || skip "no busybox-static at /bin/busybox"
case $(file -L "$busybox" 2>/dev/null) in
*"dynamically linked"*) skip "/bin/busybox is not static (install busybox-static)" ;;
esac

# qemu from Debian's qemu-system-x86
qemu=${HUSK_VM_QEMU:-$(command -v qemu-system-x86_64 || true)}
[ -z "${HUSK_VM_QEMU:-}" ] || [ -x "$HUSK_VM_QEMU" ] || skip "HUSK_VM_QEMU=$HUSK_VM_QEMU is not executable"
if [ -z "$qemu" ] && [ "${HUSK_VM_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] &&
	command -v apt-get >/dev/null; then
	echo "# installing qemu-system-x86 with apt-get" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		qemu-system-x86 >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends qemu-system-x86 >/dev/null 2>&1; }
	qemu=$(command -v qemu-system-x86_64 || true)
fi
[ -n "$qemu" ] || skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"

# the kernel: vmlinuz and a few modules from linux-image-cloud-amd64's
# versioned package, cached by version
mkdir -p "$cache" 2>/dev/null || { cache=${TMPDIR:-/tmp}/husk-vm-cache && mkdir -p "$cache"; }
kpkg=""
if command -v apt-cache >/dev/null; then
	kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -1)
fi
if [ -z "$kpkg" ]; then
	# no apt: use whatever is cached
	# shellcheck disable=SC2010
	kpkg=$(ls -1 "$cache" 2>/dev/null | grep '^linux-image-.*-cloud-amd64$' | sort -V | tail -1)
fi
[ -n "$kpkg" ] || skip "can not resolve linux-image-cloud-amd64 (no apt metadata, nothing cached)"
kdir=$cache/$kpkg
if [ ! -s "$kdir/vmlinuz" ]; then
	echo "# fetching $kpkg" >&2
	dl=$(mktemp -d "${TMPDIR:-/tmp}/husk-vm-dl.XXXXXX")
	chmod 755 "$dl" # apt's _apt user writes there when it can
	(cd "$dl" && apt-get download "$kpkg" >/dev/null 2>&1) ||
		{ rm -rf "$dl"; skip "apt-get download $kpkg failed"; }
	deb=$(ls "$dl"/*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] && dpkg-deb -x "$deb" "$dl/x" ||
		{ rm -rf "$dl"; skip "can not unpack $kpkg"; }
	rm -rf "$kdir.tmp"
	mkdir -p "$kdir.tmp/modules"
	cp "$dl"/x/boot/vmlinuz-* "$kdir.tmp/vmlinuz"
	cp "$dl"/x/boot/config-* "$kdir.tmp/config" 2>/dev/null
	# modules the tests may load (overlay for overlay rootfs, veth/bridge
	# for networking); modules are not compressed in this package
	for m in fs/overlayfs/overlay.ko drivers/net/veth.ko; do
		f=$(ls "$dl"/x/lib/modules/*/kernel/$m* 2>/dev/null | head -1)
		[ -n "$f" ] && cp "$f" "$kdir.tmp/modules/"
	done
	rm -rf "$dl" "$kdir"
	mv "$kdir.tmp" "$kdir"
fi

# the initramfs
work=$(mktemp -d "${TMPDIR:-/tmp}/husk-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
ir=$work/initramfs
mkdir -p "$ir"/{bin,dev,proc,sys,run,tmp,newroot,etc,tests,modules,usr/local/bin,rootfs}
cp "$busybox" "$ir/bin/busybox"
for app in $("$busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$ir/bin/$app"
done
cp "$HUSK_OCI" "$ir/usr/local/bin/husk-oci"
cp "$here/guest-tests.sh" "$ir/tests/guest-tests.sh"
cp "$kdir"/modules/*.ko "$ir/modules/" 2>/dev/null
mknod -m 600 "$ir/dev/console" c 5 1
mknod -m 666 "$ir/dev/null" c 1 3
echo 'root:x:0:0:root:/root:/bin/sh' >"$ir/etc/passwd"
echo 'root:x:0:' >"$ir/etc/group"
# jq with its shared libraries and loader, when the host has it (the
# guest tests use it only if present)
if jq=$(command -v jq); then
	mkdir -p "$ir/usr/bin"
	cp "$jq" "$ir/usr/bin/jq"
	for lib in $(ldd "$jq" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$ir$(dirname "$lib")"
		cp -L "$lib" "$ir$lib"
	done
fi
# the bundles' shared, read-only rootfs
rfs=$ir/rootfs
mkdir -p "$rfs"/{bin,dev,proc,sys,etc,tmp,root,var,run}
cp "$busybox" "$rfs/bin/busybox"
for app in $("$busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$rfs/bin/$app"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rfs/etc/passwd"
echo 'root:x:0:' >"$rfs/etc/group"
chmod 1777 "$rfs/tmp"

# stage 1 (PID 1 in the initramfs): pivot_root can not leave an initramfs,
# so copy everything into a tmpfs and switch_root there
cat >"$ir/init" <<'EOF'
#!/bin/busybox sh
export PATH=/bin:/usr/bin:/usr/local/bin
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs -o size=300m,mode=755 tmpfs /newroot
for d in bin usr lib lib64 etc tests modules rootfs init; do
	[ -e /$d ] && cp -a /$d /newroot/
done
mkdir -p /newroot/dev /newroot/proc /newroot/sys /newroot/run /newroot/tmp
umount /dev 2>/dev/null
exec switch_root /newroot /bin/sh /tests/guest-tests.sh --pid1
EOF
chmod 755 "$ir/init"
# only the named tests, if asked
printf '%s\n' "${HUSK_VM_ONLY:-}" >"$ir/tests/only"

(cd "$ir" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initrd.gz" ||
	die "building the initramfs failed"

# boot
log=${HUSK_VM_LOG:-$work/console.log}
start=$(date +%s.%N)
timeout -k 5 "$vm_timeout" "$qemu" -accel tcg -cpu max -smp "$smp" -m 1024 \
	-nographic -no-reboot -nodefaults -serial stdio -monitor none \
	-kernel "$kdir/vmlinuz" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all panic=-1 quiet loglevel=3 rdinit=/init" \
	</dev/null >"$log" 2>&1
qrc=$?
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

tr -d '\r' <"$log" >"$work/clean.log"
# the guest prints its results between these markers
sed -n '/HUSK-VM-BEGIN/,/HUSK-VM-END/p' "$work/clean.log" | grep -v 'HUSK-VM-' >"$work/tap"
cat "$work/tap"
passed=$(grep -c '^ok ' "$work/tap")
failed=$(grep -c '^not ok ' "$work/tap")
if ! grep -q 'HUSK-VM-END' "$work/clean.log"; then
	echo "# the guest did not finish (qemu exit $qrc after ${secs}s; timeout ${vm_timeout}s); console tail:"
	tail -40 "$work/clean.log" | sed 's/^/#   /'
	failed=$((failed + 1))
elif [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
	echo "# the guest ran no test; console tail:"
	tail -40 "$work/clean.log" | sed 's/^/#   /'
	failed=1
fi
echo "# vm: $kpkg, qemu $("$qemu" --version | head -1 | awk '{print $4}'), ${secs}s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
