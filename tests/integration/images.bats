#!/usr/bin/env bats
# husk (the engine): images out (save), names (tag), inspection (image
# inspect, images), and layers in every compression the image spec names.
# The archives are checked by the clients users would hand them to:
# podman load + podman run (with runc: Debian's crun fails on this host),
# and skopeo inspect.

load helpers

HUSK=${HUSK:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/husk}

setup() {
	TEST_DIR=$(mktemp -d /tmp/husk-test.XXXXXX)
	export HUSK_ROOT="$TEST_DIR/lib" HUSK_RUNROOT="$TEST_DIR/run"
	# Podman in the test's own dirs: cgroupfs (no systemd here), the
	# ulimits this host allows, no network, runc with its state here too
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

teardown() {
	for c in $("$HUSK" ps -aq 2>/dev/null); do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	if [ -d "$TEST_DIR/pr" ]; then
		pm rm -af -t 0 >/dev/null 2>&1 || true
		pm system reset -f >/dev/null 2>&1 || true
		podman_cgroups_cleanup
	fi
	local left=""
	m=$(grep -F "$TEST_DIR" /proc/self/mountinfo | grep -v '/layers/' || true)
	[ -z "$m" ] || left+="mounts: $m"
	cg=$(for d in $(own_cgroup_dirs); do find "$d" -maxdepth 6 -type d -name 'husk-*' -newer "$TEST_DIR" 2>/dev/null; done || true)
	[ -z "$cg" ] || left+="cgroups: $cg"
	[ -z "$(ls -A "$TEST_DIR/runc-state" 2>/dev/null)" ] || left+="runc state: $(ls "$TEST_DIR/runc-state")"
	grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$TEST_DIR"
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# podman in the test's storage, time-bounded, without bats' fd 3
pm() {
	timeout 120 podman --root "$TEST_DIR/pr" --runroot "$TEST_DIR/prr" --storage-driver vfs "$@" 3>&-
}

need_podman() {
	command -v podman >/dev/null || skip "podman is not installed"
	podman_cgroups_note
	[ -x /usr/sbin/runc ] || skip "runc is not installed"
}

# marked_rootfs DIR WORD: the busybox rootfs with /marker holding WORD
marked_rootfs() {
	cp -a "$(rootfs_template)" "$1"
	echo "$2" >"$1/marker"
}

# import_marked NAME WORD [gzip]: a one-layer husk image with /marker
import_marked() {
	local d
	d=$(mktemp -d "$TEST_DIR/rootfs.XXXXXX")
	rm -rf "$d"
	marked_rootfs "$d" "$2"
	if [ "${3:-}" = gzip ]; then
		tar -C "$d" -czf "$d.tar.gz" . && "$HUSK" import "$d.tar.gz" "$1" >/dev/null
	else
		tar -C "$d" -cf "$d.tar" . && "$HUSK" import "$d.tar" "$1" >/dev/null
	fi
}

@test "husk save (oci-archive, the default) -> podman load -> podman run; skopeo inspect reads it" {
	need_podman
	import_marked localhost/marked:v1 oci-marker gzip
	run "$HUSK" save -o "$TEST_DIR/img.tar" localhost/marked:v1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# an OCI layout; the name where podman and containerd look for it
	run tar -xOf "$TEST_DIR/img.tar" oci-layout
	[ "$(jq -r .imageLayoutVersion <<<"$output")" = 1.0.0 ]
	index=$(tar -xOf "$TEST_DIR/img.tar" index.json)
	[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' <<<"$index")" = localhost/marked:v1 ]
	[ "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' <<<"$index")" = localhost/marked:v1 ]
	# the store's blobs as they are: the manifest digest and the id survive
	digest=$("$HUSK" image inspect --format '{{.Digest}}' localhost/marked:v1)
	id=$("$HUSK" image inspect --format '{{.Id}}' localhost/marked:v1)
	[ "$(jq -r '.manifests[0].digest' <<<"$index")" = "$digest" ]
	run skopeo inspect "oci-archive:$TEST_DIR/img.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -r .Digest <<<"$output")" = "$digest" ]
	[ "$(jq -r '.Layers | length' <<<"$output")" -eq 1 ]
	run skopeo inspect --config "oci-archive:$TEST_DIR/img.tar"
	[ "$(jq -r '.rootfs.diff_ids | length' <<<"$output")" -eq 1 ]

	run pm load -i "$TEST_DIR/img.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: localhost/marked:v1"* ]]
	[ "$(pm image inspect --format '{{.ID}}' localhost/marked:v1)" = "$id" ]
	run pm run --rm --runtime "$TEST_DIR/runc" localhost/marked:v1 cat /marker
	[ "$status" -eq 0 ]
	[ "$output" = oci-marker ]
}

