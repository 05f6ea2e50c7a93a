#!/usr/bin/env bats
# The image store at scale and under concurrency: images of hundreds of
# layers, a store overlay cannot use, loads racing each other, and a load
# killed half way.

load helpers

HUSK=${HUSK:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/husk}

setup() {
	TEST_DIR=$(mktemp -d /tmp/husk-test.XXXXXX)
	export HUSK_ROOT="$TEST_DIR/lib" HUSK_RUNROOT="$TEST_DIR/run"
}

teardown() {
	for c in $("$HUSK" ps -aq 2>/dev/null); do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	local left=""
	m=$(grep -F "$TEST_DIR" /proc/self/mountinfo || true)
	[ -z "$m" ] || left+="mounts: $m; "
	c=$(ls -A "$HUSK_ROOT/containers" 2>/dev/null || true)
	[ -z "$c" ] || left+="containers: $c; "
	t=$(ls -A "$HUSK_ROOT/tmp" 2>/dev/null; ls -A "$HUSK_ROOT/layers" 2>/dev/null | grep '^\.' || true)
	[ -z "$t" ] || left+="temp dirs: $t; "
	grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$TEST_DIR"
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# many_layers N DIR: DIR/1.tar (busybox and /lowest) .. DIR/N.tar (/highest),
# each layer in between adding one small file /layers/<i>
many_layers() {
	local n=$1 d=$2 i
	mkdir -p "$d/src"
	cp -a "$(rootfs_template)" "$d/src/1"
	echo lowest >"$d/src/1/lowest"
	tar -C "$d/src/1" -cf "$d/1.tar" .
	for i in $(seq 2 "$n"); do
		mkdir -p "$d/src/$i/layers"
		echo "$i" >"$d/src/$i/layers/$i"
		[ "$i" -ne "$n" ] || echo highest >"$d/src/$i/highest"
		tar -C "$d/src/$i" -cf "$d/$i.tar" .
	done
}

@test "husk load + run: an image of 150 layers, each layer seen through the overlay" {
	many_layers 150 "$TEST_DIR/l"
	make_oci_image "$TEST_DIR/img.tar" "localhost/tall:v1" $(seq -f "$TEST_DIR/l/%g.tar" 1 150)
	run "$HUSK" load -i "$TEST_DIR/img.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tall:v1"* ]]
	[ "$(ls "$HUSK_ROOT/layers" | wc -l)" -eq 150 ]
	run "$HUSK" run --rm localhost/tall:v1 sh -c 'cat /lowest /layers/75 /highest; ls /layers | wc -l'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = lowest ]
	[ "${lines[1]}" = 75 ]
	[ "${lines[2]}" = highest ]
	[ "${lines[3]}" -eq 149 ]
}

@test "husk run: 500 layers (overlay's maximum) run; 501 fail clearly and leave nothing" {
	many_layers 501 "$TEST_DIR/l"
	make_oci_image "$TEST_DIR/500.tar" "localhost/max:500" $(seq -f "$TEST_DIR/l/%g.tar" 1 500)
	make_oci_image "$TEST_DIR/501.tar" "localhost/max:501" $(seq -f "$TEST_DIR/l/%g.tar" 1 501)
	run "$HUSK" load -i "$TEST_DIR/500.tar"
	[ "$status" -eq 0 ]
	run "$HUSK" load -i "$TEST_DIR/501.tar"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm localhost/max:500 sh -c 'cat /lowest /layers/499'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = lowest ]
	[ "${lines[1]}" = 499 ]
	run "$HUSK" run --rm localhost/max:501 cat /lowest
	[ "$status" -eq 125 ]
	[[ "$output" == *'"localhost/max:501" has 501 layers'* ]]
	[[ "$output" == *"500 at most"* ]]
	[ -z "$(ls -A "$HUSK_ROOT/containers")" ]
	[ -z "$(grep -F "$TEST_DIR" /proc/self/mountinfo || true)" ]
}

