#!/usr/bin/env bats
# husk's containers as a Docker user drives them: create, start, stop,
# kill, restart, pause, wait, rename, logs, attach, restart policies; the
# monitor under each; what bad input gets; what kill -9 leaves.

load helpers

bats_require_minimum_version 1.5.0


setup() {
	engine_setup
}


teardown() {
	engine_teardown
}

# wait_for CMD...: up to 15 s for CMD to succeed (sanitizer builds are slow)
wait_for() {
	for _ in $(seq 300); do "$@" && return 0; sleep 0.05; done
	"$@"
}

# STATUS as ps shows it, less the times: "Up", "Up (Paused)", "Exited (N)", "Created"
status_of() {
	"$HUSK" ps -a --format '{{.Names}}\t{{.Status}}' | awk -F'\t' -v n="$1" '$1 == n {print $2}' |
		sed -E 's/^Up .*\(Paused\)$/Up (Paused)/; s/^Up [^(]*$/Up/; s/^(Exited \([0-9]+\)).*/\1/'
}

# kill9 PID: SIGKILL to that one process; never 0 or less, which kill(1)
# would take as our own process group
kill9() {
	[ "$1" -gt 0 ] 2>/dev/null || { echo "kill9: no pid \"$1\""; return 1; }
	kill -9 "$1"
}

