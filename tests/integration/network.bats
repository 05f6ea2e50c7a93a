#!/usr/bin/env bats
# husk run on the default bridge (the default, as Docker's): the bridge
# husk0, a veth pair per container, an address from 10.89.0.0/16,
# /etc/hosts, published ports, outbound NAT, and nothing left once the
# containers are gone.  Traffic goes only to loopback, to the containers'
# own addresses and to an "outside host": a netns the test makes behind
# the host.

load helpers
bats_require_minimum_version 1.5.0

HUSK=${HUSK:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/husk}

LEASES=${HUSK_NET_STATE:-/run/husk-net}/leases.json

setup() {
	TEST_DIR=$(mktemp -d /tmp/husk-test.XXXXXX)
	export HUSK_ROOT="$TEST_DIR/lib" HUSK_RUNROOT="$TEST_DIR/run"
	command -v nft >/dev/null || NFT=: # the checks of the table need nft(8)
}

# veths of husk's on the host (the bridge husk0 aside)
husk_veths() {
	ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^husk' | grep -vx husk0 || true
}

# Nothing of the network left: no veth (the kernel removes them with the
# netns, asynchronously: waited for), no netns file or mount, no lease of
# the containers named (by id) and (when no container of husk's remains)
# no nft table.
assert_net_clean() {
	local left="" v m f
	for _ in $(seq 100); do
		v=$(husk_veths)
		[ -z "$v" ] && break
		sleep 0.05
	done
	[ -z "$v" ] || left+="veths: $v; "
	m=$(grep -F "$TEST_DIR/run/net" /proc/self/mountinfo || true)
	[ -z "$m" ] || left+="netns mounts: $m; "
	f=$(find "$TEST_DIR/run/net/ns" "$TEST_DIR/run/net/nft" -mindepth 1 2>/dev/null || true)
	[ -z "$f" ] || left+="files: $f; "
	left+=$(net_left "$@")
	# with no lease left, the bridge and the table go a grace period
	# (1.5 s) later, from husk's reaper: waited for
	no_leases() { [ ! -s "$LEASES" -o "$(jq length "$LEASES" 2>/dev/null)" = 0 ]; }
	for _ in $(seq 100); do
		no_leases && { ip link show husk0 >/dev/null 2>&1 || nft list table ip husk >/dev/null 2>&1; } || break
		sleep 0.05
	done
	if [ ! -s "$LEASES" -o "$(jq length "$LEASES" 2>/dev/null)" = 0 ] &&
		ip link show husk0 >/dev/null 2>&1; then
		left+="the default bridge husk0, with no lease left; "
	fi
	if [ -z "${NFT:-}" ] && [ ! -s "$LEASES" -o "$(jq length "$LEASES" 2>/dev/null)" = 0 ] &&
		nft list table ip husk >/dev/null 2>&1; then
		left+="nft table ip husk; "
	fi
	[ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}

# id_of NAME: the container's whole id
id_of() {
	"$HUSK" inspect -f '{{.Id}}' "$1"
}

teardown() {
	local ids
	ids=$("$HUSK" ps -aq --no-trunc 2>/dev/null)
	for c in $ids; do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	[ -z "${OUTSIDE_PID:-}" ] || kill "$OUTSIDE_PID" 2>/dev/null || true
	[ -z "${OUTSIDE:-}" ] || ip netns del "$OUTSIDE" 2>/dev/null || true
	[ -z "${OUTSIDE:-}" ] || ip link del "o${OUTSIDE: -8}" 2>/dev/null || true
	local ok=0
	assert_net_clean $ids || ok=1
	# whatever the check found goes, so the next test starts clean; all
	# of it is husk's own (husk* links, the table ip husk)
	for v in $(husk_veths); do ip link del "$v" 2>/dev/null || true; done
	grep -F "$TEST_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	# husk0 and the table stay while another husk's containers (other
	# tests running at the same time) hold leases
	if [ -z "$(husk_veths)" ] && [ "$(jq length "$LEASES" 2>/dev/null || echo 0)" = 0 ]; then
		ip link del husk0 2>/dev/null || true
		[ -n "${NFT:-}" ] || nft delete table ip husk 2>/dev/null || true
	fi
	rm -rf "$TEST_DIR"
	return $ok
}

# ip_of NAME: the container's address, as the engine recorded it
ip_of() {
	for m in "$HUSK_ROOT"/containers/*/meta.json; do
		[ "$(jq -r .name "$m")" = "$1" ] && jq -r .ip "$m"
	done
	return 0
}

@test "husk run --network bridge: eth0 with a 10.89 address, a default route via 10.89.0.1" {
	run "$HUSK" run --rm --network bridge busybox ip -4 addr show eth0
	[ "$status" -eq 0 ]
	[[ "$output" =~ inet\ 10\.89\.[0-9]+\.[0-9]+/16 ]]
	run "$HUSK" run --rm --network bridge busybox ip route
	[ "$status" -eq 0 ]
	[[ "$output" == *"default via 10.89.0.1 dev eth0"* ]]
	run "$HUSK" run --rm --network bridge busybox ip link show lo
	[[ "$output" == *"UP"* ]]
	# the bridge, up, with the gateway's address, while a container is on
	# it; gone with the host's last container
	"$HUSK" run -d --name on --network bridge busybox sleep 100 >/dev/null
	run ip -4 addr show husk0
	[[ "$output" == *"10.89.0.1/16"* ]]
	"$HUSK" rm -f on >/dev/null
	assert_net_clean
}

@test "husk run --network bridge: /etc/hosts names the container, resolv.conf is there" {
	run "$HUSK" run --rm --network bridge --name web --hostname webhost busybox sh -c 'cat /etc/hosts; ip -4 -o addr show eth0; echo ---; cat /etc/resolv.conf'
	[ "$status" -eq 0 ]
	ip=$(sed -n 's/.*inet \(10\.89\.[0-9.]*\)\/16.*/\1/p' <<<"$output")
	[ -n "$ip" ]
	grep -qE "^127\.0\.0\.1[[:space:]]+localhost" <<<"$output"
	grep -qE "^${ip//./\\.}[[:space:]]+webhost web\$" <<<"$output"
	# resolv.conf: the host's nameservers, less those on its loopback
	resolv=$(sed -n '/^---$/,$p' <<<"$output")
	while read -r _ ns; do
		case $ns in
		127.* | ::1) [[ "$resolv" != *"nameserver $ns"* ]] ;;
		*) [[ "$resolv" == *"nameserver $ns"* ]] ;;
		esac
	done < <(grep '^nameserver' /etc/resolv.conf || true)
}

