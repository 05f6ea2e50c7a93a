#!/usr/bin/env bats
# runtime-spec 1.3's additions, as runc 1.4 has them: linux.netDevices,
# linux.memoryPolicy, linux.intelRdt, process.execCPUAffinity, and what
# `features` says of each.  runc 1.1 and crun 1.8 (Debian's) predate them
# all but intelRdt, which runc is run beside husk-oci for.

load helpers

setup() {
	setup_husk
	# veth pairs of this test: hk<pid><n>{a,b}, at most 15 characters
	VP="hk$(($$ % 100000))$BATS_TEST_NUMBER"
}

teardown() {
	local l
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$VP" || true); do
		ip link del "$l" 2>/dev/null || true
	done
	teardown_husk
}

@test "features: runtime-spec 1.3, with memoryPolicy, netDevices, intelRdt and execCPUAffinity" {
	run "$HUSK_OCI" features
	[ "$status" -eq 0 ]
	[ "$(jq -r .ociVersionMax <<<"$output")" = 1.3.0 ]
	[ "$(jq -r '.linux.memoryPolicy.modes | sort | join(" ")' <<<"$output")" = "MPOL_BIND MPOL_DEFAULT MPOL_INTERLEAVE MPOL_LOCAL MPOL_PREFERRED MPOL_PREFERRED_MANY MPOL_WEIGHTED_INTERLEAVE" ]
	[ "$(jq -r '.linux.memoryPolicy.flags | sort | join(" ")' <<<"$output")" = "MPOL_F_NUMA_BALANCING MPOL_F_RELATIVE_NODES MPOL_F_STATIC_NODES" ]
	[ "$(jq -r .linux.netDevices.enabled <<<"$output")" = true ]
	[ "$(jq -c .linux.intelRdt <<<"$output")" = '{"enabled":true,"schemata":true,"monitoring":true}' ]
	# features.md has no field for it: an annotation, as runc's checkpoint one
	[ "$(jq -r '.annotations["io.github.husk.process.execCPUAffinity.enabled"]' <<<"$output")" = true ]
	run "$HUSK_OCI" --version
	[[ "$output" == *"spec: 1.3.0"* ]]
}

@test "ociVersion 1.3.0: accepted, and the state says 1.3.0" {
	update_config "$BUNDLE" '.ociVersion = "1.3.0" | .process.args = ["sleep", "30"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	run husk state "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .ociVersion <<<"$output")" = 1.3.0 ]
	[ "$(jq -r .status <<<"$output")" = running ]
	husk delete -f "$ID"
}

@test "memoryPolicy: the init and an exec'd process run with the policy (numa_maps)" {
	update_config "$BUNDLE" '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0"} | .process.args = ["sh", "-c", "head -1 /proc/self/numa_maps; exec sleep 30"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	run husk exec "$ID" head -1 /proc/self/numa_maps
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" bind:0 "* ]]
	husk delete -f "$ID"
	grep -q " bind:0 " "$TEST_DIR/container.log"
	# flags and another mode
	update_config "$BUNDLE" '.linux.memoryPolicy = {"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]} | .process.args = ["head", "-1", "/proc/self/numa_maps"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" interleave=static:0 "* ]]
	update_config "$BUNDLE" '.linux.memoryPolicy = {"mode": "MPOL_LOCAL"}'
	run husk run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *" local "* ]]
	# without one: the default, as before
	update_config "$BUNDLE" 'del(.linux.memoryPolicy)'
	run husk run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *" default "* ]]
}