# field NAME KEY: a key of the record of container NAME
field() {
	jq -rs --arg n "$1" "map(select(.name == \$n))[0].$2" "$HUSK_ROOT"/containers/*/meta.json
}

@test "non-root users: / has the image's mode, -u takes names from the image's passwd" {
	run "$HUSK" run --rm -u 1000 busybox ls /etc/passwd
	[ "$status" -eq 0 ]
	[ "$output" = /etc/passwd ]
	run "$HUSK" run --rm busybox stat -c %a /
	[ "$output" = 755 ]
	# a uid with no entry gets gid 0, as Docker's
	run "$HUSK" run --rm -u 1000 busybox id
	[[ "$output" == "uid=1000 gid=0(root)"* ]]
	run "$HUSK" run --rm -u nobody busybox sh -c 'id; echo $HOME'
	[[ "${lines[0]}" == "uid=65534(nobody) gid=65534(nobody)"* ]]
	[ "${lines[1]}" = /home ]
	run "$HUSK" run --rm -u www-data:daemon busybox id -g
	[ "$output" = 1 ]
	run "$HUSK" run --rm -u nosuchuser busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: unable to find user nosuchuser: no matching entries in passwd file" ]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
}

@test "every network mode has lo up, /etc/hosts, /etc/hostname and /etc/resolv.conf" {
	for net in none host; do
		run "$HUSK" run --rm --network $net busybox sh -c 'cat /etc/hostname; grep -c localhost /etc/hosts; test -f /etc/resolv.conf && echo resolv; ping -c1 -W1 localhost >/dev/null && echo ping'
		[ "$status" -eq 0 ]
		[ "${lines[1]}" -ge 1 ]
		[ "${lines[2]}" = resolv ]
		[ "${lines[3]}" = ping ]
	done
	run "$HUSK" run --rm --network none --hostname web busybox cat /etc/hostname
	[ "$output" = web ]
	# host: the host's name
	run "$HUSK" run --rm --network host busybox hostname
	[ "$output" = "$(hostname)" ]
}

@test "stdin is /dev/null without -i; -i passes it, and its end" {
	n=0
	while read -r _; do
		"$HUSK" run --rm busybox true
		n=$((n + 1))
	done < <(printf 'a\nb\nc\n')
	[ "$n" -eq 3 ]
	run bash -c "printf 'one\ntwo\n' | '$HUSK' run --rm busybox cat"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run bash -c "printf 'one\ntwo\n' | '$HUSK' run --rm -i busybox cat"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'one\ntwo')" ]
}

@test "names: Docker's rule, one container per name even when two runs race" {
	for bad in 'a/../b' '' '-x' 'a b' '_a'; do
		run "$HUSK" run --rm --name "$bad" busybox true
		[ "$status" -eq 125 ]
		[[ "$output" == *"invalid container name"* ]]
	done
	id=$("$HUSK" create busybox true)
	# a name that is the start of another container's id is a name
	run "$HUSK" create --name "${id:0:6}" busybox true
	[ "$status" -eq 0 ]
	"$HUSK" rm "${id:0:6}"
	"$HUSK" rm "$id"
	# eight at once, one wins
	for i in $(seq 8); do "$HUSK" create --name same busybox true >"$TEST_DIR/out.$i" 2>&1 & done
	wait
	[ "$(grep -l '^[0-9a-f]\{64\}$' "$TEST_DIR"/out.* | wc -l)" -eq 1 ]
	[ "$(grep -l 'is already in use' "$TEST_DIR"/out.* | wc -l)" -eq 7 ]
	[ "$("$HUSK" ps -aq | wc -l)" -eq 1 ]
	"$HUSK" rename same other
	run "$HUSK" ps -a
	[[ "$output" == *" other"* ]]
	[[ "$output" != *" same"* ]]
	# the old name is free again
	"$HUSK" create --name same busybox true
}

@test "create, start -a, stop, restart, kill, pause, wait: the states ps shows" {
	"$HUSK" create --name c busybox sh -c 'echo run; exit 4'
	[ "$(status_of c)" = Created ]
	run "$HUSK" start -a c
	[ "$status" -eq 4 ]
	[ "$output" = run ]
	[ "$(status_of c)" = "Exited (4)" ]
	run "$HUSK" start c
	[ "$status" -eq 0 ]
	run "$HUSK" wait c
	[ "$output" = 4 ]
	# logs hold both runs
	[ "$("$HUSK" logs c)" = "$(printf 'run\nrun')" ]

	"$HUSK" run -d --name s busybox sleep 1000
	[ "$(status_of s)" = Up ]
	"$HUSK" pause s
	[ "$(status_of s)" = "Up (Paused)" ]
	run "$HUSK" exec s true
	[ "$status" -eq 125 ]
	[[ "$output" == *paused* ]]
	"$HUSK" unpause s
	# sleep as pid 1 ignores TERM: KILL after the timeout
	run "$HUSK" stop -t 1 s
	[ "$status" -eq 0 ]
	[ "$(status_of s)" = "Exited (137)" ]
	"$HUSK" restart s
	[ "$(status_of s)" = Up ]
	"$HUSK" kill -s TERM s >/dev/null || true
	"$HUSK" kill s
	run "$HUSK" wait s
	[ "$output" = 137 ]
	# a stop signal the process handles ends it at once
	"$HUSK" run -d --name t --stop-signal USR1 busybox sh -c 'trap "exit 9" USR1; while :; do sleep 0.1; done'
	start=$(date +%s)
	"$HUSK" stop -t 20 t
	[ $(($(date +%s) - start)) -lt 10 ]
	[ "$(status_of t)" = "Exited (9)" ]
	# stop and restart -s: this time's signal over the container's (Docker 23's)
	"$HUSK" run -d --name u --stop-signal USR1 busybox sh -c 'trap "exit 9" USR1; trap "exit 5" HUP; trap "exit 6" TERM; while :; do sleep 0.1; done'
	"$HUSK" stop -s HUP -t 20 u
	[ "$(status_of u)" = "Exited (5)" ]
	"$HUSK" start u
	sleep 0.3 # its traps set
	"$HUSK" restart --signal SIGTERM -t 20 u
	[ "$(status_of u)" = Up ]
	run "$HUSK" stop -s NOSUCH u
	[ "$status" -eq 125 ]
	[ "$output" = "husk: stop: -s \"NOSUCH\": not a signal (see 'husk stop --help')" ]
	"$HUSK" stop -t 20 u
	[ "$(status_of u)" = "Exited (9)" ]
	[ "$("$HUSK" events --since 1m --until 0s --filter container=u --filter event=die --format '{{index .Actor.Attributes "exitCode"}}' | tr '\n' ' ')" = "5 6 9 " ]
}

@test "bad input: one line, exit 125, nothing left" {
	run "$HUSK" stop
	[ "$status" -eq 125 ]
	[ "$output" = "husk: stop: expected CONTAINER... (see 'husk stop --help')" ]
	run "$HUSK" ps --bogus
	[ "$status" -eq 125 ]
	[ "$output" = "husk: ps: unknown flag --bogus (see 'husk ps --help')" ]
	run "$HUSK" logs c -n
	[ "$status" -eq 125 ]
	run "$HUSK" image nosuchverb
	[ "$status" -eq 125 ]
	[ "$output" = "husk: unknown command \"image nosuchverb\" (see 'husk image --help')" ]
	run "$HUSK" stop nosuch
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: no such container: "nosuch"' ]
	run "$HUSK" run --restart sometimes busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid restart policy "sometimes"'* ]]
	# -f of what is not there: said on stderr, not failed, as Docker's
	# since 20.10; without -f, 125
	run "$HUSK" rmi -f nosuchimage
	[ "$status" -eq 0 ]
	[[ "$output" == *nosuchimage* ]]
	[[ "$output" != *'"-f"'* ]]
	run "$HUSK" rmi nosuchimage
	[ "$status" -eq 125 ]
	run "$HUSK" rm -f nosuch
	[ "$status" -eq 0 ]
	[ "$output" = 'husk: no such container: "nosuch"' ]
	run "$HUSK" rm nosuch
	[ "$status" -eq 125 ]
	run "$HUSK" network rm -f nosuchnet
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run "$HUSK" network rm nosuchnet
	[ "$status" -eq 125 ]
	"$HUSK" create --name c busybox true
	run "$HUSK" exec c true
	[ "$status" -eq 125 ]
	[[ "$output" == *"not running"* ]]
	run "$HUSK" attach c
	[ "$status" -eq 125 ]
	[[ "$output" == *"not running"* ]]
	"$HUSK" run -d --name r busybox sleep 100
	run "$HUSK" rm r
	[ "$status" -eq 125 ]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[[ "$output" == *"cannot remove container \"r\": it is running"* ]]
	run "$HUSK" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"stop "*"stop containers"* ]]
	run "$HUSK" stop --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Usage: husk stop [OPTIONS] CONTAINER..." ]]
	[[ "$output" == *"-t, --time SECONDS"*"seconds to wait before SIGKILL"* ]]
	run "$HUSK" help rm
	[[ "$output" == "Usage: husk rm "* ]]
}

@test "logs of foreground and detached runs: --tail, -t, -f until the end, stderr kept apart" {
	"$HUSK" run --name fg busybox sh -c 'echo out1; echo err1 >&2; echo out2'
	run "$HUSK" logs fg
	[[ "$output" == *out1* && "$output" == *err1* && "$output" == *out2* ]]
	[ "$("$HUSK" logs fg 2>/dev/null)" = "$(printf 'out1\nout2')" ]
	[ "$("$HUSK" logs fg 2>&1 >/dev/null)" = err1 ]
	"$HUSK" run --name three busybox sh -c 'echo a; echo b; echo c' >/dev/null
	[ "$("$HUSK" logs --tail 1 three)" = c ]
	[ "$("$HUSK" logs --tail 2 three)" = "$(printf 'b\nc')" ]
	"$HUSK" logs -t fg 2>/dev/null | grep -qE '^20[0-9-]+T[0-9:.]+Z out1$'
	# json-file, as Docker writes it
	[ "$(grep -h '"stream":"stderr"' "$HUSK_ROOT"/containers/*/log | jq -r .log)" = err1 ]
	"$HUSK" run -d --name bg busybox sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done'
	run timeout 20 "$HUSK" logs -f bg
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'line1\nline2\nline3')" ]
	run "$HUSK" run --rm --log-driver none busybox echo quiet
	[ "$output" = quiet ]
}

