#!/usr/bin/env bats
# husk pull / push / login / logout against local registries: Debian's
# docker-registry over HTTP, over TLS with a self-signed CA and with
# htpasswd auth, plus a tiny fake registry (python) for what
# docker-registry will not serve: an unknown manifest media type and
# bearer tokens.  Every byte goes to 127.0.0.1.

load helpers

HUSK=${HUSK:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/husk}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME PORT [YAML for http: and auth:]
start_registry() {
	local name=$1 port=$2 extra=${3:-}
	mkdir -p "$REG_DIR/$name"
	cat >"$REG_DIR/$name/config.yml" <<-EOF
		version: 0.1
		log:
		  level: debug
		storage:
		  filesystem:
		    rootdirectory: $REG_DIR/$name/data
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$port
		$extra
	EOF
	docker-registry serve "$REG_DIR/$name/config.yml" >"$REG_DIR/$name/log" 2>&1 3>&- &
	echo $! >"$REG_DIR/$name/pid"
	for _ in $(seq 100); do
		curl -sk -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
		curl -sk -o /dev/null "https://127.0.0.1:$port/v2/" && return 0
		sleep 0.05
	done
	echo "registry $name did not start:" >&2
	cat "$REG_DIR/$name/log" >&2
	return 1
}

# The fake: a directory served as a registry.  manifests/REF (+ REF.type,
# its Content-Type), blobs/HEX.  With FAKE_CREDS=user:pass, a bearer token
# from /token (basic auth) is needed for everything under /v2/.
start_fake() {
	local dir=$1 port=$2 creds=${3:-}
	cat >"$REG_DIR/fake.py" <<-'EOF'
		import base64, http.server, os, sys
		root, port, creds = sys.argv[1], int(sys.argv[2]), os.environ.get("FAKE_CREDS", "")
		class H(http.server.BaseHTTPRequestHandler):
		    def send(self, code, body=b"{}", ctype="application/json", extra=()):
		        self.send_response(code)
		        self.send_header("Content-Type", ctype)
		        self.send_header("Content-Length", str(len(body)))
		        for k, v in extra:
		            self.send_header(k, v)
		        self.end_headers()
		        if self.command != "HEAD":
		            self.wfile.write(body)
		    def do_GET(self):
		        p = self.path.split("?")[0]
		        if p == "/token":
		            want = "Basic " + base64.b64encode(creds.encode()).decode()
		            if self.headers.get("Authorization") != want:
		                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
		            open(os.path.join(root, "token-query"), "w").write(self.path)
		            return self.send(200, b'{"token":"tok-123"}')
		        if creds and self.headers.get("Authorization") != "Bearer tok-123":
		            chal = 'Bearer realm="http://127.0.0.1:%d/token",service="fake"' % port
		            if p != "/v2/":
		                chal += ',scope="repository:%s:pull"' % p.split("/")[2]
		            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
		                             extra=[("WWW-Authenticate", chal)])
		        if p == "/v2/":
		            return self.send(200)
		        fails = os.path.join(root, "fail-count")
		        if os.path.exists(fails):
		            n = int(open(fails).read())
		            if n > 0:
		                open(fails, "w").write(str(n - 1))
		                return self.send(503, b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}')
		        parts = p.split("/")
		        if len(parts) == 5 and parts[3] in ("manifests", "blobs"):
		            name = parts[4] if parts[3] == "manifests" else parts[4].split(":")[-1]
		            f = os.path.join(root, parts[3], name)
		            if os.path.exists(f):
		                ctype = "application/octet-stream"
		                if os.path.exists(f + ".type"):
		                    ctype = open(f + ".type").read().strip()
		                return self.send(200, open(f, "rb").read(), ctype)
		        self.send(404, b'{"errors":[{"code":"NOT_FOUND","message":"not found"}]}')
		    do_HEAD = do_GET
		    def log_message(self, *a):
		        pass
		http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
	EOF
	FAKE_CREDS=$creds python3 "$REG_DIR/fake.py" "$dir" "$port" >"$REG_DIR/fake.log" 2>&1 3>&- &
	echo $! >"$REG_DIR/fake.pid"
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
		sleep 0.05
	done
	return 1
}

