#!/usr/bin/env bats
# husk (the engine): containers from the built-in busybox image, with an
# overlay root, run in-process by the core.

load helpers

bats_require_minimum_version 1.5.0


setup() {
	engine_setup
}

teardown() {
	engine_teardown
}

@test "husk run busybox: the built-in image, made from the host's busybox" {
	run "$HUSK" run --rm busybox echo hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run "$HUSK" images
	grep -q "^busybox  *latest " <<<"$output"
}

@test "husk run: exit status, hostname, pid 1, a writable overlay root that --rm removes" {
	run "$HUSK" run --rm --hostname web busybox sh -c 'echo $(hostname) $$; touch /made && echo wrote; exit 3'
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "web 1" ]
	[ "${lines[1]}" = wrote ]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	# the image is untouched by what the container wrote
	run "$HUSK" run --rm busybox ls /made
	[ "$status" -ne 0 ]
}

@test "run --rm: the container is gone when the client returns, its files unlinked after it" {
	# gone from every listing, its name free, at once
	"$HUSK" run --rm --name quick busybox sh -c 'echo data >/made'
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	[ -z "$("$HUSK" ps -aq)" ]
	"$HUSK" run --rm --name quick busybox true
	# its directory went into the trash and is unlinked by the exit
	# step's child: soon nothing is left
	for _ in $(seq 100); do [ -z "$(ls "$HUSK_ROOT/trash")" ] && break; sleep 0.05; done
	[ -d "$HUSK_ROOT/trash" ]
	[ -z "$(ls "$HUSK_ROOT/trash")" ]
	# what a remover killed on the way left: swept by a prune and at
	# boot, not while its remover lives
	mkdir -p "$HUSK_ROOT/trash/dead.999999999/upper" "$HUSK_ROOT/trash/live.$$/upper"
	echo x >"$HUSK_ROOT/trash/dead.999999999/upper/f"
	"$HUSK" container prune -f >/dev/null
	[ "$(ls "$HUSK_ROOT/trash")" = "live.$$" ]
	mkdir -p "$HUSK_ROOT/trash/dead2.999999999"
	"$HUSK" system boot
	[ "$(ls "$HUSK_ROOT/trash")" = "live.$$" ]
	rm -rf "$HUSK_ROOT/trash/live.$$"
}

@test "husk run -d, ps, logs, exec, stop, rm" {
	run "$HUSK" run -d --name web busybox sh -c 'trap "exit 0" TERM; echo started; while :; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	id=$output
	[ "${#id}" -eq 64 ]
	run "$HUSK" ps
	[[ "$output" == *web* ]]
	[[ "$output" == *"Up "* ]]
	for _ in $(seq 50); do "$HUSK" logs web | grep -q started && break; sleep 0.05; done
	run "$HUSK" logs web
	[ "$output" = started ]
	run "$HUSK" exec web sh -c 'echo in $(hostname)'
	[ "$output" = "in ${id:0:12}" ]
	run "$HUSK" stop -t 5 web
	[ "$status" -eq 0 ]
	run "$HUSK" ps -a
	[[ "$output" == *"Exited (0)"* ]]
	run "$HUSK" ps
	[[ "$output" != *web* ]]
	run "$HUSK" rm web
	[ "$status" -eq 0 ]
	[ -z "$("$HUSK" ps -aq)" ]
}

@test "ps -a with 80 containers: each listed once, newest first (records are read by several threads past 64)" {
	for i in $(seq 80); do
		"$HUSK" create --network none --name "n$i" busybox true >/dev/null
	done
	run "$HUSK" ps -a --format '{{.Names}}'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 80 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 80 ]
	[ "${lines[0]}" = n80 ]
	[ "${lines[79]}" = n1 ]
	# and in creation order throughout
	[ "$(printf '%s\n' "${lines[@]}" | tr -d n | sort -rn | paste -sd,)" = "$(printf '%s\n' "${lines[@]}" | tr -d n | paste -sd,)" ]
	"$HUSK" rm $("$HUSK" ps -aq) >/dev/null
	[ -z "$("$HUSK" ps -aq)" ]
}

@test "husk run -v and --memory" {
	mkdir "$TEST_DIR/data"
	echo from-host >"$TEST_DIR/data/f"
	run "$HUSK" run --rm -v "$TEST_DIR/data:/data:ro" --memory 64m busybox sh -c 'cat /data/f; touch /data/x 2>&1; cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
	[ "${lines[0]}" = from-host ]
	[[ "${lines[1]}" == *"Read-only file system"* ]]
	[ "${lines[2]}" = 67108864 ]
}

