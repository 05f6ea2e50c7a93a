#!/usr/bin/env bats
# Kubernetes' node path: containerd's CRI plugin drives husk-oci through a
# runtime handler whose BinaryName is husk-oci (a logging wrapper of it), as
# the kubelet would; every scenario runs again with a handler for runc.
#
# The test starts Debian's containerd with the CRI plugin on, its root,
# state, sockets, CNI dirs (empty: the pods use the host's network) and
# pod logs in a temp dir. Debian has no crictl: tools/cri/cri-client.py is a
# small CRI client (python3-grpcio) over tools/cri/cri.proto, a subset of
# the CRI API written from its field numbers. No registry: the pause image
# (a static binary built here) and busybox are OCI archives made here and
# imported with `ctr -n k8s.io images import`; containerd's sandbox_image
# names the pause one. restrict_oom_score_adj: the pause container's -998
# would need CAP_SYS_RESOURCE, which this machine's root may not have.

load helpers
load clients-helpers

RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
CRI_T=${CRI_T:-60} # seconds any one CRI call or ctr command may take
PY=${PY:-/usr/bin/python3}
CRI_CLIENT="$BATS_TEST_DIRNAME/tools/cri/cri-client.py"
PAUSE_IMG=localhost/husk-pause:1
BUSYBOX_IMG=localhost/busybox:1

# make_oci_archive OUT DIR NAME CONFIG-JSON: an OCI image layout archive of
# one layer (the tree DIR), the image config's "config" part CONFIG-JSON
make_oci_archive() {
	local out=$1 dir=$2 name=$3 cfg=$4 d l c m
	d=$(mktemp -d "$CRI_DIR/oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	tar -C "$dir" -cf "$d/layer" .
	l=$(sha256sum "$d/layer" | cut -d' ' -f1)
	mv "$d/layer" "$d/blobs/sha256/$l"
	jq -cn --arg l "sha256:$l" --argjson cfg "$cfg" '{architecture: "amd64", os: "linux",
		rootfs: {type: "layers", diff_ids: [$l]}, config: $cfg}' >"$d/config"
	c=$(sha256sum "$d/config" | cut -d' ' -f1)
	mv "$d/config" "$d/blobs/sha256/$c"
	jq -cn --arg c "sha256:$c" --argjson cs "$(stat -c %s "$d/blobs/sha256/$c")" \
		--arg l "sha256:$l" --argjson ls "$(stat -c %s "$d/blobs/sha256/$l")" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' >"$d/manifest"
	m=$(sha256sum "$d/manifest" | cut -d' ' -f1)
	jq -cn --arg m "sha256:$m" --argjson ms "$(stat -c %s "$d/manifest")" --arg img "$name" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		digest: $m, size: $ms, annotations: {"io.containerd.image.name": $img}}]}' >"$d/index.json"
	mv "$d/manifest" "$d/blobs/sha256/$m"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
	rm -rf "$d"
}

# the pause image: a static binary that waits for a signal and reaps
make_pause_archive() {
	local d=$CRI_DIR/pause-root
	mkdir -p "$d"
	cat >"$CRI_DIR/pause.c" <<-'EOF'
		#include <signal.h>
		#include <sys/wait.h>
		#include <unistd.h>
		static void quit(int sig) { (void)sig; _exit(0); }
		static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) ; }
		int main(void)
		{
			signal(SIGTERM, quit);
			signal(SIGINT, quit);
			signal(SIGCHLD, reap);
			for (;;)
				pause();
		}
	EOF
	gcc -static -Os -s -o "$d/pause" "$CRI_DIR/pause.c"
	make_oci_archive "$1" "$d" "$PAUSE_IMG" '{"Entrypoint": ["/pause"]}'
}

