#!/usr/bin/env bats
# husk build, as a Docker user builds: Dockerfiles that use every
# instruction, each also built by Debian's buildah 1.28 (`buildah bud
# --isolation chroot`, in the test's own storage) from the same context
# and compared: the image's root tree (paths, types, modes, owners,
# contents, link targets; tools/tree-list.py) and its config's fields.
# buildah's own label (io.buildah.version) and the empty /etc mount points
# buildah 1.28 leaves in its RUN layers are not compared.  Then a real program compiled in one stage and run from a
# small final one, the cache, and bad input.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
	CTX="$TEST_DIR/ctx"
	mkdir -p "$CTX"
}

teardown() {
	[ -f "$TEST_DIR/http.pid" ] && kill "$(cat "$TEST_DIR/http.pid")" 2>/dev/null
	if [ -d "$TEST_DIR/br" ]; then
		for c in $(bh containers -q 2>/dev/null); do bh umount "$c" >/dev/null 2>&1 || true; done
		bh rm -a >/dev/null 2>&1 || true
		bh rmi -af >/dev/null 2>&1 || true
		grep -F "$TEST_DIR/br" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	fi
	engine_teardown
}

# An HTTP server on loopback serving $TEST_DIR/www; its port to $PORT
http_serve() {
	mkdir -p "$TEST_DIR/www"
	python3 -u -m http.server -b 127.0.0.1 -d "$TEST_DIR/www" 0 >"$TEST_DIR/http.log" 2>&1 &
	echo $! >"$TEST_DIR/http.pid"
	for _ in $(seq 100); do
		grep -q 'port [0-9]' "$TEST_DIR/http.log" && break
		sleep 0.05
	done
	PORT=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$TEST_DIR/http.log")
	[ -n "$PORT" ]
}

# buildah in the test's own storage (TMPDIR: where buildah 1.28 keeps
# the dirs of RUN --mount=type=cache, /var/tmp/buildah-cache otherwise)
bh() {
	TMPDIR="$TEST_DIR/br/tmp" CONTAINERS_STORAGE_CONF="$TEST_DIR/br/storage.conf" \
		timeout 300 buildah --root "$TEST_DIR/br/root" --runroot "$TEST_DIR/br/run" --storage-driver overlay "$@"
}

# both builders with husk's busybox as localhost/busybox
buildah_setup() {
	command -v buildah >/dev/null || skip "buildah is not installed (scripts/setup.sh)"
	mkdir -p "$TEST_DIR/br/tmp"
	cat >"$TEST_DIR/br/storage.conf" <<-EOF
		[storage]
		driver = "overlay"
		graphroot = "$TEST_DIR/br/root"
		runroot = "$TEST_DIR/br/run"
	EOF
	"$HUSK" rm "$("$HUSK" create busybox true)" >/dev/null
	"$HUSK" tag busybox localhost/busybox
	"$HUSK" save -o "$TEST_DIR/bb.tar" localhost/busybox
	bh pull -q "oci-archive:$TEST_DIR/bb.tar" >/dev/null
	bh tag "$(bh images -q | head -1)" localhost/busybox:latest
}

# the root tree of husk's image NAME, listed
husk_tree() {
	local c d="$TEST_DIR/htree-$1"
	mkdir -p "$d"
	c=$("$HUSK" create "$1" true)
	"$HUSK" export "$c" | tar -x --numeric-owner -p -C "$d"
	"$HUSK" rm "$c" >/dev/null
	"$BATS_TEST_DIRNAME/tools/tree-list.py" "$d"
}

# buildah's: its image saved and loaded into husk as bah-NAME, then
# listed as husk's.  buildah 1.28 leaves in the layers of its RUN steps
# the empty files it bound /etc/hosts, /etc/hostname and /etc/resolv.conf
# on; Docker leaves none, nor does husk: they are not compared.  Nor are
# the paths in BUILDAH_STUBS (an extended regex): the empty mount points
# buildah 1.28 leaves for some RUN --mount targets (a tmpfs's, a bind's
# from a stage, the dirs above a target it made; its issue 4242), which
# BuildKit removes after the step, as husk does.
buildah_tree() {
	bh push -q "localhost/$1" "oci-archive:$TEST_DIR/bah-$1.tar:localhost/bah-$1:latest" >/dev/null
	"$HUSK" load -i "$TEST_DIR/bah-$1.tar" >/dev/null
	husk_tree "localhost/bah-$1" |
		grep -Ev '^etc/(hosts|hostname|resolv.conf) f e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ' |
		grep -Ev "^(${BUILDAH_STUBS:-/}) d "
}

