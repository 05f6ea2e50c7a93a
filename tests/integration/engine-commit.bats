#!/usr/bin/env bats
# Images made from containers, as a Docker user makes them: husk commit
# (a container's changes as one more layer, with -c/-m/-a), husk export
# (its files as a tar), husk import (a tar as an image, from a file or
# stdin), husk load from stdin.  The committed image is checked by running
# it, by listing its layer as `husk save` writes it, and by Podman, which
# loads it and runs it side by side.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
}

teardown() {
	if [ -d "$TEST_DIR/pr" ]; then
		pm rm -af -t 0 >/dev/null 2>&1 || true
		pm system reset -f >/dev/null 2>&1 || true
		podman_cgroups_cleanup
	fi
	engine_teardown
}

# podman in the test's own storage, with runc (crun fails on this host)
pm() {
	timeout 120 podman --root "$TEST_DIR/pr" --runroot "$TEST_DIR/prr" --storage-driver vfs "$@" 3>&-
}

podman_setup() {
	command -v podman >/dev/null || skip "podman is not installed"
	podman_cgroups_note
	mkdir -p "$TEST_DIR/ptmp"
	export CONTAINERS_CONF="$TEST_DIR/containers.conf"
	cat >"$CONTAINERS_CONF" <<-EOF
		[containers]
		netns = "none"
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		tmp_dir = "$TEST_DIR/ptmp"
		image_copy_tmp_dir = "$TEST_DIR/ptmp"
	EOF
	cat >"$TEST_DIR/runc" <<-EOF
		#!/bin/sh
		exec /usr/sbin/runc --root "$TEST_DIR/runc-state" "\$@"
	EOF
	chmod +x "$TEST_DIR/runc"
}

# A container that added /new, changed /etc/group, deleted /bin/ls, and
# replaced its image's /var (which holds old/file) by a new /var holding
# only z/f: overlay makes that new /var opaque
make_changed() {
	"$HUSK" run --name base busybox sh -c 'mkdir -p /var/old; echo old > /var/old/file'
	"$HUSK" commit base base:1 >/dev/null
	"$HUSK" run --name "$1" base:1 sh -c '
		echo new > /new
		echo "staff:x:50:" >> /etc/group
		rm /bin/ls
		rm -rf /var
		mkdir -p /var/z
		echo z > /var/z/f'
}

# what a run of the committed image shows of those changes
CHECK='cat /new; tail -n1 /etc/group; [ -e /bin/ls ] && echo has-ls; find /var | sort'
EXPECTED='new
staff:x:50:
/var
/var/z
/var/z/f'

@test "husk commit: added, changed, deleted files and an opaque dir are in the new image, as whiteouts in its layer" {
	make_changed c
	# the base: ls, and a /var with something in it
	run "$HUSK" run --rm base:1 sh -c 'cat /var/old/file; [ -e /bin/ls ] && echo has-ls'
	[ "$output" = "old
has-ls" ]
	run "$HUSK" commit c mine:1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=$output
	[ "$("$HUSK" image inspect --format '{{.Id}}' mine:1)" = "${id#sha256:}" ]
	run "$HUSK" run --rm mine:1 sh -c "$CHECK"
	[ "$status" -eq 0 ]
	[ "$output" = "$EXPECTED" ]

	# the layer, as save writes it (docker-archive: plain tars)
	mkdir "$TEST_DIR/saved"
	"$HUSK" save --format docker-archive mine:1 | tar -C "$TEST_DIR/saved" -x
	top=$(jq -r '.[0].Layers[-1]' "$TEST_DIR/saved/manifest.json")
	run tar -tf "$TEST_DIR/saved/$top"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *"bin/.wh.ls"* ]]
	[[ "$output" == *"var/.wh..wh..opq"* ]]
	[[ "$output" == *"var/z/f"* ]]
	[[ "$output" == *"new"* ]]
	[[ "$output" == *"etc/group"* ]]
	# the engine's bind-mount points are not the container's changes
	[[ "$output" != *"etc/hosts"* ]]
	[[ "$output" != *"etc/hostname"* ]]
	[[ "$output" != *"etc/resolv.conf"* ]]
	# a plain tar: its digest is its diff id
	config=$(jq -r '.[0].Config' "$TEST_DIR/saved/manifest.json")
	[ "$(jq -r '.rootfs.diff_ids[-1]' "$TEST_DIR/saved/$config")" = \
		"sha256:$(sha256sum "$TEST_DIR/saved/$top" | cut -d' ' -f1)" ]
}

