#!/usr/bin/env bats
# husk network: user-defined networks, each a bridge of its own, where
# containers find each other by name and alias through the resolver
# (husk-dns, one a host, on each network's gateway port 53), connect and
# disconnect, --ip, --dns*, --add-host, --network container:NAME,
# --internal; bad input refused whole; kill -9 in the middle leaves
# nothing that husk rm -f and husk network rm cannot remove.  Traffic goes
# only between the test's containers, the host and a fake upstream
# resolver on the host's loopback.

load helpers

setup() {
	engine_setup
	NETS=()
}

teardown() {
	local ids
	ids=$("$HUSK" ps -aq --no-trunc 2>/dev/null)
	for c in $ids; do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	[ -z "${UP_PID:-}" ] || kill "$UP_PID" 2>/dev/null || true
	local left=""
	for n in $("$HUSK" network ls -q --filter type=custom 2>/dev/null); do
		[ "$n" = husk0 ] && continue
		"$HUSK" network rm "$n" >/dev/null 2>&1 || left+="network $n; "
	done
	left+=$(net_left $ids)
	# the resolver goes with the last container, just after it: wait, so
	# that the next test starts without one (bounded: another husk's may run)
	for _ in $(seq 100); do pgrep -x husk-dns >/dev/null || break; sleep 0.05; done
	for id in $ids; do
		grep -ls "^$id " /run/husk-net/names/* 2>/dev/null && left+="names of $id; "
	done
	[ -z "${DUMMY:-}" ] || ip link del "$DUMMY" 2>/dev/null || true
	engine_teardown || return 1
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# bridge_of NETWORK
bridge_of() {
	"$HUSK" network inspect "$1" | jq -r '.[0].Options["com.docker.network.bridge.name"]'
}

# subnet_of, gateway_of NETWORK
subnet_of() {
	"$HUSK" network inspect "$1" | jq -r '.[0].IPAM.Config[0].Subnet'
}
gateway_of() {
	"$HUSK" network inspect "$1" | jq -r '.[0].IPAM.Config[0].Gateway'
}

@test "husk network create, ls, inspect, rm, prune" {
	run "$HUSK" network create --subnet 10.93.7.0/24 --gateway 10.93.7.254 --ip-range 10.93.7.128/25 --label team=web -o mtu=1400 front
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	run "$HUSK" network ls
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "NETWORK ID"*NAME*DRIVER*SCOPE ]]
	[[ "$output" == *" bridge "* ]]
	[[ "$output" == *" front "* ]]
	run "$HUSK" network inspect -f '{{.Name}} {{.Driver}} {{.Internal}} {{.Labels.team}}' front
	[ "$output" = "front bridge false web" ]
	run "$HUSK" network inspect front
	[ "$(jq -r '.[0].IPAM.Config[0].Subnet' <<<"$output")" = 10.93.7.0/24 ]
	[ "$(jq -r '.[0].IPAM.Config[0].Gateway' <<<"$output")" = 10.93.7.254 ]
	[ "$(jq -r '.[0].IPAM.Config[0].IPRange' <<<"$output")" = 10.93.7.128/25 ]
	# the bridge: up, with the gateway's address and the mtu
	br=$(bridge_of front)
	run ip -4 addr show "$br"
	[[ "$output" == *"10.93.7.254/24"* ]]
	[[ "$output" == *"mtu 1400"* ]]
	# a container takes its address from the range, its mtu from the network
	run "$HUSK" run --rm --network front busybox ip addr show eth0
	[[ "$output" == *"inet 10.93.7.128/24"* ]]
	[[ "$output" == *"mtu 1400"* ]]
	# without --subnet: a free /24
	run "$HUSK" network create back
	[ "$status" -eq 0 ]
	[[ "$(subnet_of back)" == 10.9[01].*.0/24 ]]
	run "$HUSK" network rm front
	[ "$status" -eq 0 ]
	[ "$output" = front ]
	! ip link show "$br" 2>/dev/null
	run "$HUSK" network prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *back* ]]
	[ "$("$HUSK" network ls -q --filter type=custom | wc -l)" -eq 0 ]
}

@test "husk network: bad input gets one line, exit 125, nothing made" {
	"$HUSK" network create --subnet 10.93.8.0/24 taken >/dev/null
	bridges() { ip -o link | awk -F': ' '{print $2}' | grep -E '^hb[ri]-' | sort; }
	before=$(bridges)
	# a name in use, a reserved one, a bad one
	run "$HUSK" network create --subnet 10.93.9.0/24 taken
	[ "$status" -eq 125 ]
	[[ "$output" == *'network with name "taken" already exists'* ]]
	run "$HUSK" network create bridge
	[ "$status" -eq 125 ]
	run "$HUSK" network create 'bad/name'
	[ "$status" -eq 125 ]
	# overlapping another network, the default bridge, a host route
	run "$HUSK" network create --subnet 10.93.0.0/16 wide
	[ "$status" -eq 125 ]
	[[ "$output" == *'overlaps network "taken" (10.93.8.0/24)'* ]]
	run "$HUSK" network create --subnet 10.89.3.0/24 wide
	[ "$status" -eq 125 ]
	[[ "$output" == *'overlaps network "bridge"'* ]]
	# a route of the host's: a veth pair of the test's with an address
	DUMMY=hdum$$
	ip link add "$DUMMY" type veth peer name "${DUMMY}p"
	ip addr add 10.94.1.1/24 dev "$DUMMY"
	ip link set "$DUMMY" up
	run "$HUSK" network create --subnet 10.94.1.128/25 routed
	[ "$status" -eq 125 ]
	[[ "$output" == *"overlaps the host's route 10.94.1.0/24 on $DUMMY"* ]]
	# bad subnet, gateway, range, option
	for args in "--subnet 10.95.0.0" "--subnet 10.95.0.1/24" "--subnet 10.95.0.0/24 --gateway 10.96.0.1" \
		"--subnet 10.95.0.0/24 --ip-range 10.95.1.0/25" "-o foo=1" "--gateway 10.95.0.1" "--driver macvlan"; do
		run "$HUSK" network create $args n1
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	[ "$(bridges)" = "$before" ]
	[ "$("$HUSK" network ls -q --filter type=custom | wc -l)" -eq 1 ]
	# an unknown network; a bad --ip; an address in use
	run "$HUSK" run --rm --network nosuch busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'network "nosuch" not found'* ]]
	run "$HUSK" network inspect nosuch
	[ "$status" -eq 125 ]
	run "$HUSK" run --rm --network taken --ip 10.93.9.5 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'"10.93.9.5" is not one for a container in 10.93.8.0/24'* ]]
	"$HUSK" run -d --name holder --network taken --ip 10.93.8.5 busybox sleep 100
	run "$HUSK" run --rm --network taken --ip 10.93.8.5 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'"10.93.8.5" is already in use'* ]]
	# removing a network a container is on
	run "$HUSK" network rm taken
	[ "$status" -eq 125 ]
	[[ "$output" == *"has active endpoints"* ]]
	run "$HUSK" network rm bridge
	[ "$status" -eq 125 ]
	# a port already published
	"$HUSK" run -d --name p1 -p 18090:80 busybox sleep 100
	run "$HUSK" run --rm --network taken -p 18090:81 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"bind for 0.0.0.0:18090/tcp failed: port is already allocated"* ]]
	[ "$("$HUSK" ps -aq | wc -l)" -eq 2 ]
}

@test "two containers on a network reach each other by name and alias: DNS, getaddrinfo, TCP, UDP" {
	"$HUSK" network create app >/dev/null
	"$HUSK" run -d --name web --network app --network-alias www --network-alias front busybox sh -c 'while true; do echo hello-tcp | nc -l -p 7000; done'
	"$HUSK" run -d --name client --network app busybox sleep 1000
	ipweb=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' web)
	gw=$(gateway_of app)
	# the nameserver is the network's gateway, where the resolver answers
	run "$HUSK" exec client cat /etc/resolv.conf
	[[ "$output" == *"nameserver $gw"* ]]
	for n in web www front "$("$HUSK" inspect -f '{{.Id}}' web | cut -c1-12)"; do
		run "$HUSK" exec client nslookup "$n"
		[ "$status" -eq 0 ]
		[[ "$output" == *"Address: $ipweb"* ]]
	done
	# getaddrinfo (ping resolves through libc), then TCP by an alias
	run "$HUSK" exec client ping -c1 -W2 www
	[ "$status" -eq 0 ]
	[[ "$output" == *"($ipweb)"* ]]
	run "$HUSK" exec client nc -w 3 front 7000
	[ "$output" = hello-tcp ]
	# UDP: an echo in web's network stack, a datagram from client's to
	# the address client's resolver gave
	pw=$("$HUSK" inspect -f '{{.State.Pid}}' web)
	pc=$("$HUSK" inspect -f '{{.State.Pid}}' client)
	nsenter -t "$pw" -n /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7001))
d, a = s.recvfrom(100)
s.sendto(b"echo:" + d, a)' &
	srv=$!
	addr=$("$HUSK" exec client nslookup www | awk '/^Address: / {print $2}' | tail -1)
	[ "$addr" = "$ipweb" ]
	run nsenter -t "$pc" -n /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for _ in range(20):
    s.sendto(b"udp-hello", (sys.argv[1], 7001))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass' "$addr"
	kill "$srv" 2>/dev/null || true
	[ "$output" = echo:udp-hello ]
}

@test "names follow containers: found when started, gone within a second when removed, scoped to the network" {
	"$HUSK" network create one >/dev/null
	"$HUSK" network create two >/dev/null
	"$HUSK" run -d --name asker --network one busybox sleep 1000
	"$HUSK" run -d --name other --network two busybox sleep 1000
	run "$HUSK" exec asker nslookup late
	[ "$status" -ne 0 ]
	"$HUSK" run -d --name late --network one busybox sleep 1000
	run "$HUSK" exec asker nslookup late
	[ "$status" -eq 0 ]
	# a name of another network is not this one's
	run "$HUSK" exec asker nslookup other
	[ "$status" -ne 0 ]
	run "$HUSK" exec other nslookup late
	[ "$status" -ne 0 ]
	"$HUSK" rm -f late
	# rm rewrites the name table before it returns and the resolver reads
	# it on inotify: the next lookups fail (a few tries: no timed
	# assertion, the machines differ; bench/net-run.sh has the latency)
	ok=
	for _ in $(seq 20); do
		if ! "$HUSK" exec asker nslookup late >/dev/null 2>&1; then ok=1; break; fi
		sleep 0.05
	done
	[ -n "$ok" ]
}

@test "the resolver: one a host, started with the first container on a network, gone with the last; its RSS" {
	was=$(pgrep -x husk-dns || true)
	"$HUSK" network create solo >/dev/null
	"$HUSK" run -d --name s1 --network solo busybox sleep 1000
	"$HUSK" run -d --name s2 --network solo busybox sleep 1000
	[ "$(pgrep -xc husk-dns)" -eq 1 ]
	pid=$(pgrep -x husk-dns)
	echo "# husk-dns RSS: $(ps -o rss= -p "$pid") KiB" >&3
	[ "$(ps -o rss= -p "$pid")" -lt 2048 ]
	# the default bridge has no resolver of its own: only the container itself
	run "$HUSK" run --rm busybox cat /etc/resolv.conf
	[[ "$output" != *"nameserver 10.89.0.1"* ]]
	"$HUSK" rm -f s1 s2
	if [ -z "$was" ]; then
		for _ in $(seq 40); do pgrep -x husk-dns >/dev/null || break; sleep 0.05; done
		! pgrep -x husk-dns
	fi
}

@test "other names go to the host's resolvers" {
	[ -z "$(pgrep -x husk-dns)" ] || skip "a resolver runs already, with its own upstreams"
	# a fake upstream on the host's loopback: every A query gets 192.0.2.99
	cat >"$TEST_DIR/up.py" <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.77", 53))
while True:
    d, a = s.recvfrom(512)
    end = 12
    while d[end]: end += d[end] + 1
    q = d[12:end + 5]
    s.sendto(d[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q +
             b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 99]), a)
PY
	/usr/bin/python3 "$TEST_DIR/up.py" &
	UP_PID=$!
	echo "nameserver 127.0.0.77" >"$TEST_DIR/resolv.conf"
	"$HUSK" network create fwd >/dev/null
	HUSK_DNS_UPSTREAM="$TEST_DIR/resolv.conf" "$HUSK" run -d --name f1 --network fwd busybox sleep 1000
	run "$HUSK" exec f1 nslookup some.where.example
	[ "$status" -eq 0 ]
	[[ "$output" == *"Address: 192.0.2.99"* ]]
	# over TCP too
	run "$HUSK" exec f1 nslookup f1
	[ "$status" -eq 0 ]
}

@test "husk network connect and disconnect, --alias, --ip" {
	"$HUSK" network create --subnet 10.93.20.0/24 c1 >/dev/null
	"$HUSK" network create --subnet 10.93.21.0/24 c2 >/dev/null
	"$HUSK" run -d --name m --network c1 busybox sleep 1000
	"$HUSK" run -d --name peer --network c2 busybox sleep 1000
	run "$HUSK" exec peer nslookup mm
	[ "$status" -ne 0 ]
	run "$HUSK" network connect --alias mm --ip 10.93.21.50 c2 m
	[ "$status" -eq 0 ]
	run "$HUSK" exec m ip -4 -o addr show eth1
	[[ "$output" == *"10.93.21.50/24"* ]]
	run "$HUSK" exec peer nslookup mm
	[[ "$output" == *"Address: 10.93.21.50"* ]]
	run "$HUSK" network inspect c2
	jq -r '.[0].Containers[].Name' <<<"$output" | grep -qx m
	run "$HUSK" network connect c2 m
	[ "$status" -eq 125 ]
	[[ "$output" == *"already on network"* ]]
	run "$HUSK" network disconnect c2 m
	[ "$status" -eq 0 ]
	run "$HUSK" exec m ip -o link show eth1
	[ "$status" -ne 0 ]
	run "$HUSK" exec peer nslookup mm
	[ "$status" -ne 0 ]
	[ -z "$(jq -r 'to_entries[] | select(.key == "10.93.21.50") | .value' /run/husk-net/leases.json)" ]
	run "$HUSK" network disconnect c2 m
	[ "$status" -eq 125 ]
	[[ "$output" == *"is not on network"* ]]
}

@test "--dns, --dns-search, --dns-option, --add-host, --ip" {
	"$HUSK" network create --subnet 10.93.30.0/24 d >/dev/null
	run "$HUSK" run --rm --network d --ip 10.93.30.9 --dns 192.0.2.53 --dns-search corp.example --dns-option ndots:3 --add-host db.local:192.0.2.7 --add-host gw:host-gateway busybox sh -c 'cat /etc/resolv.conf /etc/hosts; ip -4 -o addr show eth0'
	[ "$status" -eq 0 ]
	[[ "$output" == *"nameserver 192.0.2.53"* ]]
	[[ "$output" == *"search corp.example"* ]]
	[[ "$output" == *"options ndots:3"* ]]
	grep -qE '^192\.0\.2\.7[[:space:]]+db\.local$' <<<"$output"
	grep -qE '^10\.93\.30\.1[[:space:]]+gw$' <<<"$output"
	[[ "$output" == *"10.93.30.9/24"* ]]
	# and on the default bridge
	run "$HUSK" run --rm --dns 192.0.2.54 --add-host x:192.0.2.8 busybox cat /etc/resolv.conf /etc/hosts
	[[ "$output" == *"nameserver 192.0.2.54"* ]]
	grep -qE '^192\.0\.2\.8[[:space:]]+x$' <<<"$output"
}

@test "--network container:NAME shares the network stack; --internal reaches nothing out" {
	"$HUSK" run -d --name base busybox sh -c 'echo shared | nc -l -p 7100; sleep 1000'
	ipb=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' base)
	run "$HUSK" run --rm --network container:base busybox ip -4 -o addr show eth0
	[ "$status" -eq 0 ]
	[[ "$output" == *"$ipb/16"* ]]
	run "$HUSK" run --rm --network container:base busybox nc -w 2 127.0.0.1 7100
	[ "$output" = shared ]
	run "$HUSK" run --rm --network container:nosuch busybox true
	[ "$status" -eq 125 ]
	# internal: no default route, and the host does not forward for it
	"$HUSK" network create --internal --subnet 10.93.40.0/24 inner >/dev/null
	run "$HUSK" run --rm --network inner busybox ip route
	[ "$status" -eq 0 ]
	[[ "$output" != *default* ]]
	run "$HUSK" run --rm --network inner busybox sh -c "ip route add default via 10.93.40.1 && ping -c1 -W1 $ipb"
	[ "$status" -ne 0 ]
	run "$HUSK" run --rm --network bridge busybox ping -c1 -W1 "$ipb"
	[ "$status" -eq 0 ]
}

@test "kill -9 of husk in the middle of a networked run leaves what husk rm -f and husk network rm remove" {
	"$HUSK" network create --subnet 10.93.50.0/24 k >/dev/null
	for d in 0.01 0.02 0.03 0.05 0.08 0.12 0.2 0.4; do
		timeout -s KILL "$d" "$HUSK" run -d --network k --network-alias kk -p 18095:80 busybox sleep 100 >/dev/null 2>&1 || true
	done
	ids=$(ls "$HUSK_ROOT/containers")
	for id in $ids; do
		run "$HUSK" rm -f "$id"
		[ "$status" -eq 0 ]
	done
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	left=$(net_left $ids)
	[ -z "$left" ]
	for id in $ids; do ! grep -qs "^$id " /run/husk-net/names/*; done
	run "$HUSK" network rm k
	[ "$status" -eq 0 ]
	# the port is free again
	run "$HUSK" run --rm -p 18095:80 busybox true
	[ "$status" -eq 0 ]
}