# the config fields Docker sets, empty ones dropped, buildah's label out
CONFIG_FIELDS='{Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes,
	Labels: ((.Labels // {}) | del(.["io.buildah.version"])), StopSignal, Healthcheck,
	OnBuild, Shell} | with_entries(select(.value != null and .value != [] and .value != {} and .value != ""))'

husk_config() {
	"$HUSK" image inspect "$1" | jq -S ".[0].Config | $CONFIG_FIELDS"
}

buildah_config() {
	bh inspect --type image "localhost/$1" | jq -S ".Docker.config | $CONFIG_FIELDS"
}

# build NAME from CTX with both, compare trees and configs
build_both() {
	local name=$1
	shift
	run "$HUSK" build -t "$name" "$@" "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	bh bud --isolation chroot --format docker -q -t "$name" "$@" "$CTX" >"$TEST_DIR/bud.log" 2>&1 ||
		{ cat "$TEST_DIR/bud.log"; false; }
	diff <(buildah_tree "$name") <(husk_tree "$name")
	diff <(buildah_config "$name") <(husk_config "$name")
}

@test "build: every single-stage instruction, the same image as buildah's" {
	buildah_setup
	mkdir -p "$CTX/dir/sub" "$CTX/tarsrc/t"
	echo one >"$CTX/a.txt"
	echo two >"$CTX/b.txt"
	echo exe >"$CTX/run.sh"
	chmod 0750 "$CTX/run.sh"
	echo deep >"$CTX/dir/sub/deep"
	ln -s ../a.txt "$CTX/dir/link"
	echo in-tar >"$CTX/tarsrc/t/f"
	tar -C "$CTX/tarsrc" -czf "$CTX/files.tar.gz" --owner=7 --group=8 t
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/busybox
		MAINTAINER someone <s@example.com>
		ARG VERSION=1.0
		ARG OTHER
		ENV APP=/app PATH_EXTRA="with space" \
		    OLD_STYLE=x
		ENV LEGACY legacy value
		LABEL version=$VERSION "multi word"="a b" org.example.app=$APP
		EXPOSE 80 443/tcp 53/udp
		WORKDIR $APP/work
		WORKDIR sub
		RUN echo "$VERSION $APP" > version && id -u > uid
		RUN ["/bin/sh", "-c", "echo exec form > /exec"]
		COPY a.txt b.txt /multi/
		COPY a.txt /renamed.txt
		COPY --chown=1000:1000 --chmod=0640 a.txt /owned/
		COPY run.sh dir /tree/
		COPY *.txt /glob/
		COPY dir .
		ADD files.tar.gz /unpacked/
		ADD b.txt /added
		RUN mkdir -p /var/data && echo before > /var/data/keep && rm /app/work/sub/version
		VOLUME /var/data /other
		VOLUME ["/json"]
		USER 1000:1000
		STOPSIGNAL SIGINT
		HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD ["true"]
		SHELL ["/bin/sh", "-ec"]
		ONBUILD RUN echo triggered
		ENTRYPOINT ["/bin/echo"]
		CMD ["hello"]
	EOF
	build_both every --build-arg OTHER=given
	# and as a user sees it
	run "$HUSK" run --rm every
	[ "$output" = "hello" ]
	run "$HUSK" run --rm --entrypoint sh every -c 'cat /app/work/sub/uid /exec /unpacked/t/f; ls -ln /unpacked/t/f; ls -ln /owned/a.txt; cat /app/work/sub/sub/deep'
	echo "$output"
	[ "${lines[0]}" = "0" ]
	[ "${lines[1]}" = "exec form" ]
	[ "${lines[2]}" = "in-tar" ]
	[[ "${lines[3]}" == "-rw-r--r--"*" 7 "*" 8 "* ]]
	[[ "${lines[4]}" == "-rw-r-----"*" 1000 "*" 1000 "* ]]
	[ "${lines[5]}" = "deep" ]
}

@test "build: multi-stage, ARG before FROM, an earlier stage as a base and as --from, the same as buildah's" {
	buildah_setup
	echo data >"$CTX/data"
	cat >"$CTX/Dockerfile" <<-'EOF'
		ARG BASE=localhost/busybox
		FROM $BASE AS first
		ARG BASE
		RUN echo "$BASE" > /base && mkdir /out && echo built > /out/artifact
		ENV FIRST_ONLY=1
		FROM first AS second
		RUN echo second > /out/second
		FROM localhost/busybox
		COPY --from=second /out /from-second
		COPY --from=0 /base /base
		COPY --from=localhost/busybox /bin/busybox /copied-busybox
		COPY data /data
		CMD ["cat", "/from-second/artifact"]
	EOF
	build_both multi
	run "$HUSK" run --rm multi
	[ "$output" = "built" ]
	run "$HUSK" run --rm multi cat /base /from-second/second
	[ "${lines[0]}" = "localhost/busybox" ]
	[ "${lines[1]}" = "second" ]
	# Docker's rule: a stage's ENV stays in it (FIRST_ONLY not in the last)
	run "$HUSK" image inspect -f '{{json .Config.Env}}' multi
	[[ "$output" != *FIRST_ONLY* ]]
}

@test "build: --target stops at a stage; unused stages are not built" {
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM busybox AS a
		RUN echo in-a > /a
		FROM busybox AS broken
		RUN false
		FROM a AS b
		RUN echo in-b > /b
		FROM busybox
		RUN false
	EOF
	run "$HUSK" build -t tgt --target b "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"RUN false"* ]]
	run "$HUSK" run --rm tgt cat /a /b
	[ "$output" = "$(printf 'in-a\nin-b')" ]
}

@test "build: a C program compiled with gcc in one stage, copied into a scratch stage, runs" {
	# the compiler's image: the host's gcc and what it needs, as files
	local pkgs="gcc-12 cpp-12 libgcc-12-dev libc6-dev binutils binutils-x86-64-linux-gnu libbinutils
		libctf0 libctf-nobfd0 libisl23 libmpc3 libmpfr6 libgmp10 zlib1g libzstd1 libc6 libcrypt-dev
		linux-libc-dev libjansson4 libsframe1"
	dpkg-query -W gcc-12 >/dev/null 2>&1 || skip "gcc-12 is not installed"
	# their files by their real paths (Debian 12 merged /lib into /usr/lib),
	# then the merged-/usr links and busybox as /bin/sh
	# shellcheck disable=SC2086
	dpkg -L $pkgs 2>/dev/null | while read -r f; do
		if [ -L "$f" ] || { [ -f "$f" ] && [ ! -d "$f" ]; }; then
			d=$(realpath "$(dirname "$f")")
			echo "${d#/}/$(basename "$f")"
		fi
	done | sort -u >"$TEST_DIR/files"
	mkdir -p "$TEST_DIR/extra/usr/bin"
	cp /bin/busybox "$TEST_DIR/extra/usr/bin/sh"
	ln -s usr/lib "$TEST_DIR/extra/lib"
	ln -s usr/lib64 "$TEST_DIR/extra/lib64"
	ln -s usr/bin "$TEST_DIR/extra/bin"
	tar -C / -c --no-recursion -T "$TEST_DIR/files" >"$TEST_DIR/gcc.tar" 2>/dev/null
	tar -C "$TEST_DIR/extra" -rf "$TEST_DIR/gcc.tar" usr/bin/sh lib lib64 bin
	"$HUSK" import "$TEST_DIR/gcc.tar" gcc-host >/dev/null
	cat >"$CTX/hello.c" <<-'EOF'
		#include <stdio.h>
		int main(int argc, char **argv) { printf("hello from %s, %d args\n", argv[0], argc); return 0; }
	EOF
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM gcc-host AS build
		WORKDIR /src
		COPY hello.c .
		RUN gcc-12 -static -O2 -o /hello hello.c
		FROM scratch
		COPY --from=build /hello /hello
		ENTRYPOINT ["/hello"]
	EOF
	run "$HUSK" build -t hello "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm hello a b
	[ "$output" = "hello from /hello, 3 args" ]
	# the final image is one small layer
	run jq '.[0].RootFS.Layers | length' <<<"$("$HUSK" image inspect hello)"
	[ "$output" = "1" ]
}

@test "build: heredocs (RUN <<EOF as a script, COPY <<EOF as a file), ONBUILD triggers run when the image is a base" {
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM busybox
		ARG WHO=world
		RUN <<EOF
		echo "script line 1" > /script-out
		echo "hello $WHO" >> /script-out
		EOF
		COPY <<EOF /etc/greeting
		greeting for ${WHO}
		EOF
		COPY <<'EOF' /literal
		not expanded: $WHO
		EOF
		ONBUILD RUN echo "trigger ran" > /triggered
		ONBUILD COPY marker /marker
	DF
	run "$HUSK" build -t base-ob "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm base-ob cat /script-out /etc/greeting /literal
	[ "$output" = "$(printf 'script line 1\nhello world\ngreeting for world\nnot expanded: $WHO')" ]
	run "$HUSK" image inspect -f '{{json .Config.OnBuild}}' base-ob
	[ "$output" = '["RUN echo \"trigger ran\" > /triggered","COPY marker /marker"]' ]
	echo mark >"$CTX/marker"
	printf 'FROM base-ob\nRUN cat /triggered\n' >"$CTX/Dockerfile"
	run "$HUSK" build -t child-ob "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"trigger ran"* ]]
	run "$HUSK" run --rm child-ob cat /marker
	[ "$output" = "mark" ]
	# the triggers do not pass on
	run "$HUSK" image inspect -f '{{json .Config.OnBuild}}' child-ob
	[[ "$output" != *trigger* ]]
}

@test "build: heredocs as BuildKit: RUN <<EOF with #! runs with its interpreter, COPY of several, <<- and quoted" {
	# buildah 1.28 has no heredocs (they came in 1.33): checked by what the image holds
	printf 'FROM busybox\nARG WHO=world\n' >"$CTX/Dockerfile"
	cat >>"$CTX/Dockerfile" <<-'DF'
		RUN <<EOF
		#!/bin/awk -f
		BEGIN { print "awk ran " ARGV[0] > "/by-awk" }
		EOF
		RUN <<EOF
		echo "no #!: by the shell $WHO" > /by-sh
		EOF
		COPY <<one <<"two" /files/
		one for ${WHO}
		one
		two keeps $WHO
		two
		DF
	printf 'COPY <<-EOF /stripped\n\t\tno tabs\n\tEOF\n' >>"$CTX/Dockerfile"
	run "$HUSK" build -t hd "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm hd sh -c 'cat /by-awk /by-sh /files/one /files/two /stripped; ls /dev/pipes'
	echo "$output"
	[ "${lines[0]}" = "awk ran awk" ]
	[ "${lines[1]}" = "no #!: by the shell world" ]
	[ "${lines[2]}" = "one for world" ]
	[ "${lines[3]}" = 'two keeps $WHO' ]
	[ "${lines[4]}" = "no tabs" ]
	# the script was a mount of the step, not a file of its layer
	[[ "${lines[5]}" == *"No such file"* ]]
	# a changed script is a new key: the step runs again
	sed -i 's/awk ran/awk now/' "$CTX/Dockerfile"
	"$HUSK" build -q -t hd "$CTX"
	run "$HUSK" run --rm hd cat /by-awk
	[ "$output" = "awk now awk" ]
}

@test "build --network: RUN steps on the default bridge (Docker's default), none, host" {
	# buildah --isolation chroot always runs on the host's network: not compared
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM busybox
		RUN ls /sys/class/net | tr '\n' ' ' > /nets; ip -4 -o addr show eth0 2>/dev/null | wc -l > /eth0
		RUN true
		RUN true
	DF
	run "$HUSK" build -t net-default "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$("$HUSK" run --rm net-default cat /nets /eth0)" = "eth0 lo 1" ]
	"$HUSK" build -q --no-cache --network none -t net-none "$CTX"
	[ "$("$HUSK" run --rm net-none cat /nets)" = "lo " ]
	"$HUSK" build -q --no-cache --network bridge -t net-bridge "$CTX"
	[ "$("$HUSK" run --rm net-bridge cat /nets)" = "eth0 lo " ]
	printf 'FROM busybox\nRUN readlink /proc/self/ns/net > /netns\n' >"$CTX/Dockerfile.host"
	"$HUSK" build -q --network host -f "$CTX/Dockerfile.host" -t net-host "$CTX"
	[ "$("$HUSK" run --rm net-host cat /netns)" = "$(readlink /proc/self/ns/net)" ]
	# RUN true leaves no layer: not the /etc the engine's mount points were
	# copied up for, which made identical layers that overlayfs refused
	[ "$("$HUSK" image inspect net-none | jq '.[0].RootFS.Layers | length')" = 2 ]
	run "$HUSK" build --network bogus "$CTX"
	[ "$status" -eq 125 ]
	[[ "$output" == *'--network "bogus"'* ]]
}