stop_fake() {
	[ -f "$REG_DIR/fake.pid" ] || return 0
	kill "$(cat "$REG_DIR/fake.pid")" 2>/dev/null || true
	wait "$(cat "$REG_DIR/fake.pid")" 2>/dev/null || true
	rm -f "$REG_DIR/fake.pid"
}

# A layer tar of a few files: busybox, /etc/passwd, and a marker file.
make_layer() {
	local out=$1 marker=$2 d
	d=$(mktemp -d "$REG_DIR/layer.XXXXXX")
	cp -a "$(rootfs_template)/." "$d/"
	echo "$marker" >"$d/etc/marker"
	tar -C "$d" -cf "$out" .
	rm -rf "$d"
}

# make_oci_index OUT REF OS/ARCH[/VARIANT]=LAYER.tar...: an OCI layout
# archive whose ref names an image index of one image per platform.
make_oci_index() {
	local out=$1 ref=$2 d entries=""
	shift 2
	d=$(mktemp -d "$REG_DIR/oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	put() { # file -> prints "digest size", moves it in
		local h s
		h=$(sha256sum "$1" | cut -d' ' -f1)
		s=$(stat -c %s "$1")
		mv "$1" "$d/blobs/sha256/$h"
		echo "sha256:$h $s"
	}
	for spec in "$@"; do
		local plat=${spec%%=*} tar=${spec#*=} os arch variant l c m
		IFS=/ read -r os arch variant <<<"$plat"
		cp "$tar" "$d/layer"
		read -r l ls < <(put "$d/layer")
		echo "{\"architecture\":\"$arch\",\"os\":\"$os\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"$l\"]},\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\"]}}" >"$d/config"
		read -r c cs < <(put "$d/config")
		echo "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$c\",\"size\":$cs},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$l\",\"size\":$ls}]}" >"$d/manifest"
		read -r m ms < <(put "$d/manifest")
		entries+="${entries:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$m\",\"size\":$ms,\"platform\":{\"os\":\"$os\",\"architecture\":\"$arch\"${variant:+,\"variant\":\"$variant\"}}}"
	done
	echo "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[$entries]}" >"$d/index"
	local i is
	read -r i is < <(put "$d/index")
	echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"$i\",\"size\":$is,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$ref\"}}]}" >"$d/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
	rm -rf "$d"
}

# random_layer OUT.tar MB: a layer of one file /random of MB megabytes that
# no compression shrinks, for pulls that take a while
random_layer() {
	local d
	d=$(mktemp -d "$TEST_DIR/random.XXXXXX")
	head -c "$2M" /dev/urandom >"$d/random"
	tar -C "$d" -cf "$1" .
	rm -rf "$d"
}

copy_in() { # ARCHIVE DEST [skopeo options]
	local src=$1 dst=$2
	shift 2
	skopeo copy -q --all "$@" "oci-archive:$src" "docker://$dst" >/dev/null
}

setup_file() {
	REG_DIR=$(mktemp -d /tmp/husk-reg.XXXXXX)
	export REG_DIR
	TEST_DIR=$REG_DIR # for make_oci_image's temp dirs
	PORT=$(free_port) TLS_PORT=$(free_port) AUTH_PORT=$(free_port)
	export PORT TLS_PORT AUTH_PORT

	# a CA and a server certificate for 127.0.0.1 signed by it
	local c=$REG_DIR/pki
	mkdir -p "$c" "$REG_DIR/certs"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=husk test CA" -keyout "$c/ca.key" -out "$REG_DIR/certs/ca.crt" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=127.0.0.1" -keyout "$c/server.key" -out "$c/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$c/ext"
	openssl x509 -req -in "$c/server.csr" -CA "$REG_DIR/certs/ca.crt" -CAkey "$c/ca.key" \
		-CAcreateserial -days 2 -extfile "$c/ext" -out "$c/server.crt" 2>/dev/null

	# htpasswd for user "tester", password "s3cret" (bcrypt)
	echo 'tester:$2b$05$S31jg4Xg4bXswwvdxhQN6u31OgO2vqPmvXlM5UxiqTA6FccQxyHnG' >"$REG_DIR/htpasswd"

	start_registry plain "$PORT"
	start_registry tls "$TLS_PORT" "$(printf '  tls:\n    certificate: %s\n    key: %s' "$c/server.crt" "$c/server.key")"
	start_registry auth "$AUTH_PORT" "$(printf 'auth:\n  htpasswd:\n    realm: husk-test\n    path: %s' "$REG_DIR/htpasswd")"

	make_layer "$REG_DIR/l1.tar" one
	make_oci_image "$REG_DIR/img.tar" "localhost/bb:v1" "$REG_DIR/l1.tar"
	copy_in "$REG_DIR/img.tar" "127.0.0.1:$PORT/bb:v1" --dest-tls-verify=false
	copy_in "$REG_DIR/img.tar" "127.0.0.1:$TLS_PORT/bb:v1" --dest-cert-dir "$REG_DIR/certs"
	copy_in "$REG_DIR/img.tar" "127.0.0.1:$AUTH_PORT/private/bb:v1" --dest-tls-verify=false \
		--dest-creds tester:s3cret
}

teardown_file() {
	for p in "$REG_DIR"/*/pid "$REG_DIR"/fake.pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null || true
	done
	for p in "$REG_DIR"/*/pid "$REG_DIR"/fake.pid; do
		[ -f "$p" ] || continue
		while kill -0 "$(cat "$p")" 2>/dev/null; do sleep 0.05; done
	done
	rm -rf "$REG_DIR"
}

setup() {
	TEST_DIR=$(mktemp -d /tmp/husk-test.XXXXXX)
	ROOT="$TEST_DIR/state"
	export HUSK_ROOT="$TEST_DIR/lib" HUSK_RUNROOT="$TEST_DIR/run"
	unset REGISTRY_AUTH_FILE
}

teardown() {
	stop_fake
	[ -z "${PULL_PID:-}" ] || kill -9 "$PULL_PID" 2>/dev/null || true
	for c in $("$HUSK" ps -aq 2>/dev/null); do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	local left=""
	m=$(grep -F "$TEST_DIR" /proc/self/mountinfo | grep -v '/layers/' || true)
	[ -z "$m" ] || left+="mounts: $m"
	# a container's monitor exits just after it told its client the exit
	for _ in $(seq 100); do [ -z "$(pgrep -f "$TEST_DIR")" ] && break; sleep 0.05; done
	p=$(pgrep -f "$TEST_DIR" || true)
	[ -z "$p" ] || left+="processes: $p"
	grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$TEST_DIR"
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# the store holds no image, no blob, no layer, no partial download
store_is_empty() {
	run "$HUSK" images -q
	[ -z "$output" ]
	[ -z "$(ls -A "$HUSK_ROOT/blobs/sha256")" ]
	[ -z "$(ls -A "$HUSK_ROOT/layers")" ]
	[ -z "$(ls -A "$HUSK_ROOT/tmp")" ]
}

@test "husk pull over HTTP, then run; quiet off a terminal, progress on one" {
	run "$HUSK" pull "127.0.0.1:$PORT/bb:v1"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]] # the id alone: no progress off a terminal
	id=$output
	run "$HUSK" images
	[[ "$output" == *"127.0.0.1:$PORT/bb"*v1*"${id:0:12}"* ]]
	run "$HUSK" run --rm "127.0.0.1:$PORT/bb:v1" cat /etc/marker
	[ "$status" -eq 0 ]
	[ "$output" = one ]
	# a second pull finds every blob there
	run "$HUSK" pull "127.0.0.1:$PORT/bb:v1"
	[ "$status" -eq 0 ]
	[ "$output" = "$id" ]
	# each pull is an image event, as Docker's: the name pulled, its repository
	run "$HUSK" events --until 0s --filter type=image --format '{{.Action}} {{.ID}} {{.Actor.Attributes.name}}'
	[ "$output" = "pull 127.0.0.1:$PORT/bb:v1 127.0.0.1:$PORT/bb
pull 127.0.0.1:$PORT/bb:v1 127.0.0.1:$PORT/bb" ]
	# on a terminal: a line per layer
	rm -rf "$HUSK_ROOT"
	command -v script >/dev/null || skip "no script(1)"
	run timeout 60 script -qec "$(printf '%q ' env HUSK_ROOT="$HUSK_ROOT" "$HUSK" pull "127.0.0.1:$PORT/bb:v1")" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"Copying blob "*" / "*MB* ]]
	# -q: none
	rm -rf "$HUSK_ROOT"
	run timeout 60 script -qec "$(printf '%q ' env HUSK_ROOT="$HUSK_ROOT" "$HUSK" pull -q "127.0.0.1:$PORT/bb:v1")" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" != *"Copying blob"* ]]
}