@test "attach to run -dit, detach with ctrl-p ctrl-q; output and exit through attach; exec -it detaches as well" {
	command -v script >/dev/null || skip "no script(1)"
	"$HUSK" run -dit --name a busybox sh
	# type a command, then the detach keys: the container runs on
	run timeout 20 script -qec "$(printf '%q ' env HUSK_ROOT="$HUSK_ROOT" HUSK_RUNROOT="$HUSK_RUNROOT" "$HUSK" attach a)" /dev/null < <(sleep 0.5; printf 'echo in-$((6*7))\r'; sleep 0.5; printf '\020\021')
	[ "$status" -eq 0 ]
	[[ "$output" == *in-42* ]]
	[ "$(status_of a)" = Up ]
	# no NUL byte in what a terminal sees
	run bash -c "script -qec \"$(printf '%q ' env HUSK_ROOT="$HUSK_ROOT" HUSK_RUNROOT="$HUSK_RUNROOT" "$HUSK" run --rm -t busybox echo hi)\" /dev/null | od -c"
	[[ "$output" != *'\0'* ]]
	"$HUSK" run -d --name o busybox sh -c 'sleep 1; echo late; exit 6'
	run timeout 20 "$HUSK" attach o
	[ "$status" -eq 6 ]
	[ "$output" = late ]
	# exec -it detaches too, and its process runs on (its pty held for
	# it); --detach-keys chooses them; the stdin that ends just after
	# them does not take it down
	run timeout 20 script -qec "$(printf '%q ' env HUSK_ROOT="$HUSK_ROOT" HUSK_RUNROOT="$HUSK_RUNROOT" "$HUSK" exec -it --detach-keys ctrl-x,y a sh -c 'echo started; while :; do echo x >>/tmp/tick; sleep 0.1; done')" /dev/null < <(sleep 1; printf '\030y')
	[ "$status" -eq 0 ]
	[[ "$output" == *started* ]]
	t1=$("$HUSK" exec a wc -l /tmp/tick | cut -d' ' -f1)
	sleep 0.5
	t2=$("$HUSK" exec a wc -l /tmp/tick | cut -d' ' -f1)
	[ "$t2" -gt "$t1" ]
	[ "$("$HUSK" events --since 1m --until 0s --filter event=exec_detach --format '{{.Action}} {{.Actor.Attributes.name}}')" = "exec_detach a" ]
	# the holder goes with the container
	"$HUSK" rm -f a >/dev/null
	for _ in $(seq 100); do pgrep -f "exec -it --detach-keys ctrl-x,y a" >/dev/null || break; sleep 0.05; done
	! pgrep -f "exec -it --detach-keys ctrl-x,y a"
}