setup_file() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || return 0
	"$PY" -c 'import grpc, grpc_tools' 2>/dev/null || return 0
	export CRI_DIR CRI_GEN CALLS_LOG CRI_CGROUP
	CRI_DIR=$(mktemp -d /tmp/husk-cri.XXXXXX)
	CRI_GEN=$CRI_DIR/gen
	CALLS_LOG=$CRI_DIR/calls.log
	CRI_CGROUP=husk-cri-${CRI_DIR##*.}
	local D=$CRI_DIR name bin
	mkdir -p "$D/cni/bin" "$D/cni/conf" "$D/logs"
	logging_runtimes "$D"
	local cri='plugins."io.containerd.grpc.v1.cri"'
	cat >"$D/config.toml" <<-EOF
		version = 2
		root = "$D/root"
		state = "$D/state"
		[grpc]
		  address = "$D/containerd.sock"
		[ttrpc]
		  address = "$D/containerd.sock.ttrpc"
		[debug]
		  address = "$D/debug.sock"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$D/opt"
		[$cri]
		  sandbox_image = "$PAUSE_IMG"
		  stream_server_address = "127.0.0.1"
		  stream_server_port = "0"
		  disable_apparmor = true
		  restrict_oom_score_adj = true
		[$cri.cni]
		  bin_dir = "$D/cni/bin"
		  conf_dir = "$D/cni/conf"
		[$cri.containerd]
		  default_runtime_name = "runc"
		[$cri.containerd.runtimes.husk]
		  runtime_type = "io.containerd.runc.v2"
		[$cri.containerd.runtimes.husk.options]
		  BinaryName = "$D/rt-husk"
		  Root = "$D/runtime-root-husk"
		[$cri.containerd.runtimes.runc]
		  runtime_type = "io.containerd.runc.v2"
		[$cri.containerd.runtimes.runc.options]
		  BinaryName = "$D/rt-runc"
		  Root = "$D/runtime-root-runc"
	EOF
	setsid containerd --config "$D/config.toml" </dev/null >"$D/containerd.log" 2>&1 3>&- &
	echo $! >"$D/containerd.pid"
	for _ in $(seq 150); do
		[ -S "$D/containerd.sock" ] && cri_ version >/dev/null 2>&1 && break
		kill -0 "$(cat "$D/containerd.pid")" 2>/dev/null || break
		sleep 0.2
	done
	# the CRI client's server (see cri_)
	mkdir "$D/cri"
	mkfifo "$D/cri/req" "$D/cri/resp"
	setsid "$PY" "$CRI_CLIENT" --serve "$D/cri" </dev/null >"$D/cri-client.log" 2>&1 3>&- &
	echo $! >"$D/cri-client.pid"
	make_pause_archive "$D/pause.tar"
	make_oci_archive "$D/busybox.tar" "$(rootfs_template)" "$BUSYBOX_IMG" \
		'{"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
	ctr_ images import "$D/pause.tar" >/dev/null
	ctr_ images import "$D/busybox.tar" >/dev/null
}

# the pods of this containerd: stop and remove them (their containers go
# with them), and unmount what a propagation test left on the host side
cri_clean() {
	local p
	for p in $(cat "$CRI_DIR"/pods 2>/dev/null); do
		cri_ stopp "$p" >/dev/null 2>&1 || true
		cri_ rmp "$p" >/dev/null 2>&1 || true
	done
	rm -f "$CRI_DIR/pods"
}

teardown_file() {
	[ -n "${CRI_DIR:-}" ] && [ -d "$CRI_DIR" ] || return 0
	cri_clean
	local pid
	pid=$(cat "$CRI_DIR/cri-client.pid" 2>/dev/null || true)
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	# shims still running for this containerd: its address is on their argv
	stop_daemon "$CRI_DIR/containerd.pid" "-address $CRI_DIR/containerd.sock"
	remove_daemon_dir "$CRI_DIR" "$CRI_CGROUP"
}

