#!/usr/bin/env bats
# The space containers and images take, as a Docker user sees it and takes
# it back: ps -s, image prune (dangling images, -a every image no
# container uses), system prune (-a, --volumes), the question they ask
# without -f, and the space they report.  Podman measures and prunes the
# same side by side.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
}

teardown() {
	[ -z "${NET:-}" ] || "$HUSK" network rm "$NET" >/dev/null 2>&1 || true
	engine_teardown
}

# podman in the test's own storage (no container runs: no runtime needed)
pm() {
	CONTAINERS_CONF="$TEST_DIR/containers.conf" timeout 120 podman --root "$TEST_DIR/pr" \
		--runroot "$TEST_DIR/prr" --storage-driver vfs "$@" 3>&-
}

podman_setup() {
	command -v podman >/dev/null || skip "podman is not installed"
	mkdir -p "$TEST_DIR/ptmp"
	cat >"$TEST_DIR/containers.conf" <<-EOF
		[containers]
		netns = "none"
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		tmp_dir = "$TEST_DIR/ptmp"
		image_copy_tmp_dir = "$TEST_DIR/ptmp"
	EOF
}

# rootfs_tar N: busybox's root with a file /n of N kB of random bytes: a
# layer of its own for each N
rootfs_tar() {
	local t="$TEST_DIR/rootfs$1.tar"
	if [ ! -e "$t" ]; then
		tar -C "$(rootfs_template)" -cf "$t" .
		mkdir -p "$TEST_DIR/extra$1"
		head -c "${1}000" /dev/urandom >"$TEST_DIR/extra$1/n"
		tar -C "$TEST_DIR/extra$1" -rf "$t" n
	fi
	echo "$t"
}

# the images as REPOSITORY:TAG, sorted, without podman's localhost/
names() {
	"$@" images --format '{{.Repository}}:{{.Tag}}' | sed 's|^localhost/||' | sort | tr '\n' ' '
}

@test "image prune: dangling images go, named and used ones stay; -a: every image no container uses" {
	# a dangling image a container uses, two nobody uses, a named one in use
	"$HUSK" run --name c busybox sh -c 'echo x >/f'
	used=$("$HUSK" commit c)
	"$HUSK" create --name u "$used" true >/dev/null
	d1=$("$HUSK" commit c)
	d2=$("$HUSK" import "$(rootfs_tar 1)")
	"$HUSK" import "$(rootfs_tar 2)" flat:1 >/dev/null
	"$HUSK" tag busybox other:1
	run "$HUSK" image prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Images:" ]
	[[ "$output" == *"deleted: $d1"* ]]
	[[ "$output" == *"deleted: $d2"* ]]
	[[ "$output" != *"$used"* ]]
	[[ "$output" != *untagged* ]]
	# Docker's words and units; the import's layer was some 2 MB
	[[ "${lines[-1]}" =~ ^"Total reclaimed space: "[0-9.]+MB$ ]]
	[ "$(names "$HUSK")" = "<none>:<none> busybox:latest flat:1 other:1 " ]
	run "$HUSK" image inspect "$d1"
	[ "$status" -ne 0 ]

	# -a: flat:1 is unused; busybox (and other:1, the same image) and the
	# dangling one are used by c and u
	run "$HUSK" image prune -a -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"untagged: flat:1"*"deleted: sha256:"* ]]
	[[ "$output" != *busybox* ]]
	[ "$(names "$HUSK")" = "<none>:<none> busybox:latest other:1 " ]
	"$HUSK" rm c u >/dev/null
	run "$HUSK" image prune -af
	[[ "$output" == *"untagged: busybox:latest"* ]]
	[[ "$output" == *"untagged: other:1"* ]]
	[[ "$output" == *"deleted: $used"* ]]
	[ -z "$("$HUSK" images -q)" ]
	# nothing left to take
	run "$HUSK" image prune -af
	[ "$status" -eq 0 ]
	[ "$output" = "Total reclaimed space: 0B" ]
}

