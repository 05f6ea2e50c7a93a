#!/bin/bash
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for
# FUZZ_SECONDS (default 15) from its seed corpus; a crash, a leak or the
# layer target's own check failing makes it fail.  Prints one TAP line per
# target.  Needs clang and libclang-rt-14-dev.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-15}
out=build-fuzz
mkdir -p "$out"
command -v clang >/dev/null || { echo "ok 1 fuzz # skip clang is not installed"; exit 0; }
flags="-g -O1 -fsanitize=fuzzer,address,undefined -iquote src/core -iquote src/image -iquote src/common -iquote src/build -iquote src/husk -iquote src/engine -iquote src/net -ffunction-sections -fdata-sections -Wl,--gc-sections -Wno-unused-command-line-argument"
# spec.c calls into the parsers of runtime-spec 1.3's objects and the id maps' /proc writes,
# and looks linux.seccomp up in the filter cache before it parses
spec_parts="src/core/mempolicy.c src/core/netdev.c src/core/intelrdt.c src/core/procfs.c src/core/seccomp.c src/core/json-span.c src/core/bpf-shrink.c"
core="src/core/error.c src/core/util.c src/core/spec.c src/core/spec-default.c $spec_parts"
# libarchive, libcurl and libcrypto are dlopen()ed on first use, as in husk
# (src/common/lazy.h)
lazy="src/common/lazy.c src/common/lazy-archive.c src/common/lazy-crypto.c"
image="src/image/store.c src/image/layer.c src/image/load.c src/image/busybox.c src/image/manage.c src/image/changes.c src/image/commit.c src/image/tartree.c src/core/error.c src/core/util.c $lazy"
libs_spec="$(pkg-config --libs jansson libcap libseccomp)"
libs_image="$(pkg-config --cflags libarchive libcrypto) $(pkg-config --libs jansson)"
registry="$image src/common/lazy-curl.c src/image/registry.c src/image/registry-http.c src/image/registry-auth.c src/image/save.c"
libs_registry="$(pkg-config --cflags libarchive libcurl libcrypto) $(pkg-config --libs jansson)"
# the engine's own parsers: Dockerfiles, --format templates, run's flag
# values, the container record, the address leases (functions the target
# does not reach are dropped with their sections, so the engine's other
# dependencies need not link)
base="src/core/error.c src/core/util.c"
engine="$base src/engine/mountspec.c src/engine/logattrs.c src/engine/config.c src/engine/record.c src/engine/user.c src/net/port.c src/net/rate.c src/core/spec.c src/core/spec-default.c $spec_parts"
libs_engine="$(pkg-config --libs jansson libcap libmnl libseccomp)"
i=0
run_target() { # NAME SOURCES LIBS
	local name=$1 src=$2 libs=$3
	i=$((i + 1))
	# shellcheck disable=SC2086
	if ! clang $flags -o "$out/$name" "tests/fuzz/$name.c" $src $libs 2>"$out/$name.build.log"; then
		echo "not ok $i fuzz $name: build failed"
		sed 's/^/# /' "$out/$name.build.log" | head -20
		return
	fi
	mkdir -p "$out/$name-corpus"
	cp -n tests/fuzz/seeds/$name/* "$out/$name-corpus/" 2>/dev/null
	if "$out/$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$out/" \
		"$out/$name-corpus" >"$out/$name.log" 2>&1; then
		echo "ok $i fuzz $name: $(grep -c . "$out/$name.log") lines of log, no crash in ${secs}s"
	else
		echo "not ok $i fuzz $name: crashed"
		grep -E 'ERROR|SUMMARY|abort' "$out/$name.log" | head -10 | sed 's/^/# /'
	fi
}
echo "1..8"
run_target fuzz-spec "$core" "$libs_spec"
run_target fuzz-layer "$image" "$libs_image"
run_target fuzz-manifest "$registry" "$libs_registry"
run_target fuzz-dockerfile "$base src/build/dockerfile.c src/build/runmount.c" "$(pkg-config --libs jansson)"
run_target fuzz-template "$base src/husk/template.c" "$(pkg-config --libs jansson)"
run_target fuzz-flags "$engine" "$libs_engine"
run_target fuzz-record "$base src/engine/record.c" "$(pkg-config --libs jansson)"
run_target fuzz-ipam "$base src/net/ipam.c" "$(pkg-config --libs jansson)"
rm -rf /tmp/husk-fuzz-layer.* /tmp/husk-fuzz-manifest.* /tmp/husk-fuzz-record.* /tmp/husk-fuzz-ipam.*