@test "build RUN --network=none|host|default: the step's network over the build's" {
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM busybox
		RUN --network=none ls /sys/class/net | tr '\n' ' ' > /nets-none
		RUN --network=default ls /sys/class/net | tr '\n' ' ' > /nets-default
		RUN --network=host readlink /proc/self/ns/net > /netns
	DF
	run "$HUSK" build -t runnet "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$("$HUSK" run --rm runnet cat /nets-none)" = "lo " ]
	[ "$("$HUSK" run --rm runnet cat /nets-default)" = "eth0 lo " ]
	[ "$("$HUSK" run --rm runnet cat /netns)" = "$(readlink /proc/self/ns/net)" ]
	# default is the build's --network; the flag is in the step's key
	"$HUSK" build -q --no-cache --network none -t runnet2 "$CTX" >/dev/null
	[ "$("$HUSK" run --rm runnet2 cat /nets-default)" = "lo " ]
	sed -i 's/--network=none ls/--network=default ls/' "$CTX/Dockerfile"
	"$HUSK" build -q -t runnet "$CTX" >/dev/null
	[ "$("$HUSK" run --rm runnet cat /nets-none)" = "eth0 lo " ]
}

@test "build RUN --mount=type=cache: the dir is kept between builds and is in no layer, the same tree as buildah's; builder prune removes it" {
	buildah_setup
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM localhost/busybox
		RUN --mount=type=cache,target=/root/.cache,id=app sh -c 'echo run >> /root/.cache/log; wc -l < /root/.cache/log > /count'
		RUN --mount=type=cache,target=/var/cache,uid=7,gid=8,mode=0750,sharing=locked stat -c '%u %g %a' /var/cache > /cstat
	DF
	build_both cachemnt
	[ "$("$HUSK" run --rm cachemnt cat /count /cstat)" = "$(printf '1\n7 8 750')" ]
	# the mount points the engine made for it are not the layer's either
	[ -z "$("$HUSK" run --rm cachemnt ls -A /root)" ]
	run "$HUSK" run --rm cachemnt ls /var/cache
	[ "$status" -ne 0 ]
	# the next build's step finds what the last one left
	"$HUSK" build -q --no-cache -t cachemnt "$CTX" >/dev/null
	[ "$("$HUSK" run --rm cachemnt cat /count)" = 2 ]
	[ "$(ls "$HUSK_ROOT/build-cache-mounts" | wc -l)" = 2 ]
	# the mount's spec, its ARGs expanded, is in the step's key: another
	# id, a new cache
	sed -i 's/id=app/id=$CID/; 1a ARG CID' "$CTX/Dockerfile"
	run "$HUSK" build --build-arg CID=other -t cachemnt "$CTX"
	[ "$(grep -c 'Using cache' <<<"$output")" = 0 ]
	[ "$("$HUSK" run --rm cachemnt cat /count)" = 1 ]
	[ "$(ls "$HUSK_ROOT/build-cache-mounts" | wc -l)" = 3 ]
	run "$HUSK" builder prune -f
	[ "$status" -eq 0 ]
	[ -z "$(ls "$HUSK_ROOT/build-cache-mounts")" ]
	"$HUSK" build -q --no-cache -t cachemnt "$CTX" >/dev/null
	[ "$("$HUSK" run --rm cachemnt cat /count)" = 1 ]
}

