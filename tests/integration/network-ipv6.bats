#!/usr/bin/env bats
# IPv6 as Docker has it: published ports on [::] beside 0.0.0.0 and on a
# given IPv6 address (the host's [::1] through husk-proxy), shown by port,
# ps and inspect as Docker shows them; containers reaching each other by
# name over IPv6; outbound IPv6 masqueraded in husk's ip6 table; IPv6 on
# the default bridge when <root>/engine.json says so; nothing left after
# rm, or after kill -9 and rm -f.  Traffic goes only to the host's
# loopback, to the test's containers and to an "outside host" the test
# makes in its own netns.

load helpers
bats_require_minimum_version 1.5.0

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
	p=$(proxies)
	[ -z "$p" ] || left+="proxies: $p; "
	f=$(find "$TEST_DIR/run/net/ns" "$TEST_DIR/run/net/nft" "$TEST_DIR/run/net/proxy" -mindepth 1 2>/dev/null || true)
	[ -z "$f" ] || left+="files: $f; "
	engine_teardown || return 1
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# this test's husk-proxy processes (their argv names the test's runroot);
# one killed is gone once its parent reaps it: waited for
proxies() {
	local p
	for _ in $(seq 40); do
		p=$(pgrep -f "husk-proxy .*$TEST_DIR/" | while read -r q; do
			[ "$(awk '{print $3}' "/proc/$q/stat" 2>/dev/null)" = Z ] || echo "$q"
		done)
		[ -z "$p" ] && break
		sleep 0.05
	done
	echo "$p"
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
	"$HUSK" run -d --name "$name" --hostname "$name" "$@" busybox sh -c \
		'for p in 7000 7001 7002; do (while true; do echo "$(hostname):$p" | nc -l -p $p; done) & done; wait' >/dev/null
}

# the host port in husk's tables: claimed (any family), or an element of
# the ip6 table's maps
claimed() {
	nft list set ip husk tcp_claims 2>/dev/null | grep -qw "$1"
}
in_ip6() {
	nft list table ip6 husk 2>/dev/null | grep -qw "$1"
}

# outside_host6: a netns behind the host on 2001:db8:4855:N::/64 (the
# host's side ::1), a TCP server on [::]:9000 that answers the address it
# sees
outside_host6() {
	OUTSIDE="husk-op-$$-$BATS_TEST_NUMBER"
	NET6="2001:db8:4855:$BATS_TEST_NUMBER"
	ip netns add "$OUTSIDE"
	ip link add "o${OUTSIDE: -8}" type veth peer name eth0 netns "$OUTSIDE"
	ip addr add "$NET6::1/64" dev "o${OUTSIDE: -8}" nodad
	ip link set "o${OUTSIDE: -8}" up
	ip -n "$OUTSIDE" addr add "$NET6::2/64" dev eth0 nodad
	ip -n "$OUTSIDE" link set eth0 up
	ip -n "$OUTSIDE" link set lo up
	ip netns exec "$OUTSIDE" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 9000))
s.listen()
while True:
    c, a = s.accept()
    c.sendall((a[0] + "\n").encode())
    c.close()
' >/dev/null 2>&1 &
	OUTSIDE_PID=$!
	for _ in $(seq 50); do ip netns exec "$OUTSIDE" busybox netstat -ltn | grep -q ':9000 ' && break; sleep 0.05; done
}