@test "husk run pulls an image that is not in the store" {
	run "$HUSK" run --rm "127.0.0.1:$PORT/bb:v1" cat /etc/marker
	[ "$status" -eq 0 ]
	[ "$output" = one ]
	run "$HUSK" images
	[[ "$output" == *"127.0.0.1:$PORT/bb"* ]]
	run "$HUSK" run --rm "127.0.0.1:$PORT/nosuch:v1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *'pulling "127.0.0.1:'"$PORT"'/nosuch:v1"'*MANIFEST_UNKNOWN* ]]
}

@test "husk pull over TLS with the registry's CA given by --cert-dir" {
	run "$HUSK" pull --debug --cert-dir "$REG_DIR/certs" "127.0.0.1:$TLS_PORT/bb:v1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"GET https://127.0.0.1:$TLS_PORT/v2/bb/manifests/v1: 200"* ]]
	run "$HUSK" run --rm "127.0.0.1:$TLS_PORT/bb:v1" cat /etc/marker
	[ "$output" = one ]
}

@test "husk pull over TLS without the CA is refused clearly; --tls-verify=false allows it" {
	run "$HUSK" pull "127.0.0.1:$TLS_PORT/bb:v1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "husk: pulling \"127.0.0.1:$TLS_PORT/bb:v1\": connecting to 127.0.0.1:$TLS_PORT: TLS certificate not trusted: "*"--cert-dir"* ]]
	store_is_empty
	run "$HUSK" pull --tls-verify=false "127.0.0.1:$TLS_PORT/bb:v1"
	[ "$status" -eq 0 ]
}