@test "husk run -d --network bridge: two containers ping each other, the host pings them" {
	run "$HUSK" run -d --network bridge --name a busybox sleep 60
	[ "$status" -eq 0 ]
	run "$HUSK" run -d --network bridge --name b busybox sleep 60
	[ "$status" -eq 0 ]
	ipa=$(ip_of a)
	ipb=$(ip_of b)
	[[ "$ipa" == 10.89.* ]]
	[[ "$ipb" == 10.89.* ]]
	[ "$ipa" != "$ipb" ]
	run "$HUSK" exec a ping -c1 -W2 "$ipb"
	[ "$status" -eq 0 ]
	run "$HUSK" exec b ping -c1 -W2 "$ipa"
	[ "$status" -eq 0 ]
	run busybox ping -c1 -W2 "$ipa"
	[ "$status" -eq 0 ]
	# the leases, host-wide, one per container
	ida=$(id_of a)
	idb=$(id_of b)
	[ "$(jq -r --arg ip "$ipa" '.[$ip]' "$LEASES")" = "$ida" ]
	[ "$(jq -r --arg ip "$ipb" '.[$ip]' "$LEASES")" = "$idb" ]
	run "$HUSK" rm -f a
	[ "$status" -eq 0 ]
	[ -z "$(jq -r --arg ip "$ipa" '.[$ip] // empty' "$LEASES")" ]
	[ "$(jq -r --arg ip "$ipb" '.[$ip]' "$LEASES")" = "$idb" ]
	run "$HUSK" rm -f b
	[ "$status" -eq 0 ]
	assert_net_clean "$ida" "$idb"
}