@test "build RUN --mount=type=bind from the context: read-only, rw writes thrown away, a change of the bound files reruns the step, .dockerignore'd files absent; the same tree as buildah's" {
	buildah_setup
	mkdir -p "$CTX/app"
	echo v1 >"$CTX/app/conf"
	echo log >"$CTX/app/skip.log"
	echo other >"$CTX/other"
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM localhost/busybox
		WORKDIR /w
		RUN --mount=type=bind,source=app,target=/w/src x=bind && echo "ran-$x" && cat src/conf > /conf && ls src > /listing && ! touch src/new 2>/dev/null
		RUN --mount=type=bind,target=/ctx cat /ctx/other > /other
	DF
	build_both bindctx
	[ "$("$HUSK" run --rm bindctx cat /conf /listing /other)" = "$(printf 'v1\nconf\nskip.log\nother')" ]
	[ ! -e "$CTX/app/new" ]
	[ -z "$("$HUSK" run --rm bindctx ls -A /w)" ]
	run "$HUSK" run --rm bindctx ls /ctx
	[ "$status" -ne 0 ]
	# rw: the step writes, the writes go with it (buildah 1.28 writes
	# into the context: not compared)
	echo 'RUN --mount=type=bind,target=/ctx,rw touch /ctx/written && echo more >> /ctx/other && cat /ctx/other > /other' >>"$CTX/Dockerfile"
	"$HUSK" build -q -t bindctx "$CTX" >/dev/null
	[ ! -e "$CTX/written" ]
	[ "$(cat "$CTX/other")" = other ]
	[ "$("$HUSK" run --rm bindctx cat /other)" = "$(printf 'other\nmore')" ]
	# unchanged: from the cache
	run "$HUSK" build -t bindctx "$CTX"
	echo "$output"
	[ "$(grep -c 'Using cache' <<<"$output")" = 4 ]
	[[ "$output" != *ran-bind* ]]
	# a file outside the first mount's source: only the steps after it run
	echo other2 >"$CTX/other"
	run "$HUSK" build -t bindctx "$CTX"
	[ "$(grep -c 'Using cache' <<<"$output")" = 2 ]
	[ "$("$HUSK" run --rm bindctx cat /other)" = "$(printf 'other2\nmore')" ]
	# a bound file changes: the step runs again
	echo v2 >"$CTX/app/conf"
	run "$HUSK" build -t bindctx "$CTX"
	echo "$output"
	[[ "$output" == *ran-bind* ]]
	[ "$("$HUSK" run --rm bindctx cat /conf)" = v2 ]
	# Docker's context has no .dockerignore'd file: neither has the
	# mount; a relative target is in WORKDIR (buildah 1.28 refuses it)
	printf 'app/*.log\n' >"$CTX/.dockerignore"
	sed -i 's|target=/w/src|target=src|' "$CTX/Dockerfile"
	"$HUSK" build -q -t bindctx "$CTX" >/dev/null
	[ "$("$HUSK" run --rm bindctx cat /listing)" = conf ]
	[ -z "$("$HUSK" run --rm bindctx ls -A /w)" ]
}

@test "build RUN --mount=type=bind from a stage and from an image; the same tree as buildah's" {
	buildah_setup
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM localhost/busybox AS tools
		RUN mkdir /out && echo tool > /out/t
		FROM localhost/busybox
		RUN --mount=type=bind,from=tools,source=/out,target=/tmp/tools cp /tmp/tools/t /t
		RUN --mount=type=bind,from=localhost/busybox,target=/tmp/bb ls /tmp/bb/bin/busybox > /seen
	DF
	BUILDAH_STUBS='tmp/(bb|tools)' build_both bindstage
	[ "$("$HUSK" run --rm bindstage cat /t /seen)" = "$(printf 'tool\n/tmp/bb/bin/busybox')" ]
	[ -z "$("$HUSK" run --rm bindstage ls -A /tmp)" ]
	# what the stage gives changes: the step runs again
	sed -i 's/echo tool/echo tool2/' "$CTX/Dockerfile"
	"$HUSK" build -q -t bindstage "$CTX" >/dev/null
	[ "$("$HUSK" run --rm bindstage cat /t)" = tool2 ]
}

@test "build RUN --mount=type=tmpfs: a tmpfs for the step, in no layer; the same tree as buildah's" {
	buildah_setup
	# (not on /tmp: buildah 1.28 then empties the whole image)
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM localhost/busybox
		RUN --mount=type=tmpfs,target=/scratch sh -c 'grep -c " /scratch tmpfs" /proc/mounts > /mounted; echo x > /scratch/f'
	DF
	BUILDAH_STUBS=scratch build_both tmpfsmnt
	[ "$("$HUSK" run --rm tmpfsmnt cat /mounted)" = 1 ]
	run "$HUSK" run --rm tmpfsmnt ls /scratch
	[ "$status" -ne 0 ]
	# size=, and programs run from it (BuildKit's tmpfs is not noexec);
	# buildah 1.28 takes no size=
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM busybox
		RUN --mount=type=tmpfs,target=/t,size=4m sh -c 'grep " /t tmpfs" /proc/mounts > /mounted; cp /bin/busybox /t/sh && /t/sh -c "echo ran > /ran"'
	DF
	"$HUSK" build -q -t tmpfs2 "$CTX" >/dev/null
	run "$HUSK" run --rm tmpfs2 cat /mounted /ran
	[[ "${lines[0]}" == *size=4096k* ]]
	[ "${lines[1]}" = ran ]
	run "$HUSK" run --rm tmpfs2 ls /t
	[ "$status" -ne 0 ]
}