@test "husk pull of an image index picks linux/amd64" {
	make_layer "$TEST_DIR/amd.tar" amd64
	make_layer "$TEST_DIR/arm.tar" arm64
	make_oci_index "$TEST_DIR/multi.tar" "localhost/multi:v1" \
		"linux/arm64/v8=$TEST_DIR/arm.tar" "linux/amd64=$TEST_DIR/amd.tar"
	copy_in "$TEST_DIR/multi.tar" "127.0.0.1:$PORT/multi:v1" --dest-tls-verify=false
	run "$HUSK" pull "127.0.0.1:$PORT/multi:v1"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm "127.0.0.1:$PORT/multi:v1" cat /etc/marker
	[ "$output" = amd64 ]
}

@test "husk pull of an index without linux/amd64 names the platforms it has" {
	make_layer "$TEST_DIR/arm.tar" arm64
	make_oci_index "$TEST_DIR/arm.tar.oci" "localhost/armonly:v1" \
		"linux/arm64/v8=$TEST_DIR/arm.tar" "linux/arm/v7=$TEST_DIR/arm.tar"
	copy_in "$TEST_DIR/arm.tar.oci" "127.0.0.1:$PORT/armonly:v1" --dest-tls-verify=false
	run "$HUSK" pull "127.0.0.1:$PORT/armonly:v1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no linux/amd64 image in the index (it has: linux/arm64/v8, linux/arm/v7)"* ]]
	store_is_empty
}

@test "husk pull of a manifest of an unknown media type is refused" {
	port=$(free_port)
	mkdir -p "$TEST_DIR/fake/manifests" "$TEST_DIR/fake/blobs"
	echo '{"schemaVersion":2,"mediaType":"application/vnd.example.thing.v1+json","blobs":[]}' >"$TEST_DIR/fake/manifests/v1"
	echo 'application/vnd.example.thing.v1+json' >"$TEST_DIR/fake/manifests/v1.type"
	start_fake "$TEST_DIR/fake" "$port"
	run "$HUSK" pull "127.0.0.1:$port/thing:v1"
	[ "$status" -eq 125 ]
	[[ "$output" == *'unsupported media type "application/vnd.example.thing.v1+json"'* ]]
	store_is_empty
}

