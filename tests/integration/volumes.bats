#!/usr/bin/env bats
# Volumes and mounts as a Docker user drives them: husk volume
# create|ls|inspect|rm|prune, -v NAME:/path and anonymous -v /path with
# the copy of the image's content, --mount, --tmpfs, --read-only, rm -v,
# and Mounts in inspect.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	engine_setup
}

# nothing half-made or half-removed stays in the volume store
teardown() {
	local left=""
	left=$(ls -A "$HUSK_ROOT/volumes" 2>/dev/null | grep -E '^\.(new|rm)-' || true)
	engine_teardown
	[ -z "$left" ] || { echo "left in the volume store: $left"; return 1; }
}

# an image of the busybox rootfs and one more layer made from dir $3,
# loaded as $2 (with OCI_CONFIG_EXTRA as make_oci_image takes it)
load_image() {
	local dir=$1 ref=$2
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/base.tar" .
	tar --xattrs --xattrs-include='user.*' --numeric-owner -C "$dir" -cf "$TEST_DIR/top.tar" .
	make_oci_image "$TEST_DIR/img.tar" "$ref" "$TEST_DIR/base.tar" "$TEST_DIR/top.tar"
	"$HUSK" load -i "$TEST_DIR/img.tar" | sed -n 's/^Loaded image: //p'
}

@test "volume create, ls, inspect, rm: Docker's fields, a random name when none is given" {
	run "$HUSK" volume create --label app=web --label tier data
	[ "$status" -eq 0 ]
	[ "$output" = data ]
	# the same name again gives the volume back, as Docker does
	run "$HUSK" volume create data
	[ "$status" -eq 0 ]
	[ "$output" = data ]
	run "$HUSK" volume create
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	anon=$output
	run "$HUSK" volume ls
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	# sorted by name, as Docker lists them (the random name may sort either side)
	[ "$(printf '%s\n' "${lines[@]:1}")" = "$(printf 'local     %s\n' "$anon" data | sort -k2)" ]
	run "$HUSK" volume ls -q --filter label=app=web
	[ "$output" = data ]
	run "$HUSK" volume ls --format '{{.Name}} {{.Driver}} {{.Labels}}' --filter name=dat
	[ "$output" = "data local app=web,tier=" ]
	run "$HUSK" volume inspect data
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0] | keys | join(",")' <<<"$output")" = CreatedAt,Driver,Labels,Mountpoint,Name,Options,Scope ]
	[ "$(jq -r '.[0].Mountpoint' <<<"$output")" = "$HUSK_ROOT/volumes/data/_data" ]
	[ "$(jq -c '.[0].Labels' <<<"$output")" = '{"app":"web","tier":""}' ]
	[ "$(jq -r '.[0] | .Driver + " " + .Scope' <<<"$output")" = "local local" ]
	[[ "$(jq -r '.[0].CreatedAt' <<<"$output")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	[ -d "$HUSK_ROOT/volumes/data/_data" ]
	run "$HUSK" volume inspect -f '{{.Name}} {{.Scope}}' "$anon"
	[ "$output" = "$anon local" ]
	run "$HUSK" volume inspect nosuch
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: no such volume: "nosuch"' ]
	run "$HUSK" volume rm data "$anon"
	[ "$status" -eq 0 ]
	[ "$output" = "data"$'\n'"$anon" ]
	[ ! -e "$HUSK_ROOT/volumes/data" ]
	run "$HUSK" volume rm data
	[ "$status" -eq 125 ]
	run "$HUSK" volume rm -f data
	[ "$status" -eq 0 ]
}

@test "volume create: Docker's name rule and the local driver's options" {
	run "$HUSK" volume create a
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: create volume "a": volume name is too short, names should be at least two alphanumeric characters' ]
	for bad in ./x x/y .hidden _x; do
		run "$HUSK" volume create "$bad"
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"\"$bad\" includes invalid characters for a local volume name"* ]]
	done
	run "$HUSK" volume create --opt foo=bar v1
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid option key: "foo"'* ]]
	run "$HUSK" volume create --opt type=tmpfs v1
	[ "$status" -eq 125 ]
	[[ "$output" == *'missing required option: "device"'* ]]
	run "$HUSK" volume create --driver nfs v1
	[ "$status" -eq 125 ]
	[ -z "$(ls "$HUSK_ROOT/volumes" 2>/dev/null)" ]
}