@test "build --secret, RUN --mount=type=secret: the secret is in the step, in no layer, history, config or cache; the same tree as buildah's" {
	buildah_setup
	local value="tok-$RANDOM-s3cr3t-$RANDOM"
	printf %s "$value" >"$TEST_DIR/tok"
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM localhost/busybox
		RUN --mount=type=secret,id=tok,target=/etc/tok.txt,mode=0440,uid=7 stat -c '%a %u' /etc/tok.txt > /tokstat && wc -c < /etc/tok.txt > /toklen
		RUN --mount=type=secret,id=nope cat /run/secrets/nope 2>/dev/null || echo skipped > /skipped
	DF
	build_both secretmnt --secret "id=tok,src=$TEST_DIR/tok"
	[ "$("$HUSK" run --rm secretmnt cat /tokstat /toklen /skipped)" = "$(printf '440 7\n%s\nskipped' "${#value}")" ]
	# the default target, required; from a variable (env=)
	printf 'FROM busybox\nRUN --mount=type=secret,id=tok,required cat /run/secrets/tok\n' >"$CTX/Dockerfile"
	run "$HUSK" build -t secret2 --secret "id=tok,src=$TEST_DIR/tok" "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$value"* ]]
	[ -z "$("$HUSK" run --rm secret2 ls -A /run)" ]
	export MYTOK=from-env
	run "$HUSK" build --no-cache -t secret3 --secret id=tok,env=MYTOK "$CTX"
	[[ "$output" == *from-env* ]]
	# nowhere in what husk keeps
	run grep -rlF "$value" "$HUSK_ROOT"
	[ "$status" -eq 1 ]
	"$HUSK" save -o "$TEST_DIR/s.tar" secretmnt secret2
	run grep -caF "$value" "$TEST_DIR/s.tar"
	[ "$output" = 0 ]
	[[ "$("$HUSK" history --no-trunc secretmnt; "$HUSK" history --no-trunc secret2)" != *"$value"* ]]
	[[ "$("$HUSK" image inspect secretmnt secret2)" != *"$value"* ]]
}

@test "build errors: a flag the instruction does not take, an unsupported mount, a missing required secret: one line with file:line, nothing left" {
	touch "$CTX/a"
	local df expect
	while IFS='|' read -r df expect; do
		printf 'FROM busybox\n%s\n' "$df" >"$CTX/Dockerfile"
		run --separate-stderr "$HUSK" build -t bad "$CTX" </dev/null
		echo "$df: $stderr"
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "$stderr" == "husk: build: Dockerfile:2: $expect"* ]]
		assert_failed_clean
	done <<-'EOF'
		RUN --foo true|RUN: unknown flag --foo
		COPY --parents a /b/|COPY: unknown flag --parents
		RUN --from=x true|RUN: unknown flag --from
		RUN --security=insecure true|RUN --security=insecure: husk runs no build step with every privilege
		RUN --network=bridge true|RUN --network=bridge: default, none or host
		RUN --mount=type=ssh true|RUN --mount=type=ssh: type=ssh is not supported by husk
		RUN --mount=type=cache true|RUN --mount=type=cache: mount type "cache" needs a target
		RUN --mount=type=bind,source=../x,target=/x true|RUN --mount=type=bind,source=../x,target=/x true: --mount=type=bind,source=../x,target=/x: "../x": forbidden path outside the build context
		RUN --mount=type=secret,id=tok,required true|RUN --mount=type=secret,id=tok,required true: --mount=type=secret,target=/run/secrets/tok: secret "tok" is required
	EOF
	# FROM --platform: the host's only (BuildKit's $BUILDPLATFORM is it)
	printf 'FROM --platform=linux/s390x busybox\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad "$CTX"
	[ "$stderr" = "husk: build: Dockerfile:1: FROM --platform=linux/s390x busybox: --platform \"linux/s390x\": this host runs linux/amd64 containers only" ]
	assert_failed_clean
	# a --secret whose file is not there
	printf 'FROM busybox\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad --secret "id=x,src=$TEST_DIR/none" "$CTX"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"--secret id=x: \"$TEST_DIR/none\": No such file or directory" ]]
	assert_failed_clean
	# what is taken: COPY --link (BuildKit's layer reuse: the same tree),
	# FROM --platform=$BUILDPLATFORM and the TARGET* args
	printf 'FROM --platform=$BUILDPLATFORM busybox\nARG TARGETARCH\nCOPY --link a /a\nRUN echo "$TARGETARCH" > /arch\n' >"$CTX/Dockerfile"
	"$HUSK" build -q -t good "$CTX" >/dev/null
	[ "$("$HUSK" run --rm good cat /arch)" = amd64 ]
}

@test "build: the same layer twice in an image (the same COPY twice) builds and runs" {
	echo same >"$CTX/f"
	buildah_setup
	printf 'FROM localhost/busybox\nCOPY f /f\nCOPY f /f\nRUN cat /f\n' >"$CTX/Dockerfile"
	build_both twice
	[ "$("$HUSK" image inspect twice | jq '.[0].RootFS.Layers | .[1] == .[2]')" = true ]
	[ "$("$HUSK" run --rm twice cat /f)" = same ]
}

@test "build: ADD of http:// URLs as Docker's builder: named by the URL or the destination, 0600, Last-Modified's mtime, never unpacked, the same as buildah's" {
	buildah_setup
	http_serve
	mkdir -p "$TEST_DIR/www/d"
	echo hello >"$TEST_DIR/www/d/hello.txt"
	touch -d '2020-01-02 03:04:05 UTC' "$TEST_DIR/www/d/hello.txt"
	tar -C "$TEST_DIR/www" -cf "$TEST_DIR/www/a.tar" d
	cat >"$CTX/Dockerfile" <<-DF
		FROM localhost/busybox
		ADD http://127.0.0.1:$PORT/a.tar /tars/
		ADD http://127.0.0.1:$PORT/d/hello.txt /dl/
		ADD http://127.0.0.1:$PORT/d/hello.txt?x=1 /named
		ADD --chmod=644 http://127.0.0.1:$PORT/d/hello.txt /dl/again/
	DF
	build_both url
	run "$HUSK" run --rm url stat -c '%n %a %Y' /dl/hello.txt /tars/a.tar /named /dl/again/hello.txt
	echo "$output"
	[ "${lines[0]}" = "/dl/hello.txt 600 1577934245" ]
	[ "${lines[1]% *}" = "/tars/a.tar 600" ]
	[ "${lines[2]}" = "/named 600 1577934245" ]
	[ "${lines[3]}" = "/dl/again/hello.txt 644 1577934245" ]
	# the cache: the URLs are fetched again and keyed by their content
	run "$HUSK" build -t url "$CTX"
	[ "$(grep -c 'Using cache' <<<"$output")" = 4 ]
	echo changed >"$TEST_DIR/www/d/hello.txt"
	run "$HUSK" build -t url "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'Using cache' <<<"$output")" = 1 ] # the tar's ADD, before
	[ "$("$HUSK" run --rm url cat /dl/hello.txt)" = changed ]
}