@test "IPv6 -p: PORT on [::] beside 0.0.0.0, [::1]:PORT on that address only; port, ps and inspect as Docker's" {
	"$HUSK" network create --ipv6 --subnet 10.93.80.0/24 --subnet fd00:93:80::/64 v6 >/dev/null
	serve web --network v6 -p 18400:7000 -p '[::1]:18401:7001' -p 127.0.0.1:18402:7002
	# from the host's loopback, both families
	[ "$(ask ::1 18400)" = web:7000 ]
	[ "$(ask 127.0.0.1 18400)" = web:7000 ]
	[ "$(ask ::1 18401)" = web:7001 ]
	run timeout 3 busybox nc 127.0.0.1 18401 </dev/null
	[[ "$output" != web:* ]]
	[ "$(ask 127.0.0.1 18402)" = web:7002 ]
	run timeout 3 busybox nc ::1 18402 </dev/null
	[[ "$output" != web:* ]]
	# as Docker shows them
	run "$HUSK" port web
	[ "$output" = "7000/tcp -> 0.0.0.0:18400
7000/tcp -> [::]:18400
7001/tcp -> [::1]:18401
7002/tcp -> 127.0.0.1:18402" ]
	run "$HUSK" port web 7000
	[ "$output" = "0.0.0.0:18400
[::]:18400" ]
	run "$HUSK" ps --format '{{.Ports}}'
	[ "$output" = "0.0.0.0:18400->7000/tcp, [::]:18400->7000/tcp, [::1]:18401->7001/tcp, 127.0.0.1:18402->7002/tcp" ]
	run "$HUSK" inspect -f '{{json .NetworkSettings.Ports}}' web
	[ "$(jq -c '."7000/tcp"' <<<"$output")" = '[{"HostIp":"0.0.0.0","HostPort":"18400"},{"HostIp":"::","HostPort":"18400"}]' ]
	[ "$(jq -c '."7001/tcp"' <<<"$output")" = '[{"HostIp":"::1","HostPort":"18401"}]' ]
	run "$HUSK" inspect -f '{{json .HostConfig.PortBindings}}' web
	[ "$(jq -c '."7001/tcp"' <<<"$output")" = '[{"HostIp":"::1","HostPort":"18401"}]' ]
	# DNAT in husk's ip6 table; a port of one container is not another's
	in_ip6 18400
	run "$HUSK" run --rm --network v6 -p '[::1]:18400:80' busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"bind for [::1]:18400/tcp failed: port is already allocated" ]]
	# -p [::1]:... needs an IPv6 address; 0.0.0.0 is IPv4 only, as Docker's
	run "$HUSK" run --rm -p '[::1]:18403:80' busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no IPv6 address"* ]]
	! claimed 18403
	serve v4only --network v6 -p 0.0.0.0:18404:7000
	[ "$(ask 127.0.0.1 18404)" = v4only:7000 ]
	[ "$("$HUSK" port v4only)" = "7000/tcp -> 0.0.0.0:18404" ]
	! in_ip6 18404
	# a host socket on [::1]:18405: the proxy cannot bind it, nothing left
	/usr/bin/python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::1", 18405)); s.listen(); time.sleep(30)' &
	SRV=$!
	for _ in $(seq 50); do ss -ltnH 'sport = :18405' | grep -q . && break; sleep 0.05; done
	run "$HUSK" run -d --name busy --network v6 -p 18405:80 busybox sleep 100
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	! "$HUSK" inspect busy >/dev/null 2>&1
	! claimed 18405
	! in_ip6 18405
	kill "$SRV"
	# rm: its rules, claims, proxy and leases go
	id=$("$HUSK" inspect -f '{{.Id}}' web)
	[ -n "$(proxies)" ]
	"$HUSK" rm -f web v4only >/dev/null
	for p in 18400 18401 18402 18404; do ! claimed $p && ! in_ip6 $p; done
	[ -z "$(proxies)" ]
	[ -z "$(net_left "$id")" ]
	run timeout 3 busybox nc ::1 18400 </dev/null
	[[ "$output" != web:* ]]
	# the ports are free again
	serve again --network v6 -p 18400:7000 -p '[::1]:18401:7001'
	[ "$(ask ::1 18401)" = again:7001 ]
	# --rm: the proxy goes with the container
	"$HUSK" rm -f again >/dev/null
	"$HUSK" run --rm --network v6 -p '[::1]:18406:80' busybox true
	[ -z "$(proxies)" ]
	! claimed 18406
}

# udp_echo ADDR PORT MSG: what a UDP echo there answers MSG (a few tries)
udp_echo() {
	/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(0.3)
for _ in range(20):
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass' "$@"
}

