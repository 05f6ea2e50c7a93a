# Shared setup for the husk-oci integration tests (bats).
# Each test gets its own state root and bundle under a temp dir; teardown
# removes every container and then checks that nothing of husk's is left:
# no state directory, no cgroup, no mount.

# own_cgroup_dirs
source "$BATS_TEST_DIRNAME/own-cgroups.bash"

HUSK_OCI=${HUSK_OCI:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/husk-oci}
RUNC=${RUNC:-runc}

# A busybox rootfs made once per run from Debian's busybox-static.
rootfs_template() {
	local t="$BATS_RUN_TMPDIR/rootfs-template"
	if [ ! -x "$t/bin/busybox" ]; then
		local tmp="$t.$$"
		mkdir -p "$tmp"/{bin,dev,proc,sys,etc,tmp,root,var,run}
		cp /bin/busybox "$tmp/bin/busybox"
		for app in $(/bin/busybox --list); do
			[ "$app" = busybox ] || ln -sf busybox "$tmp/bin/$app"
		done
		echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/etc/passwd"
		echo 'root:x:0:' >"$tmp/etc/group"
		chmod 1777 "$tmp/tmp"
		mv -T "$tmp" "$t" 2>/dev/null || rm -rf "$tmp"
	fi
	echo "$t"
}

# make_bundle DIR: a bundle with husk-oci's default spec, no terminal,
# running "true".
make_bundle() {
	local b=$1
	mkdir -p "$b"
	cp -a "$(rootfs_template)" "$b/rootfs"
	"$HUSK_OCI" spec --bundle "$b"
	update_config "$b" '.process.terminal = false | .process.args = ["true"]'
}

# update_config BUNDLE JQ-EXPR
update_config() {
	local b=$1 expr=$2
	jq "$expr" "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}

setup_husk() {
	TEST_DIR=$(mktemp -d /tmp/husk-test.XXXXXX)
	ROOT="$TEST_DIR/state"
	BUNDLE="$TEST_DIR/bundle"
	ID="ht$$-${BATS_TEST_NUMBER}"
	make_bundle "$BUNDLE"
}

husk() {
	"$HUSK_OCI" --root "$ROOT" "$@"
}

# Is anything of this test left on the host?
assert_nothing_left() {
	local left=""
	if [ -d "$ROOT" ]; then
		local ids
		ids=$(find "$ROOT" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null)
		[ -z "$ids" ] || left+="state dirs: $ids; "
	fi
	local m
	m=$(grep -F "$TEST_DIR" /proc/self/mountinfo || true)
	[ -z "$m" ] || left+="mounts: $m; "
	local cg
	cg=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "ht$$-*" 2>/dev/null || true)
	[ -z "$cg" ] || left+="cgroups: $cg; "
	if [ -n "$left" ]; then
		echo "left behind: $left" >&2
		return 1
	fi
}

teardown_husk() {
	if [ -d "$ROOT" ]; then
		for id in $("$HUSK_OCI" --root "$ROOT" list -q 2>/dev/null); do
			"$HUSK_OCI" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	local ok=0
	assert_nothing_left || ok=1
	# clean up even what the check found, so the next test starts clean
	find /sys/fs/cgroup -maxdepth 6 -type d -name "ht$$-*" -delete 2>/dev/null || true
	grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$TEST_DIR"
	return $ok
}

setup() { setup_husk; }
teardown() { teardown_husk; }

# A detached container keeps the stdio it was given (as with runc): give it
# a log file, not bats' capture pipe, or `run` would wait for it to exit.
husk_d() {
	"$HUSK_OCI" --root "$ROOT" "$@" </dev/null >>"$TEST_DIR/container.log" 2>&1
}

# wait_for_status ID STATUS [tries]
wait_for_status() {
	local id=$1 want=$2 n=${3:-100}
	for _ in $(seq "$n"); do
		[ "$(husk state "$id" 2>/dev/null | jq -r .status)" = "$want" ] && return 0
		sleep 0.05
	done
	echo "status of $id: $(husk state "$id" 2>&1)" >&2
	return 1
}

# make_oci_image OUT.tar NAME:TAG LAYER.tar[:gzip|:zstd]...: an OCI image
# layout archive built by hand (sha256sum + jq), the layers lowest first,
# compressed as asked with the media types the image spec gives them; the
# config has the plain tars' diff ids, a fixed creation time and a label
# (and OCI_CONFIG_EXTRA, more members of its "config", when set).
make_oci_image() {
	local out=$1 ref=$2 d spec t comp blob diff mt diff_ids="" layers=""
	shift 2
	d=$(mktemp -d "$TEST_DIR/oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	for spec in "$@"; do
		t=$spec comp=none
		case $spec in *:gzip | *:zstd | *:none) t=${spec%:*} comp=${spec##*:} ;; esac
		diff=$(sha256sum "$t" | cut -d' ' -f1)
		case $comp in
		zstd) zstd -q -c "$t" >"$d/layer" ;;
		gzip) gzip -c "$t" >"$d/layer" ;;
		*) cp "$t" "$d/layer" ;;
		esac
		mt=application/vnd.oci.image.layer.v1.tar
		[ "$comp" = none ] || mt+="+$comp"
		blob=$(sha256sum "$d/layer" | cut -d' ' -f1)
		layers+="${layers:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$blob\",\"size\":$(stat -c %s "$d/layer")}"
		mv "$d/layer" "$d/blobs/sha256/$blob"
		diff_ids+="${diff_ids:+,}\"sha256:$diff\""
	done
	echo "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]},\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\"],\"Labels\":{\"made.by\":\"husk-tests\"}${OCI_CONFIG_EXTRA:+,$OCI_CONFIG_EXTRA}}}" >"$d/config"
	local c cs m ms
	c=$(sha256sum "$d/config" | cut -d' ' -f1)
	cs=$(stat -c %s "$d/config")
	mv "$d/config" "$d/blobs/sha256/$c"
	echo "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$c\",\"size\":$cs},\"layers\":[$layers]}" >"$d/manifest"
	m=$(sha256sum "$d/manifest" | cut -d' ' -f1)
	ms=$(stat -c %s "$d/manifest")
	mv "$d/manifest" "$d/blobs/sha256/$m"
	echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$m\",\"size\":$ms,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$ref\"}}]}" >"$d/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
	rm -rf "$d"
}

