#!/usr/bin/env bats
# prune --filter, as Docker's: until= (a duration before now, an RFC 3339
# time with or without its zone, a date, Unix seconds) prunes only what
# was made before; label=KEY[=VALUE] only what carries it; label!= only
# what does not.  For container, image, volume, network and system
# prune.  An unknown filter is one line and exit 125, with nothing gone.

load helpers

setup() {
	engine_setup
}

teardown() {
	for n in $("$HUSK" network ls -q --filter type=custom 2>/dev/null); do
		[ "$n" = husk0 ] || "$HUSK" network rm "$n" >/dev/null 2>&1 || true
	done
	engine_teardown
}

names() {
	"$HUSK" ps -a --format '{{.Names}}' | sort | tr '\n' ' '
}

# a time between what was made before and what comes after
now() {
	date +%s.%N
}

@test "container prune --filter: until= keeps the newer, label= and label!= pick by label" {
	"$HUSK" create --name old busybox true >/dev/null
	"$HUSK" create --name old-kept --label keep=yes busybox true >/dev/null
	t=$(now)
	"$HUSK" create --name new busybox true >/dev/null
	"$HUSK" create --name new-kept --label keep=no busybox true >/dev/null
	# nothing was made an hour ago
	run "$HUSK" container prune -f --filter until=1h
	[ "$status" -eq 0 ]
	[ "$output" = "Total reclaimed space: 0B" ]
	# older than t, without the label keep: only "old"
	run "$HUSK" container prune -f --filter "until=$t" --filter label!=keep
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Containers:" ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(names)" = "new new-kept old-kept " ]
	# label=KEY=VALUE takes only that value
	run "$HUSK" container prune -f --filter label=keep=no
	[ "$status" -eq 0 ]
	[ "$(names)" = "new old-kept " ]
	# label=KEY any value; two labels must both match
	"$HUSK" create --name both --label keep=1 --label x=2 busybox true >/dev/null
	run "$HUSK" container prune -f --filter label=keep --filter label=x
	[ "$(names)" = "new old-kept " ]
	# a running container stays whatever the filter
	"$HUSK" run -d --name up --label keep=yes busybox sleep 100 >/dev/null
	run "$HUSK" container prune -f --filter label=keep
	[ "$status" -eq 0 ]
	[ "$(names)" = "new up " ]
}

@test "prune --filter until= takes Docker's time forms; bad filters are one line, exit 125, nothing gone" {
	"$HUSK" create --name a busybox true >/dev/null
	# a date, a time without a zone (local), with a zone, Unix seconds:
	# all long ago, nothing goes
	for u in 2020-01-01 2020-01-01T10 2020-01-01T10:30 2020-01-01T10:30:00 \
		2020-01-01T10:30:00.5Z 2020-01-01T10:30:00+02:00 1577836800 1577836800.25; do
		run "$HUSK" container prune -f --filter "until=$u"
		[ "$status" -eq 0 ] || { echo "until=$u: $output"; false; }
		[ "$(names)" = "a " ] || { echo "until=$u pruned"; false; }
	done
	# an unknown key, a bad time, no value, until twice: refused before
	# anything goes
	for f in nosuch=1 until=yesterday until=2020-13-45 label= label==x dangling; do
		run "$HUSK" container prune -f --filter "$f"
		[ "$status" -eq 125 ] || { echo "--filter $f: $status $output"; false; }
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "husk: container prune: --filter \"$f\""* ]]
	done
	run "$HUSK" container prune -f --filter until=1h --filter until=2h
	[ "$status" -eq 125 ]
	for verb in "image prune" "volume prune" "network prune" "system prune"; do
		# shellcheck disable=SC2086
		run "$HUSK" $verb -f --filter nosuch=1
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "husk: $verb: --filter \"nosuch=1\": unknown filter \"nosuch\""* ]]
	done
	[ "$(names)" = "a " ]
	# and a time after it prunes it
	run "$HUSK" container prune -f --filter "until=$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)"
	[ "$status" -eq 0 ]
	[ "$(names)" = "" ]
}