@test "restart policies: on-failure:N counts, always comes back after a kill, stop suspends it" {
	"$HUSK" run -d --name f --restart on-failure:2 busybox sh -c 'echo try; exit 3'
	three_tries() { test "$("$HUSK" logs f | grep -c try)" -eq 3; }
	wait_for three_tries
	run "$HUSK" wait f
	[ "$output" = 3 ]
	[ "$(field f restart_count)" -eq 2 ]
	"$HUSK" run -d --name al --restart always busybox sleep 1000
	pid1=$(field al pid)
	kill9 "$pid1"
	back() { [ "$(field al pid)" != "$pid1" ] && [ "$(field al state)" = running ]; }
	wait_for back
	[ "$(field al restart_count)" -eq 1 ]
	[ "$(status_of al)" = Up ]
	"$HUSK" stop -t 1 al
	sleep 0.5
	[ "$(status_of al)" = "Exited (137)" ]
	[ -z "$(engine_monitors)" ]
	"$HUSK" start al
	[ "$(status_of al)" = Up ]
}

@test "restart policies: a stop while it waits to restart gives the attached client the last exit code" {
	# the back-off doubles (100 ms, 200, 400, 800...): once it has
	# restarted four times the run lasts a few ms and the wait 1.6 s, so
	# the stop lands in the wait
	"$HUSK" run --name rs --restart always busybox sh -c 'echo go; exit 3' >"$BATS_TEST_TMPDIR/out" 2>&1 &
	client=$!
	four() { [ "$(field rs restart_count)" -ge 4 ]; }
	wait_for four
	"$HUSK" stop rs
	code=0
	wait $client || code=$?
	[ "$code" -eq 3 ]
	[ "$(status_of rs)" = "Exited (3)" ]
	[ -z "$(engine_monitors)" ]
}

@test "a foreground run's start step stays to be its exit step, a second at most; then the exit runs one of its own" {
	# this container's start step kept waiting for the exit (its argv
	# names the id, then "wait")
	steps() { pgrep -f "husk-monitor-step start .* $1 (.* )?wait\$" | wc -l; }
	one_step() { [ "$(steps "$1")" -eq 1 ]; }
	# a quick exit: the waiting step records it
	run "$HUSK" run --name q busybox sh -c 'exit 7'
	[ "$status" -eq 7 ]
	[ "$(status_of q)" = "Exited (7)" ]
	# a longer one: its step waits while it starts, and is gone a second
	# later; the exit is then recorded by a step of its own
	"$HUSK" run --name l busybox sh -c 'sleep 2.5; exit 9' &
	client=$!
	wait_for sh -c "'$HUSK' ps | grep -q ' l$'"
	id=$("$HUSK" inspect -f '{{.Id}}' l)
	wait_for one_step "$id"
	sleep 1.5
	[ "$(steps "$id")" -eq 0 ]
	rc=0
	wait $client || rc=$?
	[ "$rc" -eq 9 ]
	[ "$(status_of l)" = "Exited (9)" ]
	# a detached run has none
	"$HUSK" run -d --name d busybox sleep 5 >/dev/null
	sleep 0.3
	[ "$(steps "$("$HUSK" inspect -f '{{.Id}}' d)")" -eq 0 ]
}