@test "image prune and system prune ask first: only y goes on" {
	"$HUSK" import "$(rootfs_tar 1)" >/dev/null
	run "$HUSK" image prune <<<"n"
	[ "$status" -eq 0 ]
	[ "$output" = "WARNING! This will remove all dangling images.
Are you sure you want to continue? [y/N] " ]
	[ "$(names "$HUSK")" = "<none>:<none> " ]
	# no answer (stdin closed) is no
	run "$HUSK" image prune -a </dev/null
	[[ "$output" == *"all images without at least one container associated to them"* ]]
	[ "$(names "$HUSK")" = "<none>:<none> " ]
	run "$HUSK" image prune <<<"y"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Images:"* ]]
	[ -z "$("$HUSK" images -q)" ]

	"$HUSK" run --name done busybox true
	run "$HUSK" system prune --volumes <<<"no"
	[[ "$output" == *"  - all stopped containers"* ]]
	[[ "$output" == *"  - all anonymous volumes not used by at least one container"* ]]
	[[ "$output" == *"  - all dangling images"* ]]
	[ "$("$HUSK" ps -aq | wc -l)" -eq 1 ]
	run "$HUSK" system prune <<<"y"
	[[ "$output" != *"anonymous volumes"* ]]
	[[ "$output" == *"Deleted Containers:"* ]]
	[ -z "$("$HUSK" ps -aq)" ]
}

@test "system prune --volumes removes the anonymous volumes no container uses; -a the unused images" {
	"$HUSK" volume create named >/dev/null
	"$HUSK" run --name gone -v /gone busybox true
	"$HUSK" run -d --name up -v /kept busybox sleep 100
	gone=$("$HUSK" inspect gone | jq -r '.[0].Mounts[0].Name')
	kept=$("$HUSK" inspect up | jq -r '.[0].Mounts[0].Name')
	"$HUSK" tag busybox other:1
	NET=prune-net-$$
	"$HUSK" network create "$NET" >/dev/null
	# without --volumes the volumes stay
	run "$HUSK" system prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Containers:"* ]]
	[[ "$output" == *"Deleted Networks:"*"$NET"* ]]
	[[ "$output" != *"Deleted Volumes:"* ]]
	[ "$("$HUSK" volume ls -q | sort | tr '\n' ' ')" = "$(printf '%s\n' "$gone" "$kept" named | sort | tr '\n' ' ')" ]
	# the container that used it went with the prune above: now unused
	run "$HUSK" system prune -f --volumes
	[ "$status" -eq 0 ]
	[ "$(sed -n '/^Deleted Volumes:$/,/^$/p' <<<"$output" | sed -n 2p)" = "$gone" ]
	[[ "${lines[-1]}" == "Total reclaimed space: "* ]]
	# a named volume is not pruned (Docker's rule since 23.0), one in use neither
	[ "$("$HUSK" volume ls -q | sort | tr '\n' ' ')" = "$(printf '%s\n' "$kept" named | sort | tr '\n' ' ')" ]
	run "$HUSK" network inspect "$NET"
	[ "$status" -ne 0 ]
	NET=
	# -a: the images no container uses (other:1 is busybox, which up uses)
	"$HUSK" import "$(rootfs_tar 1)" flat:1 >/dev/null
	run "$HUSK" system prune -af
	[ "$status" -eq 0 ]
	[[ "$output" == *"untagged: flat:1"* ]]
	[ "$(names "$HUSK")" = "busybox:latest other:1 " ]
}

@test "image prune removes the same images as podman image prune, side by side" {
	podman_setup
	for engine in husk podman; do
		if [ $engine = husk ]; then e=("$HUSK"); else e=(pm); fi
		"${e[@]}" import "$(rootfs_tar 1)" >/dev/null
		"${e[@]}" import "$(rootfs_tar 2)" >/dev/null
		"${e[@]}" import "$(rootfs_tar 3)" kept:1 >/dev/null
		[ "$(names "${e[@]}")" = "<none>:<none> <none>:<none> kept:1 " ]
		run "${e[@]}" image prune -f
		[ "$status" -eq 0 ]
		[ "$(names "${e[@]}")" = "kept:1 " ]
		run "${e[@]}" image prune -af
		[ "$status" -eq 0 ]
		[ -z "$(names "${e[@]}")" ]
	done
}

@test "ps -s, {{.Size}} and inspect --size: the bytes a container wrote, and with its image's (virtual), as podman's" {
	podman_setup
	head -c 5000 /dev/zero >"$TEST_DIR/f"
	pm import "$(rootfs_tar 1)" localhost/base:1 >/dev/null
	"$HUSK" import "$(rootfs_tar 1)" localhost/base:1 >/dev/null
	for engine in husk podman; do
		if [ $engine = husk ]; then e=("$HUSK"); else e=(pm); fi
		"${e[@]}" create --name c localhost/base:1 true >/dev/null
		"${e[@]}" cp "$TEST_DIR/f" c:/f
		run "${e[@]}" ps -a -s --format '{{.Names}} {{.Size}}'
		[ "$status" -eq 0 ]
		# 5 kB written; busybox's 2 MB and 1 kB of /n below (podman's vfs counts 1.99MB)
		[[ "$output" =~ ^"c 5kB (virtual "[0-9.]+MB\)$ ]] || { echo "$engine: $output"; return 1; }
		run "${e[@]}" ps -as
		[[ "${lines[0]}" =~ NAMES\ +SIZE$ ]] || { echo "$engine: ${lines[0]}"; return 1; }
		[[ "${lines[1]}" == *" c "*"5kB (virtual "*MB")" ]] || { echo "$engine: ${lines[1]}"; return 1; }
		# inspect --size: the same two numbers, in bytes
		run "${e[@]}" container inspect --size -f '{{.SizeRw}} {{.SizeRootFs}}' c
		[[ "$output" =~ ^5[0-9]{3}\ [12][0-9]{6}$ ]] || { echo "$engine: $output"; return 1; }
		"${e[@]}" rm c >/dev/null
	done
	# without -s no SIZE column
	"$HUSK" create --name d busybox true >/dev/null
	run "$HUSK" ps -a
	[[ "${lines[0]}" != *SIZE* ]]
	run "$HUSK" ps -a --size --format '{{.Size}}'
	[ "$output" = "0B (virtual 2.13MB)" ]
	# as Docker's (Podman asks for -s): a format with .Size measures it
	run "$HUSK" ps -a --format '{{.Names}}: {{.Size}}'
	[ "$output" = "d: 0B (virtual 2.13MB)" ]
}