@test "husk: bad input is refused clearly and leaves nothing" {
	# --pull never: no registry is asked (tests stay off the network)
	run "$HUSK" run --pull never --rm nosuchimage true
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: image "nosuchimage" is not in the store, and --pull never' ]
	run "$HUSK" run --pull sometimes --rm busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--pull "sometimes": expected missing, never or always'* ]]
	run "$HUSK" run -d --name dup busybox sleep 30
	[ "$status" -eq 0 ]
	run "$HUSK" run --name dup busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'"dup" is already in use'* ]]
	run "$HUSK" rm dup
	[ "$status" -eq 125 ]
	[[ "$output" == *"is running"* ]]
	run "$HUSK" rm -f dup
	[ "$status" -eq 0 ]
	run -127 "$HUSK" run --rm busybox no-such-command
	[[ "$output" == *'"no-such-command": executable file not found'* ]]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
}

@test "husk load: a two-layer OCI archive; the upper layer adds a file and whites one out" {
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/l1.tar" .
	mkdir -p "$TEST_DIR/l2/etc"
	echo added >"$TEST_DIR/l2/etc/added"
	touch "$TEST_DIR/l2/etc/.wh.group"
	tar -C "$TEST_DIR/l2" -cf "$TEST_DIR/l2.tar" .
	make_oci_image "$TEST_DIR/img.tar" "localhost/two:v1" "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	run "$HUSK" load -i "$TEST_DIR/img.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: "*"two:v1"* ]]
	name=$(sed -n 's/^Loaded image: //p' <<<"$output")
	run "$HUSK" run --rm "$name" sh -c 'cat /etc/added; ls /etc/group 2>&1; ls /etc/passwd'
	[ "${lines[0]}" = added ]
	[[ "${lines[1]}" == *"No such file"* ]]
	[ "${lines[2]}" = /etc/passwd ]
}

@test "husk load: a layer that writes outside its root is refused, nothing escapes" {
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/l1.tar" .
	mkdir -p "$TEST_DIR/evil"
	echo pwned >"$TEST_DIR/evil/x"
	# an entry named ../../..../tmp/<marker>: GNU tar keeps it with -P
	marker="husk-escape-$$"
	tar -C "$TEST_DIR/evil" -P --transform "s,^x,../../../../../../../tmp/$marker," -cf "$TEST_DIR/l2.tar" x
	tar -tPf "$TEST_DIR/l2.tar" | grep -q '\.\./'
	make_oci_image "$TEST_DIR/img.tar" "localhost/evil:v1" "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	run "$HUSK" load -i "$TEST_DIR/img.tar"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$marker"* ]]
	[ ! -e "/tmp/$marker" ]
	run "$HUSK" images
	[[ "$output" != *evil* ]]
}

@test "husk run -it: a pty, as a terminal would see it" {
	command -v script >/dev/null || skip "no script(1)"
	run timeout 60 script -qec "$(printf '%q ' env HUSK_ROOT="$HUSK_ROOT" HUSK_RUNROOT="$HUSK_RUNROOT" "$HUSK" run --rm -it busybox sh -c 'tty; [ -t 0 ] && echo stdin-tty; sleep 0.2; exit 5')" /dev/null
	[ "$status" -eq 5 ]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *stdin-tty* ]]
}

@test "husk import, rmi, image prune: an image in use stays, a removed one frees its layers" {
	tar -C "$(rootfs_template)" -czf "$TEST_DIR/rootfs.tar.gz" .
	run "$HUSK" import "$TEST_DIR/rootfs.tar.gz" mine:1
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm mine:1 cat /etc/passwd
	[[ "$output" == root:* ]]
	run "$HUSK" run -d --name user mine:1 sleep 30
	[ "$status" -eq 0 ]
	run "$HUSK" rmi mine:1
	[ "$status" -eq 125 ]
	[[ "$output" == *'used by container "user"'* ]]
	"$HUSK" rm -f user
	layers_before=$(ls "$HUSK_ROOT/layers" | wc -l)
	blobs_before=$(ls "$HUSK_ROOT/blobs/sha256" | wc -l)
	run "$HUSK" rmi mine:1
	[ "$status" -eq 0 ]
	[ "$(ls "$HUSK_ROOT/layers" | wc -l)" -eq $((layers_before - 1)) ]
	[ "$(ls "$HUSK_ROOT/blobs/sha256" | wc -l)" -eq $((blobs_before - 3)) ]
	# its short layer link went with it: one link per layer left
	[ "$(ls "$HUSK_ROOT/l" | wc -l)" -eq "$(ls "$HUSK_ROOT/layers" | wc -l)" ]
	[ -z "$(find "$HUSK_ROOT/l" -xtype l)" ]
	run "$HUSK" images
	[[ "$output" != *mine* ]]
	run "$HUSK" rmi mine:1
	[ "$status" -eq 125 ]
	[[ "$output" == *"mine:1"* ]]
}
