# Named network namespaces (/run/netns) that the suite or a benchmark
# would leave: shared by zz-leftovers.bats, the Podman client suite and
# bench/lib-podman.sh.

# dead_netns: the files of /run/netns that no namespace is mounted on.  A
# Podman run that fails between making the file and mounting the
# namespace on it (seen with its CNI bridge under load) leaves one: no
# namespace is behind it, nothing can use it, `ip netns` lists it with
# "Peer netns reference is invalid".
dead_netns() {
	local f
	for f in /run/netns/*; do
		[ -e "$f" ] && ! mountpoint -q "$f" && echo "$f"
	done
	return 0
}

# remove_dead_netns BEFORE: the dead ones whose name is not in BEFORE (the
# names /run/netns held when the caller began): those came from the
# caller's own Podman runs
remove_dead_netns() {
	local f
	for f in $(dead_netns); do
		grep -qxF "$(basename "$f")" <<<"$1" || rm -f "$f"
	done
}