@test "husk pull retries a registry that answers 503 for a while" {
	port=$(free_port)
	mkdir -p "$TEST_DIR/fake/manifests" "$TEST_DIR/oci"
	tar -C "$TEST_DIR/oci" -xf "$REG_DIR/img.tar"
	ln -s "$TEST_DIR/oci/blobs/sha256" "$TEST_DIR/fake/blobs"
	m=$(jq -r '.manifests[0].digest' "$TEST_DIR/oci/index.json")
	cp "$TEST_DIR/oci/blobs/sha256/${m#sha256:}" "$TEST_DIR/fake/manifests/v1"
	echo application/vnd.oci.image.manifest.v1+json >"$TEST_DIR/fake/manifests/v1.type"
	echo 2 >"$TEST_DIR/fake/fail-count"
	start_fake "$TEST_DIR/fake" "$port"
	run "$HUSK" pull --debug "127.0.0.1:$port/flaky:v1"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'HTTP 503; retrying' <<<"$output")" -eq 2 ]
	# more failures than retries: the registry's own words
	echo 10 >"$TEST_DIR/fake/fail-count"
	run "$HUSK" pull "127.0.0.1:$port/flaky:v2"
	[ "$status" -eq 125 ]
	[[ "$output" == *"HTTP 503: UNAVAILABLE: try later"* ]]
}

@test "husk pull with a bearer token from the registry's token server" {
	port=$(free_port)
	# the fake serves the blobs of an OCI layout
	mkdir -p "$TEST_DIR/fake/manifests" "$TEST_DIR/oci"
	tar -C "$TEST_DIR/oci" -xf "$REG_DIR/img.tar"
	ln -s "$TEST_DIR/oci/blobs/sha256" "$TEST_DIR/fake/blobs"
	m=$(jq -r '.manifests[0].digest' "$TEST_DIR/oci/index.json")
	cp "$TEST_DIR/oci/blobs/sha256/${m#sha256:}" "$TEST_DIR/fake/manifests/v1"
	echo application/vnd.oci.image.manifest.v1+json >"$TEST_DIR/fake/manifests/v1.type"
	start_fake "$TEST_DIR/fake" "$port" tester:s3cret
	run "$HUSK" pull "127.0.0.1:$port/tok:v1"
	echo "$output"
	[ "$status" -eq 125 ]
	[[ "$output" == *"getting a token from \"http://127.0.0.1:$port/token\": HTTP 401: UNAUTHORIZED: bad credentials"* ]]
	run "$HUSK" login -u tester -p s3cret "127.0.0.1:$port"
	[ "$status" -eq 0 ]
	run "$HUSK" pull "127.0.0.1:$port/tok:v1"
	[ "$status" -eq 0 ]
	# the scope the challenge named went to the token server
	grep -q 'scope=repository%3Atok%3Apull' "$TEST_DIR/fake/token-query"
	run "$HUSK" run --rm "127.0.0.1:$port/tok:v1" cat /etc/marker
	[ "$output" = one ]
}

@test "husk login / pull / logout against a registry with htpasswd auth" {
	img="127.0.0.1:$AUTH_PORT/private/bb:v1"
	run "$HUSK" pull "$img"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"HTTP 401: UNAUTHORIZED: authentication required (log in with husk login"* ]]
	store_is_empty
	run "$HUSK" login -u tester -p wrong "127.0.0.1:$AUTH_PORT"
	[ "$status" -eq 125 ]
	[[ "$output" == *"login to \"127.0.0.1:$AUTH_PORT\": HTTP 401: unauthorized (bad username or password?)"* ]]
	[ ! -e "$HUSK_ROOT/auth.json" ]
	run bash -c "echo s3cret | '$HUSK' login -u tester --password-stdin 127.0.0.1:$AUTH_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Login Succeeded"* ]]
	[ "$(stat -c %a "$HUSK_ROOT/auth.json")" = 600 ]
	[ "$(jq -r ".auths[\"127.0.0.1:$AUTH_PORT\"].auth" "$HUSK_ROOT/auth.json" | base64 -d)" = tester:s3cret ]
	run "$HUSK" pull "$img"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm "$img" cat /etc/marker
	[ "$output" = one ]
	# push with the same credentials
	run "$HUSK" push "$img" "127.0.0.1:$AUTH_PORT/private/copy:v2"
	[ "$status" -eq 0 ]
	run skopeo inspect --tls-verify=false --creds tester:s3cret "docker://127.0.0.1:$AUTH_PORT/private/copy:v2"
	[ "$status" -eq 0 ]
	run "$HUSK" logout "127.0.0.1:$AUTH_PORT"
	[ "$status" -eq 0 ]
	run "$HUSK" logout "127.0.0.1:$AUTH_PORT"
	[ "$status" -eq 125 ]
	[[ "$output" == *"not logged in"* ]]
	run "$HUSK" rmi "$img"
	run "$HUSK" pull "$img"
	[ "$status" -eq 125 ]
	# REGISTRY_AUTH_FILE and --authfile choose the file
	export REGISTRY_AUTH_FILE="$TEST_DIR/elsewhere/auth.json"
	run "$HUSK" login -u tester -p s3cret "127.0.0.1:$AUTH_PORT"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$REGISTRY_AUTH_FILE")" = 600 ]
	run "$HUSK" pull "$img"
	[ "$status" -eq 0 ]
	unset REGISTRY_AUTH_FILE
	run "$HUSK" pull --authfile "$TEST_DIR/elsewhere/auth.json" "$img"
	[ "$status" -eq 0 ]
}