@test "husk run --link: Docker's legacy links, the alias in /etc/hosts, on the default bridge its variables; on a user network the alias only" {
	"$HUSK" run -d --name db --expose 5432 --expose 53/udp -e PGPASS=x busybox sleep 60 >/dev/null
	ipdb=$(ip_of db)
	iddb=$(id_of db)
	run "$HUSK" run --rm --name web --link db:my-db busybox sh -c 'grep my-db /etc/hosts; env | grep ^MY_DB | sort; ping -c1 -W2 my-db >/dev/null && echo reached'
	[ "$status" -eq 0 ]
	[ "$output" = "$ipdb	my-db ${iddb:0:12} db
MY_DB_ENV_PGPASS=x
MY_DB_NAME=/web/my-db
MY_DB_PORT=udp://$ipdb:53
MY_DB_PORT_53_UDP=udp://$ipdb:53
MY_DB_PORT_53_UDP_ADDR=$ipdb
MY_DB_PORT_53_UDP_PORT=53
MY_DB_PORT_53_UDP_PROTO=udp
MY_DB_PORT_5432_TCP=tcp://$ipdb:5432
MY_DB_PORT_5432_TCP_ADDR=$ipdb
MY_DB_PORT_5432_TCP_PORT=5432
MY_DB_PORT_5432_TCP_PROTO=tcp
reached" ]
	# -e wins over a link's variable; inspect's HostConfig.Links
	"$HUSK" create --name w2 --link db -e DB_ENV_PGPASS=mine busybox sh -c 'echo $DB_ENV_PGPASS' >/dev/null
	[ "$("$HUSK" inspect -f '{{json .HostConfig.Links}}' w2)" = '["/db:/w2/db"]' ]
	[ "$("$HUSK" start -a w2)" = mine ]
	"$HUSK" rm w2 >/dev/null
	# on a user-defined network: the alias, no variables
	"$HUSK" network create lnet >/dev/null
	"$HUSK" run -d --name udb --network lnet -e SECRET=s busybox sleep 60 >/dev/null
	run "$HUSK" run --rm --network lnet --link udb:alias busybox sh -c 'ping -c1 -W2 alias >/dev/null && echo reached; env | grep -c ALIAS_'
	[ "$output" = "$(printf 'reached\n0')" ]
	# bad links: one line, 125, nothing left
	run "$HUSK" run --rm --link udb busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: --link \"udb\": container \"udb\" is on none of this container's networks" ]
	run "$HUSK" run --rm --network none --link db busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: --link \"db\": links need a bridge network, not the none mode" ]
	run "$HUSK" run --rm --link nosuch busybox true
	[ "$status" -eq 125 ]
	"$HUSK" stop -t 0 db >/dev/null
	run "$HUSK" run --rm --link db busybox true
	[ "$status" -eq 125 ]
	[ "$output" = "husk: --link \"db\": container \"db\" is not running" ]
	iddb2=$(id_of udb)
	"$HUSK" rm -f db udb >/dev/null
	"$HUSK" network rm lnet >/dev/null
	[ -z "$("$HUSK" ps -aq)" ]
	assert_net_clean "$iddb" "$iddb2"
}

@test "husk rm: a stopped container's network goes with it; --rm -d too" {
	run "$HUSK" run -d --network bridge --name s busybox true
	[ "$status" -eq 0 ]
	for _ in $(seq 50); do "$HUSK" ps -a | grep -q exited && break; sleep 0.1; done
	[ -n "$(husk_veths)" ] # until rm, as with a stopped Podman container
	run "$HUSK" rm s
	[ "$status" -eq 0 ]
	assert_net_clean
	# -d --rm: the monitor undoes it when the container ends
	run "$HUSK" run -d --rm --network bridge busybox sleep 0.3
	[ "$status" -eq 0 ]
	for _ in $(seq 50); do [ -z "$("$HUSK" ps -aq)" ] && break; sleep 0.1; done
	[ -z "$("$HUSK" ps -aq)" ]
	assert_net_clean
}