@test "build: ADD --checksum=sha256: verifies the download; a URL that fails, or names no file, is one line" {
	http_serve
	echo hello >"$TEST_DIR/www/hello.txt"
	sum=$(sha256sum "$TEST_DIR/www/hello.txt" | cut -d' ' -f1)
	printf 'FROM busybox\nADD --checksum=sha256:%s http://127.0.0.1:%s/hello.txt /h\n' "$sum" "$PORT" >"$CTX/Dockerfile"
	"$HUSK" build -q -t ck "$CTX"
	[ "$("$HUSK" run --rm ck cat /h)" = hello ]
	bad=$(echo x | sha256sum | cut -d' ' -f1)
	printf 'FROM busybox\nADD --checksum=sha256:%s http://127.0.0.1:%s/hello.txt /h\n' "$bad" "$PORT" >"$CTX/Dockerfile"
	run "$HUSK" build -t ck2 "$CTX"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == *"Dockerfile:2: "*"digest mismatch: expected sha256:$bad, got sha256:$sum" ]]
	run "$HUSK" image inspect ck2
	[ "$status" -ne 0 ]
	printf 'FROM busybox\nADD --checksum=sha256:%s hello.txt /h\n' "$sum" >"$CTX/Dockerfile"
	run "$HUSK" build "$CTX"
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == *"--checksum: only for one http:// or https:// source" ]]
	printf 'FROM busybox\nADD http://127.0.0.1:%s/missing /m\n' "$PORT" >"$CTX/Dockerfile"
	run "$HUSK" build "$CTX"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == *"ADD \"http://127.0.0.1:$PORT/missing\": "*404* ]]
	printf 'FROM busybox\nADD http://127.0.0.1:%s/ /dir/\n' "$PORT" >"$CTX/Dockerfile"
	run "$HUSK" build "$CTX"
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == *"cannot determine filename from url: http://127.0.0.1:$PORT/" ]]
	[ -z "$(ls "$HUSK_ROOT/tmp")" ]
}

@test "build --squash: the new layers as one on the base image's (as Podman's), history kept, the same tree as buildah's" {
	buildah_setup
	echo a >"$CTX/a"
	cat >"$CTX/Dockerfile" <<-'DF'
		FROM localhost/busybox
		RUN mkdir -p /d/sub && echo 1 > /d/sub/x && echo keep > /d/k && ln -s /d/k /lnk
		COPY a /a
		RUN rm -rf /d/sub /bin/vi && echo 2 > /d/y && chmod 700 /d
		ENV X=1
		RUN mkdir /d/sub && echo new > /d/sub/z
		CMD ["sh"]
	DF
	build_both sq --squash
	# the base's one layer, and one for the build; buildah 1.28 squashes
	# the base's in too (Podman's documented --squash keeps them, its
	# --squash-all does not)
	[ "$("$HUSK" image inspect sq | jq '.[0].RootFS.Layers | length')" = 2 ]
	[ "$(bh inspect --type image localhost/sq | jq '.OCIv1.rootfs.diff_ids | length')" = 1 ]
	[ "$("$HUSK" image inspect sq | jq -r '.[0].RootFS.Layers[0]')" = \
		"$("$HUSK" image inspect localhost/busybox | jq -r '.[0].RootFS.Layers[0]')" ]
	# every step in the history, then the merge
	run "$HUSK" history --no-trunc --format '{{.CreatedBy}}' sq
	echo "$output"
	[[ "${lines[0]}" == "merge sha256:"*" to sha256:"* ]]
	[[ "${lines[2]}" == *"mkdir /d/sub && echo new > /d/sub/z" ]]
	[ "${#lines[@]}" = 8 ]
	# the same tree as without --squash, where the whiteouts and the
	# opaque dir were layers of their own
	"$HUSK" build -q -t unsq "$CTX" >/dev/null
	diff <(husk_tree unsq) <(husk_tree sq)
	"$HUSK" run --rm sq sh -c 'test ! -e /bin/vi && test ! -e /d/sub/x && cat /d/sub/z'
}

@test "build: a Containerfile, .dockerignore, -f, a Dockerfile on stdin, a tar context on stdin, --iidfile, -q, --label, --rm, --progress, --platform" {
	echo keep >"$CTX/keep"
	echo secret >"$CTX/secret.key"
	mkdir -p "$CTX/logs"
	echo l >"$CTX/logs/a.log"
	echo important >"$CTX/logs/important.log"
	printf '*.key\nlogs/*.log\n!logs/important.log\n' >"$CTX/.dockerignore"
	printf 'FROM busybox\nCOPY . /ctx/\n' >"$CTX/Containerfile"
	run "$HUSK" build -q --iidfile "$TEST_DIR/iid" --label team=infra -t ign "$CTX"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "sha256:$output" = "$(cat "$TEST_DIR/iid")" ]
	run "$HUSK" run --rm ign find /ctx -type f
	[ "$(echo "$output" | sort)" = "$(printf '/ctx/.dockerignore\n/ctx/Containerfile\n/ctx/keep\n/ctx/logs/important.log')" ]
	run "$HUSK" image inspect -f '{{.Config.Labels.team}}' ign
	[ "$output" = infra ]
	# -f elsewhere
	printf 'FROM busybox\nCMD ["echo", "from -f"]\n' >"$TEST_DIR/Other.dockerfile"
	"$HUSK" build -q -t viaf -f "$TEST_DIR/Other.dockerfile" "$CTX" >/dev/null
	run "$HUSK" run --rm viaf
	[ "$output" = "from -f" ]
	# a Dockerfile on stdin: no context
	run "$HUSK" build -t stdin-df - <<<$'FROM busybox\nRUN echo from-stdin > /x'
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm stdin-df cat /x
	[ "$output" = from-stdin ]
	# a tar on stdin: the context
	printf 'FROM busybox\nCOPY keep /keep\n' >"$CTX/Dockerfile"
	tar -C "$CTX" -c Dockerfile keep | "$HUSK" build -q -t stdin-tar - >/dev/null
	run "$HUSK" run --rm stdin-tar cat /keep
	[ "$output" = keep ]
	# the flags CI scripts pass Docker's builders: --rm, --force-rm,
	# --progress (quiet is -q), --platform of the host
	run "$HUSK" build --rm --force-rm --progress=plain --platform linux/amd64 -t flags "$CTX"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "STEP 1/2: FROM busybox" ]]
	run "$HUSK" build --rm=true --progress quiet -t flags "$CTX"
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "$("$HUSK" image inspect -f '{{.Id}}' flags | sed 's/^sha256://')" ]
	run "$HUSK" build --rm=false "$CTX"
	[ "$status" -eq 125 ]
	[ "$output" = "husk: build: --rm=false: husk always removes the steps' containers (see 'husk build --help')" ]
	run "$HUSK" build --progress fancy "$CTX"
	[ "$status" -eq 125 ]
	run "$HUSK" build --platform linux/s390x "$CTX"
	[ "$status" -eq 125 ]
	[[ "$output" == *'--platform "linux/s390x": this host runs linux/'* ]]
}

