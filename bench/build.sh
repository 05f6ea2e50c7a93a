#!/bin/bash
# bench/build.sh: husk build against buildah bud (Debian's 1.28, --isolation
# chroot --layers, in its own storage), side by side in one run, on a
# two-stage Dockerfile with several RUN steps whose first stage copies a
# context of FILES files (default 10000, 100 MB in all):
#   cold     the first build (busybox already in both stores)
#   cached   the same build again: every step from the cache
#   changed  one file of the context changed: from its COPY on
# Each case is the median of RUNS (default 3) builds, each in fresh stores
# for "cold".  Prints milliseconds and husk/buildah ratios.
set -eu
cd "$(dirname "$0")/.."
HUSK=${HUSK:-$PWD/build/husk}
FILES=${FILES:-10000}
RUNS=${RUNS:-3}
command -v buildah >/dev/null || { echo "buildah is not installed" >&2; exit 1; }
W=$(mktemp -d /tmp/husk-bench-build.XXXXXX)
cleanup() {
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
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# the context: FILES files of 10 KiB in 100 dirs
mkdir -p "$W/ctx/files"
for d in $(seq 0 99); do mkdir -p "$W/ctx/files/d$d"; done
head -c $((FILES * 10240)) /dev/urandom >"$W/blob"
i=0
while [ $i -lt "$FILES" ]; do
	dd if="$W/blob" of="$W/ctx/files/d$((i % 100))/f$i" bs=10240 skip=$i count=1 status=none
	i=$((i + 1))
done
rm "$W/blob"
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

stores() {
	rm -rf "$W/hk" "$W/br"
	mkdir -p "$W/br"
	printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/br/root"\nrunroot = "%s/br/run"\n' "$W" "$W" >"$W/storage.conf"
	hk rm "$(hk create busybox true)" >/dev/null
	hk tag busybox localhost/busybox
	hk save -o "$W/bb.tar" localhost/busybox
	bh pull -q "oci-archive:$W/bb.tar" >/dev/null
	bh tag "$(bh images -q | head -1)" localhost/busybox:latest
}

time_husk() { local t=$(now); hk build -q -t bench "$W/ctx" >/dev/null; echo $((($(now) - t) / 1000000)); }
time_bah() { local t=$(now); bh bud --isolation chroot --layers -q -t bench "$W/ctx" >/dev/null 2>&1; echo $((($(now) - t) / 1000000)); }

declare -A R
for r in $(seq "$RUNS"); do
	for tool in husk bah; do
		stores
		echo "f" >"$W/ctx/files/d0/f0"
		R[cold_$tool]+="$(time_$tool) "
		R[cached_$tool]+="$(time_$tool) "
		echo "changed $r" >"$W/ctx/files/d1/f1"
		R[changed_$tool]+="$(time_$tool) "
		if [ $tool = husk ] && [ "$(hk run --rm bench)" != "$FILES" ]; then
			echo "husk's image is wrong" >&2
			exit 1
		fi
	done
done
printf '%-8s %10s %10s %8s\n' case husk-ms buildah-ms ratio
for c in cold cached changed; do
	h=$(echo "${R[${c}_husk]}" | tr ' ' '\n' | grep . | median)
	b=$(echo "${R[${c}_bah]}" | tr ' ' '\n' | grep . | median)
	printf '%-8s %10s %10s %8s\n' "$c" "$h" "$b" "$(echo "scale=3; $h / $b" | bc)"
done