@test "husk commit -c CMD/ENV/..., -m, -a: the config and history as Docker's; one more diff_id" {
	make_changed c
	run "$HUSK" commit -a 'A U Thor <a@example.com>' -m 'my change' \
		-c 'CMD ["echo","committed"]' -c 'ENV A=1' -c 'ENV B="two words"' \
		-c 'WORKDIR /var' -c 'EXPOSE 80 53/udp' -c 'LABEL k=v' -c 'USER daemon' \
		-c 'VOLUME ["/data"]' -c 'STOPSIGNAL SIGINT' -c 'ONBUILD RUN true' c mine:2
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm mine:2
	[ "$status" -eq 0 ]
	[ "$output" = committed ]
	run "$HUSK" run --rm mine:2 sh -c 'echo "$A/$B/$(pwd)/$(id -un)"'
	[ "$output" = "1/two words//var/daemon" ]

	[ "$("$HUSK" image inspect --format '{{json .RootFS.Layers}}' base:1 | jq length)" -eq 2 ]
	[ "$("$HUSK" image inspect --format '{{json .RootFS.Layers}}' mine:2 | jq length)" -eq 3 ]
	"$HUSK" image inspect mine:2 >"$TEST_DIR/i.json"
	jq -e '.[0].History | length == 3' "$TEST_DIR/i.json"
	jq -e '.[0].History[2] | .author == "A U Thor <a@example.com>" and .comment == "my change"
		and (.created_by | startswith("sh -c")) and (.created | length > 0)' "$TEST_DIR/i.json"
	jq -e '.[0].Author == "A U Thor <a@example.com>"' "$TEST_DIR/i.json"
	jq -e '.[0].Config | .ExposedPorts == {"80/tcp": {}, "53/udp": {}} and .Labels == {"k": "v"}
		and .Volumes == {"/data": {}} and .StopSignal == "SIGINT" and .OnBuild == ["RUN true"]
		and .User == "daemon" and .WorkingDir == "/var"' "$TEST_DIR/i.json"
	# the base's layers are shared, not copied
	[ "$("$HUSK" image inspect --format '{{json .RootFS.Layers}}' mine:2 | jq -r '.[1]')" = \
		"$("$HUSK" image inspect --format '{{json .RootFS.Layers}}' base:1 | jq -r '.[1]')" ]

	# shell form; ENTRYPOINT drops an inherited CMD, as Docker's does
	"$HUSK" commit -c 'ENTRYPOINT echo from $A' c mine:3 >/dev/null
	run "$HUSK" run --rm mine:3
	[ "$output" = "from" ]
	run "$HUSK" image inspect --format '{{json .Config.Cmd}}' mine:3
	[ "$output" = null ]
}