@test "husk pull of a corrupt blob fails and leaves the store as it was" {
	make_layer "$TEST_DIR/c1.tar" "corrupt-$$"
	make_layer "$TEST_DIR/c2.tar" "fine-$$"
	make_oci_image "$TEST_DIR/c.tar" localhost/corrupt:v1 "$TEST_DIR/c2.tar" "$TEST_DIR/c1.tar"
	copy_in "$TEST_DIR/c.tar" "127.0.0.1:$PORT/corrupt:v1" --dest-tls-verify=false
	# the top layer's blob, flipped in the registry's storage (same size)
	top=$(skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$PORT/corrupt:v1" | jq -r '.layers[1].digest')
	f=$(find "$REG_DIR/plain/data" -path "*/blobs/sha256/*/${top#sha256:}/data")
	[ -f "$f" ]
	printf 'XXXX' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
	run "$HUSK" pull "127.0.0.1:$PORT/corrupt:v1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"blob \"$top\": digest mismatch: expected \"$top\", got \"sha256:"* ]]
	# the config and the first layer came in, and went again
	store_is_empty
}

@test "husk pull of a layer that writes outside its root: refused, nothing unpacked stays" {
	make_layer "$TEST_DIR/l1.tar" "evil-base-$$"
	mkdir -p "$TEST_DIR/evil"
	echo pwned >"$TEST_DIR/evil/x"
	marker="husk-reg-escape-$$"
	tar -C "$TEST_DIR/evil" -P --transform "s,^x,../../../../../../../tmp/$marker," -cf "$TEST_DIR/l2.tar" x
	make_oci_image "$TEST_DIR/evil.tar" localhost/evil:v1 "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	copy_in "$TEST_DIR/evil.tar" "127.0.0.1:$PORT/evil:v1" --dest-tls-verify=false
	run "$HUSK" pull "127.0.0.1:$PORT/evil:v1"
	[ "$status" -eq 125 ]
	[[ "$output" == *'register image "127.0.0.1:'"$PORT"'/evil:v1"'*"$marker"* ]]
	[ ! -e "/tmp/$marker" ]
	# the first layer was unpacked before the second failed: gone again
	store_is_empty
}

@test "husk pull from an unreachable registry: one clear line" {
	dead=$(free_port)
	run "$HUSK" pull "127.0.0.1:$dead/x"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "husk: pulling \"127.0.0.1:$dead/x\": connecting to 127.0.0.1:$dead: Connection refused" ]
	store_is_empty
	# refused connections are retried a few times first
	run "$HUSK" pull --debug "127.0.0.1:$dead/x"
	[ "$(grep -c 'retrying' <<<"$output")" -eq 3 ]
}

