#!/usr/bin/env bats
# husk-oci on cgroup v2 (unified), in a VM: tests/vm/run.sh boots Debian's
# cloud kernel under qemu (TCG) once for this file and runs
# tests/vm/guest-tests.sh there; each test below is one guest test.
# Skipped, with the reason, when qemu or the kernel package can not be had.

setup_file() {
	export VM_OUT="$BATS_FILE_TMPDIR/vm.out"
	local top
	top=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	local rc=0
	HUSK_VM_TIMEOUT=${HUSK_VM_TIMEOUT:-300} timeout -k 5 360 \
		"$top/tests/vm/run.sh" >"$VM_OUT" 2>&1 || rc=$?
	echo "$rc" >"$BATS_FILE_TMPDIR/vm.rc"
}

# guest_result NAME: pass if the guest reported "ok N - NAME", skip if the
# VM could not run, else fail printing what the guest said
guest_result() {
	local rc
	rc=$(cat "$BATS_FILE_TMPDIR/vm.rc")
	if [ "$rc" = 77 ]; then
		skip "$(grep -m1 '^SKIP:' "$VM_OUT" | sed 's/^SKIP: //')"
	fi
	# the test's own line and its "# " lines
	awk -v name="$1" '
		/^(not )?ok [0-9]+ - / { show = ($0 ~ ("- " name "( |$)")) }
		/^# vm:/ { show = 0 }
		/^(not )?ok [0-9]+ - / || /^# / { if (show) print }
	' "$VM_OUT" >"$BATS_TEST_TMPDIR/result"
	cat "$BATS_TEST_TMPDIR/result"
	if grep -qE "^ok [0-9]+ - $1( |\$)" "$BATS_TEST_TMPDIR/result"; then
		return 0
	fi
	if ! grep -qE "^not ok [0-9]+ - $1( |\$)" "$BATS_TEST_TMPDIR/result"; then
		echo "the guest did not report $1; the VM said:"
		tail -60 "$VM_OUT"
	fi
	return 1
}

@test "cgroup v2 vm: run" {
	guest_result run
}

@test "cgroup v2 vm: lifecycle" {
	guest_result lifecycle
}

@test "cgroup v2 vm: list" {
	guest_result list
}

@test "cgroup v2 vm: cgroup_absolute" {
	guest_result cgroup_absolute
}

@test "cgroup v2 vm: cgroup_relative" {
	guest_result cgroup_relative
}

@test "cgroup v2 vm: cgroup_relative_bad" {
	guest_result cgroup_relative_bad
}

@test "cgroup v2 vm: kill_all" {
	guest_result kill_all
}

@test "cgroup v2 vm: pause_resume" {
	guest_result pause_resume
}

@test "cgroup v2 vm: delete_removes_cgroup" {
	guest_result delete_removes_cgroup
}

@test "cgroup v2 vm: memory_oom" {
	guest_result memory_oom
}

@test "cgroup v2 vm: pids_forkbomb" {
	guest_result pids_forkbomb
}

@test "cgroup v2 vm: cpu_max" {
	guest_result cpu_max
}

@test "cgroup v2 vm: update" {
	guest_result update
}

@test "cgroup v2 vm: unified" {
	guest_result unified
}

@test "cgroup v2 vm: events_stats" {
	guest_result events_stats
}

@test "cgroup v2 vm: events_oom" {
	guest_result events_oom
}

@test "cgroup v2 vm: exec_ps" {
	guest_result exec_ps
}

@test "cgroup v2 vm: devices" {
	guest_result devices
}

@test "cgroup v2 vm: cgroupns_root" {
	guest_result cgroupns_root
}

@test "cgroup v2 vm: cgroup_mount_subtree" {
	guest_result cgroup_mount_subtree
}

@test "cgroup v2 vm: check_before_update" {
	guest_result check_before_update
}

@test "cgroup v2 vm: hugetlb" {
	guest_result hugetlb
}

@test "cgroup v2 vm: the guest finished and every guest test passed" {
	local rc
	rc=$(cat "$BATS_FILE_TMPDIR/vm.rc")
	[ "$rc" != 77 ] || skip "$(grep -m1 '^SKIP:' "$VM_OUT" | sed 's/^SKIP: //')"
	grep -E '^# vm:|^[0-9]+ passed, [0-9]+ failed' "$VM_OUT"
	if [ "$rc" != 0 ]; then
		cat "$VM_OUT"
		return 1
	fi
}
