#!/usr/bin/env bats
# husk's command line as a Docker user meets it: --help for every command,
# usage errors, the man pages, the shell completions, and a script of
# everyday docker commands run through a `docker` that is husk.

load helpers

bats_require_minimum_version 1.5.0

DOC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/doc

setup() {
	engine_setup
}

teardown() {
	engine_teardown
}

# the commands `husk --help` lists
commands() {
	"$HUSK" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} /^$/ {on = 0}'
}

# the subcommands `husk NOUN --help` lists (none for a verb)
subcommands() {
	"$HUSK" "$1" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} /^$/ {on = 0}'
}

@test "--help: every command and subcommand has its usage, its flags with one line each, an example" {
	local n=0 c s
	for c in $(commands); do
		run "$HUSK" "$c" --help
		[ "$status" -eq 0 ] || { echo "husk $c --help: $status"; return 1; }
		[[ "${lines[0]}" == "Usage: husk $c"* ]] || { echo "husk $c --help: ${lines[0]}"; return 1; }
		for s in $(subcommands "$c"); do
			run "$HUSK" "$c" "$s" --help
			[ "$status" -eq 0 ] || { echo "husk $c $s --help: $status"; return 1; }
			[[ "${lines[0]}" == "Usage: husk $c $s"* ]] || { echo "husk $c $s: ${lines[0]}"; return 1; }
			[[ "$output" == *"Example:"* ]]
		done
		n=$((n + 1))
	done
	[ "$n" -ge 30 ]
	# help CMD and --help anywhere among the flags say the same
	[ "$("$HUSK" help run)" = "$("$HUSK" run --help)" ]
	[ "$("$HUSK" run -d --help)" = "$("$HUSK" run --help)" ]
	[ "$("$HUSK" help image ls)" = "$("$HUSK" image ls --help)" ]
	# every flag run parses is in its help, with a line of its own
	run "$HUSK" run --help
	for f in --detach --interactive --tty --rm --name --env --workdir --user --volume --memory \
		--restart --health-cmd --log-opt --stop-signal --publish --network --pull; do
		grep -qE "^  (-[a-zA-Z], |    )$f( |\$|\[)" <<<"$output" || { echo "run --help lacks $f"; return 1; }
	done
	# an alias is parsed but not shown
	[[ "$output" != *"--net "* ]]
	"$HUSK" run --rm --net none busybox true
	# a short flag given by its letter and the long one are the same flag
	[ "$("$HUSK" run --rm -h box busybox hostname)" = box ]
	[ "$("$HUSK" run --rm --hostname box busybox hostname)" = box ]
}

@test "usage errors: one line naming the command and what is wrong, exit 125" {
	run "$HUSK" ps --bogus
	[ "$status" -eq 125 ]
	[ "$output" = "husk: ps: unknown flag --bogus (see 'husk ps --help')" ]
	run "$HUSK" ps -Z
	[ "$status" -eq 125 ]
	[ "$output" = "husk: ps: unknown flag -Z (see 'husk ps --help')" ]
	run "$HUSK" logs --tail
	[ "$status" -eq 125 ]
	[ "$output" = "husk: logs: --tail needs a value (see 'husk logs --help')" ]
	run "$HUSK" rename onlyone
	[ "$status" -eq 125 ]
	[ "$output" = "husk: rename: expected CONTAINER NEW_NAME (see 'husk rename --help')" ]
	run "$HUSK" ps extra
	[ "$status" -eq 125 ]
	[ "$output" = "husk: ps: unexpected \"extra\" (see 'husk ps --help')" ]
	run "$HUSK" image ls --bogus
	[ "$status" -eq 125 ]
	[ "$output" = "husk: image ls: unknown flag --bogus (see 'husk image ls --help')" ]
	run "$HUSK" frobnicate
	[ "$status" -eq 125 ]
	[ "$output" = "husk: unknown command \"frobnicate\" (see 'husk --help')" ]
	run "$HUSK" completion tcsh
	[ "$status" -eq 125 ]
	[[ "$output" == *'"tcsh": husk completes bash, zsh and fish'* ]]
	# nothing was made by any of them
	[ -z "$(ls "$HUSK_ROOT/containers" 2>/dev/null)" ]
}