@test "husk save --format docker-archive: plain layer tars named by diff id -> podman load -> podman run" {
	need_podman
	# stored gzip-compressed: the archive must carry the plain tar
	import_marked localhost/first:v1 first-marker gzip
	import_marked localhost/second:v2 second-marker
	run "$HUSK" save --format docker-archive -o "$TEST_DIR/img.tar" localhost/first:v1 localhost/second:v2
	[ "$status" -eq 0 ]
	mkdir "$TEST_DIR/x"
	tar -C "$TEST_DIR/x" -xf "$TEST_DIR/img.tar"
	manifest=$(cat "$TEST_DIR/x/manifest.json")
	[ "$(jq length <<<"$manifest")" -eq 2 ]
	[ "$(jq -r '.[0].RepoTags[0]' <<<"$manifest")" = localhost/first:v1 ]
	[ "$(jq -r '.[1].RepoTags[0]' <<<"$manifest")" = localhost/second:v2 ]
	[ "$(jq -r '."localhost/first".v1' "$TEST_DIR/x/repositories")" != null ]
	for i in 0 1; do
		config=$(jq -r ".[$i].Config" <<<"$manifest")
		layer=$(jq -r ".[$i].Layers[0]" <<<"$manifest")
		# the config is the image id; each layer hashes to its diff id
		[ "sha256:${config%.json}" = "sha256:$(sha256sum "$TEST_DIR/x/$config" | cut -d' ' -f1)" ]
		[ "$(jq -r '.rootfs.diff_ids[0]' "$TEST_DIR/x/$config")" = "sha256:$(sha256sum "$TEST_DIR/x/$layer" | cut -d' ' -f1)" ]
		[ "$layer" = "$(sha256sum "$TEST_DIR/x/$layer" | cut -d' ' -f1).tar" ]
		tar -tf "$TEST_DIR/x/$layer" | grep -qx './marker'
	done

	run pm load -i "$TEST_DIR/img.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: localhost/first:v1"* ]]
	[[ "$output" == *"Loaded image: localhost/second:v2"* ]]
	run pm run --rm --runtime "$TEST_DIR/runc" localhost/first:v1 cat /marker
	[ "$status" -eq 0 ]
	[ "$output" = first-marker ]
	run pm run --rm --runtime "$TEST_DIR/runc" localhost/second:v2 cat /marker
	[ "$output" = second-marker ]
}

@test "podman save (oci-archive and docker-archive) -> husk load -> husk run" {
	need_podman
	marked_rootfs "$TEST_DIR/rootfs" from-podman
	tar -C "$TEST_DIR/rootfs" -cf "$TEST_DIR/rootfs.tar" .
	pm import "$TEST_DIR/rootfs.tar" localhost/frompm:v1 >/dev/null
	pm save --format oci-archive -o "$TEST_DIR/pm-oci.tar" localhost/frompm:v1
	pm save --format docker-archive -o "$TEST_DIR/pm-docker.tar" localhost/frompm:v1
	pm_id=$(pm image inspect --format '{{.ID}}' localhost/frompm:v1)

	run "$HUSK" load -i "$TEST_DIR/pm-oci.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/frompm:v1" ]
	run "$HUSK" run --rm localhost/frompm:v1 cat /marker
	[ "$status" -eq 0 ]
	[ "$output" = from-podman ]
	[ "$("$HUSK" image inspect --format '{{.Id}}' localhost/frompm:v1)" = "$pm_id" ]
	"$HUSK" rmi localhost/frompm:v1 >/dev/null

	run "$HUSK" load -i "$TEST_DIR/pm-docker.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/frompm:v1" ]
	run "$HUSK" run --rm localhost/frompm:v1 cat /marker
	[ "$status" -eq 0 ]
	[ "$output" = from-podman ]
	[ "$("$HUSK" image inspect --format '{{.Id}}' localhost/frompm:v1)" = "$pm_id" ]
}