setup() {
	command -v containerd >/dev/null && command -v ctr >/dev/null ||
		skip "containerd is not installed (scripts/setup.sh installs it)"
	"$PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
		skip "no python3-grpcio or python3-grpc-tools (scripts/setup.sh installs them)"
	[ -x "$HUSK_OCI" ] || skip "no husk-oci at $HUSK_OCI"
	cri_ version >/dev/null || {
		tail -30 "$CRI_DIR/containerd.log" >&2
		false
	}
}

teardown() { cri_clean; }

ctr_() {
	timeout "$CRI_T" ctr --address "$CRI_DIR/containerd.sock" -n k8s.io "$@" 3>&-
}

# cri_ VERB ARGS...: a call of the CRI client, through its server (started
# by setup_file) while there is one; its output, errors and status
cri_() {
	local rc fd
	if ! kill -0 "$(cat "$CRI_DIR/cri-client.pid" 2>/dev/null)" 2>/dev/null; then
		timeout "$CRI_T" "$PY" "$CRI_CLIENT" "$CRI_DIR/containerd.sock" "$@" 3>&-
		return
	fi
	# (resp opened read-write: that open does not wait for the server, and
	# read -t bounds the wait for its answer)
	exec {fd}<>"$CRI_DIR/cri/resp"
	printf '%s\0' "$CRI_DIR/containerd.sock" "$@" >"$CRI_DIR/cri/req"
	read -r -t "$CRI_T" -u "$fd" rc || rc=124
	exec {fd}<&-
	cat "$CRI_DIR/cri/out"
	cat "$CRI_DIR/cri/err" >&2
	return "$rc"
}

# pod_config NAME: a sandbox config on the host's network (so no hostname), its own pid
# namespace, a cgroup parent of the test's, logs in the temp dir
pod_config() {
	local name=$1 f=$CRI_DIR/pod-$1.json
	mkdir -p "$CRI_DIR/logs/$name"
	jq -n --arg n "$name" --arg logs "$CRI_DIR/logs/$name" --arg cg "/$CRI_CGROUP/$name" '{
		metadata: {name: $n, uid: ("uid-" + $n), namespace: "husk-test"},
		log_directory: $logs,
		linux: {cgroup_parent: $cg, security_context: {privileged: true,
			namespace_options: {network: "NODE", pid: "POD", ipc: "POD"}}}}' >"$f"
	echo "$f"
}

# container_config POD NAME JQ-EXPR ARGS...: busybox running ARGS, the
# config changed by JQ-EXPR
container_config() {
	local pod=$1 name=$2 expr=$3 f=$CRI_DIR/ctr-$1-$2.json
	shift 3
	# (the command as a JSON array: jq would take a "-c" after --args as
	# its own option)
	jq -n --arg n "$name" --arg img "$BUSYBOX_IMG" \
		--argjson cmd "$(printf '%s\n' "$@" | jq -R . | jq -s .)" '{metadata: {name: $n},
		image: {image: $img}, command: $cmd, log_path: ($n + ".log")}' | jq "$expr" >"$f"
	echo "$f"
}

# runp NAME: a running pod sandbox for the scenario's runtime ($RT); its id
runp() {
	local id
	id=$(cri_ runp "$(pod_config "$1")" "$RT") || return 1
	echo "$id" >>"$CRI_DIR/pods"
	echo "$id"
}

# the log lines CRI wrote (TIME STREAM TAG TEXT), without the time
cri_log() { awk '{ $1 = ""; print substr($0, 2) }' "$CRI_DIR/logs/$1/$2.log"; }

@test "cri: version, the pause image from sandbox_image" {
	run cri_ version
	[ "$status" -eq 0 ]
	[[ "$output" == "containerd "*" v1" ]]
	run ctr_ images ls -q
	[[ "$output" == *"$PAUSE_IMG"* ]]
	[[ "$output" == *"$BUSYBOX_IMG"* ]]
}

