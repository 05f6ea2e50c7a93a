#!/usr/bin/env bats
# Looking at containers and images as a Docker user does: top, stats,
# diff, port, history, events, version, info; and taking space back:
# container prune, system df, system prune.

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

now() { date +%s.%N; }

@test "top lists the container's processes and none of the host's" {
	"$HUSK" run -d --name web busybox sh -c 'sleep 1234 & sleep 4321 & wait'
	# sh has started both
	wait_for sh -c "\"$HUSK\" top web -o pid,comm | grep -cw sleep | grep -qx 2"
	run "$HUSK" top web
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == UID*PID*PPID*CMD ]]
	[[ "$output" == *"sleep 1234"* ]]
	[[ "$output" == *"sleep 4321"* ]]
	[[ "$output" != *"bats"* ]]
	[ "${#lines[@]}" -eq 4 ] # the title, sh, two sleeps
	# ps's own options, the PID column kept
	run "$HUSK" container top web -o pid,comm
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "PID     COMMAND" ] || [[ "${lines[0]}" == PID*COMMAND ]]
	[ "$(printf '%s\n' "$output" | grep -c sleep)" -eq 2 ]
	# without a PID column there is nothing to match on
	run "$HUSK" top web -o comm
	[ "$status" -eq 125 ]
	[[ "$output" == *"PID column"* ]]
	"$HUSK" rm -f web
	run "$HUSK" run -d --name gone busybox true
	wait_for test "$("$HUSK" inspect -f '{{.State.Status}}' gone)" = exited
	run "$HUSK" top gone
	[ "$status" -eq 125 ]
	[[ "$output" == *"is not running"* ]]
}

@test "stats --no-stream: the -m limit, memory and a pids count" {
	"$HUSK" run -d --name s1 -m 64m busybox sh -c 'sleep 1000 & sleep 1000 & wait'
	wait_for sh -c "\"$HUSK\" top s1 -o pid,comm | grep -cw sleep | grep -qx 2"
	run "$HUSK" stats --no-stream s1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "CONTAINER ID"*"NAME"*"CPU %"*"MEM USAGE / LIMIT"*"MEM %"*"NET I/O"*"BLOCK I/O"*"PIDS" ]]
	[[ "${lines[1]}" == *" s1 "* ]]
	[[ "${lines[1]}" == *" / 64MiB "* ]]
	run "$HUSK" stats --no-stream --format '{{.Name}} {{.PIDs}} {{.MemLimit}} {{.CPUPerc}}' s1
	[ "$status" -eq 0 ]
	read -r name pids limit cpu <<<"$output"
	[ "$name" = s1 ]
	[ "$pids" -eq 3 ]
	[ "$limit" -eq $((64 * 1024 * 1024)) ]
	[[ "$cpu" =~ ^[0-9]+\.[0-9][0-9]%$ ]]
	# "table T": T's header over aligned columns, as Docker's
	run "$HUSK" stats --no-stream --format 'table {{.Name}}\t{{.PIDs}}' s1
	[ "${lines[0]}" = "NAME      PIDS" ]
	[ "${lines[1]}" = "s1        3" ]
	# without names: the running ones; a container that is not there is an error
	run "$HUSK" stats --no-stream --format '{{.Name}}'
	[ "$output" = s1 ]
	run "$HUSK" stats --no-stream nosuch
	[ "$status" -eq 125 ]
}

@test "diff: A for a new file, C for a changed one and its dirs, D for a deleted one" {
	"$HUSK" run --name d1 busybox sh -c 'echo new >/added; echo more >>/etc/passwd; rm /bin/ls; mkdir -p /x/y && touch /x/y/z'
	run "$HUSK" diff d1
	[ "$status" -eq 0 ]
	[[ "$output" == *"A /added"* ]]
	[[ "$output" == *"C /etc"* ]]
	[[ "$output" == *"C /etc/passwd"* ]]
	[[ "$output" == *"D /bin/ls"* ]]
	[[ "$output" == *"A /x/y/z"* ]]
	# nothing the engine bound in (hosts, hostname, resolv.conf)
	[[ "$output" != *resolv.conf* ]]
	# sorted by path, as Docker's
	[ "$output" = "$(printf '%s\n' "$output" | sort -k2)" ]
	run "$HUSK" container diff nosuch
	[ "$status" -eq 125 ]
}

@test "port: the published ports, one by its private port" {
	"$HUSK" create --name p1 --network bridge -p 18089:80 -p 18090:53/udp busybox true
	run "$HUSK" port p1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "80/tcp -> 0.0.0.0:18089" ]
	[ "${lines[1]}" = "53/udp -> 0.0.0.0:18090" ]
	run "$HUSK" port p1 80
	[ "$output" = "0.0.0.0:18089" ]
	run "$HUSK" container port p1 53/udp
	[ "$output" = "0.0.0.0:18090" ]
	run "$HUSK" port p1 81
	[ "$status" -eq 1 ]
	[[ "$output" == *"no public port '81/tcp' published for p1"* ]]
	run "$HUSK" port p1 80/sctp
	[ "$status" -eq 125 ]
}