@test "volume inspect has Docker's fields, each of which Podman's has too" {
	command -v podman >/dev/null || skip "no podman"
	local P="$TEST_DIR/podman"
	mkdir -p "$P"
	printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\ntmp_dir = "%s/tmp"\n' "$P" >"$P/c.conf"
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/root"\nrunroot = "%s/runroot"\n' "$P" "$P" >"$P/s.conf"
	pm=(env CONTAINERS_CONF="$P/c.conf" CONTAINERS_STORAGE_CONF="$P/s.conf" podman --root "$P/root" --runroot "$P/runroot")
	timeout 60 "${pm[@]}" volume create --label a=b v >/dev/null
	theirs=$(timeout 60 "${pm[@]}" volume inspect v)
	"$HUSK" volume create --label a=b vv >/dev/null
	ours=$("$HUSK" volume inspect vv)
	for k in $(jq -r '.[0] | keys[]' <<<"$ours"); do
		jq -e --arg k "$k" '.[0] | has($k)' <<<"$theirs" >/dev/null || { echo "podman has no $k"; false; }
	done
	[ "$(jq -c '.[0].Labels' <<<"$ours")" = "$(jq -c '.[0].Labels' <<<"$theirs")" ]
	[ "$(jq -c '.[0].Options' <<<"$ours")" = "$(jq -c '.[0].Options' <<<"$theirs")" ]
	# podman's own names for its volumes' directories: the same layout
	[[ "$(jq -r '.[0].Mountpoint' <<<"$theirs")" == */volumes/v/_data ]]
	"$HUSK" volume rm vv
}

@test "-v NAME:/path: the data outlives the container and two containers share it" {
	run "$HUSK" run --rm -v data:/data busybox sh -c 'echo kept >/data/f'
	[ "$status" -eq 0 ]
	# made on first use
	run "$HUSK" volume ls -q
	[ "$output" = data ]
	run "$HUSK" run --rm -v data:/data busybox cat /data/f
	[ "$output" = kept ]
	# a running container sees what another writes
	"$HUSK" run -d --name reader -v data:/shared busybox sh -c 'while [ ! -e /shared/go ]; do sleep 0.05; done; cat /shared/go'
	"$HUSK" run --rm -v data:/data busybox sh -c 'echo from-writer >/data/tmp && mv /data/tmp /data/go'
	run "$HUSK" wait reader
	[ "$output" = 0 ]
	run "$HUSK" logs reader
	[ "$output" = from-writer ]
	"$HUSK" rm reader
	"$HUSK" volume rm data
}