@test "build cache: an unchanged rebuild runs no step; a changed file reruns from its COPY on; --no-cache; builder prune" {
	echo 1 >"$CTX/one"
	echo 2 >"$CTX/two"
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM busybox
		RUN x=a && echo "ran-$x" && echo a > /a
		COPY one /one
		RUN x=b && echo "ran-$x" && cat /one > /b
		COPY two /two
		RUN x=c && echo "ran-$x"
		CMD ["cat", "/b"]
	EOF
	run "$HUSK" build -t cached "$CTX"
	[ "$status" -eq 0 ]
	id1=${lines[-1]}
	[[ "$output" == *ran-a*ran-b*ran-c* ]]
	# unchanged: every step from the cache, the same image
	run "$HUSK" build -t cached "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *ran-[abc]* ]]
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 6 ]
	[ "${lines[-1]}" = "$id1" ]
	# a new mtime alone changes nothing
	touch -d '2001-01-01' "$CTX/one"
	run "$HUSK" build -t cached "$CTX"
	[[ "$output" != *ran-[abc]* ]]
	# one file changes: from its COPY on
	echo changed >"$CTX/one"
	run "$HUSK" build -t cached "$CTX"
	echo "$output"
	[[ "$output" != *ran-a* ]]
	[[ "$output" == *ran-b*ran-c* ]]
	[ "$(grep -c 'Using cache' <<<"$output")" -eq 1 ]
	run "$HUSK" run --rm cached
	[ "$output" = changed ]
	# a mode change is a change
	chmod 0600 "$CTX/two"
	run "$HUSK" build -t cached "$CTX"
	[[ "$output" == *ran-c* && "$output" != *ran-b* ]]
	run "$HUSK" build --no-cache -t cached "$CTX"
	[[ "$output" == *ran-a*ran-b*ran-c* ]]
	[[ "$output" != *"Using cache"* ]]
	# builder prune empties the cache
	run "$HUSK" builder prune -f
	[ "$status" -eq 0 ]
	[ -z "$(ls "$HUSK_ROOT/build-cache")" ]
	run "$HUSK" build -t cached "$CTX"
	[[ "$output" == *ran-a* ]]
	# a cache entry lives as long as its layers: rmi and prune take both
	"$HUSK" rmi cached >/dev/null
	"$HUSK" image prune -f >/dev/null
	run "$HUSK" build -t cached "$CTX"
	[[ "$output" == *ran-a* ]]
}

# the diff id of the last layer of image $1
last_layer() {
	"$HUSK" image inspect "$1" | jq -r '.[0].RootFS.Layers[-1]'
}

@test "build cache: after a change, COPY links the unchanged files from its earlier layer and makes the same layer as a cold build (a changed, deleted or re-moded file, a new owner)" {
	for d in a b; do
		mkdir -p "$CTX/files/$d/deep"
		for i in $(seq 20); do echo "$d $i" >"$CTX/files/$d/f$i"; done
		echo "deep $d" >"$CTX/files/$d/deep/x"
	done
	ln -s f1 "$CTX/files/a/link"
	# old enough for their hashes to be kept (files changed in the last
	# 20 ms are hashed again), and dirs with times of their own
	touch -h -d '1 hour ago' "$CTX"/files/*/* "$CTX"/files/*/deep/x
	touch -d '2 hours ago' "$CTX"/files/* "$CTX"/files/*/deep
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM busybox
		ARG OWNER=0
		COPY --chown=$OWNER files/ /
	EOF
	sleep 0.1 # not a wait: see above
	"$HUSK" build -q -t cold "$CTX" >/dev/null
	echo changed >"$CTX/files/a/f3"
	rm "$CTX/files/b/f5"
	chmod 0600 "$CTX/files/a/f7"
	"$HUSK" build -q -t warm "$CTX" >/dev/null
	warm=$(last_layer warm)
	[ "$warm" != "$(last_layer cold)" ]
	# the unchanged files are the earlier layer's, linked
	run stat -c %h "$HUSK_ROOT/layers/${warm#sha256:}/a/f1" "$HUSK_ROOT/layers/${warm#sha256:}/b/deep/x"
	[ "$output" = "$(printf '2\n2')" ]
	run stat -c %h "$HUSK_ROOT/layers/${warm#sha256:}/a/f3" "$HUSK_ROOT/layers/${warm#sha256:}/a/f7"
	[ "$output" = "$(printf '1\n1')" ]
	# the same bytes as a build of the changed context that links nothing
	"$HUSK" build -q --no-cache -t nocache "$CTX" >/dev/null
	[ "$(last_layer nocache)" = "$warm" ]
	run "$HUSK" run --rm warm sh -c 'cat /a/f3 /a/f1 /b/deep/x; stat -c "%a %u" /a/f7; ls /b | grep -c "^f5$"; readlink /a/link'
	[ "$output" = "$(printf 'changed\na 1\ndeep b\n600 0\n0\nf1')" ]
	# another owner: every file is written again, owned by it
	"$HUSK" build -q --build-arg OWNER=7 -t owner "$CTX" >/dev/null
	owner=$(last_layer owner)
	run stat -c '%h %u' "$HUSK_ROOT/layers/${owner#sha256:}/a/f1"
	[ "$output" = "1 7" ]
	"$HUSK" build -q --no-cache --build-arg OWNER=7 -t owner-nocache "$CTX" >/dev/null
	[ "$(last_layer owner-nocache)" = "$owner" ]
	# the earlier layer gone, the record is of no use: copied again
	"$HUSK" rmi cold warm nocache owner owner-nocache >/dev/null
	"$HUSK" image prune -f >/dev/null
	! ls "$HUSK_ROOT/build-cache" | grep '^copy-'
	echo again >"$CTX/files/a/f3"
	"$HUSK" build -q -t again "$CTX" >/dev/null
	run "$HUSK" run --rm again cat /a/f3 /a/f1
	[ "$output" = "$(printf 'again\na 1')" ]
}

