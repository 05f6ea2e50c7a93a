#!/usr/bin/env bats
# husk cp as a Docker user drives it, Docker's naming rules, and the
# attacks on it: symlinks in the container that point at the host
# (CVE-2018-15664, also swapped in while cp runs) and a container's
# libnss loaded by the copier (CVE-2019-14271).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
	mkdir -p "$TEST_DIR/host"
}

teardown() {
	engine_teardown
}

# a running container "c" with /data/{a, sub/b, link -> /etc}
make_c() {
	"$HUSK" run -d --name c busybox sh -c 'mkdir -p /data/sub; echo hi >/data/a; echo deep >/data/sub/b
		ln -s /etc /data/link; touch /ready; exec sleep 1000' >/dev/null
	for _ in $(seq 100); do "$HUSK" exec c test -e /ready && return 0; sleep 0.05; done
	return 1
}

@test "cp out: Docker's rules for files, directories, DIR/. and a missing destination" {
	make_c
	cd "$TEST_DIR/host"
	# a dir into an existing dir: under its own name
	"$HUSK" cp c:/data .
	[ "$(cat data/a data/sub/b)" = "$(printf 'hi\ndeep')" ]
	[ "$(readlink data/link)" = /etc ]
	# a dir to a name that does not exist: made as that name
	"$HUSK" cp c:/data copy
	[ "$(cat copy/sub/b)" = deep ]
	# DIR/. : the contents, into an existing dir
	mkdir into
	"$HUSK" cp c:/data/. into
	[ "$(cat into/a)" = hi ] && [ ! -e into/data ]
	# a file: to a new name, into a dir, over a file
	"$HUSK" cp c:/data/a f
	[ "$(cat f)" = hi ]
	"$HUSK" cp c:/data/sub/b into/
	[ "$(cat into/b)" = deep ]
	echo old >over
	"$HUSK" cp c:/data/a over
	[ "$(cat over)" = hi ]
	# files from the container are the caller's on the host; -a keeps the source's
	[ "$(stat -c %u:%g f)" = "$(id -u):$(id -g)" ]
	# a symlink is copied as one; -L copies what it points to, inside the container
	"$HUSK" cp c:/data/link l
	[ "$(readlink l)" = /etc ]
	"$HUSK" cp -L c:/data/link/hostname hn
	[ "$(cat hn)" = "$("$HUSK" exec c cat /etc/hostname)" ]
	# a tar stream on stdout, named as Docker names it
	[ "$("$HUSK" cp c:/data - | tar -t | sort | head -2 | tr '\n' ' ')" = "data/ data/a " ]
}

@test "cp in: into the running container and into a stopped one; root owns what lands unless -a" {
	make_c
	cd "$TEST_DIR/host"
	mkdir -p site/css
	echo body >site/index.html
	echo red >site/css/x.css
	chown -R 1234:5678 site
	"$HUSK" cp site c:/srv
	[ "$("$HUSK" exec c cat /srv/css/x.css)" = red ]
	[ "$("$HUSK" exec c stat -c %u:%g /srv/index.html)" = 0:0 ]
	"$HUSK" cp -a site c:/kept
	[ "$("$HUSK" exec c stat -c %u:%g /kept/index.html)" = 1234:5678 ]
	# a tar stream on stdin, into a dir
	tar -C site -c index.html | "$HUSK" cp - c:/data
	[ "$("$HUSK" exec c cat /data/index.html)" = body ]
	# stopped: the overlay root, and what was copied is there at the next start
	"$HUSK" stop -t 0 c >/dev/null
	"$HUSK" cp site/index.html c:/data/while-stopped
	"$HUSK" cp c:/data/a stopped-a
	[ "$(cat stopped-a)" = hi ]
	"$HUSK" start c >/dev/null
	[ "$("$HUSK" exec c cat /data/while-stopped)" = body ]
}

@test "cp: what bad input gets: one line, exit 125, nothing made" {
	make_c
	cd "$TEST_DIR/host"
	run "$HUSK" cp c:/nosuch .
	[ "$status" -eq 125 ]
	[ "$output" = "husk: c:/nosuch: No such file or directory" ]
	run "$HUSK" cp /etc/hostname c:/nodir/
	[ "$status" -eq 125 ]
	[[ "$output" == *'"/nodir/": no such directory'* ]]
	run "$HUSK" cp /etc c:/data/a
	[ "$status" -eq 125 ]
	[[ "$output" == *"cannot copy a directory"* ]]
	run "$HUSK" cp c:/data/a c:/x
	[ "$status" -eq 125 ]
	[ "$output" = "husk: copying between containers is not supported" ]
	run "$HUSK" cp /etc/hostname ./here
	[ "$status" -eq 125 ]
	[ "$output" = "husk: one side must be a container (CONTAINER:PATH)" ]
	run "$HUSK" cp nosuchctr:/x .
	[ "$status" -eq 125 ]
	[[ "$output" == *'no such container: "nosuchctr"'* ]]
	run "$HUSK" cp c:/data
	[ "$status" -eq 125 ]
	# a stream that climbs out with ../ is refused
	python3 -c 'import io, tarfile
t = tarfile.open("climb.tar", "w")
i = tarfile.TarInfo("../../../climbed"); i.size = 2
t.addfile(i, io.BytesIO(b"x\n")); t.close()'
	run "$HUSK" cp - c:/data <climb.tar
	[ "$status" -eq 125 ]
	[[ "$output" == *'climbs out with ".."'* ]]
	[ "$(ls "$TEST_DIR/host")" = climb.tar ]
	[ ! -e "$TEST_DIR/climbed" ] && [ ! -e /climbed ]
}

