# shellcheck shell=bash
# lib-podman.sh: a private Podman for the benchmarks. Sourced, not run.
#
# Podman cannot run here with its defaults (see shared/DESIGN.md, "Facts
# about these machines"): no systemd, so cgroupfs; root lacks
# CAP_SYS_RESOURCE, so ulimits under the hard limit of 20000; crun refuses
# the hybrid cgroup layout, so every run names its --runtime. The setup
# also keeps Podman off the network (netns "none"), its events in a file
# and all of its storage in a temp dir.
#
#   pm_setup PREFIX   make the temp dir PM_DIR=$(mktemp -d PREFIX.XXXXXX),
#                     its containers.conf and storage.conf, and import the
#                     busybox rootfs (as husk's built-in busybox: the host's
#                     busybox-static and its applet links) as
#                     localhost/busybox:latest; returns 1 if that fails
#   pm ARGS...        podman with that setup, under `timeout $PM_TIMEOUT`
#   "${PM[@]}" ARGS   the same without timeout, for a podman whose pid
#                     matters (`"${PM[@]}" run ... &` makes $! podman's pid)
#   pm_cleanup        remove every container (rm -af with each runtime in
#                     PM_RUNTIMES) and image, unmount what is left under
#                     PM_DIR, remove it, and remove Podman's conmon cgroups
#                     (libpod_parent/conmon) if they were not there before
#                     pm_setup. Safe to call twice; call it from the
#                     caller's EXIT trap.
#
# Environment: PM_TIMEOUT (seconds, default 120), PM_RUNTIMES (array of
# runtimes whose containers pm_cleanup removes; default runc).

PM_TIMEOUT=${PM_TIMEOUT:-120}
PM_DIR=
PM=()
if ! declare -p PM_RUNTIMES >/dev/null 2>&1; then
	PM_RUNTIMES=(runc)
fi
_pm_cg_before=

pm() {
	timeout "$PM_TIMEOUT" "${PM[@]}" "$@"
}

# dead_netns, remove_dead_netns
# shellcheck source=tests/integration/netns.bash
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../tests/integration/netns.bash"

pm_setup() {
	local prefix=$1 app
	PM_DIR=$(mktemp -d "$prefix.XXXXXX") || return 1
	# the runroot and tmp_dir on a tmpfs, as Podman's defaults are on
	# Debian (/run; on these VMs /run is on the root's ext4)
	PM_RUN=$(mktemp -d /run/husk-bench-podman.XXXXXX) || return 1
	mount -t tmpfs -o mode=0700,size=512m tmpfs "$PM_RUN" || return 1
	PM=(env CONTAINERS_CONF="$PM_DIR/containers.conf"
		CONTAINERS_STORAGE_CONF="$PM_DIR/storage.conf"
		podman --root "$PM_DIR/root" --runroot "$PM_RUN/runroot")
	# Podman's conmon cgroups (libpod_parent/conmon in every hierarchy):
	# pm_cleanup removes them unless they were there before
	_pm_cg_before=$(ls -d /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent 2>/dev/null || true)
	# and the named netns it may leave (remove_dead_netns)
	_pm_netns_before=$(ls /run/netns 2>/dev/null || true)
	mkdir -p "$PM_RUN/tmp" "$PM_DIR/rootfs"/{bin,dev,proc,sys,etc,tmp,root,var,run}
	cat >"$PM_DIR/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$PM_RUN/tmp"
EOF
	cat >"$PM_DIR/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$PM_DIR/root"
runroot = "$PM_RUN/runroot"
EOF
	cp /bin/busybox "$PM_DIR/rootfs/bin/busybox" || return 1
	for app in $(/bin/busybox --list); do
		[ "$app" = busybox ] || ln -sf busybox "$PM_DIR/rootfs/bin/$app"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$PM_DIR/rootfs/etc/passwd"
	echo 'root:x:0:' >"$PM_DIR/rootfs/etc/group"
	tar -C "$PM_DIR/rootfs" -cf "$PM_DIR/busybox.tar" . || return 1
	pm import -q "$PM_DIR/busybox.tar" localhost/busybox:latest >/dev/null
}

pm_cleanup() {
	local rt d
	[ -n "$PM_DIR" ] && [ -d "$PM_DIR" ] || return 0
	for rt in "${PM_RUNTIMES[@]}"; do
		pm --runtime "$rt" rm -af -t 0 >/dev/null 2>&1
	done
	pm rmi -af >/dev/null 2>&1
	grep -F -e "$PM_DIR" -e "$PM_RUN" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$PM_DIR" "$PM_RUN"
	PM_DIR= PM_RUN=
	remove_dead_netns "$_pm_netns_before"
	if [ -z "$_pm_cg_before" ]; then
		for d in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
			[ -d "$d" ] && rmdir "$d/conmon" "$d" 2>/dev/null
		done
	fi
	return 0
}