@test "husk run --network bridge: failures after the network is made leave nothing" {
	# the command is found missing at start, after the veth is made
	run -127 "$HUSK" run --rm --network bridge busybox no-such-command
	[[ "$output" == *'"no-such-command": executable file not found'* ]]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	assert_net_clean
	# a bind from a missing path (--mount: -v would make it, as Docker's)
	run "$HUSK" run --rm --network bridge --mount "type=bind,source=$TEST_DIR/missing,target=/data" busybox true
	[ "$status" -ne 0 ]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	assert_net_clean
	# without --rm the container stays until rm, then nothing
	run -127 "$HUSK" run --network bridge --name bad busybox no-such-command
	run "$HUSK" rm -f bad
	[ "$status" -eq 0 ]
	assert_net_clean
}

@test "husk run --network: bad values are refused" {
	run "$HUSK" run --rm --network bogus busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'network "bogus" not found'* ]]
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	run "$HUSK" run --rm --network none -p 8080:80 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"-p needs a bridge network, not --network none"* ]]
	run "$HUSK" run --rm --network host --network bridge busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"cannot go with another network"* ]]
	run "$HUSK" run --rm --ip 10.89.0.77 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--ip, --ip6 and --network-alias need a user-defined network"* ]]
	run "$HUSK" run --rm --ip 10.89.0.300 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--ip "10.89.0.300": not an IPv4 address'* ]]
	run "$HUSK" run --rm --add-host nocolon busybox true
	[ "$status" -eq 125 ]
	run "$HUSK" run --rm --dns not-an-ip busybox true
	[ "$status" -eq 125 ]
	run "$HUSK" run --rm --network bridge -p 80: busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'-p "80:": expected [IP:][HOSTPORT[-END]:]CONTAINERPORT'* ]]
	run "$HUSK" run --rm --network bridge -p 1:2/sctp busybox true
	[ "$status" -eq 125 ]
	# --network none: only lo, up
	run "$HUSK" run --rm --network none busybox ip -o link
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *": lo:"* ]]
	[[ "$output" == *"UP"* ]]
}

@test "husk run: the default bridge is the default, as Docker's; -p needs no --network" {
	command -v curl >/dev/null || skip "no curl"
	run "$HUSK" run --rm busybox ip -4 -o addr show eth0
	[ "$status" -eq 0 ]
	[[ "$output" =~ inet\ 10\.89\.[0-9]+\.[0-9]+/16 ]]
	run "$HUSK" run -d --name web -p 18081:80 busybox sh -c 'mkdir /www && echo default-bridge >/www/index.html && exec httpd -f -p 80 -h /www'
	[ "$status" -eq 0 ]
	for _ in $(seq 50); do curl -s -m2 http://127.0.0.1:18081/ >/dev/null && break; sleep 0.1; done
	run curl -s -m5 http://127.0.0.1:18081/
	[ "$output" = default-bridge ]
	run "$HUSK" inspect -f '{{.HostConfig.NetworkMode}}' web
	[ "$output" = bridge ]
	# IPv4 forwarding is on once a bridge is up, as Docker does
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
}