@test "husk commit keeps what the container ran with: its command, -e, -w, -u, -l, --entrypoint, as podman commit" {
	podman_setup
	"$HUSK" run --rm busybox true # the built-in busybox, made on first use
	"$HUSK" save busybox | pm load >/dev/null
	for engine in husk podman; do
		if [ $engine = husk ]; then e=("$HUSK"); r=("$HUSK" run); else e=(pm); r=(pm run --runtime "$TEST_DIR/runc"); fi
		"${r[@]}" --name c -e A=1 -w /tmp -u 0:0 -l k=v busybox sh -c 'echo x > /f'
		"${e[@]}" commit c localhost/img:1 >/dev/null
		run "${r[@]}" --rm localhost/img:1 sh -c 'echo $A; cat /f; pwd'
		[ "$output" = "1
x
/tmp" ] || { echo "$engine: $output"; return 1; }
		# its command is the image's now
		run "${r[@]}" --rm localhost/img:1
		[ "$status" -eq 0 ]
		run "${r[@]}" --rm localhost/img:1 cat /f
		[ "$output" = x ]
		"${e[@]}" image inspect localhost/img:1 >"$TEST_DIR/$engine.json"
		jq -e '.[0].Config | .Cmd == ["sh", "-c", "echo x > /f"] and .WorkingDir == "/tmp"
			and .User == "0:0" and .Labels.k == "v" and (.Env | index("A=1") != null)' \
			"$TEST_DIR/$engine.json" || { echo "$engine"; return 1; }
		# --entrypoint with no command: Cmd goes, as Docker's run drops it
		"${r[@]}" --name ep --entrypoint /bin/echo busybox
		"${e[@]}" commit ep localhost/ep:1 >/dev/null
		run "${r[@]}" --rm localhost/ep:1 hi
		[ "$output" = hi ] || { echo "$engine: $output"; return 1; }
		"${e[@]}" rm c ep >/dev/null
	done
}

@test "commit -c, import -c and build give the same config for the same instructions" {
	local insns=(
		'ENV A=1 B="two words"'
		'ENV C 3'
		'LABEL k=v "with space"=x'
		'EXPOSE 80 53/UDP 8000-8002/tcp'
		'VOLUME ["/data", "/logs"]'
		'VOLUME /more'
		'WORKDIR /srv'
		'WORKDIR app/../sub'
		'USER daemon'
		'STOPSIGNAL SIGINT'
		'ONBUILD RUN echo child'
		'CMD ["echo", "hi"]'
		'ENTRYPOINT ["/bin/sh", "-c"]'
	)
	mkdir "$TEST_DIR/ctx"
	printf 'FROM busybox\n' >"$TEST_DIR/ctx/Dockerfile"
	local cargs=() i
	for i in "${insns[@]}"; do
		printf '%s\n' "$i" >>"$TEST_DIR/ctx/Dockerfile"
		cargs+=(-c "$i")
	done
	"$HUSK" build -q -t built "$TEST_DIR/ctx" >/dev/null
	"$HUSK" create --name c busybox sh >/dev/null
	"$HUSK" commit "${cargs[@]}" c committed >/dev/null
	"$HUSK" export c | "$HUSK" import "${cargs[@]}" - imported >/dev/null
	keys='{Cmd, Entrypoint, Env, ExposedPorts, Labels, OnBuild, StopSignal, User, Volumes, WorkingDir}'
	for img in built committed imported; do
		"$HUSK" image inspect "$img" | jq -S ".[0].Config | $keys" >"$TEST_DIR/$img.json"
	done
	cat "$TEST_DIR/built.json"
	jq -e '.WorkingDir == "/srv/sub" and .ExposedPorts == {"80/tcp": {}, "53/udp": {}, "8000/tcp": {},
		"8001/tcp": {}, "8002/tcp": {}} and .Cmd == ["echo", "hi"] and .Env[-1] == "C=3"
		and .Labels == {"k": "v", "with space": "x"} and .OnBuild == ["RUN echo child"]' "$TEST_DIR/built.json"
	diff "$TEST_DIR/built.json" "$TEST_DIR/committed.json"
	# import starts from no config: the same but for busybox's PATH
	diff <(jq 'del(.Env)' "$TEST_DIR/built.json") <(jq 'del(.Env)' "$TEST_DIR/imported.json")
	# and refuse the same: a bad port, a trigger Docker forbids
	for bad in 'EXPOSE 99999' 'ONBUILD FROM busybox' 'STOPSIGNAL "x y"'; do
		printf 'FROM busybox\n%s\n' "$bad" >"$TEST_DIR/ctx/Dockerfile"
		run "$HUSK" build -q "$TEST_DIR/ctx"
		[ "$status" -ne 0 ] || { echo "build took $bad"; return 1; }
		run "$HUSK" commit -c "$bad" c
		[ "$status" -eq 125 ] || { echo "commit took $bad"; return 1; }
	done
}

@test "husk commit with no name: a dangling image printed as its id; a running container is paused for it and runs on" {
	"$HUSK" run -d --name r busybox sh -c 'echo live > /live; exec sleep 100'
	for _ in $(seq 100); do "$HUSK" exec r test -e /live && break; sleep 0.05; done
	run "$HUSK" commit r
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=$output
	run "$HUSK" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
	[[ "$output" == *"<none>:<none> ${id:7:12}"* ]]
	run "$HUSK" run --rm "$id" cat /live
	[ "$output" = live ]
	# thawed again, and still the same process
	run "$HUSK" inspect --format '{{.State.Status}}' r
	[ "$output" = running ]
	"$HUSK" exec r true
	# --pause=false commits without freezing
	run "$HUSK" commit --pause=false r live:2
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm live:2 cat /live
	[ "$output" = live ]
}

@test "husk save | podman load: Podman runs the committed image with the same result, side by side" {
	podman_setup
	make_changed c
	"$HUSK" commit -c 'CMD ["echo","committed"]' -c 'ENV A=1' c localhost/mine:1 >/dev/null
	"$HUSK" save localhost/mine:1 | pm load >/dev/null
	for engine in husk podman; do
		if [ $engine = husk ]; then r=("$HUSK" run --rm); else r=(pm run --rm --runtime "$TEST_DIR/runc"); fi
		run "${r[@]}" localhost/mine:1
		[ "$status" -eq 0 ]
		[ "$output" = committed ]
		run "${r[@]}" localhost/mine:1 sh -c "$CHECK"
		[ "$status" -eq 0 ]
		[ "$output" = "$EXPECTED" ]
		run "${r[@]}" localhost/mine:1 sh -c 'echo $A'
		[ "$output" = 1 ]
	done
}