@test "copy-up: an empty named volume gets the image's content, kept as it was; a full one does not" {
	command -v python3 >/dev/null || skip "no python3"
	mkdir -p "$TEST_DIR/top/app/sub"
	echo config >"$TEST_DIR/top/app/conf"
	echo secret >"$TEST_DIR/top/app/sub/key"
	ln -s ../conf "$TEST_DIR/top/app/sub/link"
	ln "$TEST_DIR/top/app/sub/key" "$TEST_DIR/top/app/hard"
	mkfifo "$TEST_DIR/top/app/fifo"
	chown 1000:2000 "$TEST_DIR/top/app/conf"
	chown 33:33 "$TEST_DIR/top/app"
	chmod 750 "$TEST_DIR/top/app"
	chmod 4711 "$TEST_DIR/top/app/conf"
	chmod 600 "$TEST_DIR/top/app/sub/key"
	touch -d '2001-02-03 04:05:06' "$TEST_DIR/top/app/sub/key"
	python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.kind", b"cfg")' "$TEST_DIR/top/app/conf"
	img=$(load_image "$TEST_DIR/top" localhost/app:1)
	[ -n "$img" ]
	run "$HUSK" run --rm -v appdata:/app "$img" sh -c 'cd /app && stat -c "%n %u:%g %a" . conf sub/key fifo && readlink sub/link && cat sub/link'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ". 33:33 750" ]
	[ "${lines[1]}" = "conf 1000:2000 4711" ]
	[ "${lines[2]}" = "sub/key 0:0 600" ]
	[ "${lines[3]}" = "fifo 0:0 644" ]
	[ "${lines[4]}" = ../conf ]
	[ "${lines[5]}" = config ]
	# on the host, in the volume: the xattr and the time came along
	data="$HUSK_ROOT/volumes/appdata/_data"
	[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.kind").decode())' "$data/conf")" = cfg ]
	[ "$(stat -c %Y "$data/sub/key")" = "$(stat -c %Y "$TEST_DIR/top/app/sub/key")" ]
	# a hard link stays one
	[ "$(stat -c %i "$data/hard")" = "$(stat -c %i "$data/sub/key")" ]
	[ "$(stat -c %h "$data/hard")" = 2 ]
	# busybox's /etc into an empty named volume
	run "$HUSK" run --rm -v etcvol:/etc busybox cat /etc/passwd
	[[ "$output" == root:x:0:0:* ]]
	[ -f "$HUSK_ROOT/volumes/etcvol/_data/group" ]
	# a volume with content is not filled again, wherever it is mounted
	"$HUSK" run --rm -v full:/x busybox sh -c 'echo mine >/x/only'
	run "$HUSK" run --rm -v full:/etc busybox ls /etc
	[ "$output" = only ]
	# nocopy: none
	run "$HUSK" run --rm -v bare:/etc:nocopy busybox ls /etc
	[ -z "$output" ]
	run "$HUSK" run --rm --mount type=volume,src=bare2,dst=/etc,volume-nocopy busybox ls /etc
	[ -z "$output" ]
	"$HUSK" volume rm appdata etcvol full bare bare2
}

@test "anonymous volumes: -v /path and the image's VOLUME; rm -v and --rm remove them, rm keeps them dangling" {
	mkdir -p "$TEST_DIR/top/state"
	echo seeded >"$TEST_DIR/top/state/seed"
	img=$(OCI_CONFIG_EXTRA='"Volumes":{"/state":{}}' load_image "$TEST_DIR/top" localhost/vol:1)
	# the image's VOLUME: anonymous, filled from the image
	run "$HUSK" run --name a1 "$img" cat /state/seed
	[ "$output" = seeded ]
	name=$("$HUSK" inspect -f '{{json .Mounts}}' a1 | jq -r '.[0].Name')
	[[ "$name" =~ ^[0-9a-f]{64}$ ]]
	run "$HUSK" volume inspect -f '{{json .Labels}}' "$name"
	[ "$output" = '{"com.docker.volume.anonymous":""}' ]
	# in use: not dangling
	run "$HUSK" volume ls -q --filter dangling=true
	[ -z "$output" ]
	# plain rm keeps it, dangling
	"$HUSK" rm a1
	run "$HUSK" volume ls -q --filter dangling=true
	[ "$output" = "$name" ]
	"$HUSK" volume rm "$name"
	# rm -v removes it, and -v /path's
	"$HUSK" create --name a2 -v /extra "$img" true
	[ "$("$HUSK" volume ls -q | wc -l)" -eq 2 ]
	"$HUSK" rm -v a2
	[ -z "$("$HUSK" volume ls -q)" ]
	# a named volume stays with rm -v
	"$HUSK" create --name a3 -v keep:/keep busybox true
	"$HUSK" rm -v a3
	[ "$("$HUSK" volume ls -q)" = keep ]
	# --rm removes the anonymous ones when it exits
	run "$HUSK" run --rm -v /scratch "$img" sh -c 'echo x >/scratch/y'
	[ "$status" -eq 0 ]
	[ "$("$HUSK" volume ls -q)" = keep ]
	# a mount of the user's own on the VOLUME's path: no anonymous volume
	run "$HUSK" run --rm -v keep:/state "$img" ls /state
	[ "$output" = seed ]
	[ "$("$HUSK" volume ls -q)" = keep ]
	"$HUSK" volume rm keep
}