@test "cri: pod sandbox, container, exec, logs, stop, remove" {
	s() {
		local pod ctr pc
		pod=$(runp "p1-$RT") || return 10
		echo "pod: $(cri_ podstatus "$pod")"
		pc=$CRI_DIR/pod-p1-$RT.json
		ctr=$(cri_ create "$pod" "$(container_config "p1-$RT" c1 . sh -c \
			'echo hello-log; echo err-log >&2; trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done')" \
			"$pc") || return 11
		echo "created: $(cri_ status "$ctr" | head -1)"
		cri_ start "$ctr" || return 12
		echo "started: $(cri_ status "$ctr" | head -1)"
		cri_ exec "$ctr" 10 sh -c 'echo exec-out; echo exec-err >&2; cat /proc/1/cmdline | tr "\0" " "; echo'
		cri_ exec "$ctr" 10 sh -c 'exit 4'
		echo "exec status=$?"
		cri_ exec "$ctr" 10 /no/such-binary >/dev/null 2>&1
		echo "exec missing status=$?"
		for _ in $(seq 50); do
			grep -q err-log "$CRI_DIR/logs/p1-$RT/c1.log" 2>/dev/null && break
			sleep 0.1
		done
		cri_ stop "$ctr" 10 || echo "stop failed"
		echo "stopped: $(cri_ status "$ctr" | head -1)"
		cri_log "p1-$RT" c1 | sort
		cri_ rm "$ctr" || echo "rm failed"
		cri_ status "$ctr" 2>&1 | sed 's/^\(cri-client: [A-Z_]*\).*/\1/'
		cri_ stopp "$pod" || echo "stopp failed"
		echo "pod: $(cri_ podstatus "$pod")"
		cri_ rmp "$pod" || echo "rmp failed"
		echo "runtime state: $(find "$CRI_DIR/runtime-root-$RT/k8s.io" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
		echo "cgroups: $(find /sys/fs/cgroup -mindepth 2 -maxdepth 5 -path "*/$CRI_CGROUP/p1-$RT/*" -type d 2>/dev/null | wc -l)"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "pod ready" grep -qx 'pod: READY' <<<"${!o}"
		expect $rt "created" grep -qx 'created: CREATED exit=0 reason=' <<<"${!o}"
		expect $rt "running" grep -qx 'started: RUNNING exit=0 reason=' <<<"${!o}"
		expect $rt "exec output" grep -qx 'exec-out' <<<"${!o}"
		expect $rt "exec stderr" grep -qx 'exec-err' <<<"${!o}"
		expect $rt "pid 1 is the pause process" grep -qx '/pause ' <<<"${!o}"
		expect $rt "exec status 4" grep -qx 'exec status=4' <<<"${!o}"
		expect $rt "exec of a missing binary fails" bash -c '! grep -qx "exec missing status=0" <<<"$1"' _ "${!o}"
		expect $rt "TERM trapped, exit 0" grep -qx 'stopped: EXITED exit=0 reason=Completed' <<<"${!o}"
		expect $rt "stdout log" grep -qx 'stdout F hello-log' <<<"${!o}"
		expect $rt "stderr log" grep -qx 'stderr F err-log' <<<"${!o}"
		expect $rt "log after TERM" grep -qx 'stdout F got-term' <<<"${!o}"
		expect $rt "container gone" grep -qx 'cri-client: NOT_FOUND' <<<"${!o}"
		expect $rt "pod not ready after stop" grep -qx 'pod: NOTREADY' <<<"${!o}"
		expect $rt "no runtime state left" grep -qx 'runtime state: 0' <<<"${!o}"
		expect $rt "no cgroup left" grep -qx 'cgroups: 0' <<<"${!o}"
	done
	grep -q -- "^\[husk\] --root $CRI_DIR/runtime-root-husk/k8s.io .*create --bundle " "$CALLS_LOG"
	same
}

@test "cri: a container that exits by itself, and one killed by StopContainer's timeout" {
	s() {
		local pod c1 c2 pc
		pod=$(runp "p2-$RT") || return 10
		pc=$CRI_DIR/pod-p2-$RT.json
		c1=$(cri_ create "$pod" "$(container_config "p2-$RT" c1 . sh -c 'echo bye; exit 3')" "$pc") ||
			return 11
		cri_ start "$c1" || return 12
		for _ in $(seq 100); do
			cri_ status "$c1" | grep -q '^EXITED' && break
			sleep 0.1
		done
		echo "c1: $(cri_ status "$c1" | head -1)"
		c2=$(cri_ create "$pod" "$(container_config "p2-$RT" c2 . sh -c \
			'trap "" TERM; echo ready; while :; do sleep 0.1; done')" "$pc") || return 13
		cri_ start "$c2" || return 14
		for _ in $(seq 50); do
			grep -q ready "$CRI_DIR/logs/p2-$RT/c2.log" 2>/dev/null && break
			sleep 0.1
		done
		cri_ stop "$c2" 1 || echo "stop failed"
		echo "c2: $(cri_ status "$c2" | head -1)"
		cri_ stopp "$pod" || echo "stopp failed"
		cri_ rmp "$pod" || echo "rmp failed"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out
		expect $rt "exit 3" grep -qx 'c1: EXITED exit=3 reason=Error' <<<"${!o}"
		expect $rt "killed: 137" grep -qx 'c2: EXITED exit=137 reason=Error' <<<"${!o}"
	done
	same
}

@test "cri: bidirectional mount propagation (rshared) both ways" {
	s() {
		local pod ctr pc h=$CRI_DIR/prop-$RT
		mkdir -p "$h"
		# CRI wants the host side of a bidirectional mount on a shared mount
		mount --bind "$h" "$h" && mount --make-shared "$h" || return 9
		pod=$(runp "p3-$RT") || return 10
		pc=$CRI_DIR/pod-p3-$RT.json
		ctr=$(cri_ create "$pod" "$(H=$h container_config "p3-$RT" c1 \
			'.mounts = [{container_path: "/mnt/prop", host_path: env.H,
				propagation: "PROPAGATION_BIDIRECTIONAL"}]
			| .linux.security_context.privileged = true' sleep 300)" "$pc") || return 11
		cri_ start "$ctr" || return 12
		# container to host
		cri_ exec "$ctr" 10 sh -c 'mkdir -p /mnt/prop/from-ctr && mount -t tmpfs -o size=1m tmpfs /mnt/prop/from-ctr && echo made-inside >/mnt/prop/from-ctr/f' ||
			echo "mount inside failed"
		echo "host sees: $(cat "$h/from-ctr/f" 2>&1 | sed "s|$h|H|")"
		# host to container
		mkdir -p "$h/from-host"
		mount -t tmpfs -o size=1m tmpfs "$h/from-host" && echo made-outside >"$h/from-host/f"
		echo "container sees: $(cri_ exec "$ctr" 10 cat /mnt/prop/from-host/f 2>&1)"
		cri_ exec "$ctr" 10 grep -c ' /mnt/prop' /proc/self/mountinfo | sed 's/^/mounts under \/mnt\/prop inside: /'
		cri_ stop "$ctr" 0 || echo "stop failed"
		cri_ stopp "$pod" || echo "stopp failed"
		cri_ rmp "$pod" || echo "rmp failed"
		umount "$h/from-ctr" 2>/dev/null
		umount "$h/from-host" 2>/dev/null
		umount "$h"
	}
	both s
	for rt in husk runc; do
		o=${rt}_out r=${rt}_rc
		expect $rt "a mount made in the container appears on the host" grep -qx 'host sees: made-inside' <<<"${!o}"
		expect $rt "a mount made on the host appears in the container" grep -qx 'container sees: made-outside' <<<"${!o}"
	done
	same
}