@test "history lists busybox's steps with their sizes; -H=false in bytes; --platform; rmi --no-prune" {
	run "$HUSK" history busybox
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == IMAGE*CREATED*"CREATED BY"*SIZE*COMMENT ]]
	[[ "${lines[1]}" == *"husk: the host's busybox-static"* ]]
	id=$("$HUSK" images -q busybox)
	[[ "${lines[1]}" == "$id"* ]]
	run "$HUSK" image history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' busybox
	[[ "$output" =~ ^"husk: the host's busybox-static|"[0-9.]+[kM]B$ ]]
	run "$HUSK" history -q busybox
	[ "$output" = "$id" ]
	run "$HUSK" history nosuch:1
	[ "$status" -eq 125 ]
	# -H=false: bytes and the time itself, as Docker's
	size=$("$HUSK" history --no-trunc --format '{{.Size}}' -H=false busybox)
	[[ "$size" =~ ^[0-9]+$ ]] && [ "$size" -gt 1000000 ]
	run "$HUSK" history --human=false busybox
	[[ "${lines[1]}" =~ ^$id\ +20[0-9-]+T[0-9:]+Z\ +husk:.*\ $size\ + ]]
	run "$HUSK" history --human=maybe busybox
	[ "$status" -eq 125 ]
	# the platform flags take the host's and refuse others
	run "$HUSK" pull --platform linux/s390x busybox
	[ "$status" -eq 125 ]
	[[ "$output" == *'--platform "linux/s390x": this host runs linux/'* ]]
	run "$HUSK" import --platform linux/s390x - x </dev/null
	[ "$status" -eq 125 ]
	# rmi --no-prune: taken (husk's images have no untagged parents)
	"$HUSK" tag busybox np:1
	run "$HUSK" rmi --no-prune np:1
	[ "$output" = "Untagged: np:1" ]
}

@test "events: start and die with the exit code, in order; --since/--until give the slice" {
	t0=$(now)
	"$HUSK" run --name e1 busybox sh -c 'exit 3' || true
	t1=$(now)
	"$HUSK" run --name e2 busybox true
	t2=$(now)
	run "$HUSK" events --since "$t0" --until "$t1"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^20[0-9-]+T[0-9:.]+Z\ container\ create\ [0-9a-f]{64}\ \(image=busybox:latest,\ name=e1\)$ ]]
	# a run in the foreground attaches before the start, as Docker's
	[[ "${lines[1]}" == *" container attach "*"name=e1)" ]]
	[[ "${lines[2]}" == *" container start "*"name=e1)" ]]
	[[ "${lines[3]}" == *" container die "*"(exitCode=3, image=busybox:latest, name=e1)" ]]
	[ "${#lines[@]}" -eq 4 ]
	# the second run only
	run "$HUSK" events --since "$t1" --until "$t2" --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'
	[ "${lines[0]}" = "create e2 <no value>" ]
	[ "${lines[1]}" = "attach e2 <no value>" ]
	[ "${lines[2]}" = "start e2 <no value>" ]
	[ "${lines[3]}" = "die e2 0" ]
	# filters: by event, by container
	run "$HUSK" events --since "$t0" --until "$t2" --filter event=die --format '{{.Actor.Attributes.name}}={{.Actor.Attributes.exitCode}}'
	[ "$output" = "$(printf 'e1=3\ne2=0')" ]
	run "$HUSK" system events --since "$t0" --until "$t2" --filter container=e2 --filter type=container --format '{{.Action}}'
	[ "$output" = "$(printf 'create\nattach\nstart\ndie')" ]
	run "$HUSK" events --filter nosuch=1 --until 0s
	[ "$status" -eq 125 ]
}

@test "events follows what happens until --until, without polling" {
	t0=$(now)
	# a duration is before now, as Docker's: a Unix time 20 s ahead
	"$HUSK" events --since "$t0" --until $(($(date +%s) + 20)) --format '{{.Action}} {{.Actor.Attributes.name}}' \
		>"$TEST_DIR/ev" 2>&1 &
	ev=$!
	# stop, kill, pause, rename and destroy are told as well
	"$HUSK" run -d --name f1 busybox sleep 100
	"$HUSK" pause f1
	"$HUSK" unpause f1
	"$HUSK" rename f1 f2
	"$HUSK" kill f2
	wait_for grep -q "die f2" "$TEST_DIR/ev"
	"$HUSK" rm f2
	wait_for grep -q "destroy f2" "$TEST_DIR/ev"
	kill "$ev"
	wait "$ev" || true
	run cat "$TEST_DIR/ev"
	[ "$output" = "$(printf 'create f1\nstart f1\npause f1\nunpause f1\nrename f2\nkill f2\ndie f2\ndestroy f2')" ]
}