@test "husk pull killed with -9 during a large layer: no image, and the next pull resumes" {
	random_layer "$TEST_DIR/big.tar" 50
	make_layer "$TEST_DIR/base.tar" big
	make_oci_image "$TEST_DIR/bigimg.tar" localhost/big:v1 "$TEST_DIR/base.tar" "$TEST_DIR/big.tar"
	copy_in "$TEST_DIR/bigimg.tar" "127.0.0.1:$PORT/big:v1" --dest-tls-verify=false
	# 5 MB/s: the layer takes about ten seconds
	"$HUSK" pull --limit-rate 5m "127.0.0.1:$PORT/big:v1" >"$TEST_DIR/pull.log" 2>&1 3>&- &
	PULL_PID=$!
	partial=""
	for _ in $(seq 200); do
		partial=$(find "$HUSK_ROOT/tmp" -name 'blob-*.partial' -size +3M 2>/dev/null | head -1)
		[ -n "$partial" ] && break
		sleep 0.05
	done
	[ -n "$partial" ]
	kill -9 "$PULL_PID"
	wait "$PULL_PID" || true
	PULL_PID=""
	size=$(stat -c %s "$partial")
	run "$HUSK" images -q
	[ -z "$output" ]
	run "$HUSK" pull --debug "127.0.0.1:$PORT/big:v1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"resuming at byte $size"* ]]
	[[ "$output" == *": 206"* ]]
	[ -z "$(ls -A "$HUSK_ROOT/tmp")" ]
	run "$HUSK" run --rm "127.0.0.1:$PORT/big:v1" sh -c 'cat /etc/marker; wc -c </random'
	[ "${lines[0]}" = big ]
	[ "${lines[1]}" -eq 52428800 ]
}

@test "husk push of the built-in busybox; skopeo sees it; a fresh store pulls and runs it" {
	run "$HUSK" run --rm busybox true
	[ "$status" -eq 0 ]
	run "$HUSK" push busybox "127.0.0.1:$PORT/pushed/busybox:v1"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	digest=$output
	run skopeo inspect --tls-verify=false "docker://127.0.0.1:$PORT/pushed/busybox:v1"
	[ "$status" -eq 0 ]
	[ "$(jq -r .Digest <<<"$output")" = "$digest" ]
	[ "$(jq -r '.Layers | length' <<<"$output")" -eq 1 ]
	# Docker's event: push of the reference, its repository as the name
	run "$HUSK" events --until 0s --filter event=push --format '{{.Actor.ID}} {{.Actor.Attributes.name}}'
	[ "$output" = "127.0.0.1:$PORT/pushed/busybox:v1 127.0.0.1:$PORT/pushed/busybox" ]
	# pushing again: every blob is there already
	run "$HUSK" push busybox "127.0.0.1:$PORT/pushed/busybox:v1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	export HUSK_ROOT="$TEST_DIR/fresh"
	run "$HUSK" pull "127.0.0.1:$PORT/pushed/busybox:v1"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm "127.0.0.1:$PORT/pushed/busybox:v1" echo pushed and pulled
	[ "$output" = "pushed and pulled" ]
}

@test "husk push -a and pull -a: every tag of a repository, each named with its id or digest" {
	repo="127.0.0.1:$PORT/alltags/bb"
	"$HUSK" run --rm busybox true # the built-in image, into the store
	"$HUSK" tag busybox "$repo:one"
	"$HUSK" tag busybox "$repo:two"
	"$HUSK" tag busybox "127.0.0.1:$PORT/alltags/other:x"
	run "$HUSK" push -a "$repo"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^"$repo":one\ sha256:[0-9a-f]{64}$ ]]
	[[ "${lines[1]}" =~ ^"$repo":two\ sha256:[0-9a-f]{64}$ ]]
	run skopeo list-tags --tls-verify=false "docker://$repo"
	[ "$(jq -c .Tags <<<"$output")" = '["one","two"]' ]
	# a fresh store: both tags, nothing of the other repository
	export HUSK_ROOT="$TEST_DIR/fresh"
	run "$HUSK" pull --all-tags "$repo"
	[ "$status" -eq 0 ]
	id=$(echo "${lines[0]}" | cut -d' ' -f2)
	[ "$output" = "$repo:one $id
$repo:two $id" ]
	[ "$("$HUSK" images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" = "$repo:one $repo:two " ]
	# a tag with -a, a repository with none: one line
	run "$HUSK" pull -a "$repo:one"
	[ "$status" -eq 125 ]
	[[ "$output" == *"a tag or digest cannot go with --all-tags"* ]]
	run "$HUSK" pull -a "127.0.0.1:$PORT/alltags/nosuch"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'listing the tags of "127.0.0.1:'"$PORT"'/alltags/nosuch"'* ]]
}

