#!/usr/bin/env bats
# Published ports as Docker's: -p ranges, HOSTIP:HOSTPORT:CTR and
# HOSTIP::CTR (that address only), UDP, --expose and -P (every exposed
# port on a free host port of the ephemeral range); --mac-address;
# networks kept apart (a container on one user-defined network cannot
# reach one on another, both reach out through NAT, an internal one
# reaches nothing out); inspect's NetworkSettings.  Traffic goes only to
# the host's loopback, to the test's containers and to an "outside host"
# the test makes in its own netns.

load helpers

setup() {
	engine_setup
}

teardown() {
	local ids
	ids=$("$HUSK" ps -aq --no-trunc 2>/dev/null)
	for c in $ids; do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	[ -z "${SRV:-}" ] || kill "$SRV" 2>/dev/null || true
	[ -z "${OUTSIDE_PID:-}" ] || kill "$OUTSIDE_PID" 2>/dev/null || true
	[ -z "${OUTSIDE:-}" ] || ip netns del "$OUTSIDE" 2>/dev/null || true
	[ -z "${OUTSIDE:-}" ] || ip link del "o${OUTSIDE: -8}" 2>/dev/null || true
	local left=""
	for n in $("$HUSK" network ls -q --filter type=custom 2>/dev/null); do
		"$HUSK" network rm "$n" >/dev/null 2>&1 || true
	done
	for _ in $(seq 100); do pgrep -x husk-dns >/dev/null || break; sleep 0.05; done
	left+=$(net_left $ids)
	f=$(find "$TEST_DIR/run/net/ns" "$TEST_DIR/run/net/nft" -mindepth 1 2>/dev/null || true)
	[ -z "$f" ] || left+="files: $f; "
	engine_teardown || return 1
	# husk's ip6 table goes with the host's last lease, as its ip one; an
	# older husk (another worktree's tests) does not know it: it goes here
	if [ "$(jq length /run/husk-net/leases.json 2>/dev/null || echo 0)" = 0 ]; then
		nft delete table ip6 husk 2>/dev/null || true
	fi
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# ask HOST PORT: what a TCP server there says (a few tries while it starts)
ask() {
	local out
	for _ in $(seq 30); do
		out=$(timeout 3 busybox nc "$1" "$2" </dev/null 2>/dev/null) && [ -n "$out" ] && break
		sleep 0.1
	done
	echo "$out"
}

# serve NAME ARGS...: a container answering "NAME:PORT" on TCP 7000-7002
serve() {
	local name=$1
	shift
	"$HUSK" run -d --name "$name" "$@" busybox sh -c \
		'for p in 7000 7001 7002; do (while true; do echo "$(hostname):$p" | nc -l -p $p; done) & done; wait' >/dev/null
}

# claimed PORT: is the host port in husk's table (published, any address)?
claimed() {
	nft list set ip husk tcp_claims 2>/dev/null | grep -qw "$1"
}

@test "-p ranges: 18100-18102:7000-7002 publishes three ports, shown by port and ps" {
	serve web --hostname web -p 18100-18102:7000-7002
	for i in 0 1 2; do
		[ "$(ask 127.0.0.1 1810$i)" = "web:700$i" ]
	done
	run "$HUSK" port web
	[ "${lines[0]}" = "7000/tcp -> 0.0.0.0:18100" ]
	[ "${lines[2]}" = "7002/tcp -> 0.0.0.0:18102" ]
	run "$HUSK" ps --format '{{.Ports}}'
	[ "$output" = "0.0.0.0:18100->7000/tcp, 0.0.0.0:18101->7001/tcp, 0.0.0.0:18102->7002/tcp" ]
	# a host range for one container port: a free port of the range, as
	# Docker; a second container takes the next
	"$HUSK" run -d --name r1 -p 18105-18106:80 busybox sleep 100 >/dev/null
	"$HUSK" run -d --name r2 -p 18105-18106:80 busybox sleep 100 >/dev/null
	p1=$("$HUSK" port r1 80)
	p2=$("$HUSK" port r2 80)
	[[ "$p1" == 0.0.0.0:1810[56] && "$p2" == 0.0.0.0:1810[56] && "$p1" != "$p2" ]]
	# the range is full now
	run "$HUSK" run --rm -p 18105-18106:80 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"port is already allocated"* ]]
	run "$HUSK" inspect -f '{{json .HostConfig.PortBindings}}' r1
	[ "$(jq -c '."80/tcp"' <<<"$output")" = '[{"HostIp":"","HostPort":"18105-18106"}]' ]
	"$HUSK" rm -f web r1 r2 >/dev/null
	! claimed 18100 && ! claimed 18105 && ! claimed 18106
}

