#!/bin/bash
# Run every test: cmocka unit tests through meson, then the bats
# integration tests (as root).  Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
[ -x build/husk-oci ] || ./scripts/setup.sh
ninja -C build >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== unit tests (cmocka)"
meson test -C build --print-errorlogs >"$out" 2>&1
cat "$out" | grep -E '^ *[0-9]+/[0-9]+ ' || true
u_ok=$(grep -E '^Ok: ' "$out" | awk '{print $2}')
u_fail=$(grep -E '^Fail: ' "$out" | awk '{print $2}')
u_skip=$(grep -E '^Skipped: ' "$out" | awk '{print $2}')
passed=$((passed + ${u_ok:-0}))
failed=$((failed + ${u_fail:-0}))
skipped=$((skipped + ${u_skip:-0}))
[ "${u_fail:-0}" -eq 0 ] || cat build/meson-logs/testlog.txt | tail -50

echo "== integration tests (bats)"
files=${BATS_FILES:-tests/integration/*.bats}
# shellcheck disable=SC2086
# stdin from /dev/null: the same whether run from a terminal or by CI
timeout ${BATS_TIMEOUT:-3000} bats --tap $files </dev/null 2>&1 | tee "$out"
b_ok=$(grep -cE '^ok [0-9]+ ' "$out" | head -1)
b_skip=$(grep -cE '^ok [0-9]+ .*# skip' "$out" | head -1)
b_fail=$(grep -cE '^not ok [0-9]+ ' "$out" | head -1)
plan=$(grep -E '^1\.\.[0-9]+' "$out" | head -1 | cut -d. -f3)
ran=$((b_ok + b_fail))
if [ -n "$plan" ] && [ "$ran" -lt "$plan" ]; then
	echo "bats stopped early: $ran of $plan tests ran"
	b_fail=$((b_fail + plan - ran))
fi
passed=$((passed + b_ok - b_skip))
skipped=$((skipped + b_skip))
failed=$((failed + b_fail))

# An ASan + UBSan build (dynamic: the sanitizers do not link statically)
# runs the unit tests and the lifecycle, exec, process, mount, namespace,
# cgroup, hook and bad-input suites again, and the engine's image suites; a leak or undefined behaviour
# fails them.  (seccomp.bats is left out: a filter that denies nearly
# everything also denies the sanitizer runtime its syscalls.)
if [ "${HUSK_SANITIZE:-1}" != 0 ]; then
	echo "== sanitizers (ASan + UBSan)"
	asan=build-asan
	if { [ -f $asan/build.ninja ] ||
		meson setup $asan -Dstatic=false -Db_sanitize=address,undefined -Db_lundef=false \
			>/dev/null; } && ninja -C $asan >/dev/null; then
		export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		meson test -C $asan >"$out" 2>&1
		s_ok=$(grep -E '^Ok: ' "$out" | awk '{print $2}')
		s_fail=$(grep -E '^Fail: ' "$out" | awk '{print $2}')
		passed=$((passed + ${s_ok:-0}))
		failed=$((failed + ${s_fail:-0}))
		sfiles=""
		for f in run lifecycle exec errors process mounts namespaces cgroups hooks spec; do
			sfiles="$sfiles tests/integration/$f.bats"
		done
		# and the engine's: images in and out, registries, the store, networks
		for f in engine engine-lifecycle engine-look engine-commit volumes engine-bugs engine-cp engine-security build cli images registry image-store network; do
			sfiles="$sfiles tests/integration/$f.bats"
		done
		# shellcheck disable=SC2086
		HUSK_OCI=$(pwd)/$asan/husk-oci HUSK=$(pwd)/$asan/husk timeout 1800 bats --tap $sfiles \
			</dev/null 2>&1 | sed 's/^/asan: /' | tee "$out"
		a_ok=$(grep -cE '^asan: ok [0-9]+ ' "$out")
		a_skip=$(grep -cE '^asan: ok [0-9]+ .*# skip' "$out")
		a_fail=$(grep -cE '^asan: not ok [0-9]+ ' "$out")
		passed=$((passed + a_ok - a_skip))
		skipped=$((skipped + a_skip))
		failed=$((failed + a_fail))
	else
		echo "sanitizer build failed"
		failed=$((failed + 1))
	fi
fi

# libFuzzer targets (config.json, layer tars), a short run each
if [ "${HUSK_FUZZ:-1}" != 0 ]; then
	echo "== fuzz (libFuzzer)"
	./tests/fuzz/run.sh 2>&1 | tee "$out"
	f_ok=$(grep -cE '^ok [0-9]+ ' "$out")
	f_skip=$(grep -cE '^ok [0-9]+ .*# skip' "$out")
	f_fail=$(grep -cE '^not ok [0-9]+ ' "$out")
	passed=$((passed + f_ok - f_skip))
	skipped=$((skipped + f_skip))
	failed=$((failed + f_fail))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