@test "events: exec_create/exec_start/exec_die, attach and detach, under Docker's names" {
	t0=$(now)
	"$HUSK" run -dit --name x busybox cat >/dev/null
	run "$HUSK" exec x sh -c 'exit 3'
	[ "$status" -eq 3 ]
	# a client that leaves with the detach keys (the container has a tty)
	printf '\x10\x11' | "$HUSK" attach x
	[ "$("$HUSK" inspect --format '{{.State.Status}}' x)" = running ]
	t1=$(now)
	run "$HUSK" events --since "$t0" --until "$t1" --filter container=x --format '{{.Action}}|{{.Actor.Attributes.exitCode}}'
	[ "$output" = "create|<no value>
start|<no value>
exec_create: sh -c exit 3|<no value>
exec_start: sh -c exit 3|<no value>
exec_die|3
attach|<no value>
detach|<no value>" ]
	# one exec, one id; event=exec_start matches "exec_start: CMD", as Docker's
	run "$HUSK" events --since "$t0" --until "$t1" --filter event=exec_create --filter event=exec_start --filter event=exec_die --format '{{.Actor.Attributes.execID}}'
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^[0-9a-f]{64}$ ]]
	[ "$(sort -u <<<"$output" | wc -l)" -eq 1 ]
	run "$HUSK" events --since "$t0" --until "$t1" --filter type=image
	[ -z "$output" ]
}