@test "memoryPolicy: bad values are refused, each with a line naming what is wrong" {
	update_config "$BUNDLE" '.process.args = ["true"]'
	cp "$BUNDLE/config.json" "$TEST_DIR/base.json"
	check() {
		jq ".linux.memoryPolicy = $1" "$TEST_DIR/base.json" >"$BUNDLE/config.json"
		run husk run --bundle "$BUNDLE" "$ID"
		echo "$1 -> $status: $output"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$2"* ]]
		[ -z "$(husk list -q)" ]
	}
	check '{"mode": "MPOL_BOGUS"}' 'linux.memoryPolicy.mode: unknown mode "MPOL_BOGUS"'
	check '{"nodes": "0"}' 'linux.memoryPolicy.mode: missing'
	check '{"mode": "MPOL_BIND"}' 'mode MPOL_BIND needs at least one node'
	check '{"mode": "MPOL_INTERLEAVE", "nodes": ""}' 'mode MPOL_INTERLEAVE needs at least one node'
	check '{"mode": "MPOL_DEFAULT", "nodes": "0"}' 'mode MPOL_DEFAULT takes no nodes'
	check '{"mode": "MPOL_BIND", "nodes": "0-"}' 'linux.memoryPolicy.nodes "0-": expected a list of node numbers'
	check '{"mode": "MPOL_BIND", "nodes": "3-1"}' 'linux.memoryPolicy.nodes "3-1"'
	check '{"mode": "MPOL_BIND", "nodes": "4096"}' 'a node number is above 1023'
	check '{"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_BOGUS"]}' 'linux.memoryPolicy.flags: unknown flag "MPOL_F_BOGUS"'
	check '{"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}' 'exclude each other'
	# well formed, but no such node here: the kernel's EINVAL, named
	last=$(($(ls -d /sys/devices/system/node/node* | wc -l) + 7))
	check "{\"mode\": \"MPOL_BIND\", \"nodes\": \"$last\"}" 'linux.memoryPolicy: set_mempolicy(MPOL_BIND)'
}

# make_veth A B ADDR4 ADDR6: a veth pair on the host, A with the addresses
make_veth() {
	ip link add "$1" type veth peer name "$2"
	ip addr add "$3" brd + dev "$1"
	ip -6 addr add "$4" dev "$1" nodad
	ip link set "$1" up
}

@test "netDevices: a host veth moves in, renamed, with its permanent addresses, and up" {
	make_veth "${VP}a" "${VP}b" 10.231.7.1/24 fd00:231:7::1/64
	# a dynamic (non-permanent) address stays behind, as the spec says
	ip addr add 10.231.8.1/24 dev "${VP}a" valid_lft 300 preferred_lft 300
	update_config "$BUNDLE" ".linux.netDevices = {\"${VP}a\": {\"name\": \"ctr0\"}} | .process.args = [\"sleep\", \"30\"]"
	husk_d run -d --bundle "$BUNDLE" "$ID"
	run husk exec "$ID" ip -o addr show ctr0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.231.7.1/24 brd 10.231.7.255 scope global ctr0"* ]]
	[[ "$output" == *"inet6 fd00:231:7::1/64 scope global"* ]]
	[[ "$output" != *"10.231.8.1"* ]]
	run husk exec "$ID" ip -o link show ctr0
	[[ "$output" == *"<"*",UP"* ]]
	# gone from the host
	! ip link show "${VP}a" 2>/dev/null
	# the spec: not moved back at delete; a veth dies with its namespace
	husk delete -f "$ID"
	for _ in $(seq 100); do ip link show "${VP}b" >/dev/null 2>&1 || break; sleep 0.05; done
	! ip link show "${VP}b" 2>/dev/null
}

@test "netDevices: a name ending in %d is numbered by the kernel; no name keeps the host's" {
	ip link add "${VP}a" type veth peer name "${VP}b"
	ip link add "${VP}c" type veth peer name "${VP}d"
	update_config "$BUNDLE" ".linux.netDevices = {\"${VP}a\": {\"name\": \"eth%d\"}, \"${VP}b\": {\"name\": \"eth%d\"}, \"${VP}c\": {}} | .process.args = [\"sh\", \"-c\", \"ip -o link | cut -d: -f2 | sed 's/@.*//' | sort | tr -d ' ' | tr '\\\\n' ' '\"]"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "eth0 eth1 ${VP}c lo " ]
}

@test "netDevices: a name taken in the container, or no such device, fails and the device stays on the host" {
	ip link add "${VP}a" type veth peer name "${VP}b"
	ip link set "${VP}a" up
	update_config "$BUNDLE" ".linux.netDevices = {\"${VP}a\": {\"name\": \"lo\"}}"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"linux.netDevices: cannot move \"${VP}a\" into the container: an interface named \"lo\" exists there"* ]]
	ip link show "${VP}a"
	[ -z "$(husk list -q)" ]
	update_config "$BUNDLE" ".linux.netDevices = {\"${VP}x\": {}}"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"linux.netDevices: interface \"${VP}x\" on the host: No such device"* ]]
	update_config "$BUNDLE" ".linux.netDevices = {\"${VP}a\": {\"name\": \"a/b\"}}"
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not an interface name"* ]]
	update_config "$BUNDLE" ".linux.netDevices = {\"${VP}a\": {}} | .linux.namespaces -= [{\"type\": \"network\"}]"
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"linux.netDevices: needs a network namespace"* ]]
	ip link show "${VP}a"
}