@test "kill -9 of the client, of the monitor, of the init: ps tells the truth, rm -f cleans all" {
	# the client: the container runs on under its monitor
	"$HUSK" run --name c busybox sleep 1000 &
	client=$!
	wait_for sh -c "'$HUSK' ps | grep -q ' c$'"
	kill -9 $client
	wait $client || true
	sleep 0.2
	[ "$(status_of c)" = Up ]
	# the init: the monitor records 137
	pid=$(field c pid)
	kill9 "$pid"
	exited137() { test "$(status_of c)" = "Exited (137)"; }
	wait_for exited137
	# the monitor: the container runs on and shows so, and the ps that
	# saw it gave it a new monitor (an adopter: see the next test)
	"$HUSK" run -d --name m busybox sleep 1000
	mon=$(field m monitor_pid)
	kill9 "$mon"
	sleep 0.2
	[ "$(status_of m)" = Up ]
	[ "$(field m monitor_pid)" != "$mon" ]
	kill -0 "$(field m monitor_pid)"
	# the record names its monitor by pid, start time and, this kernel
	# having pidfs, the pidfd's inode number in this boot
	[ "$(field m boot_id)" = "$(cat /proc/sys/kernel/random/boot_id)" ]
	[ "$(field m monitor_pidfd_id)" -gt 0 ]
	run "$HUSK" rm -f m
	[ "$status" -eq 0 ]
	# a monitor's pid that now names another process (reused) is not
	# taken for the monitor
	"$HUSK" run -d --name u busybox sleep 1000
	kill9 "$(field u monitor_pid)"
	kill9 "$(field u pid)"
	sleep 1000 &
	other=$!
	meta=$(ls "$HUSK_ROOT"/containers/*/meta.json | xargs grep -l '"name":"u"')
	jq -c --argjson p "$other" '.monitor_pid = $p' "$meta" >"$meta.new"
	mv "$meta.new" "$meta"
	[ "$(status_of u)" = "Exited (255)" ]
	kill "$other"
	run "$HUSK" rm -f u
	[ "$status" -eq 0 ]
	run "$HUSK" rm -f c
	[ "$status" -eq 0 ]
	[ -z "$("$HUSK" ps -aq)" ]
}

@test "healthchecks: run by the monitor, shown in ps and inspect, healthcheck run; --health-on-failure restart" {
	"$HUSK" run -d --name h --health-cmd 'cat /tmp/ok' --health-interval 200ms --health-retries 2 \
		busybox sh -c 'echo fine >/tmp/ok; sleep 1000'
	healthy() { [[ "$("$HUSK" ps --format '{{.Names}} {{.Status}}')" == "h Up "*"(healthy)" ]]; }
	wait_for healthy
	[ "$("$HUSK" inspect -f '{{.State.Health.Status}}' h)" = healthy ]
	[ "$("$HUSK" inspect h | jq -r '.[0].State.Health.Log[-1].Output')" = fine ]
	"$HUSK" exec h rm /tmp/ok
	unhealthy() { [ "$("$HUSK" inspect -f '{{.State.Health.Status}}' h)" = unhealthy ]; }
	wait_for unhealthy
	[[ "$("$HUSK" ps --format '{{.Status}}')" == *"(unhealthy)" ]]
	[ "$("$HUSK" inspect h | jq '.[0].State.Health.FailingStreak >= 2')" = true ]
	run "$HUSK" healthcheck run h
	[ "$status" -eq 1 ]
	[ "$output" = unhealthy ]
	# a check that outlives its timeout fails
	"$HUSK" run -d --name slow --health-cmd 'sleep 5' --health-timeout 300ms --health-interval 200ms busybox sleep 1000
	timed_out() { "$HUSK" inspect slow | jq -e '.[0].State.Health.Log[0].ExitCode == -1' >/dev/null; }
	wait_for timed_out
	"$HUSK" rm -f slow
	# restart: an unhealthy container is killed and started again
	"$HUSK" run -d --name r --health-cmd 'test -f /tmp/ok' --health-interval 200ms --health-retries 1 \
		--health-on-failure restart busybox sleep 1000
	restarted() { [ "$(field r restart_count)" -ge 1 ]; }
	wait_for restarted
	run "$HUSK" run --rm --health-on-failure sometimes busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--health-on-failure "sometimes"'* ]]
	run "$HUSK" run --rm --health-interval 3x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--health-interval "3x"'* ]]
}

@test "a reboot, simulated: husk system boot brings back always and unless-stopped, not no, and removes --rm" {
	"$HUSK" run -d --name al --restart always busybox sleep 1000
	tmp=$("$HUSK" run -d --rm --name tmp busybox sleep 1000)
	"$HUSK" run -d --name us --restart unless-stopped busybox sleep 1000
	"$HUSK" run -d --name usx --restart unless-stopped busybox sleep 1000
	"$HUSK" stop -t 0 usx
	"$HUSK" run -d --name no busybox sleep 1000
	echo before >"$TEST_DIR/marker"
	"$HUSK" exec al sh -c 'echo kept >/kept'
	# the machine goes down: every process of ours gone at once, the
	# mounts, the cgroups and the runtime state with them
	pids=""
	for n in al us usx no tmp; do
		for p in $(field $n monitor_pid) $(field $n pid); do
			[ "$p" = 0 ] && continue
			kill9 "$p" 2>/dev/null || true
			pids+=" $p"
		done
	done
	# gone, not just signalled: under load their exit (and the release
	# of their mounts and cgroups) can take longer than a fixed sleep
	for p in $pids; do
		for _ in $(seq 200); do
			[ -e "/proc/$p" ] || break
			sleep 0.05
		done
	done
	for id in $(ls "$HUSK_ROOT/containers"); do
		umount -l "$HUSK_ROOT/containers/$id/rootfs" 2>/dev/null || true
		find /sys/fs/cgroup -maxdepth 6 -type d -name "husk-$id" -exec rmdir {} + 2>/dev/null || true
		umount -l "$HUSK_RUNROOT/net/ns/$id" 2>/dev/null || true
	done
	rm -rf "$HUSK_RUNROOT"
	[ "$(status_of no)" = "Exited (255)" ]
	run "$HUSK" system boot
	echo "system boot: $output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "al us " ]
	[ "$(status_of al)" = Up ]
	[ "$(status_of us)" = Up ]
	[[ "$(status_of usx)" == "Exited ("* ]]
	[ "$(status_of no)" = "Exited (255)" ]
	# --rm went down with the machine: gone, as dockerd removes it
	[ ! -e "$HUSK_ROOT/containers/$tmp" ]
	run "$HUSK" inspect tmp
	[ "$status" -ne 0 ]
	# the container's own files survived, on its remounted overlay
	[ "$("$HUSK" exec al cat /kept)" = kept ]
	# booting again starts nothing twice
	run "$HUSK" system boot
	[ -z "$output" ]
}

@test "logs --details: --log-opt labels, env, their regexes and tag put Docker's attrs in each json-file record" {
	"$HUSK" run --name d -l com.x=web -l org.y=no -e APP='a b' -e ZED=z \
		--log-opt labels=com.x,absent --log-opt env=APP --log-opt env-regex='^Z' \
		--log-opt labels-regex='^org\.' --log-opt tag='{{.Name}}/{{ .ImageName }}@{{.ID}}' \
		busybox sh -c 'echo out; echo err >&2' >/dev/null 2>&1
	id=$("$HUSK" inspect -f '{{.Id}}' d)
	# Docker's record: attrs between stream and time
	grep -qF '"stream":"stdout","attrs":{"APP":"a b","ZED":"z","com.x":"web","org.y":"no","tag":"d/busybox:latest@'"${id:0:12}"'"},"time":"' \
		"$HUSK_ROOT/containers/$id/log"
	# sorted, query-escaped, a space, the line; stderr stays stderr
	want="APP=a+b,ZED=z,com.x=web,org.y=no,tag=d%2Fbusybox%3Alatest%40${id:0:12} out"
	[ "$("$HUSK" logs --details d 2>/dev/null)" = "$want" ]
	[ "$("$HUSK" logs --details d 2>&1 >/dev/null)" = "${want% out} err" ]
	run "$HUSK" logs --details -t d
	[[ "${lines[0]}" =~ ^20[0-9-]+T[0-9:.]+Z\ APP=a\+b, ]]
	[ "$("$HUSK" logs d 2>/dev/null)" = out ]
	# inspect shows the options as given, Docker's LogConfig
	[ "$("$HUSK" inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "labels"}}' d)" = "json-file com.x,absent" ]
	# no attrs: a space before each line, as Docker's
	"$HUSK" run --name plain busybox echo plain >/dev/null
	[ "$("$HUSK" logs --details plain)" = " plain" ]
	! grep -q attrs "$HUSK_ROOT/containers/$("$HUSK" inspect -f '{{.Id}}' plain)/log"
	# a restart writes them too
	"$HUSK" start -a d >/dev/null 2>&1
	[ "$("$HUSK" logs --details d 2>/dev/null | grep -c "^APP=a+b,.* out$")" -eq 2 ]
	# bad options: one line each, 125, nothing made
	"$HUSK" rm d plain
	for bad in labels-regex='(' tag='{{.Foo}}' compress=true nokey; do
		run "$HUSK" run --rm --log-opt "$bad" busybox true
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--log-opt"* ]]
	done
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
}

@test "logs: --log-opt max-size and max-file rotate, --since and --until choose, k8s-file as Podman writes it" {
	"$HUSK" run --name big --log-opt max-size=2k --log-opt max-file=2 busybox sh -c 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done' >/dev/null
	dir=$(dirname "$(ls "$HUSK_ROOT"/containers/*/log)")
	# the current file and one rotated, each under the limit
	[ "$(ls "$dir" | grep -c '^log')" -eq 2 ]
	[ "$(stat -c %s "$dir/log")" -le 2048 ]
	[ "$(stat -c %s "$dir/log.1")" -le 2048 ]
	# what is kept is the end, in order
	[ "$("$HUSK" logs big | tail -1)" = line-299 ]
	"$HUSK" logs big | awk -F- 'NR > 1 && $2 != prev + 1 {exit 1} {prev = $2}'
	"$HUSK" rm big
	"$HUSK" run --name t busybox echo early >/dev/null
	sleep 1.2
	mid=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	sleep 1.2
	"$HUSK" start -a t >/dev/null
	[ "$("$HUSK" logs t | wc -l)" -eq 2 ]
	[ "$("$HUSK" logs --since "$mid" t | wc -l)" -eq 1 ]
	[ "$("$HUSK" logs --until "$mid" t | wc -l)" -eq 1 ]
	[ "$("$HUSK" logs --since 1s t | wc -l)" -le 1 ]
	run "$HUSK" logs --since yesterday t
	[ "$status" -eq 125 ]
	"$HUSK" rm t
	"$HUSK" run --name k --log-driver k8s-file busybox sh -c 'echo out; echo err >&2' >/dev/null 2>&1
	grep -qE '^20[0-9-]+T[0-9:.]+\+00:00 stdout F out$' "$HUSK_ROOT"/containers/*/log
	grep -qE '^20[0-9-]+T[0-9:.]+\+00:00 stderr F err$' "$HUSK_ROOT"/containers/*/log
	[ "$("$HUSK" logs k 2>/dev/null)" = out ]
}