@test "IPv6 -p PORT/udp on [::1]: datagrams through husk-proxy and back, each client its own answers; gone with the container" {
	"$HUSK" network create --ipv6 --subnet 10.93.84.0/24 --subnet fd00:93:84::/64 u6 >/dev/null
	"$HUSK" run -d --name dns --network u6 -p '[::1]:18407:7100/udp' -p 18410:7101/udp busybox sleep 1000 >/dev/null
	# an echo in the container's network stack that says who sent it
	nsenter -t "$("$HUSK" inspect -f '{{.State.Pid}}' dns)" -n /usr/bin/python3 -c '
import select, socket
ss = []
for p in (7100, 7101):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", p))
    ss.append(s)
while True:
    for s in select.select(ss, [], [])[0]:
        d, a = s.recvfrom(100)
        s.sendto(b"echo:" + d, a)' &
	SRV=$!
	# -p [::1]:P/udp (that address only) and -p P/udp (every address:
	# [::1] through the proxy as well)
	[ "$(udp_echo ::1 18407 one)" = echo:one ]
	[ "$(udp_echo ::1 18410 two)" = echo:two ]
	[ "$("$HUSK" port dns 7100/udp)" = "[::1]:18407" ]
	# two clients at once, each gets its own answers back
	run /usr/bin/python3 -c '
import socket
a = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for s in (a, b):
    s.settimeout(2)
a.sendto(b"from-a", ("::1", 18407))
b.sendto(b"from-b", ("::1", 18407))
print(b.recvfrom(100)[0].decode(), a.recvfrom(100)[0].decode())'
	[ "$output" = "echo:from-b echo:from-a" ]
	# the port is husk-proxy's: a second container cannot have it
	run "$HUSK" run --rm --network u6 -p '[::1]:18407:53/udp' busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	# gone with the container: no proxy, no answer, the port free
	"$HUSK" rm -f dns >/dev/null
	[ -z "$(proxies)" ]
	[ -z "$(udp_echo ::1 18407 three)" ]
	"$HUSK" run --rm --network u6 -p '[::1]:18407:53/udp' busybox true
}

@test "IPv6: two containers on an IPv6 network reach each other by name over IPv6" {
	"$HUSK" network create --ipv6 --subnet 10.93.81.0/24 --subnet fd00:93:81::/64 n6 >/dev/null
	serve web --network n6 --network-alias www
	a6=$("$HUSK" inspect -f '{{.NetworkSettings.Networks.n6.GlobalIPv6Address}}' web)
	[[ "$a6" == fd00:93:81::* ]]
	dns=$(for p in $(pgrep -x husk-dns); do readlink "/proc/$p/exe"; done 2>/dev/null || true)
	if [ "$dns" != "$(dirname "$HUSK")/husk-dns" ]; then
		# the host's one resolver is another husk's, maybe an older one
		# (A only): the name checked by the address alone
		skip "the resolver running is $dns"
	fi
	# by name and alias: the AAAA answer, ICMPv6 through getaddrinfo,
	# then TCP to the address the name gave
	run "$HUSK" run --rm --network n6 busybox sh -c '
		for n in web www; do
			a=$(nslookup -type=aaaa $n | awk "/^Address: .*:/ {print \$2}" | tail -1)
			echo "$n=$a"
			ping -6 -c1 -W2 $n >/dev/null && echo "$n pinged"
			nc -w 3 "$a" 7001 </dev/null
		done'
	[ "$status" -eq 0 ]
	[ "$output" = "web=$a6
web pinged
web:7001
www=$a6
www pinged
web:7001" ]
}

@test "--ip6 on run, create and network connect: that address, in inspect and in the container; a taken, foreign or bad one is one line, exit 125, nothing left" {
	"$HUSK" network create --ipv6 --subnet 10.93.82.0/24 --subnet fd00:93:82::/64 n6 >/dev/null
	"$HUSK" network create --subnet 10.93.83.0/24 n4 >/dev/null
	"$HUSK" run -d --name a --network n6 --ip6 fd00:93:82::a0 busybox sleep 60 >/dev/null
	run "$HUSK" inspect -f '{{.NetworkSettings.Networks.n6.GlobalIPv6Address}}' a
	[ "$output" = fd00:93:82::a0 ]
	run "$HUSK" exec a ip -6 -o addr show dev eth0 scope global
	[[ "$output" == *"inet6 fd00:93:82::a0/64"* ]]
	# with --ip too, on create: both given, both had
	"$HUSK" create --name b --network n6 --ip 10.93.82.77 --ip6 fd00:93:82::b0 busybox sleep 60 >/dev/null
	"$HUSK" start b
	run "$HUSK" exec b sh -c 'ip -4 -o addr show eth0; ip -6 -o addr show eth0 scope global'
	[[ "$output" == *"inet 10.93.82.77/24"* ]]
	[[ "$output" == *"inet6 fd00:93:82::b0/64"* ]]
	# a reaches b at the address it was given
	run "$HUSK" exec a ping -6 -c1 -W2 fd00:93:82::b0
	[ "$status" -eq 0 ]
	# network connect --ip6: a container on n4 joins n6 at that address
	"$HUSK" run -d --name c --network n4 busybox sleep 60 >/dev/null
	"$HUSK" network connect --ip6 fd00:93:82::c0 n6 c
	run "$HUSK" exec c ip -6 -o addr show dev eth1 scope global
	[[ "$output" == *"inet6 fd00:93:82::c0/64"* ]]
	# and one more on n4, to be refused on n6 below
	"$HUSK" run -d --name e --network n4 busybox sleep 60 >/dev/null
	ids=$("$HUSK" ps -aq --no-trunc)
	# refused whole: taken, outside the subnet, the subnet's own first
	# address, the gateway, not an address, a network without IPv6, the
	# default bridge, --network none
	for bad in "--network n6 --ip6 fd00:93:82::a0|already in use" \
		"--network n6 --ip6 fd00:93:99::5|is not one for a container in fd00:93:82::/64" \
		"--network n6 --ip6 fd00:93:82::|is not one for a container" \
		"--network n6 --ip6 fd00:93:82::1|is not one for a container" \
		"--network n6 --ip6 10.93.82.9|--ip6 \"10.93.82.9\": not an IPv6 address" \
		"--network n4 --ip6 fd00:93:82::d0|needs a user-defined network with an IPv6 subnet" \
		"--ip6 fd00:93:82::d0|need a user-defined network" \
		"--network none --ip6 fd00:93:82::d0|need a network"; do
		# shellcheck disable=SC2086
		run -125 "$HUSK" run --rm ${bad%%|*} busybox true
		echo "$bad: $output"
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"${bad#*|}"* ]]
	done
	run -125 "$HUSK" network connect --ip6 fd00:93:82::a0 n6 e
	[[ "$output" == *"already in use"* ]]
	run "$HUSK" inspect -f '{{len .NetworkSettings.Networks}}' e
	[ "$output" = 1 ]
	# nothing of the refused ones: no container, no lease
	[ "$("$HUSK" ps -aq --no-trunc)" = "$ids" ]
	[ "$(grep -o 'fd00:93:82::[0-9a-f]*' "${HUSK_NET_STATE:-/run/husk-net}/leases.json" | sort | tr '\n' ' ')" = "fd00:93:82::a0 fd00:93:82::b0 fd00:93:82::c0 " ]
	# gone with its container: the address is free again
	"$HUSK" rm -f a >/dev/null
	"$HUSK" run -d --name a2 --network n6 --ip6 fd00:93:82::a0 busybox sleep 60 >/dev/null
	run "$HUSK" inspect -f '{{.NetworkSettings.Networks.n6.GlobalIPv6Address}}' a2
	[ "$output" = fd00:93:82::a0 ]
}