@test "husk export: the root as a tar, names relative; export | import - runs; -o FILE; never to a terminal" {
	make_changed c
	run bash -c "'$HUSK' export c | tar -t"
	[ "$status" -eq 0 ]
	grep -qx 'etc/passwd' <<<"$output"
	grep -qx 'new' <<<"$output"
	! grep -q '^\./' <<<"$output"
	! grep -q '^/' <<<"$output"
	! grep -q '^bin/ls$' <<<"$output"
	"$HUSK" export -o "$TEST_DIR/c.tar" c
	tar -tf "$TEST_DIR/c.tar" | grep -qx 'var/z/f'

	run bash -c "'$HUSK' export c | '$HUSK' import - mine:flat"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	run "$HUSK" run --rm mine:flat sh -c "$CHECK"
	[ "$status" -eq 0 ]
	[ "$output" = "$EXPECTED" ]
	[ "$("$HUSK" image inspect --format '{{json .RootFS.Layers}}' mine:flat | jq length)" -eq 1 ]

	# import -c/-m, no name: dangling, its id printed
	run bash -c "'$HUSK' import -c 'CMD [\"cat\",\"/new\"]' -m 'from export' - <'$TEST_DIR/c.tar'"
	[ "$status" -eq 0 ]
	id=$output
	run "$HUSK" run --rm "$id"
	[ "$output" = new ]
	"$HUSK" image inspect "$id" | jq -e '.[0].History[-1].comment == "from export"'

	# a terminal is refused (script gives export a pty for stdout)
	run script -qec "'$HUSK' export c" /dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"terminal"* ]]
	[ -z "$(ls -A "$HUSK_ROOT/tmp")" ]
}

@test "husk load < archive: the archive from stdin, as docker load" {
	make_changed c
	"$HUSK" commit c mine:1 >/dev/null
	"$HUSK" save -o "$TEST_DIR/a.tar" mine:1
	"$HUSK" rm c >/dev/null
	"$HUSK" rmi mine:1 >/dev/null
	run bash -c "'$HUSK' load <'$TEST_DIR/a.tar'"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: mine:1" ]
	run bash -c "cat '$TEST_DIR/a.tar' | '$HUSK' image load"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm mine:1 cat /new
	[ "$output" = new ]
	[ -z "$(ls -A "$HUSK_ROOT/tmp")" ]
}

@test "commit, import, export: bad input is one line, exit 125, and leaves no blob or temp file" {
	make_changed c
	"$HUSK" commit c keep:1 >/dev/null
	blobs=$(ls "$HUSK_ROOT/blobs/sha256" | sort)
	layers=$(ls "$HUSK_ROOT/layers" | sort)
	check() {
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == husk:* ]]
		[ "$(ls "$HUSK_ROOT/blobs/sha256" | sort)" = "$blobs" ]
		[ "$(ls "$HUSK_ROOT/layers" | sort)" = "$layers" ]
		[ -z "$(ls -A "$HUSK_ROOT/tmp")" ]
		[ -z "$(find "$HUSK_ROOT/blobs" -name '.tmp-*')" ]
	}
	run "$HUSK" commit nosuch x:1
	check
	[[ "$output" == *'"nosuch"'* ]]
	run "$HUSK" commit -c 'RUN rm -rf /' c x:1
	check
	[[ "$output" == *"RUN is not a valid change command"* ]]
	run "$HUSK" commit -c 'CMD' c x:1
	check
	run "$HUSK" commit -c 'ENV "A=1' c x:1
	check
	run "$HUSK" commit -c 'EXPOSE 99999' c x:1
	check
	run "$HUSK" commit c 'Not/A:Valid:Name'
	check
	[[ "$output" == *"invalid image name"* ]]
	run "$HUSK" commit -p=maybe c x:1
	check
	run "$HUSK" import -c 'FROM busybox' - x:1 </dev/null
	check
	run "$HUSK" import - 'UPPER' <"$BATS_TEST_FILENAME"
	check
	# not a tar: read, refused, nothing kept
	run "$HUSK" import - x:1 <"$BATS_TEST_FILENAME"
	check
	run "$HUSK" import "$TEST_DIR/none.tar" x:1
	check
	run "$HUSK" export nosuch
	check
	run "$HUSK" images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" != *x:1* ]]
	[[ "$output" != *"<none>"* ]]
}