@test "a terminal's size reaches the container's pty, at start and when it changes" {
	command -v python3 >/dev/null || skip "no python3"
	# a pty of 33 rows, 101 columns; husk runs in it; after a moment it
	# becomes 40x120 (SIGWINCH)
	run timeout 30 python3 - "$HUSK" <<'PY'
import fcntl, os, pty, struct, sys, termios, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "run", "--rm", "-t", "busybox", "sh", "-c", "stty size; sleep 1; stty size"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
out = b""
t0 = time.time()
resized = False
while time.time() - t0 < 20:
    if not resized and time.time() - t0 > 0.6:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        resized = True
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        out += data
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "33 101" ]
	[ "${lines[1]}" = "40 120" ]
}

@test "exec: -u by name, -w, -e, --env-file, -d; a missing command 127, an unknown user 125" {
	"$HUSK" run -d --name e busybox sleep 1000
	run "$HUSK" exec -u nobody -w /tmp -e A=b e sh -c 'id -u; pwd; echo $A'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '65534\n/tmp\nb')" ]
	# --env-file first, -e over it; NAME alone takes ours, or nothing
	printf 'A=file\nB=file\n# a comment\nFROM_US\nNOT_OURS\n' >"$TEST_DIR/env"
	run env FROM_US=ours "$HUSK" exec --env-file "$TEST_DIR/env" -e B=flag -e ALSO_US e \
		sh -c 'echo $A $B $FROM_US; env | grep -c -e NOT_OURS -e ALSO_US'
	[ "$output" = "$(printf 'file flag ours\n0')" ]
	run "$HUSK" exec --env-file "$TEST_DIR/nosuch" e true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: --env-file \"$TEST_DIR/nosuch\": open \"$TEST_DIR/nosuch\": No such file or directory" ]
	run "$HUSK" exec -d e sh -c 'sleep 0.2; echo detached >/tmp/d'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	written() { [ "$("$HUSK" exec e cat /tmp/d 2>/dev/null)" = detached ]; }
	wait_for written
	run -127 "$HUSK" exec e nosuch
	[ "$status" -eq 127 ]
	run "$HUSK" exec -u nosuch e true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: unable to find user nosuch: no matching entries in passwd file" ]
}