@test "husk run: a store made before short layer links gets them when an image runs" {
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/l1.tar" .
	mkdir -p "$TEST_DIR/l2"
	echo two >"$TEST_DIR/l2/two"
	tar -C "$TEST_DIR/l2" -cf "$TEST_DIR/l2.tar" .
	make_oci_image "$TEST_DIR/img.tar" "localhost/old:v1" "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	"$HUSK" load -i "$TEST_DIR/img.tar"
	# an old store: no l/ at all
	rm -rf "$HUSK_ROOT/l"
	run "$HUSK" run --rm localhost/old:v1 cat /two
	[ "$status" -eq 0 ]
	[ "$output" = two ]
	for l in "$HUSK_ROOT"/l/*; do
		[ -d "$l/" ]
		[[ "$(readlink "$l")" == ../layers/"$(basename "$l")"* ]]
	done
	[ "$(ls "$HUSK_ROOT/l" | wc -l)" -eq 2 ]
}

@test "husk run: a store on a filesystem overlay refuses as upper dir fails clearly, leaves nothing" {
	# as when husk runs inside a container whose / is overlayfs
	mkdir -p "$TEST_DIR"/ovl/{lower,upper,work,merged}
	mount -t overlay overlay -o "lowerdir=$TEST_DIR/ovl/lower,upperdir=$TEST_DIR/ovl/upper,workdir=$TEST_DIR/ovl/work" "$TEST_DIR/ovl/merged"
	store="$TEST_DIR/ovl/merged/lib"
	run env HUSK_ROOT="$store" "$HUSK" run --rm busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"overlay refuses the store \"$store\""* ]]
	[[ "$output" == *"on overlayfs"* ]]
	[[ "$output" == *"not supported as upperdir"* ]]
	[[ "$output" == *"--root on another filesystem"* ]]
	[ -z "$(ls -A "$store/containers")" ]
	[ "$(grep -cF "$TEST_DIR" /proc/self/mountinfo)" -eq 1 ]
	umount "$TEST_DIR/ovl/merged"
}

@test "husk load: 4 loads at once sharing a 20 MB layer: all succeed, the layer is unpacked once" {
	command -v strace >/dev/null || skip "no strace"
	mkdir -p "$TEST_DIR/shared"
	cp -a "$(rootfs_template)/." "$TEST_DIR/shared/"
	head -c 20M /dev/urandom >"$TEST_DIR/shared/big"
	tar -C "$TEST_DIR/shared" -cf "$TEST_DIR/shared.tar" .
	shared=$(sha256sum "$TEST_DIR/shared.tar" | cut -d' ' -f1)
	for i in 1 2 3 4; do
		mkdir -p "$TEST_DIR/own$i"
		echo "$i" >"$TEST_DIR/own$i/own"
		tar -C "$TEST_DIR/own$i" -cf "$TEST_DIR/own$i.tar" .
		make_oci_image "$TEST_DIR/img$i.tar" "localhost/par:$i" "$TEST_DIR/shared.tar" "$TEST_DIR/own$i.tar"
	done
	# all four wait for the same start signal; strace records the files
	# each one creates, so the unpacks of the shared layer can be counted
	pids=()
	for i in 1 2 3 4; do
		(
			while [ ! -e "$TEST_DIR/go" ]; do sleep 0.01; done
			ASAN_OPTIONS=detect_leaks=0 exec strace -f -qq -e trace=openat,openat2 -o "$TEST_DIR/trace$i" "$HUSK" load -i "$TEST_DIR/img$i.tar"
		) >"$TEST_DIR/out$i" 2>&1 &
		pids+=($!)
	done
	touch "$TEST_DIR/go"
	for i in 0 1 2 3; do
		wait "${pids[$i]}" || { cat "$TEST_DIR/out$((i + 1))"; false; }
	done
	# the shared layer's file "big" was written once, by one of the loads
	unpacks=$(cat "$TEST_DIR"/trace* | grep -c '"big", O_WRONLY|O_CREAT.* = [0-9]')
	[ "$unpacks" -eq 1 ]
	[ "$(ls "$HUSK_ROOT/layers" | wc -l)" -eq 5 ]
	[ -d "$HUSK_ROOT/layers/$shared" ]
	# no lost update of images.json
	run jq -r '.images | keys[]' "$HUSK_ROOT/images.json"
	[ "$output" = "$(printf 'localhost/par:%s\n' 1 2 3 4)" ]
	for i in 1 2 3 4; do
		run "$HUSK" run --rm "localhost/par:$i" sh -c 'cat /own; wc -c </big'
		[ "${lines[0]}" = "$i" ]
		[ "${lines[1]}" -eq $((20 * 1024 * 1024)) ]
	done
}

@test "husk load killed with kill -9 while unpacking: nothing registered, nothing half made; prune or a rerun clears it" {
	mkdir -p "$TEST_DIR/big"
	cp -a "$(rootfs_template)/." "$TEST_DIR/big/"
	# many files: the unpack takes a while, long enough to be caught
	mkdir "$TEST_DIR/big/many"
	(cd "$TEST_DIR/big/many" && seq 1 40000 | xargs touch)
	head -c 200M /dev/zero >"$TEST_DIR/big/zero"
	tar -C "$TEST_DIR/big" -cf "$TEST_DIR/big.tar" .
	hex=$(sha256sum "$TEST_DIR/big.tar" | cut -d' ' -f1)
	make_oci_image "$TEST_DIR/img.tar" "localhost/killed:v1" "$TEST_DIR/big.tar"
	load_and_kill() {
		"$HUSK" load -i "$TEST_DIR/img.tar" >/dev/null 2>&1 &
		pid=$!
		# kill it once the unpack of the layer has begun
		for _ in $(seq 3000); do
			[ -n "$(find "$HUSK_ROOT/layers" -mindepth 2 -maxdepth 2 -name many 2>/dev/null)" ] && break
			sleep 0.01
		done
		kill -9 "$pid"
		wait "$pid" || true
	}
	# prune takes what a killed load left: the half layer, the temp dir
	load_and_kill
	[ -n "$(ls -A "$HUSK_ROOT/layers")" ]
	[ -n "$(ls -A "$HUSK_ROOT/tmp")" ]
	run "$HUSK" image prune -f
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$HUSK_ROOT/layers")" ]
	[ -z "$(ls -A "$HUSK_ROOT/tmp")" ]
	load_and_kill
	# killed half way: no image, no layer under its name
	[ -n "$(find "$HUSK_ROOT/layers" -mindepth 2 -maxdepth 2 -name many)" ]
	[ ! -e "$HUSK_ROOT/layers/$hex" ]
	[ -z "$(ls "$HUSK_ROOT/layers")" ]
	run "$HUSK" images
	[[ "$output" != *killed* ]]
	run "$HUSK" run --pull never --rm localhost/killed:v1 true
	[ "$status" -eq 125 ]
	# the rerun clears what the killed one left and loads
	run "$HUSK" load -i "$TEST_DIR/img.tar"
	[ "$status" -eq 0 ]
	[ "$(ls -A "$HUSK_ROOT/layers")" = "$hex" ]
	run "$HUSK" run --rm localhost/killed:v1 sh -c 'ls /many | wc -l; wc -c </zero'
	[ "${lines[0]}" -eq 40000 ]
	[ "${lines[1]}" -eq $((200 * 1024 * 1024)) ]
}

# store_snapshot: what a failed load must leave as it was
store_snapshot() {
	(cd "$HUSK_ROOT" && find blobs layers l -maxdepth 2 | sort && cat images.json)
}

# bad_layout NAME JQ-ON-MANIFEST|-: an OCI layout dir of a good two-layer
# image, then changed: the manifest through jq, or by the caller
bad_layout() {
	local d=$TEST_DIR/$1
	mkdir -p "$d"
	tar -C "$d" -xf "$TEST_DIR/good.tar"
	echo "$d"
}

@test "husk load of a truncated or corrupt blob, an unknown media type, a missing platform: one clear line, the store as it was" {
	"$HUSK" run --rm busybox true
	mkdir -p "$TEST_DIR/l2"
	echo two >"$TEST_DIR/l2/two"
	tar -C "$TEST_DIR/l2" -cf "$TEST_DIR/two.tar" .
	tar -C "$(rootfs_template)" -cf "$TEST_DIR/one.tar" .
	make_oci_image "$TEST_DIR/good.tar" localhost/good:v1 "$TEST_DIR/one.tar" "$TEST_DIR/two.tar"
	before=$(store_snapshot)
	mdigest() { jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2; }

	# the upper layer truncated by half
	d=$(bad_layout trunc)
	two=$(sha256sum "$TEST_DIR/two.tar" | cut -d' ' -f1)
	truncate -s $(($(stat -c %s "$d/blobs/sha256/$two") / 2)) "$d/blobs/sha256/$two"
	run "$HUSK" load -i "$d"
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"sha256:$two"* ]]
	[ "$(store_snapshot)" = "$before" ]

	# the config's bytes changed
	d=$(bad_layout corrupt)
	c=$(jq -r .config.digest "$d/blobs/sha256/$(mdigest "$d")" | cut -d: -f2)
	sed -i 's/amd64/arm64/' "$d/blobs/sha256/$c"
	run "$HUSK" load -i "$d"
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"sha256:$c"* && "$output" == *mismatch* ]]
	[ "$(store_snapshot)" = "$before" ]

	# a manifest of a media type husk does not know
	d=$(bad_layout unknown)
	m=$(mdigest "$d")
	jq -c '.mediaType = "application/vnd.example.manifest.v9+json"' "$d/blobs/sha256/$m" >"$d/m"
	nm=$(sha256sum "$d/m" | cut -d' ' -f1)
	mv "$d/m" "$d/blobs/sha256/$nm"
	jq ".manifests[0].digest = \"sha256:$nm\" | .manifests[0].size = $(stat -c %s "$d/blobs/sha256/$nm")" \
		"$d/index.json" >"$d/i" && mv "$d/i" "$d/index.json"
	run "$HUSK" load -i "$d"
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *application/vnd.example.manifest.v9+json* ]]
	[ "$(store_snapshot)" = "$before" ]

	# the name is an image index whose only image is for arm64
	d=$(bad_layout platform)
	jq -c '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [.manifests[0] | del(.annotations) | .platform = {os: "linux", architecture: "arm64"}]}' \
		"$d/index.json" >"$d/x"
	x=$(sha256sum "$d/x" | cut -d' ' -f1)
	jq ".manifests[0].digest = \"sha256:$x\" | .manifests[0].size = $(stat -c %s "$d/x")
		| .manifests[0].mediaType = \"application/vnd.oci.image.index.v1+json\"" \
		"$d/index.json" >"$d/i" && mv "$d/i" "$d/index.json"
	mv "$d/x" "$d/blobs/sha256/$x"
	run "$HUSK" load -i "$d"
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *linux/arm64* ]]
	[ "$(store_snapshot)" = "$before" ]

	# and the good one loads
	run "$HUSK" load -i "$TEST_DIR/good.tar"
	[ "$status" -eq 0 ]
}

@test "a new store's dirs that hold a tree a child are tops of hierarchies for ext4 (chattr +T), so a tree made after a large delete lands apart from it" {
	fs=$(stat -f -c %T "$TEST_DIR")
	[ "$fs" = ext2/ext3 ] || skip "needs ext4 under $TEST_DIR (it is $fs)"
	"$HUSK" volume create vol >/dev/null
	id=$("$HUSK" create busybox true)
	printf 'FROM busybox\nRUN echo hi >/hi\n' >"$TEST_DIR/Dockerfile"
	"$HUSK" build -q -t t "$TEST_DIR" >/dev/null
	for d in layers tmp containers volumes build-cache; do
		run lsattr -d "$HUSK_ROOT/$d"
		[[ "$output" == *T*" $HUSK_ROOT/$d" ]] || { echo "$d: $output"; false; }
	done
	# control: a dir of the same fs made the plain way has no T, nor do
	# the store's other dirs
	mkdir "$TEST_DIR/plain"
	[[ "$(lsattr -d "$TEST_DIR/plain")" != *T*" $TEST_DIR/plain" ]]
	[[ "$(lsattr -d "$HUSK_ROOT/blobs")" != *T*" $HUSK_ROOT/blobs" ]]
	"$HUSK" rm "$id" >/dev/null
	"$HUSK" volume rm vol >/dev/null
}