# outside_host: a netns behind the host, 198.51.100.2/24 (TEST-NET-2),
# linked to the host's 198.51.100.1 by a veth pair; it answers TCP 9000
# with the address it saw the connection come from
outside_host() {
	OUTSIDE="husk-out-$$-$BATS_TEST_NUMBER"
	ip netns add "$OUTSIDE"
	ip link add "o${OUTSIDE: -8}" type veth peer name eth0 netns "$OUTSIDE"
	ip addr add 198.51.100.1/24 dev "o${OUTSIDE: -8}"
	ip link set "o${OUTSIDE: -8}" up
	ip -n "$OUTSIDE" addr add 198.51.100.2/24 dev eth0
	ip -n "$OUTSIDE" link set eth0 up
	ip -n "$OUTSIDE" link set lo up
	ip netns exec "$OUTSIDE" /usr/bin/python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen()
while True:
    c, a = s.accept()
    c.sendall((a[0] + "\n").encode())
    c.close()
' >/dev/null 2>&1 &
	OUTSIDE_PID=$!
	for _ in $(seq 50); do ip netns exec "$OUTSIDE" busybox netstat -ltn | grep -q ':9000 ' && break; sleep 0.05; done
}

@test "husk run: outbound traffic is masqueraded: an outside host sees the host's address" {
	outside_host
	run "$HUSK" run --rm busybox sh -c 'nc -w 3 198.51.100.2 9000 </dev/null'
	[ "$status" -eq 0 ]
	[ "$output" = 198.51.100.1 ]
	# the container's own address never leaves the host
	[[ "$output" != 10.89.* ]]
}

@test "husk run -p: a published port answers on the host's loopback and the table goes last" {
	command -v curl >/dev/null || skip "no curl"
	run "$HUSK" run -d --network bridge --name web -p 18080:80 busybox sh -c 'mkdir /www && echo hello-from-husk >/www/index.html && exec httpd -f -p 80 -h /www'
	[ "$status" -eq 0 ]
	ip=$(ip_of web)
	for _ in $(seq 50); do curl -s -m2 "http://$ip/" >/dev/null && break; sleep 0.1; done
	run curl -s -m5 "http://$ip/"
	[ "$output" = hello-from-husk ]
	run curl -s -m5 http://127.0.0.1:18080/
	[ "$status" -eq 0 ]
	[ "$output" = hello-from-husk ]
	# a host port is published once
	run "$HUSK" run --rm --network bridge -p 18080:81 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"bind for 0.0.0.0:18080/tcp failed: port is already allocated"* ]]
	[ -z "${NFT:-}" ] && nft list table ip husk >/dev/null
	run "$HUSK" rm -f web
	[ "$status" -eq 0 ]
	run curl -s -m2 http://127.0.0.1:18080/
	[ "$status" -ne 0 ]
	assert_net_clean
}

@test "start: the host end's name still held by the container's last pair (its netns still being torn down) is waited for; one that stays is a clear error" {
	id=$("$HUSK" create --name w busybox echo hi)
	veth="husk${id:0:8}"
	# lose_net: what a reboot does to the container's network (as
	# engine-lifecycle's reboot test): its netns gone, the runroot empty;
	# the kernel then removes the pair in its own time (waited for here)
	lose_net() {
		umount -l "$HUSK_RUNROOT/net/ns/$id"
		rm -rf "$HUSK_RUNROOT"
		for _ in $(seq 200); do ip link show "$veth" >/dev/null 2>&1 || break; sleep 0.05; done
		! ip link show "$veth" >/dev/null 2>&1
	}
	lose_net
	# the name held a while, as the last pair holds it until the netns
	# cleanup gets to it (seconds under load: this made the reboot test
	# fail with "File exists"): a pair of our own, removed after 0.5 s
	ip link add "$veth" type veth peer name "hkp${id:0:8}"
	(sleep 0.5 && ip link del "$veth") &
	gone=$!
	run "$HUSK" start -a w
	wait "$gone"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	# a name that stays taken (another link's): the start fails after the
	# wait, naming the link, and makes no network for the container
	lose_net
	ip link add "$veth" type veth peer name "hkp${id:0:8}"
	run "$HUSK" start -a w
	ip link del "$veth"
	echo "$output"
	[ "$status" -eq 125 ]
	[[ "$output" == *"create the veth pair \"$veth\": File exists"* ]]
	[ ! -e "$HUSK_RUNROOT/net/ns/$id" ]
	"$HUSK" rm w >/dev/null
	assert_net_clean "$id"
}