# Podman with the cgroupfs manager puts conmon in <hierarchy>/libpod_parent/
# conmon and leaves both behind. When none was there before the suite's
# first Podman test (noted in the run's temp dir), the tests remove them
# after, and zz-leftovers.bats checks that they did.
podman_cgroups() {
	ls -d /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent 2>/dev/null || true
}

podman_cgroups_note() {
	local mark="$BATS_RUN_TMPDIR/podman-cgroups-ours"
	[ -e "$mark" ] || [ -e "$mark.not" ] && return 0
	if [ -z "$(podman_cgroups)" ]; then touch "$mark"; else touch "$mark.not"; fi
}

podman_cgroups_cleanup() {
	[ -e "$BATS_RUN_TMPDIR/podman-cgroups-ours" ] || return 0
	local d
	for d in $(podman_cgroups); do
		# empty ones only: rmdir refuses a cgroup with tasks or children
		rmdir "$d/conmon" 2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
}



# The engine's tests: each its own storage and runtime dirs under a temp
# dir; teardown removes every container and then checks that nothing of
# them is left: no mount, cgroup (below our own), monitor process,
# container dir, name, attach socket.
HUSK=${HUSK:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/husk}

engine_setup() {
	TEST_DIR=$(mktemp -d /tmp/husk-test.XXXXXX)
	ROOT="$TEST_DIR/state" # for assert_nothing_left
	export HUSK_ROOT="$TEST_DIR/lib" HUSK_RUNROOT="$TEST_DIR/run"
}

# pids of this test's monitors (their command lines name our root)
engine_monitors() {
	pgrep -f "husk-monitor .*$TEST_DIR/lib" || true
}

# net_left ID...: what the network of these containers left on the host:
# their veths (husk<8 hex>, removed by the kernel with the netns, which it
# frees asynchronously: waited for) and their leases (host-wide, in
# /run/husk-net/leases.json)
net_left() {
	local id left="" v l
	for _ in $(seq 100); do
		v=""
		for id in "$@"; do
			ip link show "husk${id:0:8}" >/dev/null 2>&1 && v+="husk${id:0:8} "
		done
		[ -z "$v" ] && break
		sleep 0.05
	done
	[ -z "$v" ] || left+="veths: $v "
	l=$(for id in "$@"; do jq -r --arg id "$id" 'to_entries[] | select(.value == $id) | .key' \
		"${HUSK_NET_STATE:-/run/husk-net}/leases.json" 2>/dev/null; done)
	[ -z "$l" ] || left+="leases: $l "
	echo "$left"
}

engine_teardown() {
	local ids
	ids=$("$HUSK" ps -aq --no-trunc 2>/dev/null)
	for c in $ids; do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	local left="" d m cg mon p
	m=$(grep -F "$TEST_DIR" /proc/self/mountinfo | grep -v '/layers/' || true)
	[ -z "$m" ] || left+="mounts: $m "
	cg=$(for d in $(own_cgroup_dirs); do find "$d" -maxdepth 6 -type d -name 'husk-*' -newer "$TEST_DIR" 2>/dev/null; done || true)
	# only this test's containers' (named in its events): suites run side
	# by side on a developer's machine share the parent cgroup
	if [ -n "$cg" ] && [ -s "$HUSK_RUNROOT/events.log" ]; then
		cg=$(for d in $cg; do
			grep -qF -- "${d##*/husk-}" "$HUSK_RUNROOT"/events.log* && echo "$d"
		done || true)
	fi
	[ -z "$cg" ] || left+="cgroups: $cg "
	# a monitor's last act, after it told its client the exit, is to exit
	for _ in $(seq 100); do [ -z "$(engine_monitors)" ] && break; sleep 0.05; done
	mon=$(engine_monitors)
	[ -z "$mon" ] || left+="monitors: $mon "
	for p in $mon; do kill -9 "$p" 2>/dev/null || true; done
	[ -z "$(ls "$HUSK_ROOT/containers" 2>/dev/null)" ] || left+="containers: $(ls "$HUSK_ROOT/containers") "
	# a --rm container's directory, renamed into the trash: its exit
	# step's child unlinks it after the client heard the exit
	for _ in $(seq 100); do [ -z "$(ls "$HUSK_ROOT/trash" 2>/dev/null)" ] && break; sleep 0.05; done
	[ -z "$(ls "$HUSK_ROOT/trash" 2>/dev/null)" ] || left+="trash: $(ls "$HUSK_ROOT/trash") "
	[ -z "$(ls "$HUSK_ROOT/names" 2>/dev/null)" ] || left+="names: $(ls "$HUSK_ROOT/names") "
	[ -z "$(ls "$HUSK_RUNROOT/attach" 2>/dev/null)" ] || left+="sockets: $(ls "$HUSK_RUNROOT/attach") "
	d=$(find "$HUSK_RUNROOT/net/ns" "$HUSK_RUNROOT/net/nft" -mindepth 1 2>/dev/null || true)
	[ -z "$d" ] || left+="netns or ports: $d "
	left+=$(net_left $ids)
	grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$TEST_DIR"
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