@test "image prune --filter: label= and label!= on the image's labels, until= on its creation" {
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/root.tar" .
	keep=$("$HUSK" import -c 'LABEL keep=yes' "$TEST_DIR/root.tar")
	other=$("$HUSK" import -c 'LABEL team=web' "$TEST_DIR/root.tar")
	plain=$("$HUSK" import "$TEST_DIR/root.tar")
	# made now: nothing is older than a minute, nor than 2020
	run "$HUSK" image prune -f --filter until=1m
	[ "$status" -eq 0 ]
	[[ "$output" != *deleted* ]]
	run "$HUSK" image prune -f --filter until=2020-01-01T00:00:00Z
	[[ "$output" != *deleted* ]]
	run "$HUSK" image prune -f --filter label=team=web
	[ "$status" -eq 0 ]
	[[ "$output" == *"deleted: $other"* ]]
	[[ "$output" != *"$keep"* ]]
	[[ "$output" != *"$plain"* ]]
	run "$HUSK" image prune -f --filter label!=keep
	[[ "$output" == *"deleted: $plain"* ]]
	[[ "$output" != *"$keep"* ]]
	run "$HUSK" image inspect -f '{{.Labels.keep}}' "$keep"
	[ "$output" = yes ]
	# -a with a label: the named image with the label goes, busybox stays
	"$HUSK" create --name b busybox true >/dev/null
	"$HUSK" rm b >/dev/null
	"$HUSK" tag "$keep" kept:1
	run "$HUSK" image prune -af --filter label=keep=yes
	[[ "$output" == *"untagged: kept:1"* ]]
	run "$HUSK" images --format '{{.Repository}}'
	[ "$output" = busybox ]
}

@test "volume, network and system prune --filter: label= and until= choose what goes" {
	"$HUSK" volume create --label keep=yes v-kept >/dev/null
	"$HUSK" volume create v-old >/dev/null
	t=$(now)
	"$HUSK" volume create v-new >/dev/null
	run "$HUSK" volume prune -af --filter "until=$t" --filter label!=keep
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Volumes:" ]
	[ "${lines[1]}" = v-old ]
	[ "$("$HUSK" volume ls -q | sort | tr '\n' ' ')" = "v-kept v-new " ]
	run "$HUSK" volume prune -af --filter label=keep=yes
	[ "$("$HUSK" volume ls -q)" = v-new ]

	"$HUSK" network create --label team=web pn-web-$$ >/dev/null
	"$HUSK" network create pn-db-$$ >/dev/null
	run "$HUSK" network prune -f --filter until=1h
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run "$HUSK" network prune -f --filter label=team
	[ "$status" -eq 0 ]
	[ "$output" = "Deleted Networks:
pn-web-$$" ]
	run "$HUSK" network ls --format '{{.Name}}'
	[[ "$output" == *pn-db-$$* ]]

	# system prune passes the filter to each part
	"$HUSK" create --name c-web --label team=web busybox true >/dev/null
	"$HUSK" create --name c-db busybox true >/dev/null
	run "$HUSK" system prune -f --filter label!=team
	[ "$status" -eq 0 ]
	[[ "$output" == *pn-db-$$* ]]
	[ "$(names)" = "c-web " ]
}

@test "system prune -a empties the whole build cache, as builder prune -a; without -a the cache of images in use stays" {
	mkdir -p "$TEST_DIR/ctx"
	echo 1 >"$TEST_DIR/ctx/one"
	printf 'FROM busybox\nCOPY one /one\nRUN x=step && echo "ran-$x" && cat /one >/b\n' >"$TEST_DIR/ctx/Dockerfile"
	"$HUSK" build -q -t cached "$TEST_DIR/ctx" >/dev/null
	# the image in use by a running container: its layers stay
	"$HUSK" run -d --name up cached sleep 100 >/dev/null
	run "$HUSK" system prune -f
	[ "$status" -eq 0 ]
	[ -n "$(ls "$HUSK_ROOT/build-cache")" ]
	run "$HUSK" build -t cached "$TEST_DIR/ctx"
	[[ "$output" == *"Using cache"* && "$output" != *ran-step* ]]
	run "$HUSK" system prune -af
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "Total reclaimed space: "* ]]
	[ -z "$(ls "$HUSK_ROOT/build-cache" 2>/dev/null)" ]
	# the running container and its image are untouched
	[ "$("$HUSK" exec up cat /b)" = 1 ]
	run "$HUSK" build -t cached "$TEST_DIR/ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *ran-step* && "$output" != *"Using cache"* ]]
}
