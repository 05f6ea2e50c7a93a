#!/usr/bin/env bats
# containerd drives husk-oci through its runc shim
# (`ctr run --runc-binary <husk-oci>`), and every scenario runs again with
# runc so that a difference in behaviour shows in the output.
#
# The test starts Debian's containerd with its root, state, opt dir and
# sockets in a temp dir (the CRI plugin disabled: no network), imports a
# busybox OCI image made here by hand from the test rootfs template (tar +
# sha256sum + jq), and runs the containers in its own namespace. The runtime
# binary is a logging wrapper that appends the argv the shim passed and the
# exit status to $CTD_DIR/calls.log; the shim gets `--runc-root` in the temp
# dir, so the runtime's state stays there.

load helpers
load clients-helpers

RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
CTD_T=${CTD_T:-60} # seconds any one ctr command may take
IMG=docker.io/library/busybox:latest
NS=huskclients

# an OCI image layout archive of the rootfs template, built by hand
make_oci_archive() {
	local out=$1 d l c m
	d=$(mktemp -d "$CTD_DIR/oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	tar -C "$(rootfs_template)" -cf "$d/layer" .
	l=$(sha256sum "$d/layer" | cut -d' ' -f1)
	mv "$d/layer" "$d/blobs/sha256/$l"
	jq -cn --arg l "sha256:$l" '{architecture: "amd64", os: "linux",
		rootfs: {type: "layers", diff_ids: [$l]},
		config: {Cmd: ["sh"], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}' >"$d/config"
	c=$(sha256sum "$d/config" | cut -d' ' -f1)
	mv "$d/config" "$d/blobs/sha256/$c"
	jq -cn --arg c "sha256:$c" --argjson cs "$(stat -c %s "$d/blobs/sha256/$c")" \
		--arg l "sha256:$l" --argjson ls "$(stat -c %s "$d/blobs/sha256/$l")" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' >"$d/manifest"
	m=$(sha256sum "$d/manifest" | cut -d' ' -f1)
	jq -cn --arg m "sha256:$m" --argjson ms "$(stat -c %s "$d/manifest")" --arg img "$IMG" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		digest: $m, size: $ms, annotations: {"io.containerd.image.name": $img,
		"org.opencontainers.image.ref.name": "latest"}}]}' >"$d/index.json"
	mv "$d/manifest" "$d/blobs/sha256/$m"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
	rm -rf "$d"
}

setup_file() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || return 0
	export CTD_DIR
	CTD_DIR=$(mktemp -d /tmp/husk-ctd.XXXXXX)
	local D=$CTD_DIR name bin
	cat >"$D/config.toml" <<-EOF
		version = 2
		root = "$D/root"
		state = "$D/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$D/containerd.sock"
		[ttrpc]
		  address = "$D/containerd.sock.ttrpc"
		[debug]
		  address = "$D/debug.sock"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$D/opt"
	EOF
	logging_runtimes "$D"
	setsid containerd --config "$D/config.toml" </dev/null >"$D/containerd.log" 2>&1 3>&- &
	echo $! >"$D/containerd.pid"
	for _ in $(seq 100); do
		[ -S "$D/containerd.sock" ] && break
		sleep 0.1
	done
	make_oci_archive "$D/busybox-oci.tar"
	timeout "$CTD_T" ctr --address "$D/containerd.sock" -n "$NS" images import "$D/busybox-oci.tar" \
		>/dev/null 3>&-
}

# every task and container of the test namespace, the shims of this
# containerd, containerd itself, mounts, cgroups, the temp dir
ctd_clean() {
	local c
	for c in $(ctr_ containers ls -q 2>/dev/null); do
		ctr_ tasks kill -s KILL "$c" >/dev/null 2>&1 || true
		ctr_ tasks delete -f "$c" >/dev/null 2>&1 || true
		ctr_ containers delete "$c" >/dev/null 2>&1 || true
	done
}

teardown_file() {
	[ -n "${CTD_DIR:-}" ] && [ -d "$CTD_DIR" ] || return 0
	ctd_clean
	# shims still running for this containerd: its address is on their argv
	stop_daemon "$CTD_DIR/containerd.pid" "-address $CTD_DIR/containerd.sock"
	remove_daemon_dir "$CTD_DIR" "$NS"
}

setup() {
	command -v containerd >/dev/null && command -v ctr >/dev/null ||
		skip "containerd is not installed (scripts/setup.sh installs it)"
	[ -x "$HUSK_OCI" ] || skip "no husk-oci at $HUSK_OCI"
	[ -S "$CTD_DIR/containerd.sock" ] || {
		cat "$CTD_DIR/containerd.log" >&2
		false
	}
}

teardown() { ctd_clean; }

ctr_() {
	timeout "$CTD_T" ctr --address "$CTD_DIR/containerd.sock" -n "$NS" "$@" 3>&-
}