@test "husk image prune during a pull takes nothing the pull is about to name" {
	random_layer "$TEST_DIR/big.tar" 20
	make_layer "$TEST_DIR/base.tar" held
	make_oci_image "$TEST_DIR/img.tar" localhost/held:v1 "$TEST_DIR/base.tar" "$TEST_DIR/big.tar"
	copy_in "$TEST_DIR/img.tar" "127.0.0.1:$PORT/held:v1" --dest-tls-verify=false
	"$HUSK" pull --limit-rate 5m "127.0.0.1:$PORT/held:v1" >"$TEST_DIR/pull.log" 2>&1 3>&- &
	PULL_PID=$!
	# the small layer and the config are in the store, no name yet
	for _ in $(seq 200); do
		[ -n "$(find "$HUSK_ROOT/tmp" -name 'blob-*.partial' -size +1M 2>/dev/null)" ] && break
		sleep 0.05
	done
	blobs_before=$(ls "$HUSK_ROOT/blobs/sha256" | wc -l)
	[ "$blobs_before" -ge 2 ]
	# prune waits for the pull instead of taking its blobs
	run "$HUSK" image prune -f
	[ "$status" -eq 0 ]
	wait "$PULL_PID"
	PULL_PID=""
	cat "$TEST_DIR/pull.log"
	run "$HUSK" run --rm "127.0.0.1:$PORT/held:v1" sh -c 'cat /etc/marker; wc -c </random'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = held ]
	[ "${lines[1]}" -eq 20971520 ]
}

@test "husk pull: two pulls at once of images sharing a layer download it once" {
	random_layer "$TEST_DIR/shared.tar" 20
	for n in a b; do
		make_layer "$TEST_DIR/$n.tar" "$n"
		make_oci_image "$TEST_DIR/$n-img.tar" "localhost/sh$n:v1" "$TEST_DIR/$n.tar" "$TEST_DIR/shared.tar"
		copy_in "$TEST_DIR/$n-img.tar" "127.0.0.1:$PORT/shared$n:v1" --dest-tls-verify=false
	done
	# the layer as the registry has it (skopeo compressed it): the same blob
	# in both manifests
	layer() { skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$PORT/shared$1:v1" | jq -r '.layers[1].digest'; }
	shared=$(layer a)
	[ "$(layer b)" = "$shared" ]
	gets() {
		grep 'response completed' "$REG_DIR/plain/log" | grep 'http.request.method=GET' |
			grep -c "blobs/$shared" || true
	}
	before=$(gets)
	"$HUSK" pull --limit-rate 10m "127.0.0.1:$PORT/shareda:v1" >"$TEST_DIR/a.log" 2>&1 3>&- &
	pa=$!
	"$HUSK" pull --limit-rate 10m "127.0.0.1:$PORT/sharedb:v1" >"$TEST_DIR/b.log" 2>&1 3>&- &
	pb=$!
	wait "$pa"
	wait "$pb"
	echo "GETs of the shared blob: before $before, after $(gets)"
	[ "$(gets)" -eq $((before + 1)) ]
	for n in a b; do
		run "$HUSK" run --rm "127.0.0.1:$PORT/shared$n:v1" sh -c 'cat /etc/marker; wc -c </random'
		[ "${lines[0]}" = "$n" ]
		[ "${lines[1]}" -eq 20971520 ]
	done
	# one blob and one unpacked layer for the two images
	[ "$(ls "$HUSK_ROOT/layers" | wc -l)" -eq 3 ]
}

@test "husk run --pull: missing uses the store, always asks the registry, never does not" {
	run "$HUSK" run --rm busybox true
	[ "$status" -eq 0 ]
	dead=$(free_port)
	run "$HUSK" tag busybox "127.0.0.1:$dead/bb:v1"
	[ "$status" -eq 0 ]
	run "$HUSK" run --rm "127.0.0.1:$dead/bb:v1" echo from the store
	[ "$status" -eq 0 ]
	[ "$output" = "from the store" ]
	run "$HUSK" run --pull never --rm "127.0.0.1:$dead/bb:v1" echo still
	[ "$output" = still ]
	# always: the registry is asked, and nobody answers there
	run "$HUSK" run --pull always --rm "127.0.0.1:$dead/bb:v1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"connecting to 127.0.0.1:$dead"* ]]
	# always, against a registry that has it
	run "$HUSK" run --pull always --rm "127.0.0.1:$PORT/bb:v1" cat /etc/marker
	[ "$status" -eq 0 ]
	[ "$output" = one ]
}