@test "--volumes-from: another container's volumes and binds at its paths, :ro, our own mounts first; its volumes stay in use by both" {
	mkdir "$TEST_DIR/src"
	echo host >"$TEST_DIR/src/f"
	"$HUSK" run -d --name data -v vf:/data -v "$TEST_DIR/src":/b:ro -v /anon --tmpfs /t busybox \
		sh -c 'echo named >/data/x; echo anon >/anon/y; while :; do sleep 0.1; done' >/dev/null
	ready() { "$HUSK" exec data cat /anon/y >/dev/null 2>&1; }
	for _ in $(seq 100); do ready && break; sleep 0.05; done
	# the same content at the same paths; the bind stays read-only; no tmpfs
	run "$HUSK" run --rm --volumes-from data busybox sh -c 'cat /data/x /b/f /anon/y; [ -e /t ] || echo no-t; touch /b/z 2>/dev/null || echo b-ro; echo w >/data/w && echo data-rw'
	[ "$output" = "$(printf 'named\nhost\nanon\nno-t\nb-ro\ndata-rw')" ]
	# :ro makes every one read-only
	run "$HUSK" run --rm --volumes-from data:ro busybox sh -c 'touch /data/q 2>/dev/null || echo ro'
	[ "$output" = ro ]
	# a mount of our own at one of its paths wins
	run "$HUSK" run --rm -v "$TEST_DIR/src":/data --volumes-from data busybox ls /data
	[ "$output" = f ]
	# inspect: Docker's HostConfig.VolumesFrom and the mounts
	"$HUSK" create --name user --volumes-from data busybox true >/dev/null
	[ "$("$HUSK" inspect -f '{{json .HostConfig.VolumesFrom}} {{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}' user)" = '["data"] /data:true /b:false /anon:true ' ]
	# the volume is in use by both; rm -v of the user leaves the other's anonymous volume
	"$HUSK" rm -f data >/dev/null
	run "$HUSK" volume rm vf
	[ "$status" -ne 0 ]
	[[ "$output" == *'in use by container "user"'* ]]
	"$HUSK" rm -v user >/dev/null
	[ "$("$HUSK" volume ls -q | wc -l)" -eq 2 ]
	# bad input: one line, 125
	run "$HUSK" run --rm --volumes-from nosuch busybox true
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: --volumes-from: no such container: "nosuch"' ]
	run "$HUSK" run --rm --volumes-from data:rx busybox true
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: --volumes-from "data:rx": the mode is ro or rw' ]
	[ -z "$("$HUSK" ps -aq)" ]
}

@test "volume rm of a volume a container mounts (running or not) is refused in one line naming it" {
	"$HUSK" create --name user1 -v busy:/b busybox true
	run "$HUSK" volume rm busy
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == 'husk: remove volume "busy": volume is in use by container "user1" ('* ]]
	run "$HUSK" volume rm -f busy
	[ "$status" -eq 125 ]
	"$HUSK" run -d --name user2 -v busy:/b busybox sleep 100
	"$HUSK" rm user1
	run "$HUSK" volume rm busy
	[ "$status" -eq 125 ]
	[[ "$output" == *'in use by container "user2"'* ]]
	[ -d "$HUSK_ROOT/volumes/busy/_data" ]
	"$HUSK" rm -f user2
	run "$HUSK" volume rm busy
	[ "$status" -eq 0 ]
}

