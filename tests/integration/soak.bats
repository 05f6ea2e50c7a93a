#!/usr/bin/env bats
# bench/soak.sh at a twentieth of its default size: 500 husk-oci
# run/delete cycles and 100 `husk run --rm` cycles; the fds, processes,
# mounts, cgroups, a fresh monitor's RSS and fds, and the disk use of the
# roots must be no higher at the end than at the start (no slack but 8 KiB
# of RSS: one cycle's leak shows).  A tenth took 3 min 47 s here (2 cores
# shared with other builds), over the 3 minutes a suite may take; a
# twentieth takes about 2.  The whole soak (N=10000 M=2000) is run by hand:
# see bench/README.md.  SOAK_N and SOAK_M change the counts.

@test "soak: 500 husk-oci run/delete and 100 husk run --rm cycles grow nothing" {
	run env N="${SOAK_N:-500}" M="${SOAK_M:-100}" "$BATS_TEST_DIRNAME/../../bench/soak.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"failed cycles: 0;"* ]]
}