@test "a create killed before its record was written: ps -a shows it, rm -f takes its mount and name" {
	id=$("$HUSK" create --name half busybox true)
	# what kill -9 of husk between the overlay mount and the record leaves
	rm "$HUSK_ROOT/containers/$id/meta.json"
	grep -qF "$HUSK_ROOT/containers/$id/rootfs" /proc/self/mountinfo
	# while it might be a create under way, it is not shown
	run "$HUSK" ps -aq --no-trunc
	[ -z "$output" ]
	touch -d '1 minute ago' "$HUSK_ROOT/containers/$id"
	run "$HUSK" ps -a --no-trunc --format '{{.ID}} {{.Status}}'
	[ "$output" = "$id Removal In Progress" ]
	run "$HUSK" rm -f "${id:0:12}"
	[ "$status" -eq 0 ]
	! grep -qF "$HUSK_ROOT/containers/$id" /proc/self/mountinfo
	[ -z "$("$HUSK" ps -aq)" ]
	# its name is free again
	"$HUSK" create --name half busybox true
}

@test "exec --privileged: every capability we hold, for that process only" {
	"$HUSK" run -d --name p busybox sleep 1000
	ours=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
	run "$HUSK" exec p awk '/^CapEff/ {print $2}' /proc/self/status
	# Docker's default set, less than ours
	[ "$output" = 00000000a80425fb ]
	run "$HUSK" exec --privileged p awk '/^CapEff/ {print $2}' /proc/self/status
	[ "$output" = "$ours" ]
	# the container's own process keeps the default set
	run "$HUSK" exec p awk '/^CapEff/ {print $2}' /proc/1/status
	[ "$output" = 00000000a80425fb ]
}