@test "volume prune: anonymous unused volumes; --all named ones too; never one in use" {
	"$HUSK" volume create named
	"$HUSK" create --name keeper -v /held busybox true
	"$HUSK" create --name gone -v /freed busybox true
	freed=$("$HUSK" inspect -f '{{json .Mounts}}' gone | jq -r '.[0].Name')
	held=$("$HUSK" inspect -f '{{json .Mounts}}' keeper | jq -r '.[0].Name')
	"$HUSK" run --rm -v "$freed:/f" busybox sh -c 'head -c 1500 /dev/zero >/f/z'
	"$HUSK" rm gone
	run "$HUSK" volume prune -f
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Deleted Volumes:" ]
	[ "${lines[1]}" = "$freed" ]
	[ "${lines[2]}" = "Total reclaimed space: 1.5kB" ]
	[ "$("$HUSK" volume ls -q | sort)" = "$(printf '%s\n' "$held" named | sort)" ]
	# without -f it asks; no answer, nothing goes
	run "$HUSK" volume prune --all </dev/null
	[[ "$output" == "WARNING! This will remove all local volumes"* ]]
	[ "$("$HUSK" volume ls -q | wc -l)" -eq 2 ]
	run "$HUSK" volume prune -f --all
	[ "${lines[1]}" = named ]
	[ "$("$HUSK" volume ls -q)" = "$held" ]
	"$HUSK" rm -v keeper
	[ -z "$("$HUSK" volume ls -q)" ]
}

@test "ro: a write fails with EROFS (-v and --mount, binds and volumes); rw and options accepted" {
	mkdir "$TEST_DIR/host"
	echo h >"$TEST_DIR/host/f"
	run "$HUSK" run --rm -v "$TEST_DIR/host:/h:ro" busybox sh -c 'exec 2>&1; cat /h/f; touch /h/new'
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = h ]
	[ "${lines[1]}" = "touch: /h/new: Read-only file system" ]
	run "$HUSK" run --rm -v rov:/v:ro,z busybox touch /v/x
	[ "${lines[0]}" = "touch: /v/x: Read-only file system" ]
	run "$HUSK" run --rm --mount type=bind,source="$TEST_DIR/host",target=/h,readonly busybox touch /h/x
	[ "$output" = "touch: /h/x: Read-only file system" ]
	run "$HUSK" run --rm --mount type=volume,src=rov,dst=/v,ro=true busybox touch /v/x
	[ "$output" = "touch: /v/x: Read-only file system" ]
	run "$HUSK" run --rm -v "$TEST_DIR/host:/h:rw,Z,rprivate" busybox touch /h/new
	[ "$status" -eq 0 ]
	[ -e "$TEST_DIR/host/new" ]
	"$HUSK" volume rm rov
}

@test "-v with a missing host path makes it (Docker's); --mount names it as an error" {
	run "$HUSK" run --rm -v "$TEST_DIR/made/deep:/m" busybox sh -c 'echo in >/m/f'
	[ "$status" -eq 0 ]
	[ "$(cat "$TEST_DIR/made/deep/f")" = in ]
	run "$HUSK" run --rm --mount "type=bind,src=$TEST_DIR/nosuch,dst=/m" busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: invalid mount config for type \"bind\": bind source path does not exist: $TEST_DIR/nosuch" ]
	[ ! -e "$TEST_DIR/nosuch" ]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
}

@test "--tmpfs and --mount type=tmpfs are tmpfs of the size asked; inspect shows them as Docker does" {
	run "$HUSK" run --rm --tmpfs /t1:size=2m,mode=1770 --mount type=tmpfs,dst=/t2,tmpfs-size=3m,tmpfs-mode=700 busybox sh -c 'grep -E " /t[12] " /proc/mounts; stat -c "%a" /t1 /t2'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "tmpfs /t1 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770"* ]]
	[[ "${lines[1]}" == "tmpfs /t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=3072k,mode=700"* ]]
	[ "${lines[2]}" = 1770 ]
	[ "${lines[3]}" = 700 ]
	"$HUSK" create --name t --tmpfs /t1:size=2m --mount type=tmpfs,dst=/t2 busybox true
	[ "$("$HUSK" inspect -f '{{json .HostConfig.Tmpfs}}' t)" = '{"/t1":"size=2m"}' ]
	[ "$("$HUSK" inspect -f '{{json .Mounts}}' t)" = '[{"Type":"tmpfs","Source":"","Destination":"/t2","Mode":"","RW":true,"Propagation":""}]' ]
}

