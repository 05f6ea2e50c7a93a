#!/bin/bash
# image-unpack.sh: how fast an image gets from an OCI layout on disk to
# files a container can use.  `husk load` (copy + verify the blobs, unpack
# each layer once) against `umoci unpack` (verify, unpack into one bundle
# rootfs) and `podman load` (copy into containers-storage, unpack each layer
# with the overlay driver), alternating, ROUNDS rounds, each into a fresh
# temp store; then the cost of making a container's root from the unpacked
# layers: husk's overlay mount against a full `cp -a` of the merged tree.
#
# The image (cached in $CACHE): a busybox layer plus layers made from Debian
# packages (apt-get download, then dpkg-deb -x per group), gzip'ed, as an
# OCI layout.  Run as root.  About 5 minutes with the defaults.
#
# Environment:
#   HUSK    husk binary                (default /work/main/build/husk)
#   CACHE   .debs and the OCI layout   (default /var/cache/husk-bench)
#   ROUNDS  rounds of the three loads  (default 5)
#   MOUNTS  overlay mounts timed       (default 50)
#   TMPDIR  where the stores go        (default /tmp)
set -u

HUSK=${HUSK:-/work/main/build/husk}
CACHE=${CACHE:-/var/cache/husk-bench}
ROUNDS=${ROUNDS:-5}
MOUNTS=${MOUNTS:-50}
IMAGE=$CACHE/oci
TAG=latest

# one layer per line, lowest first (after busybox)
GROUPS_=(
	"libllvm14 libz3-4"
	"gcc-12 cpp-12 libgcc-12-dev binutils-x86-64-linux-gnu"
	"python3.11-minimal libpython3.11-minimal libpython3.11-stdlib"
	"perl-modules-5.36 libperl5.36"
	"libicu72 libstdc++-12-dev"
	"libgl1-mesa-dri"
)