@test "a container the OOM killer ends: exit 137 and State.OOMKilled true, as Docker's; others false" {
	# the shell holds 64 MiB of output in an 8 MiB cgroup
	run "$HUSK" run --name big -m 8m busybox sh -c 'x=$(head -c 64m /dev/zero | tr \\0 a); echo ${#x}'
	[ "$status" -eq 137 ]
	[ "$("$HUSK" inspect -f '{{.State.OOMKilled}}' big)" = true ]
	[ "$(status_of big)" = "Exited (137)" ]
	"$HUSK" run --name small -m 8m busybox true
	[ "$("$HUSK" inspect -f '{{.State.OOMKilled}}' small)" = false ]
	# killed by hand is not OOM killed
	"$HUSK" run -d --name k busybox sleep 1000
	"$HUSK" kill k
	[ "$("$HUSK" wait k)" = 137 ]
	[ "$("$HUSK" inspect -f '{{.State.OOMKilled}}' k)" = false ]
}

@test "wait on a created container waits for its start and its end, as docker wait does" {
	"$HUSK" create --name w busybox sh -c 'exit 3'
	"$HUSK" wait w >"$TEST_DIR/wait.out" &
	waiter=$!
	sleep 0.5
	# still waiting: nothing has started it
	kill -0 "$waiter"
	[ ! -s "$TEST_DIR/wait.out" ]
	"$HUSK" start w
	# the wait's own status: 0
	wait "$waiter"
	[ "$(cat "$TEST_DIR/wait.out")" = 3 ]
	# removed while waiting: the wait ends
	"$HUSK" create --name w2 busybox true
	"$HUSK" wait w2 >/dev/null &
	waiter=$!
	sleep 0.3
	kill -0 "$waiter"
	"$HUSK" rm w2
	run timeout 10 tail --pid="$waiter" -f /dev/null
	[ "$status" -eq 0 ]
}

@test "a killed monitor: the next command adopts its container, whose exit code is still recorded" {
	"$HUSK" run -d --name o busybox sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done'
	mon=$(field o monitor_pid)
	init=$(field o pid)
	kill9 "$mon"
	# the init runs on, an orphan: ps sees it and starts a monitor for it
	[ "$(status_of o)" = Up ]
	adopter=$(field o monitor_pid)
	[ "$adopter" != "$mon" ]
	[ "$(field o pid)" = "$init" ]
	grep -q -- --adopt "/proc/$adopter/cmdline"
	# one adopter, however many look
	"$HUSK" ps >/dev/null
	"$HUSK" inspect o >/dev/null
	[ "$(field o monitor_pid)" = "$adopter" ]
	[ "$(engine_monitors | wc -l)" -eq 1 ]
	# the adopter records how it ends
	"$HUSK" stop o
	[ "$(status_of o)" = "Exited (3)" ]
	[ "$("$HUSK" inspect -f '{{.State.ExitCode}}' o)" = 3 ]
	"$HUSK" rm o
	# killed again while adopted, and ended by a signal to its init: the
	# same; wait waits for it through the adopter
	"$HUSK" run -d --name o2 busybox sh -c 'trap "exit 5" USR1; while :; do sleep 0.1; done'
	kill9 "$(field o2 monitor_pid)"
	"$HUSK" wait o2 >"$TEST_DIR/wait.out" &
	waiter=$!
	sleep 0.5
	kill -0 "$waiter"
	kill -USR1 "$(field o2 pid)"
	wait "$waiter"
	[ "$(cat "$TEST_DIR/wait.out")" = 5 ]
	[ "$(status_of o2)" = "Exited (5)" ]
	"$HUSK" rm o2
}

@test "an adopted container whose reaper reaps at once: the code comes from the kernel (PIDFD_INFO_EXIT)" {
	[ "$(uname -r | awk -F. '{print ($1 > 6 || ($1 == 6 && $2 >= 15))}')" = 1 ] ||
		skip "PIDFD_INFO_EXIT needs Linux 6.15"
	gcc -Wall -o "$TEST_DIR/subreaper" "$BATS_TEST_DIRNAME/tools/subreaper.c"
	# the monitor, and the init once its monitor is gone, are orphans of
	# the subreaper, which reaps them the moment they exit: no zombie is
	# left for /proc to read
	# (fd 3 closed: bats waits for whoever holds it)
	"$TEST_DIR/subreaper" "$HUSK" run -d --name r busybox sh -c 'trap "exit 4" TERM; while :; do sleep 0.1; done' >/dev/null 3>&- &
	reaper=$!
	running() { [ "$(field r state 2>/dev/null)" = running ]; }
	wait_for running
	mon=$(field r monitor_pid)
	[ "$(awk '{print $4}' "/proc/$mon/stat")" = "$reaper" ]
	kill9 "$mon"
	[ "$(status_of r)" = Up ]
	"$HUSK" stop r
	[ "$(status_of r)" = "Exited (4)" ]
	"$HUSK" rm r
	# with nothing left to reap, it ends
	wait "$reaper"
}