@test "-p HOSTIP:HOSTPORT:CTR answers on that address only; HOSTIP::CTR on a free port of it" {
	serve web --hostname web -p 127.0.0.2:18110:7000 -p 127.0.0.1::7001
	[ "$(ask 127.0.0.2 18110)" = web:7000 ]
	run timeout 3 busybox nc 127.0.0.1 18110 </dev/null
	[[ "$output" != web:* ]]
	hp=$("$HUSK" port web 7001)
	[[ "$hp" =~ ^127\.0\.0\.1:([0-9]+)$ ]]
	port=${BASH_REMATCH[1]}
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	[ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ]
	[ "$(ask 127.0.0.1 "$port")" = web:7001 ]
	run timeout 3 busybox nc 127.0.0.3 "$port" </dev/null
	[[ "$output" != web:* ]]
	run "$HUSK" ps --format '{{.Ports}}'
	[ "$output" = "127.0.0.2:18110->7000/tcp, 127.0.0.1:$port->7001/tcp" ]
	# the port of one address is the port: another container cannot
	# publish it on every address
	run "$HUSK" run --rm -p 18110:80 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"bind for 0.0.0.0:18110/tcp failed: port is already allocated" ]]
	"$HUSK" rm -f web >/dev/null
	! claimed 18110
	! nft list map ip husk tcp_binds 2>/dev/null | grep -q '127.0.0.2 . 18110'
}

@test "-p PORT/udp: a UDP datagram through the published port and back" {
	"$HUSK" run -d --name dns -p 18120:7100/udp busybox sleep 1000 >/dev/null
	pid=$("$HUSK" inspect -f '{{.State.Pid}}' dns)
	# an echo server in the container's network stack
	nsenter -t "$pid" -n /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7100))
while True:
    d, a = s.recvfrom(100)
    s.sendto(b"echo:" + d, a)' &
	SRV=$!
	run /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(20):
    s.sendto(b"udp-hello", ("127.0.0.1", 18120))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass'
	[ "$output" = echo:udp-hello ]
	run "$HUSK" port dns 7100/udp
	[ "$output" = 0.0.0.0:18120 ]
	# TCP is another port: 18120/tcp is free
	run "$HUSK" run -d --name tcp -p 18120:7100 busybox sleep 100
	[ "$status" -eq 0 ]
}

# in_selfs ADDR: the hairpin set of husk's ip table holds ADDR . ADDR
in_selfs() {
	nft list set ip husk selfs 2>/dev/null | grep -q "$1 \. $1"
}