die() {
	echo "image-unpack.sh: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "run as root"
for t in "$HUSK" umoci podman jq dpkg-deb apt-get gzip sha256sum; do
	command -v "$t" >/dev/null || die "$t not found"
done

# --- the image, built once ---

deb_of() { ls "$CACHE/debs/$1"_*.deb 2>/dev/null | tail -1; }

build_image() {
	mkdir -p "$CACHE/debs"
	local want=() p
	for g in "${GROUPS_[@]}"; do
		for p in $g; do [ -n "$(deb_of "$p")" ] || want+=("$p"); done
	done
	if [ ${#want[@]} -gt 0 ]; then
		echo "downloading ${want[*]}"
		(cd "$CACHE/debs" && apt-get download "${want[@]}" >/dev/null 2>&1) ||
			die "apt-get download ${want[*]} failed"
	fi
	local w=$CACHE/build.$$ i=0 diffs="" layers="" d
	rm -rf "$w" "$IMAGE.new"
	mkdir -p "$w" "$IMAGE.new/blobs/sha256"
	# layer 0: busybox, so that the image runs
	mkdir -p "$w/0"/{bin,dev,proc,sys,etc,tmp,root}
	cp /bin/busybox "$w/0/bin/busybox"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$w/0/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$w/0/etc/passwd"
	for g in "${GROUPS_[@]}"; do
		i=$((i + 1))
		mkdir -p "$w/$i"
		for p in $g; do dpkg-deb -x "$(deb_of "$p")" "$w/$i" || die "dpkg-deb -x $p"; done
	done
	for d in $(seq 0 "$i"); do
		tar -C "$w/$d" --sort=name --numeric-owner --owner=0 --group=0 -cf "$w/$d.tar" .
		local diff gz size
		diff=$(sha256sum "$w/$d.tar" | cut -d' ' -f1)
		gzip -6 -n -c "$w/$d.tar" >"$w/$d.tar.gz"
		gz=$(sha256sum "$w/$d.tar.gz" | cut -d' ' -f1)
		size=$(stat -c %s "$w/$d.tar.gz")
		mv "$w/$d.tar.gz" "$IMAGE.new/blobs/sha256/$gz"
		diffs+="${diffs:+,}\"sha256:$diff\""
		layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$gz\",\"size\":$size}"
		echo "layer $d: $(($(stat -c %s "$w/$d.tar") / 1048576)) MB tar, $((size / 1048576)) MB gzip"
	done
	local c m
	echo "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2026-01-01T00:00:00Z\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffs]},\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/usr/bin:/bin\"]}}" | jq -c . >"$w/config"
	c=$(sha256sum "$w/config" | cut -d' ' -f1)
	echo "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$c\",\"size\":$(stat -c %s "$w/config")},\"layers\":[$layers]}" | jq -c . >"$w/manifest"
	m=$(sha256sum "$w/manifest" | cut -d' ' -f1)
	echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$m\",\"size\":$(stat -c %s "$w/manifest"),\"annotations\":{\"org.opencontainers.image.ref.name\":\"$TAG\"}}]}" >"$IMAGE.new/index.json"
	mv "$w/config" "$IMAGE.new/blobs/sha256/$c"
	mv "$w/manifest" "$IMAGE.new/blobs/sha256/$m"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$IMAGE.new/oci-layout"
	# what the tools should produce: the uncompressed size, for MB/s
	du -sb --apparent-size "$w"/*.tar | awk '{s+=$1} END {print s}' >"$IMAGE.new/tar-bytes"
	rm -rf "$w" "$IMAGE"
	mv "$IMAGE.new" "$IMAGE"
}

[ -s "$IMAGE/tar-bytes" ] || build_image
TAR_BYTES=$(cat "$IMAGE/tar-bytes")
GZ_BYTES=$(du -sb "$IMAGE/blobs" | cut -f1)
MANIFEST=$(jq -r '.manifests[0].digest' "$IMAGE/index.json")
NLAYERS=$(jq '.layers | length' "$IMAGE/blobs/sha256/${MANIFEST#sha256:}")

# --- the loads ---

D=$(mktemp -d "${TMPDIR:-/tmp}/husk-bench-unpack.XXXXXX")
cleanup() {
	grep -F "$D" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

cat >"$D/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$D/podman-tmp"
EOF

# each run_TOOL N: one load into a fresh store $D/TOOL.N
run_husk() { HUSK_ROOT="$D/husk.$1" HUSK_RUNROOT="$D/husk-run.$1" "$HUSK" load -i "$IMAGE"; }
run_umoci() { umoci unpack --image "$IMAGE:$TAG" "$D/umoci.$1"; }
run_podman() {
	cat >"$D/storage.$1.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$D/podman.$1"
runroot = "$D/podman-run.$1"
EOF
	CONTAINERS_CONF="$D/containers.conf" CONTAINERS_STORAGE_CONF="$D/storage.$1.conf" \
		podman --root "$D/podman.$1" --runroot "$D/podman-run.$1" --storage-driver overlay \
		load -q -i "$IMAGE"
}
forget() {
	grep -F "$D/$1" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "${D:?}/$1" "$D/husk-run.${1#*.}" "$D/podman-run.${1#*.}" 2>/dev/null
}

tools=(husk umoci podman)
mkdir -p "$D/podman-tmp"
echo "image: $IMAGE, $NLAYERS layers, $((GZ_BYTES / 1048576)) MB compressed, $((TAR_BYTES / 1048576)) MB of tar"
echo "stores in $D ($(df -T "$D" | awk 'NR==2 {print $2}')); $ROUNDS rounds, order rotates; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for t in "${tools[@]}"; do
	# untimed: checks that each tool works and warms the page cache
	"run_$t" 0 >"$D/$t.out" 2>&1 || { cat "$D/$t.out"; die "$t failed"; }
	forget "$t.0"
	: >"$D/$t.times"
done
for r in $(seq 1 "$ROUNDS"); do
	for k in 0 1 2; do
		t=${tools[$(((r + k) % 3))]}
		sync
		s=$(date +%s%N)
		"run_$t" "$r" >"$D/$t.out" 2>&1 || { cat "$D/$t.out"; die "$t failed in round $r"; }
		sync # the writeback is part of the work
		e=$(date +%s%N)
		echo $(((e - s) / 1000)) >>"$D/$t.times"
		[ "$r" = "$ROUNDS" ] || forget "$t.$r"
	done
done

median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
printf '\n%-28s %10s %10s %10s %8s\n' "load (incl. unpack)" "median s" "min s" "MB/s" "vs husk"
hm=$(median "$D/husk.times")
for t in "${tools[@]}"; do
	m=$(median "$D/$t.times")
	mn=$(sort -n "$D/$t.times" | head -1)
	case $t in
	husk) name="husk load" ;;
	umoci) name="umoci unpack ($(umoci --version | awk '{print $3}'))" ;;
	podman) name="podman load ($(podman --version | awk '{print $3}'), overlay)" ;;
	esac
	awk -v n="$name" -v m="$m" -v mn="$mn" -v b="$TAR_BYTES" -v h="$hm" \
		'BEGIN {printf "%-28s %10.2f %10.2f %10.0f %8.2f\n", n, m/1e6, mn/1e6, b/1048576/(m/1e6), m/h}'
done

awk -v h="$hm" -v u="$(median "$D/umoci.times")" \
	'BEGIN {printf "husk/umoci throughput: %.2fx (target: at least 2x)\n", u/h}'

# --- a container's root from the unpacked layers ---

# the layers of the last husk store, top first, by their short links
# (l/<hex prefix> -> ../layers/<hex>, the shortest prefix that is free)
S="$D/husk.$ROUNDS"
link_of() {
	local n
	for n in $(seq 6 2 64); do
		[ "$(readlink "$S/l/${1:0:n}")" = "../layers/$1" ] && { echo "${1:0:n}"; return; }
	done
	die "no link for layer $1"
}
CONFIG=$(jq -r '.config.digest' "$IMAGE/blobs/sha256/${MANIFEST#sha256:}")
lower=$(for d in $(jq -r '.rootfs.diff_ids | reverse | .[]' "$IMAGE/blobs/sha256/${CONFIG#sha256:}"); do
	link_of "${d#sha256:}"
done | paste -sd:)
mkdir -p "$D/ctr"/{upper,work,root}
: >"$D/mount.times"
for _ in $(seq "$MOUNTS"); do
	s=$(date +%s%N)
	(cd "$S/l" && mount -t overlay overlay -o "lowerdir=$lower,upperdir=$D/ctr/upper,workdir=$D/ctr/work" "$D/ctr/root")
	e=$(date +%s%N)
	umount "$D/ctr/root"
	echo $(((e - s) / 1000)) >>"$D/mount.times"
done
# the same tree copied, as a runtime without overlay would have to
(cd "$S/l" && mount -t overlay overlay -o "lowerdir=$lower" "$D/ctr/root")
: >"$D/cp.times"
for r in 1 2 3; do
	sync
	s=$(date +%s%N)
	cp -a "$D/ctr/root" "$D/ctr/copy.$r"
	sync
	e=$(date +%s%N)
	echo $(((e - s) / 1000)) >>"$D/cp.times"
	rm -rf "$D/ctr/copy.$r"
done
umount "$D/ctr/root"
# and what a user sees: husk run --rm of the image
: >"$D/run.times"
name=$(jq -r '.images | keys[0]' "$S/images.json")
for _ in $(seq 10); do
	s=$(date +%s%N)
	HUSK_ROOT="$S" HUSK_RUNROOT="$D/husk-run" "$HUSK" run --rm "$name" true >/dev/null 2>&1 || die "husk run failed"
	e=$(date +%s%N)
	echo $(((e - s) / 1000)) >>"$D/run.times"
done
printf '\n%-44s %10s\n' "a container's root ($NLAYERS layers)" "median ms"
awk -v m="$(median "$D/mount.times")" 'BEGIN {printf "%-44s %10.2f\n", "overlay mount (mount(8) -t overlay, short links)", m/1e3}'
awk -v m="$(median "$D/run.times")" 'BEGIN {printf "%-44s %10.2f\n", "husk run --rm IMAGE true (all of it)", m/1e3}'
awk -v m="$(median "$D/cp.times")" 'BEGIN {printf "%-44s %10.2f\n", "cp -a of the merged tree (+ sync)", m/1e3}'
