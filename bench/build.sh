#!/bin/bash
# bench/build.sh: husk build against buildah bud (Debian's 1.28, --isolation
# chroot --layers, in its own storage), side by side in one run, on a
# two-stage Dockerfile with several RUN steps whose first stage copies a
# context of FILES files (default 10000, 100 MB in all):
#   cold     the first build (busybox already in both stores)
#   cached   the same build again: every step from the cache
#   changed  one file of the context changed: from its COPY on
#   copy     a Dockerfile that only copies the FILES files onto busybox,
#            cold (the issue's COPY target)
# Each case is the median of RUNS (default 3) builds, each in fresh stores
# for "cold" and "copy".  Prints milliseconds and husk/buildah ratios.
# PEERS_TOPDIR=1 marks buildah's layer dirs for ext4 as husk marks its
# own (see below and bench/README.md).
# With DOCKER=1 (the default when Debian's docker.io is installed) Docker
# 20.10's classic builder (DOCKER_BUILDKIT=0) is timed as well, against a
# dockerd of the bench's own (its roots under the bench's temp dir, no
# bridge, no iptables), stopped by its pid at the end.
set -eu
cd "$(dirname "$0")/.."
HUSK=${HUSK:-$PWD/build/husk}
FILES=${FILES:-10000}
RUNS=${RUNS:-3}
command -v buildah >/dev/null || { echo "buildah is not installed" >&2; exit 1; }
DOCKER=${DOCKER:-$([ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] && echo 1 || echo 0)}
W=$(mktemp -d /tmp/husk-bench-build.XXXXXX)
cleanup() {
	if [ -f "$W/dk/pid" ]; then
		kill "$(cat "$W/dk/pid")" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$(cat "$W/dk/pid")" 2>/dev/null || break; sleep 0.1; done
	fi
	for c in $(bh containers -q 2>/dev/null); do bh rm "$c" >/dev/null 2>&1 || true; done
	bh rmi -af >/dev/null 2>&1 || true
	grep -F "$W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

bh() {
	CONTAINERS_STORAGE_CONF="$W/storage.conf" buildah --root "$W/br/root" --runroot "$W/br/run" --storage-driver overlay "$@"
}
hk() {
	HUSK_ROOT="$W/hk/lib" HUSK_RUNROOT="$W/hk/run" "$HUSK" "$@"
}
dk() {
	DOCKER_HOST="unix://$W/dk/sock" /usr/bin/docker "$@"
}
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# the context: FILES files of 10 KiB of random bytes in 100 dirs (one
# process: a dd per file took minutes on a loaded machine)
python3 - "$W/ctx/files" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in range(100):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
for i in range(n):
    with open(f"{root}/d{i % 100}/f{i}", "wb") as f:
        f.write(os.urandom(10240))
PY
cat >"$W/ctx/Dockerfile" <<'DF'
FROM localhost/busybox AS build
RUN mkdir -p /work && echo one > /work/one
COPY files /files
RUN find /files -type f | wc -l > /count
RUN echo two > /work/two
FROM localhost/busybox
ENV APP=/app
COPY --from=build /count /app/count
RUN echo three > /app/three
RUN echo four > /app/four
CMD ["cat", "/app/count"]
DF

# the copy case's context: the same files (hard links), a COPY alone
mkdir -p "$W/ctxc"
cp -al "$W/ctx/files" "$W/ctxc/files"
printf 'FROM localhost/busybox\nCOPY files /files\n' >"$W/ctxc/Dockerfile"

stores() {
	rm -rf "$W/hk" "$W/br"
	mkdir -p "$W/br"
	printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/br/root"\nrunroot = "%s/br/run"\n' "$W" "$W" >"$W/storage.conf"
	hk rm "$(hk create busybox true)" >/dev/null
	hk tag busybox localhost/busybox
	hk save -o "$W/bb.tar" localhost/busybox
	bh pull -q "oci-archive:$W/bb.tar" >/dev/null
	bh tag "$(bh images -q | head -1)" localhost/busybox:latest
	# PEERS_TOPDIR=1: buildah's layer dirs marked as husk marks its own
	# (chattr +T, see husk_mkdir_top in src/core/util.c), for a like-for-like
	# ratio where the bench's own rm -rf of the last stores leaves ext4
	# scanning past the inodes it freed
	if [ "${PEERS_TOPDIR:-0}" = 1 ]; then
		mkdir -p "$W/br/root/overlay" "$W/br/root/overlay-layers" "$W/br/root/overlay-containers"
		chattr +T "$W/br/root/overlay" "$W/br/root/overlay-layers" "$W/br/root/overlay-containers"
	fi
}

if [ "$DOCKER" = 1 ]; then
	mkdir -p "$W/dk"
	cat >"$W/dk/daemon.json" <<-EOF
		{"bridge": "none", "iptables": false, "ip-forward": false, "ip-masq": false,
		 "exec-opts": ["native.cgroupdriver=cgroupfs"], "storage-driver": "overlay2",
		 "data-root": "$W/dk/data", "exec-root": "$W/dk/exec", "pidfile": "$W/dk/dockerd.pid",
		 "hosts": ["unix://$W/dk/sock"],
		 "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 20000}}}
	EOF
	/usr/sbin/dockerd --config-file "$W/dk/daemon.json" >"$W/dk/log" 2>&1 &
	echo $! >"$W/dk/pid"
	for _ in $(seq 150); do dk version >/dev/null 2>&1 && break; sleep 0.2; done
	dk version >/dev/null 2>&1 || { echo "dockerd did not start: $(tail -3 "$W/dk/log")" >&2; exit 1; }
	# the classic builder's FROM needs the image's name as husk saves it
	sed -i 's|^FROM localhost/busybox|FROM localhost/busybox:latest|' "$W/ctx/Dockerfile" "$W/ctxc/Dockerfile"
fi
# Docker's "fresh store": the image and its intermediate (cache) images
# gone, busybox kept
dk_stores() {
	dk rmi -f bench >/dev/null 2>&1 || true
	dk image prune -f >/dev/null 2>&1 || true
	dk image inspect localhost/busybox:latest >/dev/null 2>&1 && return
	hk save --format docker-archive -o "$W/bb-dk.tar" localhost/busybox
	dk load -q -i "$W/bb-dk.tar" >/dev/null
}

# time_TOOL [CONTEXT]: one build, in ms
time_husk() { local t=$(now); hk build -q -t bench "${1:-$W/ctx}" >/dev/null; echo $((($(now) - t) / 1000000)); }
time_docker() { local t=$(now); DOCKER_BUILDKIT=0 dk build -q -t bench "${1:-$W/ctx}" >/dev/null 2>&1; echo $((($(now) - t) / 1000000)); }
time_bah() { local t=$(now); bh bud --isolation chroot --layers -q -t bench "${1:-$W/ctx}" >/dev/null 2>&1; echo $((($(now) - t) / 1000000)); }

TOOLS="husk bah"
[ "$DOCKER" = 1 ] && TOOLS="husk bah docker"
declare -A R
for r in $(seq "$RUNS"); do
	for tool in $TOOLS; do
		if [ $tool = docker ]; then dk_stores; else stores; fi
		echo "f" >"$W/ctx/files/d0/f0"
		R[cold_$tool]+="$(time_$tool) "
		R[cached_$tool]+="$(time_$tool) "
		echo "changed $r" >"$W/ctx/files/d1/f1"
		R[changed_$tool]+="$(time_$tool) "
		if [ $tool = husk ] && [ "$(hk run --rm bench)" != "$FILES" ]; then
			echo "husk's image is wrong" >&2
			exit 1
		fi
		if [ $tool = docker ]; then dk_stores; else stores; fi
		R[copy_$tool]+="$(time_$tool "$W/ctxc") "
	done
done
if [ "$DOCKER" = 1 ]; then
	printf '%-8s %10s %10s %10s %8s %8s\n' case husk-ms buildah-ms docker-ms husk/bah docker/bah
else
	printf '%-8s %10s %10s %8s\n' case husk-ms buildah-ms ratio
fi
for c in cold cached changed copy; do
	h=$(echo "${R[${c}_husk]}" | tr ' ' '\n' | grep . | median)
	b=$(echo "${R[${c}_bah]}" | tr ' ' '\n' | grep . | median)
	if [ "$DOCKER" = 1 ]; then
		d=$(echo "${R[${c}_docker]}" | tr ' ' '\n' | grep . | median)
		printf '%-8s %10s %10s %10s %8s %8s\n' "$c" "$h" "$b" "$d" "$(echo "scale=3; $h / $b" | bc)" \
			"$(echo "scale=3; $d / $b" | bc)"
	else
		printf '%-8s %10s %10s %8s\n' "$c" "$h" "$b" "$(echo "scale=3; $h / $b" | bc)"
	fi
done