@test "man pages: one per command, made at build, that man renders without a warning" {
	[ -f "$DOC/man1/husk.1" ]
	local c
	for c in $(commands); do
		[ -f "$DOC/man1/husk-$c.1" ] || { echo "no man page for $c"; return 1; }
	done
	for f in "$DOC"/man1/*.1; do
		run --separate-stderr man --warnings -l "$f"
		[ "$status" -eq 0 ] || { echo "$f: $stderr"; return 1; }
		[ -z "$stderr" ] || { echo "$f: $stderr"; return 1; }
	done
	# what the page says is what --help says
	run man -l "$DOC/man1/husk-stop.1"
	[[ "$output" == *"husk-stop - stop containers"* ]]
	[[ "$output" == *"-t, --time SECONDS"* ]]
	run man -l "$DOC/man1/husk-image.1"
	[[ "$output" == *"husk image ls [OPTIONS] [REPOSITORY[:TAG]]"* ]]
	# and the build's pages are what husk writes now
	"$HUSK" help --man "$TEST_DIR/man"
	diff -r "$DOC/man1" "$TEST_DIR/man"
}

# complete WORDS...: what bash completion offers for the last word
complete_bash() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _husk
		printf "%s\n" "${COMPREPLY[@]}"' _ "$DOC/husk" "$@"
}

@test "bash completion: commands, subcommands, flags, container and image names" {
	export PATH="$(dirname "$HUSK"):$PATH"
	"$HUSK" create --name completeme busybox true
	[ "$(complete_bash husk ru)" = run ]
	[ "$(complete_bash husk run --det | sort | tr '\n' ' ')" = "--detach --detach-keys " ]
	[[ "$(complete_bash husk image '')" == *prune* ]]
	[ "$(complete_bash husk image ls --no)" = --no-trunc ]
	[ "$(complete_bash husk --root /x star)" = start ]
	[ "$(complete_bash husk rm comp)" = completeme ]
	[ "$(complete_bash husk start -a comp)" = completeme ]
	[[ "$(complete_bash husk run busy)" == busybox:latest ]]
	# after a flag that takes a value, no container names
	[ -z "$(complete_bash husk logs --tail comp)" ]
	# bash-completion's own loader finds the installed file by the command's name
	[ "$(basename "$DOC/husk")" = husk ]
}

@test "zsh and fish completion: they load, and fish offers what bash does" {
	export PATH="$(dirname "$HUSK"):$PATH"
	command -v zsh >/dev/null || skip "zsh is not installed"
	command -v fish >/dev/null || skip "fish is not installed"
	zsh -n "$DOC/_husk"
	run zsh -c "autoload -U compinit; compinit -u; source '$DOC/_husk'; print -r -- \${_comps[husk]}"
	[[ "$output" == *_husk* ]]
	"$HUSK" create --name completeme busybox true
	run fish -c "source '$DOC/husk.fish'; complete -C 'husk ru'"
	[[ "$output" == run*"create and start"* ]]
	run fish -c "source '$DOC/husk.fish'; complete -C 'husk stop --ti'"
	[[ "$output" == "--time"* ]]
	run fish -c "source '$DOC/husk.fish'; complete -C 'husk rm '"
	[[ "$output" == *completeme* ]]
}

@test "a script of everyday docker commands runs when docker is husk" {
	mkdir -p "$TEST_DIR/bin"
	ln -s "$HUSK" "$TEST_DIR/bin/docker"
	cat >"$TEST_DIR/everyday.sh" <<'EOF'
set -eu
docker run --rm busybox echo hello
docker run --rm busybox ls -d /etc
docker run -d --name app -e GREETING=hi busybox sh -c 'echo "$GREETING from app"; trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
docker ps --format '{{.Names}} {{.State}}'
docker exec app cat /etc/hostname >/dev/null
docker exec -e X=1 app sh -c 'echo exec $X'
until docker logs app | grep -q 'hi from app'; do sleep 0.1; done
docker logs app
docker logs app --tail 1
docker inspect app -f '{{.State.Running}}'
docker container inspect --format '{{.Name}}' app
docker stop -t 5 app >/dev/null
docker inspect -f '{{.State.ExitCode}}' app
docker start app >/dev/null
docker restart -t 5 app >/dev/null
docker rename app app2
docker kill app2 >/dev/null
docker wait app2
docker container ls -a --format '{{.Names}}'
docker rm app2
docker create --name once busybox sh -c 'echo created then started' >/dev/null
docker start -a once
docker rm once -f >/dev/null
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -c busybox
docker ps -aq | wc -l
EOF
	run env PATH="$TEST_DIR/bin:$PATH" bash "$TEST_DIR/everyday.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello
/etc
app running
exec 1
hi from app
hi from app
true
/app
0
137
app2
app2
created then started
1
0" ]
}

@test "switches take =BOOL as Docker's (--rm=true, --detach=false, --privileged=false); a value that is not one is one line, 125" {
	# --rm=true removes, --detach=false stays in the foreground
	run "$HUSK" run --rm=true --detach=false --name sw busybox echo fg
	[ "$status" -eq 0 ]
	[ "$output" = fg ]
	[ -z "$("$HUSK" ps -aq --filter name=sw)" ]
	# --rm=false keeps the container; --privileged=false is the default set
	"$HUSK" run --rm=false --name kept busybox true
	[ "$("$HUSK" ps -aq --filter name=kept | wc -l)" -eq 1 ]
	run "$HUSK" run --rm --privileged=false busybox sh -c 'grep CapEff /proc/self/status'
	[ "$output" = "CapEff:	00000000a80425fb" ]
	run "$HUSK" run --rm --privileged=1 busybox sh -c 'grep CapEff /proc/self/status'
	[ "$output" != "CapEff:	00000000a80425fb" ]
	run "$HUSK" ps --all=True -q --filter name=kept
	[ "${#lines[@]}" -eq 1 ]
	run "$HUSK" run --rm=maybe busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: run: --rm=maybe: expected true or false (see 'husk run --help')" ]
	"$HUSK" rm kept >/dev/null
}

@test "ps: Docker's table, each column as wide as its widest cell" {
	export LC_ALL=C.UTF-8 # columns counted in characters: a cut command ends in "…"
	"$HUSK" create --name a-rather-long-container-name busybox sh -c 'echo a long command line here' >/dev/null
	"$HUSK" run -d --name s busybox sleep 100 >/dev/null
	run "$HUSK" ps -a
	[ "${#lines[@]}" -eq 3 ]
	# NAMES starts at the same column on every line, as do STATUS and IMAGE
	local col h
	for h in IMAGE STATUS NAMES; do
		col=$(awk -v h="$h" 'NR == 1 {print index($0, h)}' <<<"$output")
		[ "$col" -gt 1 ]
		for l in "${lines[@]:1}"; do
			[ "${l:col-4:3}" = "   " ] || { echo "column $h not aligned: $l"; return 1; }
			[ "${l:col-1:1}" != " " ] || [ "$h" = PORTS ] || { echo "column $h empty: $l"; return 1; }
		done
	done
	[[ "${lines[1]}${lines[2]}" == *'"sh -c '* ]]
}

@test "ps --format: .Labels, .Label \"k\", .Mounts, .Networks and .LocalVolumes as Docker's (labels by key, mounts by 15 characters unless --no-trunc, strings in json)" {
	"$HUSK" network create psnet >/dev/null
	"$HUSK" volume create psvol >/dev/null
	mkdir -p "$TEST_DIR/a-rather-long-host-dir"
	"$HUSK" run -d --name w -l b=2 -l a=1 -v psvol:/data -v "$TEST_DIR/a-rather-long-host-dir:/h" busybox sleep 100 >/dev/null
	"$HUSK" network connect psnet w
	"$HUSK" run -d --name n --network none busybox sleep 100 >/dev/null
	run "$HUSK" ps --format '{{.Names}}|{{.Labels}}|{{.Networks}}|{{.LocalVolumes}}'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "n||none|0" ]
	[ "${lines[1]}" = "w|a=1,b=2|bridge,psnet|1" ]
	# Docker's method {{.Label "k"}}, on ps, volume ls and network ls
	run "$HUSK" ps --filter name=w --format '{{.Label "b"}}|{{.Label "none"}}'
	[ "$output" = "2|" ]
	run "$HUSK" volume ls --filter name=psvol --format '{{.Name}} {{.Label "x"}}'
	[ "$output" = "psvol " ]
	"$HUSK" network create --label tier=db pslab >/dev/null
	run "$HUSK" network ls --format '{{.Name}} {{.Labels}} {{.Label "tier"}}'
	[[ "$output" == *"pslab tier=db db"* ]]
	"$HUSK" network rm pslab >/dev/null
	run "$HUSK" ps --filter name=w --no-trunc --format '{{.Mounts}}'
	[ "$output" = "psvol,$TEST_DIR/a-rather-long-host-dir" ]
	run "$HUSK" ps --filter name=w --format '{{.Mounts}}'
	[ "$output" = "psvol,${TEST_DIR:0:14}…" ]
	run "$HUSK" ps --filter name=w --format '{{json .}}'
	[ "$(jq -c '[.Labels, .Networks, .LocalVolumes]' <<<"$output")" = '["a=1,b=2","bridge,psnet","1"]' ]
	run "$HUSK" ps --filter name=w --format 'table {{.Names}}\t{{.Networks}}\t{{.Labels}}'
	[ "${lines[0]}" = "NAMES     NETWORKS       LABELS" ]
	"$HUSK" rm -f w n >/dev/null
	"$HUSK" volume rm psvol >/dev/null
	"$HUSK" network rm psnet >/dev/null
}

@test "network ls lists Docker's predefined host and none beside bridge, sorted by name; inspect shows them; rm refuses them" {
	"$HUSK" network create zed >/dev/null
	run "$HUSK" network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'bridge bridge local\nhost host local\nnone null local\nzed bridge local')" ]
	run "$HUSK" network ls
	[[ "${lines[2]}" =~ ^host\ +host\ +host\ +local$ ]]
	# a container run with --network host is on host
	"$HUSK" run -d --name onhost --network host busybox sleep 100 >/dev/null
	[ "$("$HUSK" network inspect -f '{{.Driver}} {{range .Containers}}{{.Name}}{{end}} {{len .IPAM.Config}}' host)" = "host onhost 0" ]
	[ "$("$HUSK" network inspect -f '{{.Name}} {{.Driver}}' none)" = "none null" ]
	[ "$("$HUSK" inspect --type network -f '{{.Driver}}' none)" = "null" ]
	for n in host none bridge; do
		run "$HUSK" network rm "$n"
		[ "$status" -eq 125 ]
		[ "$output" = "husk: network \"$n\" is built in and cannot be removed" ]
	done
	"$HUSK" rm -f onhost >/dev/null
	"$HUSK" network rm zed >/dev/null
}

@test "network ls --filter: name, id, label, driver, type, dangling as Docker's (OR within a key, AND across); a bad key is one line, 125" {
	"$HUSK" network create --label env=prod front >/dev/null
	"$HUSK" network create back >/dev/null
	"$HUSK" run -d --name w --network back busybox sleep 100 >/dev/null
	ls_names() { "$HUSK" network ls --format '{{.Name}}' "$@" | sort | tr '\n' ' '; }
	[ "$(ls_names --filter name=fro)" = "front " ]
	[ "$(ls_names --filter name=front --filter name=back)" = "back front " ]
	[ "$(ls_names --filter label=env)" = "front " ]
	[ "$(ls_names --filter label=env=prod --filter name=back)" = "" ]
	[ "$(ls_names --filter type=builtin)" = "bridge host none " ]
	[ "$(ls_names --filter type=custom)" = "back front " ]
	[ "$(ls_names --filter driver=overlay)" = "" ]
	# dangling: no container on it, the default bridge never
	[ "$(ls_names --filter dangling=true)" = "front " ]
	[ "$(ls_names --filter dangling=false)" = "back bridge host none " ]
	[ "$(ls_names --filter driver=null)" = "none " ]
	[ "$(ls_names --filter driver=host --filter driver=bridge)" = "back bridge front host " ]
	id=$("$HUSK" network inspect -f '{{.Id}}' front)
	[ "$("$HUSK" network ls -q --filter "id=${id:0:6}")" = "${id:0:12}" ]
	[ "$("$HUSK" network ls -q --no-trunc --filter "id=${id:0:6}")" = "$id" ]
	run "$HUSK" network ls --filter bogus=1
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'--filter "bogus=1"'* ]]
	"$HUSK" rm -f w >/dev/null
	"$HUSK" network rm front back >/dev/null
}

@test "inspect takes every kind as Docker's: a container, else an image, a network, a volume of that name; --type picks one; --format json is a line of JSON a row" {
	"$HUSK" run -d --name w busybox sleep 100 >/dev/null
	"$HUSK" volume create kvol >/dev/null
	"$HUSK" network create knet >/dev/null
	[ "$("$HUSK" inspect -f '{{.Name}}' w)" = /w ]
	[ "$("$HUSK" inspect -f '{{index .RepoTags 0}}' busybox)" = busybox:latest ]
	[ "$("$HUSK" inspect -f '{{.Driver}} {{.Name}}' kvol knet)" = "local kvol
bridge knet" ]
	[ "$("$HUSK" inspect --type image -f '{{.Os}}' busybox)" = linux ]
	[ "$("$HUSK" inspect --type volume -f '{{.Name}}' kvol)" = kvol ]
	run "$HUSK" inspect --type container busybox
	[ "$status" -eq 125 ]
	run "$HUSK" inspect nosuch
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: no such object: "nosuch"' ]
	run "$HUSK" inspect --type bogus w
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	# a typo in a field is still a parse error naming it
	run "$HUSK" inspect -f '{{.Bogus}}' w
	[ "$status" -eq 125 ]
	[[ "$output" == *'unknown field ".Bogus"'* ]]
	# --format json (Docker 23): each row one line of JSON
	[ "$("$HUSK" ps --format json | jq -r .Names)" = w ]
	[ "$("$HUSK" images --format json | jq -r .Repository)" = busybox ]
	[ "$("$HUSK" volume ls --format json | jq -r .Name)" = kvol ]
	[ "$("$HUSK" stats --no-stream --format json | jq -r .Name)" = w ]
	"$HUSK" rm -f w >/dev/null
	"$HUSK" volume rm kvol >/dev/null
	"$HUSK" network rm knet >/dev/null
}

@test "--format 'table ...': Docker's headers over columns as wide as their widest cell, ten at the least" {
	# no container: Docker's own empty header, to the space
	run "$HUSK" ps
	[ "$output" = "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES" ]
	"$HUSK" volume create vv >/dev/null
	"$HUSK" volume create a-longer-volume-name >/dev/null
	run "$HUSK" volume ls --format 'table {{.Name}}\t{{.Driver}}'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "VOLUME NAME            DRIVER" ]
	[ "${lines[1]}" = "a-longer-volume-name   local" ]
	[ "${lines[2]}" = "vv                     local" ]
	# a short column is ten wide; an ID is named by what is listed
	run "$HUSK" network ls --format 'table {{.Name}}\t{{.ID}}'
	[ "${lines[0]}" = "NAME      NETWORK ID" ]
	[ "${lines[1]}" = "bridge    husk0" ]
	"$HUSK" create --name tbl busybox true >/dev/null
	run "$HUSK" ps -a --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
	[ "${lines[0]}" = "NAMES     IMAGE            STATUS" ]
	[ "${lines[1]}" = "tbl       busybox:latest   Created" ]
	# "table" alone is the command's own table; without it no header
	run "$HUSK" volume ls --format table
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	run "$HUSK" volume ls --format '{{.Name}}'
	[ "${lines[0]}" = a-longer-volume-name ]
	[ "${#lines[@]}" -eq 2 ]
	"$HUSK" volume rm vv a-longer-volume-name >/dev/null
}

@test "ps --filter, -n, -l: Docker's keys (publish and expose too), OR within a key and AND across keys" {
	"$HUSK" create --name one -l tier=web busybox true >/dev/null
	"$HUSK" run --name two -l tier=db busybox sh -c 'exit 3' >/dev/null || true
	"$HUSK" run -d --name three -l tier=web busybox sleep 100 >/dev/null
	names() { "$HUSK" ps "$@" --format '{{.Names}}' | sort | tr '\n' ' '; }
	[ "$(names -a --filter label=tier=web)" = "one three " ]
	[ "$(names -a --filter label=tier)" = "one three two " ]
	[ "$(names --filter label=tier=web)" = "three " ] # running only without -a
	[ "$(names --filter status=exited)" = "two " ]     # a status filter looks at all
	[ "$(names --filter exited=3)" = "two " ]
	[ "$(names -a -f name=t)" = "three two " ]
	[ "$(names -a -f status=created -f status=running)" = "one three " ]
	[ "$(names -a -f status=running -f label=tier=db)" = "" ]
	[ "$(names -a -f ancestor=busybox)" = "one three two " ]
	[ "$(names -a -f before=three)" = "one two " ]
	[ "$(names -a -f since=one)" = "three two " ]
	[ "$("$HUSK" ps -l --format '{{.Names}}')" = three ]
	[ "$("$HUSK" ps -n 2 --format '{{.Names}}' | tr '\n' ' ')" = "three two " ]
	run "$HUSK" ps --filter colour=red
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: --filter \"colour=red\": invalid filter 'colour'"* ]]
	run "$HUSK" ps --filter status=sleeping
	[ "$status" -eq 125 ]
	run "$HUSK" ps --filter before=nosuch
	[ "$status" -eq 125 ]
	[[ "$output" == *'no such container'* ]]
	# publish: a host port it publishes; expose: a port of its own
	"$HUSK" run -d --name four -p 127.0.0.1:18080:80 -p 18053:53/udp --expose 9000 busybox sleep 100 >/dev/null
	[ "$(names -f publish=18080)" = "four " ]
	[ "$(names -f publish=80)" = "" ]
	[ "$(names -f publish=18053)" = "" ]
	[ "$(names -f publish=18053/udp)" = "four " ]
	[ "$(names -f publish=18000-18100)" = "four " ]
	[ "$(names -f expose=80 -f expose=1)" = "four " ]
	[ "$(names -f expose=9000/tcp)" = "four " ]
	[ "$(names -f expose=53)" = "" ]
	run "$HUSK" ps --filter publish=80/sctp
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: --filter "publish=80/sctp": expected a port or a range, with /tcp or /udp' ]
}

@test "images --filter: dangling, label, label!, reference, before, since, until as Docker's (OR within reference, AND across keys); a bad key or value is one line, 125" {
	"$HUSK" create --name c1 busybox true >/dev/null
	"$HUSK" tag busybox one:1
	"$HUSK" commit -c 'LABEL tier=web' c1 lab:web >/dev/null
	"$HUSK" commit -c 'LABEL tier=db' -c 'LABEL x=1' c1 lab:db >/dev/null
	"$HUSK" commit c1 >/dev/null # no name: dangling
	"$HUSK" rm c1 >/dev/null
	names() { "$HUSK" images "$@" --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' '; }
	[ "$(names -f dangling=true)" = "<none>:<none> " ]
	[ "$(names -f dangling=false)" = "busybox:latest lab:db lab:web one:1 " ]
	[ "$(names -f label=tier)" = "lab:db lab:web " ]
	[ "$(names -f label=tier=web)" = "lab:web " ]
	[ "$(names -f label=tier -f label=x)" = "lab:db " ] # every label=, as moby's
	[ "$(names -f 'label!=tier')" = "<none>:<none> busybox:latest one:1 " ]
	# path.Match globs against name:tag and the name alone
	[ "$(names -f reference=lab)" = "lab:db lab:web " ]
	[ "$(names -f 'reference=busy*')" = "busybox:latest " ]
	[ "$(names -f 'reference=*:db' -f 'reference=o*:1')" = "lab:db one:1 " ]
	[ "$(names -f reference=lab -f label=tier=web)" = "lab:web " ]
	[ "$(names 'lab:w*')" = "lab:web " ] # the operand is one more reference
	# by the time each was created (one:1 is busybox's)
	[ "$(names -f before=lab:db)" = "busybox:latest lab:web one:1 " ]
	[ "$(names -f since=lab:web)" = "<none>:<none> lab:db " ]
	[ "$(names -f since=one:1 -f before=lab:db)" = "lab:web " ]
	[ "$(names -f until="$("$HUSK" image inspect -f '{{.Created}}' lab:web)")" = "busybox:latest one:1 " ]
	[ "$(names -f until=2000-01-01T00:00:00Z)" = "" ]
	[ "$("$HUSK" image ls -q -f label=tier=web)" = "$("$HUSK" images -q --filter label=tier=web)" ]
	for bad in bogus=1 dangling=maybe until=never label= before=nosuch; do
		run "$HUSK" images --filter "$bad"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--filter \"$bad\""* ]]
	done
	run "$HUSK" images -f dangling=true -f dangling=false
	[ "$status" -eq 125 ]
	"$HUSK" rmi lab:web lab:db one:1 "$("$HUSK" images -q -f dangling=true)" >/dev/null
}

@test "--help of a noun's verb typed alone (husk ls --help, husk help boot): its usage, or each noun's" {
	local c s
	for c in $(commands); do
		for s in $(subcommands "$c"); do
			run "$HUSK" "$s" --help
			[ "$status" -eq 0 ] || { echo "husk $s --help: $status $output"; return 1; }
			[[ "$output" == *"Usage: husk "*" $s"* ]] || { echo "husk $s --help: $output"; return 1; }
			run "$HUSK" help "$s"
			[ "$status" -eq 0 ] || { echo "husk help $s: $status"; return 1; }
		done
	done
	run "$HUSK" ls --help
	[[ "$output" == *"Usage: husk container ls"* && "$output" == *"Usage: husk volume ls"* ]]
	# without --help it is no command, and the error says which are
	run "$HUSK" ls
	[ "$status" -eq 125 ]
	[[ "$output" == *"did you mean 'husk container ls'"* ]]
}
