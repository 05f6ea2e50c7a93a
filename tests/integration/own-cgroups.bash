# Sourced by helpers.bash and zz-leftovers.bats (which must not load
# helpers.bash: its setup would make a test dir of its own).

# The dirs where the engine puts a container's cgroup: below our own
# cgroup, in the hierarchies where that is not the root.  Other sessions on
# a shared host run containers of their own at the same time, and a search
# of all of /sys/fs/cgroup (of every hierarchy) blames us for theirs.
own_cgroup_dirs() {
	local n ctrl path dirs=""
	while IFS=: read -r n ctrl path; do
		[ "$path" != / ] || continue
		case $ctrl in
		"") if [ -d /sys/fs/cgroup/unified ]; then dirs+=" /sys/fs/cgroup/unified$path"; else dirs+=" /sys/fs/cgroup$path"; fi ;;
		name=*) dirs+=" /sys/fs/cgroup/${ctrl#name=}$path" ;;
		*) dirs+=" /sys/fs/cgroup/$ctrl$path" ;;
		esac
	done </proc/self/cgroup
	echo "${dirs:-/sys/fs/cgroup}"
}