@test "IPv6: outbound traffic of an IPv6 network is masqueraded: an outside host sees the host's address" {
	outside_host6
	"$HUSK" network create --ipv6 --subnet 10.93.82.0/24 --subnet fd00:93:82::/64 m6 >/dev/null
	run "$HUSK" run --rm --network m6 busybox nc -w 3 "$NET6::2" 9000
	[ "$status" -eq 0 ]
	[ "$output" = "$NET6::1" ]
	# the rule is in husk's own table
	nft list chain ip6 husk postrouting | grep -q masquerade
	# the outside host reaches a published port at the host's IPv6
	# address on its link: TCP, and UDP (an echo in the container's
	# network stack)
	serve web --network m6 -p 18408:7000 -p 18409:7100/udp
	for _ in $(seq 30); do
		out=$(ip netns exec "$OUTSIDE" timeout 3 busybox nc "$NET6::1" 18408 </dev/null 2>/dev/null) && [ -n "$out" ] && break
		sleep 0.1
	done
	[ "$out" = web:7000 ]
	nsenter -t "$("$HUSK" inspect -f '{{.State.Pid}}' web)" -n /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 7100))
d, a = s.recvfrom(100)
s.sendto(b"echo:" + d, a)' &
	SRV=$!
	run ip netns exec "$OUTSIDE" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(20):
    s.sendto(b"udp6", (sys.argv[1], 18409))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass' "$NET6::1"
	[ "$output" = echo:udp6 ]
	# an internal network reaches nothing out
	"$HUSK" network create --internal --ipv6 --subnet 10.93.83.0/24 --subnet fd00:93:83::/64 i6 >/dev/null
	run "$HUSK" run --rm --network i6 busybox nc -w 2 "$NET6::2" 9000
	[ "$status" -ne 0 ]
	[[ "$output" != "$NET6::1" ]]
}

