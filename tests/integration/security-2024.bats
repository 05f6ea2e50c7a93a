#!/usr/bin/env bats
# The runtime escapes found in runc, crun and youki since 2024 (issue 14),
# each tried against husk-oci with a crafted bundle or rootfs, or against the
# engine with a crafted image or layer.  As in security.bats, every attack is
# shown to be real first: a control runs the same step the way an
# undefended runtime does it (a mount, mknod or write by path) and sees it
# reach the target; then husk is shown not to.  Nothing here writes to a
# host-wide /proc file: the targets are only opened, read or looked at in
# mountinfo.

load helpers

bats_require_minimum_version 1.5.0

ATTACKS="$BATS_TEST_DIRNAME/attacks"

setup() {
	if [[ "$BATS_TEST_DESCRIPTION" == engine:* ]]; then
		engine_setup
	else
		setup_husk
	fi
	VICTIM="/tmp/husk-victim-$$-$BATS_TEST_NUMBER"
}

teardown() {
	rm -rf "$VICTIM"
	if [[ "$BATS_TEST_DESCRIPTION" == engine:* ]]; then
		engine_teardown
	else
		teardown_husk
	fi
}

# build_attack NAME: compile attacks/NAME.c (static) to $TEST_DIR/NAME
build_attack() {
	command -v gcc >/dev/null || skip "gcc is needed to build attacks/$1.c"
	gcc -static -O2 -o "$TEST_DIR/$1" "$ATTACKS/$1.c"
}

# dev_from HOSTDIR: the bundle's /dev is a bind of HOSTDIR (a /dev that the
# image, or another container sharing it, filled), with no tmpfs of husk's
# own over it
dev_from() {
	update_config "$BUNDLE" ".mounts |= (map(select(.destination | startswith(\"/dev\") | not))
		+ [{\"destination\": \"/dev\", \"type\": \"bind\", \"source\": \"$1\", \"options\": [\"rbind\"]}])"
}

# the mountinfo line of a mount point, as a process of the container sees it
MOUNTS_OF='awk -v p="$0" '"'"'$5 == p {print $4, $5, $9, $10}'"'"' /proc/self/mountinfo'

# ---------------------------------------------------------------------
# CVE-2025-31133: maskedPaths are masked by binding /dev/null over them.
# A runtime that binds the path "/dev/null" follows whatever is there: a
# symlink to /proc/sys/kernel/core_pattern (put there by the image, or
# swapped in by a container sharing /dev) turns every masked file into a
# writable core_pattern, the host's.  husk opens the container's /dev/null
# without following a symlink, checks that it is the character device 1:3,
# and binds that fd.

@test "CVE-2025-31133: binding a /dev/null symlink by its path mounts core_pattern (control)" {
	mkdir -p "$TEST_DIR/dev" "$TEST_DIR/target"
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/dev/null"
	touch "$TEST_DIR/target/timer_list"
	# what a runtime does when it masks by path: mount --bind /dev/null X
	run unshare -m sh -c "mount --bind '$TEST_DIR/dev/null' '$TEST_DIR/target/timer_list' &&
		awk '\$5 == \"$TEST_DIR/target/timer_list\" {print \$4, \$6, \$9}' /proc/self/mountinfo &&
		cat '$TEST_DIR/target/timer_list'"
	echo "$output"
	[ "$status" -eq 0 ]
	# the masked file became the host's core_pattern, writable
	[ "${lines[0]}" = "/sys/kernel/core_pattern rw,relatime proc" ]
	[ "${lines[1]}" = "$(cat /proc/sys/kernel/core_pattern)" ]
}

@test "CVE-2025-31133: a /dev/null symlink to core_pattern is refused, nothing is masked with it" {
	mkdir -p "$TEST_DIR/dev"
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/dev/null"
	dev_from "$TEST_DIR/dev"
	update_config "$BUNDLE" ".process.args = [\"sh\", \"-c\", $(jq -Rn --arg s "$MOUNTS_OF" '$s') , \"/proc/timer_list\"]"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'mask "/proc/'*'": open /dev/null in the container (not following symlinks): Too many levels of symbolic links'* ]]
	[[ "$output" != *core_pattern* ]]
}

@test "CVE-2025-31133: a /dev/null that is another device or a file is refused; the real one masks" {
	mkdir -p "$TEST_DIR/dev"
	# /dev/zero's numbers: reads of a masked file would never end
	mknod "$TEST_DIR/dev/null" c 1 5
	dev_from "$TEST_DIR/dev"
	update_config "$BUNDLE" '.process.args = ["stat", "-c", "%F %t:%T", "/proc/timer_list"]'
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'/dev/null in the container is not the null device (character device 1:3)'* ]]
	husk delete --force "$ID" 2>/dev/null || true

	rm "$TEST_DIR/dev/null"
	echo data >"$TEST_DIR/dev/null"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'is not the null device'* ]]
	husk delete --force "$ID" 2>/dev/null || true

	rm "$TEST_DIR/dev/null"
	mknod -m 666 "$TEST_DIR/dev/null" c 1 3
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "character special file 1:3" ]
}

@test "CVE-2025-31133: with husk's own /dev, masked files and directories are the null device and an empty read-only tmpfs" {
	update_config "$BUNDLE" '.process.args = ["sh", "-c", "stat -c \"%F %t:%T\" /proc/timer_list; cat /proc/timer_list | wc -c; grep \" /proc/acpi \" /proc/self/mountinfo | cut -d\" \" -f5,6,9; ls /proc/acpi | wc -l"]'
	[ -d /proc/acpi ] || skip "no /proc/acpi on this host"
	run husk run --bundle "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "character special file 1:3" ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = "/proc/acpi ro,relatime tmpfs" ]
	[ "${lines[3]}" = 0 ]
}