@test "build cache: COPY --from is keyed by what it copies: a change in the earlier stage that leaves those files as they were reruns nothing after the copy" {
	echo 1 >"$CTX/a"
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM busybox AS one
		COPY a /a
		RUN x=size && echo "ran-$x" && wc -c < /a > /size
		FROM busybox
		COPY --from=one /size /size
		RUN x=last && echo "ran-$x" && cat /size
	EOF
	run "$HUSK" build -t fromkey "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *ran-size*ran-last* ]]
	# the same size: the stage runs again, the copy from it is the same
	echo 2 >"$CTX/a"
	run "$HUSK" build -t fromkey "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *ran-size* && "$output" != *ran-last* ]]
	# another size: the steps after the copy run
	echo 333 >"$CTX/a"
	run "$HUSK" build -t fromkey "$CTX"
	[[ "$output" == *ran-size*ran-last* ]]
	[ "$("$HUSK" run --rm fromkey cat /size)" = 4 ]
}

# after a failed build: one line on stderr, no image, nothing left
assert_failed_clean() {
	[ "$status" -ne 0 ]
	[ -z "$("$HUSK" images -q --filter reference=bad 2>/dev/null || true)" ]
	run "$HUSK" image inspect bad
	[ "$status" -ne 0 ]
	[ -z "$("$HUSK" ps -aq)" ]
	[ -z "$(ls "$HUSK_ROOT/tmp")" ]
	! grep -F "$TEST_DIR" /proc/self/mountinfo | grep -v /layers/
}

@test "build cache: the context's file hashes are kept between builds, and a file rewritten with its size and mtime put back is still seen" {
	mkdir -p "$CTX/files"
	for i in $(seq 50); do echo "file $i" >"$CTX/files/f$i"; done
	touch -d '1 hour ago' "$CTX"/files/*
	printf 'FROM busybox\nCOPY files /files\nRUN cat /files/f7\n' >"$CTX/Dockerfile"
	sleep 0.1 # not a wait: files changed in the last 20 ms are not kept
	"$HUSK" build -q -t hc "$CTX"
	# one line per file: its sha256, inode, size, mtime, ctime, path
	run cat "$HUSK_ROOT"/build-cache/files-*
	[ "${#lines[@]}" = 50 ]
	f7=$(grep ' files/f7$' <<<"$output")
	[ "${f7%% *}" = "$(sha256sum "$CTX/files/f7" | cut -d' ' -f1)" ]
	run "$HUSK" build -t hc "$CTX"
	[ "$(grep -c 'Using cache' <<<"$output")" = 2 ]
	# same size, same mtime, other content: the ctime tells
	echo "FILE 7" >"$CTX/files/f7"
	touch -d '1 hour ago' "$CTX/files/f7"
	run "$HUSK" build -t hc "$CTX"
	echo "$output"
	[ "$(grep -c 'Using cache' <<<"$output")" = 0 ]
	[ "$("$HUSK" run --rm hc cat /files/f7)" = "FILE 7" ]
	# image prune drops the steps whose layers went, not the file hashes
	"$HUSK" image prune -f >/dev/null
	ls "$HUSK_ROOT"/build-cache/files-*
	"$HUSK" builder prune -f >/dev/null
	[ -z "$(ls "$HUSK_ROOT/build-cache" 2>/dev/null)" ]
}

@test "build errors: one line naming what is wrong (file:line), non-zero, no image, nothing left" {
	printf 'FROM busybox\nRUN true\nFORM x\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad "$CTX"
	[ "$stderr" = 'husk: build: Dockerfile:3: unknown instruction: FORM' ]
	assert_failed_clean

	printf 'FROM busybox\nCOPY ../outside /x\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad "$CTX"
	echo "$stderr"
	[[ "$stderr" == *'Dockerfile:2: COPY ../outside /x'*'outside the build context'* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_failed_clean

	printf 'FROM busybox\nCOPY missing /x\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad "$CTX"
	[[ "$stderr" == *'Dockerfile:2: COPY missing /x: "missing": no such file'* ]]
	assert_failed_clean

	printf 'FROM busybox\nRUN echo partial > /p && exit 3\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad "$CTX"
	echo "$stderr"
	[[ "$stderr" == *'Dockerfile:2: RUN echo partial > /p && exit 3: RUN /bin/sh -c echo partial > /p && exit 3: the command returned a non-zero code: 3' ]]
	assert_failed_clean

	printf 'FROM busybox AS a\nRUN true\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad --target nosuch "$CTX"
	[ "$stderr" = 'husk: build: target stage "nosuch" could not be found' ]
	assert_failed_clean

	printf 'FROM localhost/no/such:image\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad --pull=never "$CTX"
	[[ "$stderr" == *'Dockerfile:1: FROM localhost/no/such:image: image "localhost/no/such:image" is not in the store'* ]]
	assert_failed_clean

	printf 'FROM busybox AS a\nCOPY --from=b /x /x\nFROM a AS b\n' >"$CTX/Dockerfile"
	run --separate-stderr "$HUSK" build -t bad --target b "$CTX"
	[[ "$stderr" == *'circular dependency detected on stage: b' ]]
	assert_failed_clean

	printf 'FROM busybox\nCOPY a b /not-a-dir\n' >"$CTX/Dockerfile"
	touch "$CTX/a" "$CTX/b"
	run --separate-stderr "$HUSK" build -t bad "$CTX"
	[[ "$stderr" == *'the destination must be a directory and end with a /' ]]
	assert_failed_clean

	run --separate-stderr "$HUSK" build -t bad "$TEST_DIR/no-such-dir"
	[ "$status" -ne 0 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	run --separate-stderr "$HUSK" build -t 'Bad:Name' "$CTX"
	[ "$status" -ne 0 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	# the steps that finished are cached
	printf 'FROM busybox\nRUN x=first && echo \"ran-$x\"\nRUN false\n' >"$CTX/Dockerfile"
	run "$HUSK" build -t bad "$CTX"
	run "$HUSK" build -t bad "$CTX"
	[[ "$output" != *ran-first* ]]
}

@test "build: kill -9 in the middle of a RUN step leaves nothing husk image prune does not remove" {
	printf 'FROM busybox\nRUN echo started; sleep 300\n' >"$CTX/Dockerfile"
	"$HUSK" build -t killed "$CTX" >"$TEST_DIR/out" 2>&1 &
	local pid=$!
	for _ in $(seq 200); do grep -q started "$TEST_DIR/out" && break; sleep 0.05; done
	grep -q started "$TEST_DIR/out"
	[ -n "$("$HUSK" ps -aq)" ]
	kill -9 "$pid"
	wait "$pid" || true
	run "$HUSK" image prune -f
	[ "$status" -eq 0 ]
	[ -z "$("$HUSK" ps -aq)" ]
	[ -z "$(ls "$HUSK_ROOT/tmp")" ]
	run "$HUSK" image inspect killed
	[ "$status" -ne 0 ]
	# the layers left are those of busybox only
	[ "$(ls "$HUSK_ROOT/layers" | wc -l)" -eq 1 ]
}