@test "--read-only: / is read-only, the mounts the user asks for are not" {
	run "$HUSK" run --rm --read-only --tmpfs /tmp -v rw1:/data busybox sh -c 'exec 2>&1; touch /x; touch /tmp/x && echo tmp-ok; touch /data/x && echo data-ok'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "touch: /x: Read-only file system" ]
	[ "${lines[1]}" = tmp-ok ]
	[ "${lines[2]}" = data-ok ]
	"$HUSK" create --name ro --read-only busybox true
	[ "$("$HUSK" inspect -f '{{.HostConfig.ReadonlyRootfs}}' ro)" = true ]
	"$HUSK" rm ro
	"$HUSK" volume rm rw1
}

@test "inspect: Mounts as Docker shows them, volumes with Name and Driver, binds without" {
	mkdir "$TEST_DIR/h"
	"$HUSK" create --name m -v named:/n -v "$TEST_DIR/h:/h:ro" --mount "type=bind,src=$TEST_DIR/h,dst=/b,bind-propagation=rslave" busybox true
	run "$HUSK" inspect -f '{{json .Mounts}}' m
	[ "$(jq -c '.[0]' <<<"$output")" = "{\"Type\":\"volume\",\"Name\":\"named\",\"Source\":\"$HUSK_ROOT/volumes/named/_data\",\"Destination\":\"/n\",\"Driver\":\"local\",\"Mode\":\"z\",\"RW\":true,\"Propagation\":\"\"}" ]
	[ "$(jq -c '.[1]' <<<"$output")" = "{\"Type\":\"bind\",\"Source\":\"$TEST_DIR/h\",\"Destination\":\"/h\",\"Mode\":\"ro\",\"RW\":false,\"Propagation\":\"rprivate\"}" ]
	[ "$(jq -c '.[2]' <<<"$output")" = "{\"Type\":\"bind\",\"Source\":\"$TEST_DIR/h\",\"Destination\":\"/b\",\"Mode\":\"\",\"RW\":true,\"Propagation\":\"rslave\"}" ]
	"$HUSK" rm m
	"$HUSK" volume rm named
}

@test "bad -v and --mount: one line naming what is wrong, exit 125, nothing made" {
	for spec in ./x:/y x/y:/z ../up:/z '~/h:/z'; do
		run "$HUSK" run --rm -v "$spec" busybox true
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"includes invalid characters for a local volume name"*"use absolute path" ]]
	done
	run "$HUSK" run --rm -v /a:relative busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid mount path: 'relative' mount path must be absolute"* ]]
	run "$HUSK" run --rm -v vol:rel/path busybox true
	[[ "$output" == *"invalid mount path: 'rel/path' mount path must be absolute"* ]]
	run "$HUSK" run --rm -v /a:/b:ro,bogus busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid mode: bogus"* ]]
	run "$HUSK" run --rm -v vol:/b:rshared busybox true
	[[ "$output" == *"invalid mode: rshared"* ]]
	run "$HUSK" run --rm -v /a:/b:/c:ro busybox true
	[[ "$output" == *"too many colons"* ]]
	run "$HUSK" run --rm -v /a:/ busybox true
	[[ "$output" == *"destination can't be '/'"* ]]
	run "$HUSK" run --rm --mount type=bind,src=/tmp,dst=/x,colour=red busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unexpected key 'colour'"* ]]
	run "$HUSK" run --rm --mount type=tmpfs,dst=/x,bind-propagation=shared busybox true
	[[ "$output" == *"bind-propagation does not go with type=tmpfs"* ]]
	run "$HUSK" run --rm --mount type=bind,dst=/x,tmpfs-size=1m,src=/tmp busybox true
	[[ "$output" == *"tmpfs-size does not go with type=bind"* ]]
	run "$HUSK" run --rm --mount type=bind,src=/tmp busybox true
	[[ "$output" == *"target is required"* ]]
	run "$HUSK" run --rm --mount type=bind,dst=/x busybox true
	[[ "$output" == *"field Source must not be empty"* ]]
	run "$HUSK" run --rm --mount type=bind,src=rel,dst=/x busybox true
	[[ "$output" == *"'rel' mount path must be absolute"* ]]
	run "$HUSK" run --rm --mount type=nfs,dst=/x busybox true
	[[ "$output" == *"invalid mount type: 'nfs'"* ]]
	run "$HUSK" run --rm --mount type=tmpfs,dst=/x,tmpfs-mode=999 busybox true
	[[ "$output" == *"tmpfs-mode \"999\""* ]]
	run "$HUSK" run --rm --mount type=bind,src=/tmp,dst=/x,readonly=maybe busybox true
	[[ "$output" == *"invalid value for readonly: maybe"* ]]
	run "$HUSK" run --rm -v v1:/x -v v2:/x busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: duplicate mount point: /x" ]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	[ -z "$(ls "$HUSK_ROOT/volumes" 2>/dev/null | grep -v '^\.lock$')" ]
}