@test "husk load: zstd and gzip layers (OCI media types) unpack and run; saved, they go out as they came or plain" {
	mkdir -p "$TEST_DIR/l2/etc"
	echo zstd-and-gzip >"$TEST_DIR/l2/marker"
	echo added >"$TEST_DIR/l2/etc/added"
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/l1.tar" .
	tar -C "$TEST_DIR/l2" -cf "$TEST_DIR/l2.tar" .
	make_oci_image "$TEST_DIR/z.tar" localhost/zimg:v1 "$TEST_DIR/l1.tar:zstd" "$TEST_DIR/l2.tar:gzip"
	# really compressed as named: zstd's and gzip's magic numbers
	mkdir "$TEST_DIR/z"
	tar -C "$TEST_DIR/z" -xf "$TEST_DIR/z.tar"
	mdigest=$(jq -r '.manifests[0].digest' "$TEST_DIR/z/index.json")
	manifest="$TEST_DIR/z/blobs/sha256/${mdigest#sha256:}"
	l1=$(jq -r '.layers[0].digest' "$manifest")
	l2=$(jq -r '.layers[1].digest' "$manifest")
	[ "$(od -An -tx1 -N4 "$TEST_DIR/z/blobs/sha256/${l1#sha256:}" | tr -d ' ')" = 28b52ffd ]
	[ "$(od -An -tx1 -N2 "$TEST_DIR/z/blobs/sha256/${l2#sha256:}" | tr -d ' ')" = 1f8b ]

	run "$HUSK" load -i "$TEST_DIR/z.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/zimg:v1" ]
	run "$HUSK" run --rm localhost/zimg:v1 sh -c 'cat /marker /etc/added; /bin/busybox true && echo ok'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = zstd-and-gzip ]
	[ "${lines[1]}" = added ]
	[ "${lines[2]}" = ok ]

	# oci-archive: the compressed blobs and their media types, unchanged
	"$HUSK" save -o "$TEST_DIR/out-oci.tar" localhost/zimg:v1
	run skopeo inspect --raw "oci-archive:$TEST_DIR/out-oci.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.layers[0].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+zstd ]
	[ "$(jq -r '.layers[1].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+gzip ]
	[ "$(jq -r '.layers[0].digest' <<<"$output")" = "$l1" ]
	# docker-archive: decompressed to the exact tars the diff ids name
	"$HUSK" save --format docker-archive -o "$TEST_DIR/out-docker.tar" localhost/zimg:v1
	mkdir "$TEST_DIR/d"
	tar -C "$TEST_DIR/d" -xf "$TEST_DIR/out-docker.tar"
	cmp "$TEST_DIR/d/$(sha256sum "$TEST_DIR/l1.tar" | cut -d' ' -f1).tar" "$TEST_DIR/l1.tar"
	cmp "$TEST_DIR/d/$(sha256sum "$TEST_DIR/l2.tar" | cut -d' ' -f1).tar" "$TEST_DIR/l2.tar"
	# and both load back into a fresh store and run
	for f in out-oci out-docker; do
		run env HUSK_ROOT="$TEST_DIR/lib-$f" "$HUSK" load -i "$TEST_DIR/$f.tar"
		[ "$status" -eq 0 ]
		run env HUSK_ROOT="$TEST_DIR/lib-$f" "$HUSK" run --rm localhost/zimg:v1 cat /marker
		[ "$output" = zstd-and-gzip ]
	done
}

@test "husk save: a failure leaves no file; bad formats, images and outputs are refused" {
	import_marked localhost/ok:v1 ok-marker gzip
	import_marked localhost/good:v1 good-marker
	# a layer blob that no longer matches its diff id: found half way
	blob=$(jq -r '.images["localhost/ok:v1"].layers[0].digest' "$HUSK_ROOT/images.json")
	printf 'garbage' | gzip >"$HUSK_ROOT/blobs/sha256/${blob#sha256:}"
	mkdir "$TEST_DIR/out"
	run "$HUSK" save --format docker-archive -o "$TEST_DIR/out/img.tar" localhost/ok:v1
	[ "$status" -eq 125 ]
	[[ "$output" == *"diff id mismatch"* ]]
	[ -z "$(ls -A "$TEST_DIR/out")" ]
	[ -z "$(ls -A "$HUSK_ROOT/tmp")" ]
	# an existing file is not touched by a failed save
	echo keep >"$TEST_DIR/out/old.tar"
	run "$HUSK" save -o "$TEST_DIR/out/old.tar" localhost/good:v1 nosuchimage
	[ "$status" -eq 125 ]
	[[ "$output" == *'"nosuchimage"'* ]]
	[ "$(cat "$TEST_DIR/out/old.tar")" = keep ]
	[ "$(ls "$TEST_DIR/out")" = old.tar ]
	run "$HUSK" save --format oci-dir -o "$TEST_DIR/out/x.tar" localhost/good:v1
	[ "$status" -eq 125 ]
	[[ "$output" == *'--format "oci-dir": expected oci-archive or docker-archive'* ]]
	run "$HUSK" save -o "$TEST_DIR/out" localhost/good:v1
	[ "$status" -eq 125 ]
	run "$HUSK" save -o "$TEST_DIR/out/x.tar"
	[ "$status" -eq 125 ]
	[[ "$output" == *"save: expected IMAGE..."* ]]
	[ "$(ls "$TEST_DIR/out")" = old.tar ]
	# -o - and a pipe: the archive on stdout
	"$HUSK" save -o - localhost/good:v1 | tar -t >"$TEST_DIR/list"
	grep -qx index.json "$TEST_DIR/list"
}

@test "husk tag: a second name for the same manifest; rmi of one keeps the other; bad names refused" {
	import_marked localhost/orig:v1 tag-marker
	run "$HUSK" tag localhost/orig:v1 other/name:v2
	[ "$status" -eq 0 ]
	[ "$(jq -r '.images["other/name:v2"].manifest' "$HUSK_ROOT/images.json")" = \
		"$(jq -r '.images["localhost/orig:v1"].manifest' "$HUSK_ROOT/images.json")" ]
	# by id prefix, and without a tag: latest
	id=$("$HUSK" image inspect --format '{{.Id}}' localhost/orig:v1)
	run "$HUSK" tag "${id:0:12}" bare
	[ "$status" -eq 0 ]
	run "$HUSK" image inspect --format '{{.RepoTags}}' bare:latest
	[ "$output" = "[bare:latest localhost/orig:v1 other/name:v2]" ]
	run "$HUSK" rmi localhost/orig:v1 bare
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm other/name:v2 cat /marker
	[ "$status" -eq 0 ]
	[ "$output" = tag-marker ]
	[ "$(ls "$HUSK_ROOT/layers" | grep -vc '^\.')" -ge 1 ]
	for bad in 'Upper/case' 'a..b' 'trailing/' 'x:-tag' 'x:' 'x@sha256:0000' 'a b' '-lead'; do
		run "$HUSK" tag -- other/name:v2 "$bad"
		[ "$status" -eq 125 ]
		[[ "$output" == *"invalid image name \"$bad\""* ]]
	done
	run "$HUSK" tag nosuch:v1 fine:v1
	[ "$status" -eq 125 ]
	[[ "$output" == *nosuch* ]]
	# names with a registry and a port are fine
	run "$HUSK" tag other/name:v2 localhost:5000/ns/a-b__c.d:1.0_x
	[ "$status" -eq 0 ]
	[ "$(jq -r '.images | keys | join(" ")' "$HUSK_ROOT/images.json")" = "localhost:5000/ns/a-b__c.d:1.0_x other/name:v2" ]
}

@test "husk image inspect: podman's fields as JSON, and --format" {
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/l1.tar" .
	make_oci_image "$TEST_DIR/img.tar" localhost/insp:v1 "$TEST_DIR/l1.tar:gzip"
	"$HUSK" load -i "$TEST_DIR/img.tar" >/dev/null
	"$HUSK" tag localhost/insp:v1 localhost/insp:v2
	run "$HUSK" image inspect localhost/insp:v1
	[ "$status" -eq 0 ]
	j=$output
	[ "$(jq length <<<"$j")" -eq 1 ]
	config_digest=$(jq -r '.images["localhost/insp:v1"].config' "$HUSK_ROOT/images.json")
	manifest_digest=$(jq -r '.images["localhost/insp:v1"].manifest' "$HUSK_ROOT/images.json")
	[ "$(jq -r '.[0].Id' <<<"$j")" = "${config_digest#sha256:}" ]
	[ "$(jq -r '.[0].Digest' <<<"$j")" = "$manifest_digest" ]
	[ "$(jq -c '.[0].RepoTags' <<<"$j")" = '["localhost/insp:v1","localhost/insp:v2"]' ]
	[ "$(jq -c '.[0].RepoDigests' <<<"$j")" = "[\"localhost/insp@$manifest_digest\"]" ]
	[ "$(jq -r '.[0].Created' <<<"$j")" = 2024-01-02T03:04:05Z ]
	[ "$(jq -r '.[0].Architecture + "/" + .[0].Os' <<<"$j")" = amd64/linux ]
	[ "$(jq -c '.[0].Config.Cmd' <<<"$j")" = '["sh"]' ]
	[ "$(jq -r '.[0].RootFS.Type' <<<"$j")" = layers ]
	[ "$(jq -r '.[0].RootFS.Layers[0]' <<<"$j")" = "sha256:$(sha256sum "$TEST_DIR/l1.tar" | cut -d' ' -f1)" ]
	[ "$(jq -r '.[0].Labels["made.by"]' <<<"$j")" = husk-tests ]
	[ "$(jq -r '.[0].Size' <<<"$j")" -gt 100000 ]

	run "$HUSK" image inspect --format '{{.Id}}|{{.ID}}|{{.Digest}}|{{.Created}}|{{.Config.Cmd}}|{{json .Config.Env}}|{{.Config.Labels}}' localhost/insp:v1
	[ "$status" -eq 0 ]
	[ "$output" = "${config_digest#sha256:}|${config_digest#sha256:}|$manifest_digest|2024-01-02T03:04:05Z|[sh]|[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\"]|map[made.by:husk-tests]" ]
	# two images, one line each; by id prefix too
	run "$HUSK" image inspect -f '{{.Size}}' localhost/insp:v1 "${config_digest:7:12}"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "$(jq -r '.[0].Size' <<<"$j")" ]
	# what the subset does not take, said clearly
	run "$HUSK" image inspect --format '{{.Nope}}' localhost/insp:v1
	[ "$status" -eq 125 ]
	[[ "$output" == *'unknown field ".Nope"'* ]]
	run "$HUSK" image inspect --format '{{range .RepoTags}}{{.}}' localhost/insp:v1
	[ "$status" -eq 125 ]
	[[ "$output" == *'"{{range .RepoTags}}" has no {{end}}'* ]]
	run "$HUSK" image inspect --format '{{joinx .RepoTags ","}}' localhost/insp:v1
	[ "$status" -eq 125 ]
	[[ "$output" == *'unknown function "joinx"'* ]]
	# docker's everyday forms: range, join, index, a pipe
	run "$HUSK" image inspect --format '{{range .RepoTags}}{{.}} {{end}}|{{join .RepoTags ","}}|{{index .Config.Labels "made.by" | upper}}|{{index .Config.Labels "nope"}}|{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}' localhost/insp:v1
	[ "$status" -eq 0 ]
	[ "$output" = "localhost/insp:v1 localhost/insp:v2 |localhost/insp:v1,localhost/insp:v2|HUSK-TESTS||made.by=husk-tests" ]
	run "$HUSK" image inspect localhost/insp:v1 nosuchimage
	[ "$status" -eq 125 ]
	[[ "$output" == *'"nosuchimage"'* ]]
}

@test "husk images: docker's columns, -q, --digests, --no-trunc, --format, a REPOSITORY filter" {
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/l1.tar" .
	make_oci_image "$TEST_DIR/img.tar" localhost/list:v1 "$TEST_DIR/l1.tar"
	"$HUSK" load -i "$TEST_DIR/img.tar" >/dev/null
	"$HUSK" run --rm busybox true
	config_digest=$(jq -r '.images["localhost/list:v1"].config' "$HUSK_ROOT/images.json")
	manifest_digest=$(jq -r '.images["localhost/list:v1"].manifest' "$HUSK_ROOT/images.json")
	hex=${config_digest#sha256:}
	size=$(jq -r '.images["localhost/list:v1"].size' "$HUSK_ROOT/images.json")

	run "$HUSK" images
	[ "$status" -eq 0 ]
	read -ra head <<<"${lines[0]}"
	[ "${head[*]}" = "REPOSITORY TAG IMAGE ID CREATED SIZE" ]
	row=$(grep '^localhost/list ' <<<"$output")
	read -ra f <<<"$row"
	[ "${f[1]}" = v1 ]
	[ "${f[2]}" = "${hex:0:12}" ]
	[[ "$row" == *" ago "* ]]
	# docker's human sizes: decimal units, three digits
	[[ "${f[-1]}" =~ ^[0-9.]+(B|kB|MB)$ ]]
	[ "${f[-1]}" = "$(awk -v s="$size" 'BEGIN { u="B"; if (s >= 1000) { s /= 1000; u="kB" } if (s >= 1000) { s /= 1000; u="MB" } printf "%.3g%s", s, u }')" ]
	grep -q '^busybox  *latest ' <<<"$output"
	# image ls is the same command
	[ "$("$HUSK" image ls)" = "$output" ]

	run "$HUSK" images -q
	[[ "$output" == *"${hex:0:12}"* ]]
	[ "${#lines[@]}" -eq 2 ]
	run "$HUSK" images -q --no-trunc localhost/list
	[ "$output" = "$config_digest" ]
	run "$HUSK" images --digests localhost/list
	read -ra head <<<"${lines[0]}"
	[ "${head[*]}" = "REPOSITORY TAG DIGEST IMAGE ID CREATED SIZE" ]
	read -ra f <<<"${lines[1]}"
	[ "${f[2]}" = "$manifest_digest" ]
	[ "${#lines[@]}" -eq 2 ]
	run "$HUSK" images --no-trunc localhost/list:v1
	[[ "${lines[1]}" == *"$config_digest"* ]]
	run "$HUSK" images 'localhost/list:v*'
	[ "${#lines[@]}" -eq 2 ]
	run "$HUSK" images localhost/list:v2
	[ "${#lines[@]}" -eq 1 ]

	run "$HUSK" images --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}} {{.Size}} {{.CreatedAt}} {{.CreatedSince}}' localhost/list
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^"localhost/list:v1 ${hex:0:12} $manifest_digest ${f[-1]} 2024-01-02 03:04:05 +0000 UTC "[0-9]+" years ago"$ ]]
	run "$HUSK" images --format '{{.Repository}}\t{{.Tag}}' busybox
	[ "$output" = "busybox	latest" ]
	run "$HUSK" images --format '{{.Repo}}'
	[ "$status" -eq 125 ]
	[[ "$output" == *'unknown field ".Repo"'* ]]
	[[ "$output" == *".Repository"* ]]
}