@test "events: image events (tag, untag, delete, commit, save, load, import, build) with --filter type=image and image=" {
	"$HUSK" run --name c busybox sh -c 'echo x >/f'
	t0=$(now)
	"$HUSK" tag busybox t:1
	"$HUSK" rmi t:1 >/dev/null
	id=$("$HUSK" commit -m note c mine:1)
	"$HUSK" save -o "$TEST_DIR/mine.tar" mine:1
	"$HUSK" rm c >/dev/null
	"$HUSK" rmi mine:1 >/dev/null
	"$HUSK" load -i "$TEST_DIR/mine.tar" >/dev/null
	"$HUSK" export "$("$HUSK" create busybox true)" | "$HUSK" import - flat:1 >/dev/null
	mkdir "$TEST_DIR/ctx"
	printf 'FROM busybox\nLABEL a=b\n' >"$TEST_DIR/ctx/Dockerfile"
	"$HUSK" build -q -t built "$TEST_DIR/ctx" >/dev/null
	dangling=$("$HUSK" import "$TEST_DIR/mine.tar")
	"$HUSK" image prune -f >/dev/null
	t1=$(now)
	bb=$("$HUSK" image inspect --format '{{.Id}}' busybox)
	run "$HUSK" events --since "$t0" --until "$t1" --filter type=image --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
	[ "$output" = "image tag t:1
image untag sha256:$bb
image save mine:1
image untag $id
image delete $id
image load mine:1
image import flat:1
image build built
image tag built:latest
image import $dangling
image untag $dangling
image delete $dangling" ]
	# Docker's: the id is the image's id
	run "$HUSK" events --since "$t0" --until "$t1" --filter event=tag --format '{{.ID}}'
	[ "${lines[0]}" = "sha256:$bb" ]
	# commit is a container's event, naming the image it made
	run "$HUSK" events --since "$t0" --until "$t1" --filter event=commit --format '{{.Type}} {{.Actor.Attributes.name}} {{.Actor.Attributes.imageID}} {{.Actor.Attributes.imageRef}} {{.Actor.Attributes.comment}}'
	[ "$output" = "container c $id mine:1 note" ]
	# image= matches an image event by its name (a container's by the
	# image it runs: commit's is busybox)
	run "$HUSK" events --since "$t0" --until "$t1" --filter image=mine --format '{{.Type}} {{.Action}}'
	[ "$output" = "image save
image load" ]
	run "$HUSK" events --since "$t0" --until "$t1" --filter type=image --filter container=c
	[ -z "$output" ]
}

@test "events: concurrent writers never tear a line; the log is bounded" {
	for i in 1 2 3 4; do "$HUSK" run --rm busybox true & done
	wait
	# every line is whole JSON
	run jq -c .Action "$HUSK_RUNROOT/events.log"
	[ "$status" -eq 0 ]
	[ "$(grep -c '"die"' "$HUSK_RUNROOT/events.log")" -eq 4 ]
	# past 1 MiB it moves to events.log.1, which is still read
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$HUSK_RUNROOT/pad"
	{ cat "$HUSK_RUNROOT/events.log"; printf '%s\n' "$(cat "$HUSK_RUNROOT/pad")"; } >"$HUSK_RUNROOT/events.log.new"
	mv "$HUSK_RUNROOT/events.log.new" "$HUSK_RUNROOT/events.log"
	"$HUSK" run --rm --name r5 busybox true
	[ -f "$HUSK_RUNROOT/events.log.1" ]
	[ "$(stat -c %s "$HUSK_RUNROOT/events.log")" -lt 10000 ]
	run "$HUSK" events --since 1h --until 0s --filter event=die --format '{{.Action}}'
	[ "${#lines[@]}" -eq 5 ]
}

@test "container prune removes only the stopped ones" {
	"$HUSK" run -d --name up busybox sleep 100
	"$HUSK" run --name done1 busybox sh -c 'echo x >/f'
	"$HUSK" create --name made busybox true
	run "$HUSK" container prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Containers:" ]
	[[ "${lines[-1]}" == "Total reclaimed space: "* ]]
	run "$HUSK" ps -a --format '{{.Names}}'
	[ "$output" = up ]
	# without -f it asks, and no means no
	"$HUSK" run --name done2 busybox true
	run "$HUSK" container prune <<<"n"
	[ "$status" -eq 0 ]
	run "$HUSK" ps -a --format '{{.Names}}'
	[[ "$output" == *done2* ]]
	run "$HUSK" container prune <<<"y"
	[[ "$output" == *"Deleted Containers:"* ]]
	run "$HUSK" ps -a --format '{{.Names}}'
	[ "$output" = up ]
}

@test "system df counts images and containers; system prune -a takes what no container uses" {
	"$HUSK" run -d --name up busybox sleep 100
	"$HUSK" run --name done1 busybox sh -c 'head -c 5000 /dev/zero >/f'
	run "$HUSK" system df
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == TYPE*TOTAL*ACTIVE*SIZE*RECLAIMABLE ]]
	run "$HUSK" system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}'
	[ "${lines[0]}" = "Images|1|1" ]
	[ "${lines[1]}" = "Containers|2|1" ]
	[ "${lines[2]}" = "Local Volumes|0|0" ]
	[ "${lines[3]}" = "Build Cache|0|0" ]
	run "$HUSK" system df --format '{{.Type}} {{.Reclaimable}}'
	[[ "${lines[1]}" == "Containers 5kB (100%)" ]]
	run "$HUSK" system df -v
	[[ "$output" == *busybox:latest* ]]
	[[ "$output" == *done1* ]]
	# a second image, used by nothing
	"$HUSK" tag busybox other:1
	"$HUSK" rm -f up
	run "$HUSK" system prune -a -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Containers:"* ]]
	[[ "$output" == *"untagged: other:1"* ]]
	[[ "$output" == *"untagged: busybox:latest"* ]]
	run "$HUSK" images -q
	[ -z "$output" ]
}

@test "version and info: the fields a script reads" {
	run "$HUSK" version
	[ "$status" -eq 0 ]
	[[ "$output" == *"Version:"* ]]
	run "$HUSK" version --format '{{.Client.Version}} {{.Server.Os}}/{{.Server.Arch}}'
	[[ "$output" =~ ^[0-9]+\.[0-9]+\.[0-9]+\ linux/[a-z0-9]+$ ]]
	run "$HUSK" version --format json
	[ "$(jq -r .Server.KernelVersion <<<"$output")" = "$(uname -r)" ]
	"$HUSK" run -d --name i1 busybox sleep 100
	"$HUSK" create --name i2 busybox true
	run "$HUSK" info
	[ "$status" -eq 0 ]
	[[ "$output" == *"Cgroup Version:"* ]]
	run "$HUSK" info --format '{{.CgroupVersion}}'
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then [ "$output" = 2 ]; else [ "$output" = 1 ]; fi
	run "$HUSK" system info --format '{{.ContainersRunning}} {{.ContainersStopped}} {{.Images}} {{.KernelVersion}} {{.Driver}} {{.DockerRootDir}}'
	[ "$output" = "1 1 1 $(uname -r) overlay $HUSK_ROOT" ]
	run "$HUSK" info --format json
	[ "$(jq -r .CgroupMode <<<"$output")" != null ]
	[ "$(jq -r '.StorageFsFree > 0' <<<"$output")" = true ]
	[ "$(jq -r '.SecurityOptions | map(startswith("name=seccomp")) | any' <<<"$output")" = true ]
	run "$HUSK" info --format '{{.NoSuchField}}'
	[ "$status" -eq 125 ]
}
