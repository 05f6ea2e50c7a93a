#!/usr/bin/env bats
# Runs last: after the whole suite, nothing of husk's may remain on the
# host: no test dirs, no mount under them, no container cgroup, no
# container process, no veth or bridge, no nft table of husk's.

load own-cgroups
load netns

@test "suite: no mount, cgroup, state dir or process of a test is left" {
	left=""
	m=$(grep -E 'husk-test\.|/husk-busybox\.' /proc/self/mountinfo || true)
	[ -z "$m" ] || left+="mounts: $m"$'\n'
	cg=$(find /sys/fs/cgroup -maxdepth 7 -type d -regex '.*/ht[0-9]+-[0-9].*' 2>/dev/null || true)
	[ -z "$cg" ] || left+="cgroups: $cg"$'\n'
	# the engine's containers' cgroups, and any parent of them
	# (below our own cgroup: other sessions on a shared host run engines too)
	cg=$(for d in $(own_cgroup_dirs); do find "$d" -maxdepth 7 -type d \( -name husk -o -name 'husk-*' \) 2>/dev/null; done || true)
	[ -z "$cg" ] || left+="engine cgroups: $cg"$'\n'
	# named netns: the tests' own (an outside host, ip netns tests), and
	# any file of /run/netns with no namespace behind it (what a failed
	# Podman run leaves)
	n=$(ls /run/netns 2>/dev/null | grep -E '^husk-(t|op|out)-' || true)
	[ -z "$n" ] || left+="test netns: $n"$'\n'
	n=$(dead_netns)
	[ -z "$n" ] || left+="named netns with no namespace: $n"$'\n'
	d=$(find /tmp -maxdepth 1 -name 'husk-test.*' 2>/dev/null || true)
	[ -z "$d" ] || left+="test dirs: $d"$'\n'
	p=$(pgrep -af 'husk-test\.' | grep -v pgrep || true)
	[ -z "$p" ] || left+="processes: $p"$'\n'
	# Podman's conmon cgroups, when the suite's Podman tests made them
	if [ -e "$BATS_RUN_TMPDIR/podman-cgroups-ours" ]; then
		# (helpers.bash's podman_cgroups; loading it here would bring its setup)
		pc=$(ls -d /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent 2>/dev/null || true)
		[ -z "$pc" ] || left+="podman cgroups: $pc"$'\n'
	fi
	# the engine's networks: veths, the bridge, husk's nft table; the
	# bridge and the tables go a grace period after the last container
	# (husk's reaper, husk-net-gc): waited for
	for _ in $(seq 100); do
		pgrep -x husk-net-gc >/dev/null || break
		sleep 0.05
	done
	v=$(ip -o link show | awk -F': ' '$2 ~ /^husk/ {print $2}' | sed 's/@.*//' || true)
	[ -z "$v" ] || left+="links: $v"$'\n'
	if nft list table ip husk >/dev/null 2>&1; then
		left+="nft table ip husk"$'\n'
	fi
	if nft list table ip6 husk >/dev/null 2>&1; then
		left+="nft table ip6 husk"$'\n'
	fi
	if [ -n "$left" ]; then
		echo "$left"
		return 1
	fi
}