# `ctr run` with the runtime of the scenario ($RT: husk or runc)
ctr_run() {
	ctr_ run --runc-binary "$CTD_DIR/rt-$RT" --runc-root "$CTD_DIR/runc-root-$RT" "$@"
}

# both SCENARIO: as in clients-podman.bats

@test "containerd: ctr run --rm, output and exit status" {
	s() {
		ctr_run --rm "$IMG" "c1-$RT" sh -c 'echo hi; exit 3' </dev/null
		echo "status=$?"
		ctr_ containers ls -q | grep -c "c1-$RT"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "hi, status 3, no container left" [ "${!o}" = "$(printf 'hi\nstatus=3\n0')" ]
	done
	# the flags the shim passes
	grep -q -- "^\[husk\] --root $CTD_DIR/runc-root-husk/$NS --log .*/log.json --log-format json create --bundle .* --pid-file .*/init.pid c1-husk$" "$CTD_DIR/calls.log"
}

@test "containerd: run -d, tasks exec, ps, kill, delete" {
	s() {
		local c="c2-$RT"
		ctr_run -d "$IMG" "$c" sh -c 'trap "exit 9" TERM; sleep 1000 & wait' </dev/null ||
			return 10
		echo "task: $(ctr_ tasks ls | awk -v c="$c" '$1 == c {print $3}')"
		ctr_ tasks exec --exec-id x1 "$c" sh -c 'echo exec-out; cat /proc/1/cmdline | tr "\0" " "; echo' </dev/null
		ctr_ tasks exec --exec-id x2 "$c" sh -c 'exit 4' </dev/null
		echo "exec status=$?"
		echo "ps: $(ctr_ tasks ps "$c" | tail -n +2 | wc -l) processes"
		ctr_ tasks kill "$c" || echo "kill failed"
		for _ in $(seq 50); do
			[ "$(ctr_ tasks ls | awk -v c="$c" '$1 == c {print $3}')" = STOPPED ] && break
			sleep 0.1
		done
		echo "after kill: $(ctr_ tasks ls | awk -v c="$c" '$1 == c {print $3}')"
		ctr_ tasks delete "$c" 2>&1 | sed 's/.*msg="//; s/"$//'
		ctr_ containers delete "$c" || echo "container delete failed"
		echo "runtime state: $(find "$CTD_DIR/runc-root-$RT/$NS" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | wc -l)"
		echo "cgroups: $(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$NS/$c" 2>/dev/null | wc -l)"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "RUNNING" grep -qx 'task: RUNNING' <<<"${!o}"
		expect $rt "exec output" grep -qx 'exec-out' <<<"${!o}"
		expect $rt "exec status 4" grep -qx 'exec status=4' <<<"${!o}"
		expect $rt "ps lists sh and sleep" grep -qx 'ps: 2 processes' <<<"${!o}"
		expect $rt "STOPPED after kill" grep -qx 'after kill: STOPPED' <<<"${!o}"
		expect $rt "exit status 9 on delete" grep -qx "task c2-RT exit with non-zero exit code 9" <<<"${!o}"
		expect $rt "no runtime state left" grep -qx 'runtime state: 0' <<<"${!o}"
		expect $rt "no cgroup left" grep -qx 'cgroups: 0' <<<"${!o}"
	done
}

@test "containerd: --memory-limit 64 MiB" {
	# (ctr's default spec mounts no cgroupfs inside: checked from the host)
	s() {
		local c="c3-$RT"
		ctr_run -d --memory-limit 67108864 "$IMG" "$c" sleep 30 </dev/null || return 10
		echo "host: $(cat "/sys/fs/cgroup/memory/$NS/$c/memory.limit_in_bytes")"
		ctr_ tasks kill -s KILL "$c"
		for _ in $(seq 50); do
			[ "$(ctr_ tasks ls | awk -v c="$c" '$1 == c {print $3}')" = STOPPED ] && break
			sleep 0.1
		done
		ctr_ tasks delete "$c" 2>&1 | sed 's/.*msg="//; s/"$//'
		ctr_ containers delete "$c"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "limit on the host" grep -qx 'host: 67108864' <<<"${!o}"
		expect $rt "killed: 137" grep -qx "task c3-RT exit with non-zero exit code 137" <<<"${!o}"
	done
}

@test "containerd: a missing executable: the runtime's JSON log error reaches ctr" {
	s() {
		ctr_run --rm "$IMG" "c4-$RT" /no/such-binary </dev/null 2>&1 | sed 's/^ctr: //'
		echo "status=${PIPESTATUS[0]}"
		ctr_ containers delete "c4-$RT" >/dev/null 2>&1
		ctr_ containers ls -q | grep -c "c4-$RT"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "an error naming the binary" grep -q 'no/such-binary' <<<"${!o}"
		expect $rt "status not 0" bash -c '! grep -qx "status=0" <<<"$1"' _ "${!o}"
	done
}