@test "attack: symlinks in the container that name host paths are resolved inside it (CVE-2018-15664)" {
	echo "host secret $$" >"$TEST_DIR/secret"
	mkdir "$TEST_DIR/hostdir"
	"$HUSK" run -d --name c busybox sh -c "mkdir /data; ln -s $TEST_DIR/secret /data/evil
		ln -s $TEST_DIR/hostdir /data/evildir; ln -s / /data/up; touch /ready; exec sleep 1000" >/dev/null
	for _ in $(seq 100); do "$HUSK" exec c test -e /ready && break; sleep 0.05; done
	id=$("$HUSK" inspect -f '{{.Id}}' c)
	rootfs="$HUSK_ROOT/containers/$id/rootfs"
	# control: through the host's view of the root, the links reach the host
	[ "$(cat "$rootfs/data/evil")" = "host secret $$" ]
	# husk: inside the container there is no such file
	run "$HUSK" cp -L c:/data/evil "$TEST_DIR/got"
	[ "$status" -eq 125 ]
	[ ! -e "$TEST_DIR/got" ]
	run "$HUSK" cp c:/data/up/"$TEST_DIR"/secret "$TEST_DIR/got"
	[ "$status" -eq 125 ]
	[ ! -e "$TEST_DIR/got" ]
	# writes through a link to a host dir land in the container (or nowhere)
	echo planted >"$TEST_DIR/plant"
	"$HUSK" cp "$TEST_DIR/plant" c:/data/up/ >/dev/null 2>&1 || true
	"$HUSK" cp "$TEST_DIR/plant" c:/data/evildir/ >/dev/null 2>&1 || true
	[ -z "$(ls "$TEST_DIR/hostdir")" ]
	[ "$("$HUSK" exec c cat /plant)" = planted ]
}

@test "attack: a symlink swapped in while cp runs never reaches the host (CVE-2018-15664)" {
	mkdir -p "$TEST_DIR/hostroot/data"
	echo "host secret $$" >"$TEST_DIR/hostroot/data/file"
	# /w flips between a dir holding a harmless file and a symlink to a
	# host-looking path, as fast as the container can
	"$HUSK" run -d --name c busybox sh -c "mkdir -p /real/data $TEST_DIR/hostroot
		echo inside >/real/data/file; while :; do ln -sfn /real /w; rm -f /w; ln -sfn $TEST_DIR/hostroot /w; rm -f /w; done" >/dev/null
	local i out leaked=0
	for i in $(seq 60); do
		out=$("$HUSK" cp c:/w/data/file - 2>/dev/null | tar -xO 2>/dev/null || true)
		[[ "$out" != *"host secret"* ]] || leaked=$((leaked + 1))
		echo "in $i" >"$TEST_DIR/in"
		"$HUSK" cp "$TEST_DIR/in" c:/w/data/ 2>/dev/null || true
	done
	[ "$leaked" -eq 0 ]
	[ "$(cat "$TEST_DIR/hostroot/data/file")" = "host secret $$" ]
	[ "$(ls "$TEST_DIR/hostroot/data")" = file ]
}

@test "attack: the container's libnss is never loaded by cp (CVE-2019-14271)" {
	command -v gcc >/dev/null || skip "gcc is not installed"
	mkdir -p "$TEST_DIR/nss"
	# an NSS module that leaves a mark on the host when anything loads it
	# (libnss_files itself is inside libc since glibc 2.34: a module of
	# another name, named by the container's nsswitch.conf, is the same door)
	cat >"$TEST_DIR/nss/evil.c" <<EOF
#include <stdio.h>
__attribute__((constructor)) static void pwned(void)
{
	FILE *f = fopen("$TEST_DIR/pwned", "w");
	if (f) { fputs("pwned", f); fclose(f); }
}
EOF
	gcc -shared -fPIC -o "$TEST_DIR/nss/libnss_evil.so.2" "$TEST_DIR/nss/evil.c"
	"$HUSK" create --name c busybox true >/dev/null
	libdir=$(dirname "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)")
	id=$("$HUSK" inspect -f '{{.Id}}' c)
	rootfs="$HUSK_ROOT/containers/$id/rootfs"
	mkdir -p "$rootfs$libdir" "$rootfs/usr/bin" "$rootfs/lib64"
	cp "$TEST_DIR/nss/libnss_evil.so.2" "$rootfs$libdir/"
	printf 'passwd: evil files\ngroup: evil files\n' >"$rootfs/etc/nsswitch.conf"
	# control: a copier that chroots into the container and looks up an
	# owner's name (docker-tar did) runs the container's code
	cp /usr/bin/getent "$rootfs/usr/bin/"
	cp "$libdir/libc.so.6" "$rootfs$libdir/"
	cp /lib64/ld-linux-x86-64.so.2 "$rootfs/lib64/"
	mkdir -p "$rootfs$TEST_DIR" # the mark's path, as seen from inside
	chroot "$rootfs" /usr/bin/getent passwd root >/dev/null || true
	[ "$(cat "$rootfs$TEST_DIR/pwned")" = pwned ]
	rm "$rootfs$TEST_DIR/pwned"
	# husk cp, both ways and with -a (owners kept): nothing of the container runs
	echo data >"$TEST_DIR/f"
	"$HUSK" cp -a "$TEST_DIR/f" c:/etc/
	"$HUSK" cp -a c:/etc "$TEST_DIR/out"
	"$HUSK" cp c:/etc/passwd - >/dev/null
	[ ! -e "$TEST_DIR/pwned" ] && [ ! -e "$rootfs$TEST_DIR/pwned" ]
	[ "$(cat "$TEST_DIR/out/f")" = data ]
}