@test "a volume's target that is a symlink in the image stays inside the container's root" {
	# /data -> /etc and /rel -> ../../../../etc in the image: both
	# resolve inside the container, never to the host's /etc
	mkdir -p "$TEST_DIR/top"
	ln -s /etc "$TEST_DIR/top/data"
	ln -s ../../../../../etc "$TEST_DIR/top/rel"
	img=$(load_image "$TEST_DIR/top" localhost/link:1)
	before=$(ls -la /etc | md5sum)
	run "$HUSK" run --rm -v evil:/data "$img" sh -c 'echo in-volume >/etc/marker; cat /etc/passwd'
	[ "$status" -eq 0 ]
	[[ "$output" == root:x:0:0:* ]]
	[ "$(cat "$HUSK_ROOT/volumes/evil/_data/marker")" = in-volume ]
	[ ! -e /etc/marker ]
	mkdir "$TEST_DIR/hostdir"
	run "$HUSK" run --rm -v "$TEST_DIR/hostdir:/rel" "$img" sh -c 'ls /etc; echo x >/etc/bound'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -e "$TEST_DIR/hostdir/bound" ]
	[ ! -e /etc/bound ]
	run "$HUSK" run --rm --mount "type=tmpfs,dst=/data" "$img" true
	[ "$status" -eq 0 ]
	[ "$(ls -la /etc | md5sum)" = "$before" ]
	grep -qv " /etc " /proc/self/mountinfo
	"$HUSK" volume rm evil
}

@test "two commands at once: one volume made, a create racing rm leaves a whole volume or none" {
	for i in $(seq 8); do "$HUSK" volume create race >/dev/null & done
	wait
	[ "$("$HUSK" volume ls -q)" = race ]
	"$HUSK" volume rm race
	# first uses of one new volume at once: each container gets it, copied once
	for i in 1 2 3 4; do "$HUSK" run --rm -v first:/etc busybox cat /etc/group >"$TEST_DIR/out$i" & done
	wait
	for i in 1 2 3 4; do grep -q '^root:x:0:' "$TEST_DIR/out$i"; done
	[ "$(ls "$HUSK_ROOT/volumes/first/_data" | sort | tr '\n' ' ')" = "group passwd " ]
	"$HUSK" volume rm first
	for i in $(seq 10); do
		"$HUSK" volume create flip >/dev/null 2>&1 &
		"$HUSK" volume rm -f flip >/dev/null 2>&1 &
		wait
		if [ -d "$HUSK_ROOT/volumes/flip" ]; then
			[ -d "$HUSK_ROOT/volumes/flip/_data" ] && [ -f "$HUSK_ROOT/volumes/flip/volume.json" ]
			"$HUSK" volume rm flip >/dev/null
		fi
	done
	[ -z "$("$HUSK" volume ls -q)" ]
}
