#!/usr/bin/env bats
# husk run --network-egress-rate / --network-ingress-rate: bandwidth limits
# per container, measured by their effect with iperf3 (Debian's), between
# containers the test makes: a server in one, a limited client in another
# stays within 10% of its limit in each direction, an unlimited one goes
# well above it.  Bad rates are refused whole.  iperf3 runs from the host's
# /usr, bound read-only into the busybox image.

load helpers

setup() {
	command -v iperf3 >/dev/null || skip "no iperf3 (Debian's iperf3 package)"
	engine_setup
}

teardown() {
	local ids
	ids=$("$HUSK" ps -aq --no-trunc 2>/dev/null)
	for c in $ids; do "$HUSK" rm -f "$c" >/dev/null 2>&1; done
	local left=""
	for n in $("$HUSK" network ls -q --filter type=custom 2>/dev/null); do
		[ "$n" = husk0 ] && continue
		"$HUSK" network rm "$n" >/dev/null 2>&1 || left+="network $n; "
	done
	left+=$(net_left $ids)
	# the resolver follows the last container on a user network out
	for _ in $(seq 100); do pgrep -x husk-dns >/dev/null || break; sleep 0.05; done
	engine_teardown || return 1
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# the host's iperf3 and its libraries in the busybox image (merged /usr)
IPERF_MOUNTS=(-v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro)

# start_server NAME [RUN-FLAGS...]: an iperf3 server, waited for (bounded)
start_server() {
	local name=$1
	shift
	"$HUSK" run -d --name "$name" "$@" "${IPERF_MOUNTS[@]}" busybox iperf3 -s >/dev/null
	for _ in $(seq 100); do
		"$HUSK" exec "$name" netstat -ltn 2>/dev/null | grep -q ':5201 ' && return 0
		sleep 0.05
	done
	echo "iperf3 -s did not listen in $name" >&2
	return 1
}

# rate RUN-FLAGS... -- IPERF3-ARGS...: the bits a second the receiver saw,
# as an integer, from a client in a new --rm container
rate() {
	local flags=()
	while [ "$1" != -- ]; do
		flags+=("$1")
		shift
	done
	shift
	local out
	out=$("$HUSK" run --rm "${flags[@]}" "${IPERF_MOUNTS[@]}" busybox iperf3 -J -t 2 "$@")
	jq -e '.end.sum_received.bits_per_second | floor' <<<"$out" || {
		echo "iperf3: $(jq -r '.error // empty' <<<"$out" 2>/dev/null || echo "$out")" >&2
		return 1
	}
}

# within_10pct MEASURED LIMIT
within_10pct() {
	echo "measured $1 bit/s against a limit of $2" >&2
	[ "$1" -ge $(($2 * 9 / 10)) ] && [ "$1" -le $(($2 * 11 / 10)) ]
}

@test "husk run --network-egress-rate: what a container sends stays within 10% of the limit; unlimited goes well above" {
	start_server srv
	srv=$("$HUSK" inspect -f '{{.NetworkSettings.IPAddress}}' srv)
	[ -n "$srv" ]
	# the client sends (iperf3's default direction): the receiver's rate
	bps=$(rate --network-egress-rate 20mbit -- -c "$srv")
	within_10pct "$bps" 20000000
	# what it receives is not limited by an egress limit
	bps=$(rate --network-egress-rate 20mbit -- -c "$srv" -R)
	echo "received $bps bit/s" >&2
	[ "$bps" -gt 100000000 ]
	bps=$(rate -- -c "$srv")
	echo "unlimited: $bps bit/s" >&2
	[ "$bps" -gt 100000000 ]
	# the limit is at the container's end of the pair, where it cannot
	# lift it: no CAP_NET_ADMIN
	run "$HUSK" run --rm --network-egress-rate 20mbit busybox sh -c 'tc qdisc del dev eth0 root; echo "del: $?"; tc qdisc show dev eth0'
	[[ "$output" == *"del: 1"* ]]
	[[ "$output" == *"qdisc tbf"* ]]
}

@test "husk run --network-ingress-rate on a user-defined network: what it receives stays within 10% of the limit, inspect shows it" {
	"$HUSK" network create bwnet >/dev/null
	start_server srv --network bwnet
	# the server sends (-R): what the limited container receives; the
	# server found by name through the network's resolver
	bps=$(rate --network bwnet --network-ingress-rate 10mbit -- -c srv -R)
	within_10pct "$bps" 10000000
	bps=$(rate --network bwnet --network-ingress-rate 10mbit -- -c srv)
	echo "sent $bps bit/s" >&2
	[ "$bps" -gt 50000000 ]
	run "$HUSK" create --name lim --network bwnet --network-ingress-rate 1.5mbit --network-egress-rate 2mbps busybox true
	[ "$status" -eq 0 ]
	run "$HUSK" inspect -f '{{.HostConfig.NetworkIngressRate}} {{.HostConfig.NetworkEgressRate}}' lim
	[ "$output" = "1500000 16000000" ]
	# a container with no limit shows 0
	run "$HUSK" inspect -f '{{.HostConfig.NetworkIngressRate}} {{.HostConfig.NetworkEgressRate}}' srv
	[ "$output" = "0 0" ]
}

@test "husk network connect: the container's limits hold on a network it joins later" {
	"$HUSK" network create bwlate >/dev/null
	start_server srv --network bwlate
	"$HUSK" run -d --name lim --network-egress-rate 10mbit "${IPERF_MOUNTS[@]}" busybox sleep 60 >/dev/null
	"$HUSK" network connect bwlate lim
	srv=$("$HUSK" exec srv ip -4 -o addr show eth0 | sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p')
	[ -n "$srv" ]
	# the route to srv's subnet is by eth1, the new network's
	out=$("$HUSK" exec lim iperf3 -J -t 2 -c "$srv")
	bps=$(jq '.end.sum_received.bits_per_second | floor' <<<"$out")
	within_10pct "$bps" 10000000
}

@test "husk run: a bad rate, or a rate without a bridge network, is refused whole (exit 125, one line)" {
	for bad in 10 mbit 10mbits 0x10mbit 1e3mbit -1mbit 0mbit 7bit 9000tbit ""; do
		run "$HUSK" run --rm --network-egress-rate "$bad" busybox true
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--network-egress-rate \"$bad\""* ]]
	done
	run "$HUSK" run --rm --network-ingress-rate 10 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--network-ingress-rate \"10\": expected a rate and its unit"* ]]
	for mode in none host; do
		run "$HUSK" run --rm --network "$mode" --network-ingress-rate 10mbit busybox true
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"need a bridge network"* ]]
	done
	# nothing made
	run "$HUSK" ps -aq
	[ -z "$output" ]
}