@test "IPv6 on the default bridge: off unless <root>/engine.json says ipv6 and fixed-cidr-v6; then an address, NAT out, [::1] ports" {
	outside_host6
	# the default: IPv4 only
	[ "$("$HUSK" network inspect bridge | jq -r '.[0].EnableIPv6')" = false ]
	"$HUSK" run -d --name plain busybox sleep 100 >/dev/null
	[ -z "$("$HUSK" inspect -f '{{.NetworkSettings.Networks.bridge.GlobalIPv6Address}}' plain)" ]
	"$HUSK" rm -f plain >/dev/null
	mkdir -p "$HUSK_ROOT"
	echo '{"ipv6": true, "fixed-cidr-v6": "fd00:93:84::/64"}' >"$HUSK_ROOT/engine.json"
	run "$HUSK" network inspect bridge
	[ "$(jq -r '.[0].EnableIPv6' <<<"$output")" = true ]
	[ "$(jq -c '.[0].IPAM.Config[1]' <<<"$output")" = '{"Subnet":"fd00:93:84::/64","Gateway":"fd00:93:84::1"}' ]
	serve d6 -p 18410:7000
	a6=$("$HUSK" inspect -f '{{.NetworkSettings.Networks.bridge.GlobalIPv6Address}}' d6)
	[[ "$a6" == fd00:93:84::* ]]
	run "$HUSK" exec d6 ip -6 route
	[[ "$output" == *"default via fd00:93:84::1 dev eth0"* ]]
	[ "$(ask ::1 18410)" = d6:7000 ]
	[ "$(ask 127.0.0.1 18410)" = d6:7000 ]
	[ "$("$HUSK" port d6 7000)" = "0.0.0.0:18410
[::]:18410" ]
	run "$HUSK" run --rm busybox nc -w 3 "$NET6::2" 9000
	[ "$output" = "$NET6::1" ]
	# a subnet of a user-defined network may not overlap it
	run "$HUSK" network create --ipv6 --subnet 10.93.85.0/24 --subnet fd00:93:84::/64 clash
	[ "$status" -eq 125 ]
	# bad settings: one line, exit 125, nothing made
	for conf in '{"ipv6": true}' '{"ipv6": true, "fixed-cidr-v6": "fd00:93:84::1/64"}' \
		'{"ipv6": true, "fixed-cidr-v6": "10.1.0.0/16"}' '{"ipv6": "yes"}' '{"ipv6": '; do
		echo "$conf" >"$HUSK_ROOT/engine.json"
		run "$HUSK" run --rm -p 18411:80 busybox true
		[ "$status" -eq 125 ] || { echo "accepted: $conf"; false; }
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *engine.json* ]]
	done
	[ "$("$HUSK" ps -aq | wc -l)" -eq 1 ]
	! claimed 18411
}

@test "IPv6: kill -9 of husk in the middle of a run with IPv6 ports, or of the monitor, leaves what rm -f removes" {
	"$HUSK" network create --ipv6 --subnet 10.93.86.0/24 --subnet fd00:93:86::/64 k6 >/dev/null
	for d in 0.01 0.02 0.03 0.05 0.08 0.12 0.2 0.4; do
		timeout -s KILL "$d" "$HUSK" run -d --network k6 -p 18415:80 -p '[::1]:18416:81' busybox sleep 100 >/dev/null 2>&1 || true
	done
	# and a monitor killed under a running container
	"$HUSK" run -d --name m --network k6 -p 18417:80 -p '[::1]:18418:81' busybox sleep 100 >/dev/null
	[ -n "$(proxies)" ] && in_ip6 18417
	kill -9 "$(pgrep -f "husk-monitor .*$TEST_DIR/lib.*$("$HUSK" inspect -f '{{.Id}}' m)")"
	ids=$(ls "$HUSK_ROOT/containers")
	for id in $ids; do
		run "$HUSK" rm -f "$id"
		[ "$status" -eq 0 ]
	done
	[ -z "$(ls "$HUSK_ROOT/containers")" ]
	[ -z "$(net_left $ids)" ]
	[ -z "$(proxies)" ]
	for p in 18415 18416 18417 18418; do ! claimed $p && ! in_ip6 $p; done
	run "$HUSK" network rm k6
	[ "$status" -eq 0 ]
}