@test "intelRdt: without a resctrl filesystem, create fails with a clear error (runc too), nothing left" {
	grep -q ' - resctrl ' /proc/self/mountinfo && skip "resctrl is mounted here"
	update_config "$BUNDLE" '.linux.intelRdt = {"closID": "guaranteed_group", "schemata": ["L3:0=7f0;1=1f"]}'
	# (run, not create: a created init would hold bats' output pipe)
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"linux.intelRdt: no resctrl filesystem is mounted"* ]]
	[ -z "$(husk list -q)" ]
	# runc 1.1 knows l3CacheSchema: it fails too
	update_config "$BUNDLE" '.linux.intelRdt = {"l3CacheSchema": "L3:0=7f0"}'
	run "$RUNC" --root "$TEST_DIR/runc" run -b "$BUNDLE" "r$ID"
	echo "runc: $output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Intel RDT"*"not enabled"* ]]
	run husk run --bundle "$BUNDLE" "$ID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no resctrl filesystem is mounted"* ]]
	# bad values are refused before that
	update_config "$BUNDLE" '.linux.intelRdt = {"memBwSchema": "L3:0=1"}'
	run husk run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *'linux.intelRdt.memBwSchema "L3:0=1": must start with MB:'* ]]
	update_config "$BUNDLE" '.linux.intelRdt = {"closID": "../x"}'
	run husk run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *'linux.intelRdt.closID "../x"'* ]]
}

cpus_allowed() {
	husk exec "$@" grep Cpus_allowed_list /proc/self/status | cut -f2
}

@test "execCPUAffinity: final is where an exec'd process runs; initial stays when no final; the init is untouched" {
	[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"
	update_config "$BUNDLE" '.process.args = ["sleep", "30"] | .process.execCPUAffinity = {"initial": "0", "final": "1"}'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	[ "$(cpus_allowed "$ID")" = 1 ]
	# not applicable to the init
	all=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
	run husk exec "$ID" grep Cpus_allowed_list /proc/1/status
	[ "$(echo "$output" | cut -f2)" = "$all" ]
	# --process brings its own, else the config's is used
	echo '{"args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/", "env": ["PATH=/bin"], "execCPUAffinity": {"initial": "1"}}' >"$TEST_DIR/p.json"
	run husk exec --process "$TEST_DIR/p.json" "$ID"
	echo "$output"
	[ "$(echo "$output" | cut -f2)" = 1 ]
	echo '{"args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/", "env": ["PATH=/bin"]}' >"$TEST_DIR/p.json"
	run husk exec --process "$TEST_DIR/p.json" "$ID"
	[ "$(echo "$output" | cut -f2)" = 1 ]
}

@test "execCPUAffinity: without one, an exec'd process does not keep the runtime's affinity (runc's reset)" {
	[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	all=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
	run taskset -c 0 "$HUSK_OCI" --root "$ROOT" exec "$ID" grep Cpus_allowed_list /proc/self/status
	echo "$output"
	[ "$(echo "$output" | cut -f2)" = "$all" ]
}

@test "execCPUAffinity: a malformed list or a CPU that is not there is an error" {
	update_config "$BUNDLE" '.process.args = ["sleep", "30"]'
	husk_d run -d --bundle "$BUNDLE" "$ID"
	for a in '{"final": "1-"}|process.execCPUAffinity.final "1-": expected a list of CPUs' \
		'{"initial": "a"}|process.execCPUAffinity.initial "a": expected a list' \
		'{"initial": "5000"}|a CPU number is above 1023' \
		'{"final": "1000"}|process.execCPUAffinity.final: sched_setaffinity: Invalid argument' \
		'{"initial": "1000"}|process.execCPUAffinity.initial: sched_setaffinity: Invalid argument'; do
		echo "{\"args\": [\"true\"], \"cwd\": \"/\", \"execCPUAffinity\": ${a%%|*}}" >"$TEST_DIR/p.json"
		run husk exec --process "$TEST_DIR/p.json" "$ID"
		echo "$a -> $status: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"${a#*|}"* ]]
	done
	# a bad one in config.json fails at create
	update_config "$BUNDLE" '.process.execCPUAffinity = {"final": "x"}'
	run husk run --bundle "$BUNDLE" "$ID-2"
	[ "$status" -eq 1 ]
	[[ "$output" == *'process.execCPUAffinity.final "x"'* ]]
}