@test "hairpin: a container reaches its own published port, and one beside it, by the host's address on its bridge (default and user-defined)" {
	serve web --hostname web -p 18135:7000
	gw=$("$HUSK" inspect -f '{{.NetworkSettings.Gateway}}' web)
	ip=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' web)
	[ "$(ask 127.0.0.1 18135)" = web:7000 ]
	# to itself: DNATed back into the bridge port it came from
	run "$HUSK" exec web nc -w 3 "$gw" 18135
	[ "$output" = web:7000 ]
	in_selfs "$ip"
	# from another container on the same bridge
	run "$HUSK" run --rm busybox nc -w 3 "$gw" 18135
	[ "$output" = web:7000 ]
	# on a user-defined network too
	"$HUSK" network create --subnet 10.93.90.0/24 hp >/dev/null
	serve uweb --hostname uweb --network hp -p 18136:7001
	run "$HUSK" exec uweb nc -w 3 10.93.90.1 18136
	[ "$output" = uweb:7001 ]
	run "$HUSK" run --rm --network hp busybox nc -w 3 10.93.90.1 18136
	[ "$output" = uweb:7001 ]
	# and over IPv6, by the network's IPv6 gateway
	"$HUSK" network create --ipv6 --subnet 10.93.91.0/24 --subnet fd00:93:91::/64 hp6 >/dev/null
	serve w6 --hostname w6 --network hp6 -p 18137:7002
	run "$HUSK" exec w6 nc -w 3 fd00:93:91::1 18137
	[ "$output" = w6:7002 ]
	# the set's element goes with its container
	"$HUSK" rm -f web >/dev/null
	! in_selfs "$ip"
}

@test "--expose and -P: every exposed port (the image's too) on a free host port" {
	CTX="$TEST_DIR/ctx"
	mkdir -p "$CTX"
	printf 'FROM busybox\nEXPOSE 7000 7400/udp\n' >"$CTX/Dockerfile"
	"$HUSK" build -q -t exposer "$CTX" >/dev/null
	"$HUSK" run -d --name all --hostname all --expose 7001-7002 --expose 7500/udp -p 18130:7002 -P exposer sh -c \
		'for p in 7000 7001 7002; do (while true; do echo "$(hostname):$p" | nc -l -p $p; done) & done; wait' >/dev/null
	run "$HUSK" port all
	[ "${#lines[@]}" -eq 5 ]
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	for p in 7000/tcp 7001/tcp 7400/udp 7500/udp; do
		hp=$("$HUSK" port all "$p")
		[[ "$hp" =~ ^0\.0\.0\.0:([0-9]+)$ ]]
		[ "${BASH_REMATCH[1]}" -ge "$lo" ] && [ "${BASH_REMATCH[1]}" -le "$hi" ]
	done
	# -p wins for its port
	[ "$("$HUSK" port all 7002)" = 0.0.0.0:18130 ]
	for p in 7000 7001; do
		hp=$("$HUSK" port all $p)
		[ "$(ask 127.0.0.1 "${hp#*:}")" = "all:$p" ]
	done
	run "$HUSK" ps --format '{{.Ports}}'
	[[ "$output" == *"0.0.0.0:18130->7002/tcp"* ]]
	[[ "$output" =~ 0\.0\.0\.0:[0-9]+-\>7400/udp ]]
	run "$HUSK" inspect -f '{{json .Config.ExposedPorts}}' all
	[ "$(jq -c 'keys' <<<"$output")" = '["7000/tcp","7001/tcp","7002/tcp","7400/udp","7500/udp"]' ]
	# without -P, exposed ports are not published: inspect shows them null
	"$HUSK" run -d --name some --expose 7600 exposer sleep 100 >/dev/null
	run "$HUSK" port some
	[ -z "$output" ]
	run "$HUSK" inspect -f '{{json .NetworkSettings.Ports}}' some
	[ "$(jq -c . <<<"$output")" = '{"7000/tcp":null,"7400/udp":null,"7600/tcp":null}' ]
}

@test "port flags: bad input is one line, exit 125, nothing left" {
	"$HUSK" run -d --name first -p 18140:80 busybox sleep 100 >/dev/null
	for args in "-p 18141-18143:80-81" "-p 1.2.3:18141:80" "-p 0:80" "-p 18141:0" "-p 18141:80/sctp" \
		"-p 127.0.0.1:80" "-p ::1:18141:80" "--expose 0" "--expose 90-80" "--expose 80/sctp" \
		"--mac-address 02:42:zz:00:00:01" "--mac-address 01:00:5e:00:00:01" "--mac-address 00:00:00:00:00:00" \
		"--network none --mac-address 02:42:0a:00:00:01" "--network host -P" "-p 18140:81" "-p 127.0.0.1:18140:81" \
		"-p 18144:81 -p 18144:82"; do
		run "$HUSK" run --rm $args busybox true
		[ "$status" -eq 125 ] || { echo "accepted: $args"; false; }
		[ "${#lines[@]}" -eq 1 ] || { echo "$args: $output"; false; }
	done
	# nothing of the refused runs: one container, one netns, the first's
	# ports alone in the table
	[ "$("$HUSK" ps -aq | wc -l)" -eq 1 ]
	[ "$(ls "$TEST_DIR/run/net/ns" | wc -l)" -eq 1 ]
	claimed 18140
	! claimed 18144
	! nft list map ip husk tcp_binds 2>/dev/null | grep -q '127.0.0.1 . 18140'
	run "$HUSK" port first
	[ "$output" = "80/tcp -> 0.0.0.0:18140" ]
}

@test "--mac-address on the default bridge and on a user-defined network; the default is 02:42 and the address" {
	run "$HUSK" run --rm --mac-address 02:aa:bb:cc:dd:01 busybox cat /sys/class/net/eth0/address
	[ "$status" -eq 0 ]
	[ "$output" = 02:aa:bb:cc:dd:01 ]
	"$HUSK" network create --subnet 10.93.60.0/24 macnet >/dev/null
	"$HUSK" run -d --name m --network macnet --mac-address 02:AA:BB:CC:DD:02 busybox sleep 100 >/dev/null
	run "$HUSK" exec m cat /sys/class/net/eth0/address
	[ "$output" = 02:aa:bb:cc:dd:02 ]
	[ "$("$HUSK" inspect -f '{{.NetworkSettings.MacAddress}}' m)" = 02:aa:bb:cc:dd:02 ]
	[ "$("$HUSK" inspect -f '{{.NetworkSettings.Networks.macnet.MacAddress}}' m)" = 02:aa:bb:cc:dd:02 ]
	# the host sees it too: the neighbour entry after a ping
	ip=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' m)
	busybox ping -c1 -W2 "$ip" >/dev/null
	ip neigh show "$ip" | grep -q 02:aa:bb:cc:dd:02
	# without the flag, Docker's rule: 02:42 then the IPv4 address
	"$HUSK" run -d --name d busybox sleep 100 >/dev/null
	ipd=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' d)
	want=$(printf '02:42:%02x:%02x:%02x:%02x' ${ipd//./ })
	[ "$("$HUSK" exec d cat /sys/class/net/eth0/address)" = "$want" ]
	# network connect --mac-address: the address of the link it adds; a
	# bad one is one line, exit 125, and the container stays off the network
	run "$HUSK" network connect --mac-address 01:00:5e:00:00:01 macnet d
	[ "$status" -eq 125 ] && [ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"01:00:5e:00:00:01"* ]]
	run "$HUSK" exec d cat /sys/class/net/eth1/address
	[ "$status" -ne 0 ]
	id=$("$HUSK" inspect -f '{{.Id}}' d)
	! jq -r --arg id "$id" 'to_entries[] | select(.value == $id) | .key' \
		"${HUSK_NET_STATE:-/run/husk-net}/leases.json" | grep -q '^10\.93\.60\.'
	"$HUSK" network connect --mac-address 02:aa:bb:cc:dd:03 macnet d
	[ "$("$HUSK" exec d cat /sys/class/net/eth1/address)" = 02:aa:bb:cc:dd:03 ]
	[ "$("$HUSK" inspect -f '{{.NetworkSettings.Networks.macnet.MacAddress}}' d)" = 02:aa:bb:cc:dd:03 ]
}

# outside_host: a netns behind the host, 198.51.100.2/24 (TEST-NET-2),
# answering TCP 9000 with the address it saw the connection come from
outside_host() {
	OUTSIDE="husk-op-$$-$BATS_TEST_NUMBER"
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

@test "networks are kept apart as Docker's: no traffic between two user-defined networks, both reach out; an internal one does not" {
	outside_host
	"$HUSK" network create --subnet 10.93.61.0/24 neta >/dev/null
	"$HUSK" network create --subnet 10.93.62.0/24 netb >/dev/null
	"$HUSK" network create --internal --subnet 10.93.63.0/24 neti >/dev/null
	serve a1 --hostname a1 --network neta
	serve i1 --hostname i1 --network neti
	serve d1 --hostname d1
	ipa=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' a1)
	ipi=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' i1)
	ipd=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' d1)
	# the host reaches each
	[ "$(ask "$ipa" 7000)" = a1:7000 ]
	# on one network: through the bridge (with br_netfilter, through the
	# forward hook too)
	run "$HUSK" run --rm --network neta busybox nc -w 3 "$ipa" 7000
	[ "$output" = a1:7000 ]
	run "$HUSK" run --rm --network neti busybox nc -w 3 "$ipi" 7001
	[ "$output" = i1:7001 ]
	# from another network, from the default bridge, to the default
	# bridge: nothing
	run "$HUSK" run --rm --network netb busybox nc -w 2 "$ipa" 7000
	[ "$status" -ne 0 ] && [[ "$output" != a1:* ]]
	run "$HUSK" run --rm busybox nc -w 2 "$ipa" 7000
	[ "$status" -ne 0 ] && [[ "$output" != a1:* ]]
	run "$HUSK" run --rm --network neta busybox nc -w 2 "$ipd" 7000
	[ "$status" -ne 0 ] && [[ "$output" != d1:* ]]
	# both reach the outside host, masqueraded
	for n in neta netb bridge; do
		run "$HUSK" run --rm --network "$n" busybox nc -w 3 198.51.100.2 9000
		[ "$output" = 198.51.100.1 ] || { echo "$n: $output"; false; }
	done
	# an internal network: neither out (a route added by hand changes
	# nothing) nor to other networks
	run "$HUSK" run --rm --network neti busybox sh -c 'ip route add default via 10.93.63.1; nc -w 2 198.51.100.2 9000'
	[ "$status" -ne 0 ] && [[ "$output" != 198.* ]]
	run "$HUSK" run --rm --network neti busybox sh -c "ip route add default via 10.93.63.1; nc -w 2 $ipa 7000"
	[ "$status" -ne 0 ] && [[ "$output" != a1:* ]]
	# a container on both networks reaches each
	run "$HUSK" run --rm --network netb --network neta busybox nc -w 3 "$ipa" 7002
	[ "$output" = a1:7002 ]
	# the rules are in husk's own table
	nft list chain ip husk isolate | grep -q 'fib daddr . iif oif missing drop'
}

@test "inspect: NetworkSettings.Networks has one entry a network, Ports as Docker prints them" {
	"$HUSK" network create --subnet 10.93.64.0/24 front >/dev/null
	"$HUSK" network create --subnet 10.93.65.0/24 back >/dev/null
	"$HUSK" run -d --name web --network front --network back --network-alias www --ip 10.93.64.50 \
		-p 18160:80 --expose 81 busybox sleep 1000 >/dev/null
	run "$HUSK" inspect web
	[ "$status" -eq 0 ]
	ns=$(jq '.[0].NetworkSettings' <<<"$output")
	[ "$(jq -r '.Networks | keys | join(" ")' <<<"$ns")" = "back front" ]
	short=$("$HUSK" inspect -f '{{.Id}}' web | cut -c1-12)
	for n in front back; do
		e=$(jq ".Networks.$n" <<<"$ns")
		dev=$("$HUSK" exec web ip -o -4 addr | awk -v s="$(subnet_prefix $n)" '$4 ~ "^"s {print $2}')
		addr=$("$HUSK" exec web ip -o -4 addr show "$dev" | awk '{print $4}')
		[ "$(jq -r '.IPAddress + "/" + (.IPPrefixLen|tostring)' <<<"$e")" = "$addr" ]
		[ "$(jq -r .MacAddress <<<"$e")" = "$("$HUSK" exec web cat /sys/class/net/$dev/address)" ]
		[ "$(jq -r .NetworkID <<<"$e")" = "$("$HUSK" network inspect "$n" | jq -r '.[0].Id')" ]
		[ "$(jq -r .Gateway <<<"$e")" = "$("$HUSK" network inspect "$n" | jq -r '.[0].IPAM.Config[0].Gateway')" ]
	done
	[ "$(jq -r .Networks.front.IPAddress <<<"$ns")" = 10.93.64.50 ]
	[ "$(jq -c .Networks.front.Aliases <<<"$ns")" = "[\"www\",\"$short\"]" ]
	[ "$(jq -c .Networks.back.Aliases <<<"$ns")" = "[\"$short\"]" ]
	[ "$(jq -c .Ports <<<"$ns")" = '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"18160"}],"81/tcp":null}' ]
	[ "$("$HUSK" inspect -f '{{.NetworkSettings.Networks.front.IPAddress}}' web)" = 10.93.64.50 ]
	# the default bridge: no aliases, as Docker's
	"$HUSK" run -d --name plain busybox sleep 100 >/dev/null
	run "$HUSK" inspect -f '{{json .NetworkSettings.Networks.bridge.Aliases}}' plain
	[ "$output" = null ]
	# connect adds an entry, disconnect takes it away
	"$HUSK" network connect front plain
	[ "$("$HUSK" inspect plain | jq -r '.[0].NetworkSettings.Networks | keys | join(" ")')" = "bridge front" ]
	"$HUSK" network disconnect front plain
	[ "$("$HUSK" inspect plain | jq -r '.[0].NetworkSettings.Networks | keys | join(" ")')" = "bridge" ]
}

# subnet_prefix NETWORK: "10.93.64." of 10.93.64.0/24
subnet_prefix() {
	"$HUSK" network inspect "$1" | jq -r '.[0].IPAM.Config[0].Subnet' | sed 's/0\/24$//'
}

@test "IPv6: network create --ipv6 --subnet fd00:..., an address in each container, traffic between two, ip6 rules in husk's table" {
	"$HUSK" network create --ipv6 --subnet 10.93.70.0/24 --subnet fd00:93:70::/64 six >/dev/null
	run "$HUSK" network inspect six
	[ "$(jq -r '.[0].EnableIPv6' <<<"$output")" = true ]
	[ "$(jq -c '.[0].IPAM.Config[1]' <<<"$output")" = '{"Subnet":"fd00:93:70::/64","Gateway":"fd00:93:70::1"}' ]
	# the bridge has the gateway; IPv6 forwarding is on, as Docker does
	ip -6 addr show "$(jq -r '.[0].Options["com.docker.network.bridge.name"]' <<<"$output")" | grep -q 'fd00:93:70::1/64'
	[ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ]
	"$HUSK" run -d --name a --network six busybox sh -c 'while true; do echo v6-hello | nc -l -p 7000; done' >/dev/null
	a6=$("$HUSK" inspect -f '{{.NetworkSettings.Networks.six.GlobalIPv6Address}}' a)
	[[ "$a6" == fd00:93:70::* ]]
	run "$HUSK" exec a ip -6 -o addr show eth0 scope global
	[[ "$output" == *"inet6 $a6/64"* ]]
	# /etc/hosts names it by both addresses, as Docker's
	run "$HUSK" exec a cat /etc/hosts
	grep -qE "^${a6}[[:space:]]+[0-9a-f]{12}( a)?\$" <<<"$output"
	[ "$("$HUSK" inspect -f '{{.NetworkSettings.Networks.six.IPv6Gateway}}' a)" = fd00:93:70::1 ]
	[ "$("$HUSK" inspect -f '{{.NetworkSettings.Networks.six.GlobalIPv6PrefixLen}}' a)" = 64 ]
	# another container: its own address, TCP and ping over IPv6 to the first
	run "$HUSK" run --rm --network six busybox sh -c "ip -6 route; nc -w 3 $a6 7000; ping -c1 -W2 $a6 >/dev/null && echo pinged"
	[ "$status" -eq 0 ]
	[[ "$output" == *"default via fd00:93:70::1 dev eth0"* ]]
	[[ "$output" == *v6-hello* ]]
	[[ "$output" == *pinged* ]]
	# the host reaches it through the bridge
	busybox ping -c1 -W2 "$a6" >/dev/null
	# its name has an AAAA record beside its A one (when the host's one
	# resolver is this husk's: an older one, of another husk at the same
	# time, knows only A)
	dns=$(for p in $(pgrep -x husk-dns); do readlink "/proc/$p/exe"; done 2>/dev/null || true)
	if [ "$dns" = "$(dirname "$HUSK")/husk-dns" ]; then
		run "$HUSK" run --rm --network six busybox nslookup -type=aaaa a
		[[ "$output" == *"Address: $a6"* ]]
		run "$HUSK" run --rm --network six busybox nslookup -type=a a
		[[ "$output" == *"Address: $("$HUSK" inspect -f '{{.NetworkSettings.Networks.six.IPAddress}}' a)"* ]]
	else
		echo "# AAAA not checked: the resolver running is $dns" >&3
	fi
	# kept apart from another IPv6 network: ip6 rules in husk's own table
	"$HUSK" network create --ipv6 --subnet 10.93.71.0/24 --subnet fd00:93:71::/64 seven >/dev/null
	run "$HUSK" run --rm --network seven busybox nc -w 2 "$a6" 7000
	[ "$status" -ne 0 ] && [[ "$output" != *v6-hello* ]]
	nft list chain ip6 husk isolate | grep -q 'fib daddr . iif oif missing drop'
	# bad input: an IPv6 subnet without --ipv6, --ipv6 without one, a bad
	# or overlapping one
	for args in "--subnet fd00:93:72::/64" "--ipv6" "--ipv6 --subnet fd00:93:72::1/64" \
		"--ipv6 --subnet fd00:93:70:0:8000::/65" "--ipv6 --subnet fd00:zz::/64" "--ipv6 --subnet fd00::/16"; do
		run "$HUSK" network create $args bad6
		[ "$status" -eq 125 ] || { echo "accepted: $args"; false; }
		[ "${#lines[@]}" -eq 1 ]
	done
	! "$HUSK" network inspect bad6 >/dev/null 2>&1
	# its lease goes with the container
	id=$("$HUSK" inspect -f '{{.Id}}' a)
	"$HUSK" rm -f a >/dev/null
	! jq -e --arg id "$id" 'to_entries[] | select(.value == $id)' /run/husk-net/leases.json >/dev/null
}

@test "-p HOSTIP:...: from an outside host, a port bound to the address it reaches answers, one bound to another does not" {
	outside_host
	serve web --hostname web -p 198.51.100.1:18180:7000 -p 127.0.0.1:18181:7001 -p 18182:7002
	ask_out() { ip netns exec "$OUTSIDE" timeout 3 busybox nc 198.51.100.1 "$1" </dev/null 2>/dev/null || true; }
	for _ in $(seq 30); do [ "$(ask_out 18180)" = web:7000 ] && break; sleep 0.1; done
	[ "$(ask_out 18180)" = web:7000 ]
	[ "$(ask_out 18182)" = web:7002 ]
	[ "$(ask_out 18181)" != web:7001 ]
	# and the loopback one answers on the host's loopback only
	[ "$(ask 127.0.0.1 18181)" = web:7001 ]
	run timeout 3 busybox nc 127.0.0.1 18180 </dev/null
	[[ "$output" != web:* ]]
}
