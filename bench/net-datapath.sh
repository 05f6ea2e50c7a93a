#!/bin/bash
# net-datapath.sh: where a bridged path's throughput goes (issue 13's
# container-to-container target), in network namespaces of the script's
# own, nothing of the host's touched: iperf3 TCP throughput
#   bare       two namespaces joined by one veth pair (net.sh's yardstick)
#   bridge     two namespaces on a Linux bridge in a third (two veth pairs
#              and the bridge: husk's and Docker's layout), br_netfilter's
#              bridge-nf-call-iptables as the kernel leaves it there
#   +conntrack the same with a nat table in the bridge's namespace, so that
#              conntrack sees every bridged packet (as in the host's
#              namespace, where husk's table and the host's own are)
#   +redirect  the bridge with a tc ingress program on each host-side veth
#              that hands a packet for the other namespace's address
#              straight to its veth (bpf_redirect_peer, as Cilium does),
#              past the bridge and the netfilter hooks
# R rounds (default 7) of T seconds (default 3), the paths alternating;
# medians and ratios to bare.  Needs iperf3, jq, tc, gcc, clang and
# llvm-objcopy (Debian: iperf3 jq iproute2 gcc clang llvm); run as root.
# Traffic stays inside the script's namespaces.  See bench/README.md.
set -eu
R=${R:-7}
T=${T:-3}
here=$(cd "$(dirname "$0")" && pwd)
for t in iperf3 jq tc gcc clang llvm-objcopy; do
	command -v $t >/dev/null || { echo "net-datapath.sh: needs $t" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "net-datapath.sh: run as root" >&2; exit 1; }

W=$(mktemp -d /tmp/husk-bench-datapath.XXXXXX)
P=hkdp$$ # namespace names: ${P}b (bridge), ${P}a, ${P}c, ${P}d, ${P}e
NS="${P}b ${P}a ${P}c ${P}d ${P}e"
cleanup() {
	for n in $NS; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$n" 2>/dev/null || true
	done
	umount "$W/bpffs" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
inb() { ip netns exec "${P}b" "$@"; }

for n in $NS; do
	ip netns add "$n"
	ip -n "$n" link set lo up
done
ip -n "${P}b" link add br0 type bridge
ip -n "${P}b" link set br0 up
i=1
for x in a c; do
	ip link add v$x netns "${P}$x" type veth peer name p$x netns "${P}b"
	ip -n "${P}b" link set p$x master br0
	ip -n "${P}b" link set p$x up
	ip -n "${P}$x" addr add 10.99.0.$i/24 dev v$x
	ip -n "${P}$x" link set v$x up
	i=$((i + 1))
done
ip link add vd netns "${P}d" type veth peer name ve netns "${P}e"
ip -n "${P}d" addr add 10.98.0.1/24 dev vd
ip -n "${P}e" addr add 10.98.0.2/24 dev ve
ip -n "${P}d" link set vd up
ip -n "${P}e" link set ve up

# the redirect programs: to c's address by pc, to a's by pa
gcc -O2 -o "$W/load" "$here/datapath/load.c"
mkdir "$W/bpffs"
mount -t bpf bpf "$W/bpffs"
ifindex() { ip -n "${P}b" -j link show "$1" | jq '.[0].ifindex'; }
for t in "c 2" "a 1"; do
	read -r x n <<<"$t"
	clang -O2 -target bpf -I/usr/include/"$(gcc -dumpmachine)" \
		-DTARGET_IP=$(((n << 24) | (99 << 8) | 10)) -DTARGET_IFINDEX="$(ifindex "p$x")" \
		-c "$here/datapath/redirect.bpf.c" -o "$W/to_$x.o"
	llvm-objcopy -O binary --only-section=classifier "$W/to_$x.o" "$W/to_$x.bin"
	"$W/load" "$W/to_$x.bin" "$W/bpffs/to_$x"
done
redirect_on() {
	for x in a c; do
		inb tc qdisc add dev p$x clsact
	done
	inb tc filter add dev pa ingress bpf da object-pinned "$W/bpffs/to_c"
	inb tc filter add dev pc ingress bpf da object-pinned "$W/bpffs/to_a"
}
redirect_off() {
	for x in a c; do
		inb tc qdisc del dev p$x clsact
	done
}
conntrack_on() {
	inb nft add table ip t
	inb nft add chain ip t post '{ type nat hook postrouting priority 100; }'
	inb nft add rule ip t post ip saddr 10.99.0.0/24 oifname != br0 masquerade
}
conntrack_off() { inb nft delete table ip t; }

ip netns exec "${P}c" iperf3 -s -D
ip netns exec "${P}e" iperf3 -s -D
sleep 1
tp() { ip netns exec "$1" iperf3 -c "$2" -t "$T" -J | jq '.end.sum_received.bits_per_second / 1e9'; }
bridged_bytes() { inb cat /sys/class/net/pc/statistics/tx_bytes; }

names=(bare bridge conntrack redirect)
declare -A V
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; iperf3 -t $T, $R rounds; bridge-nf-call-iptables in the bridge's namespace: $(inb sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo none)"
for ((r = 0; r < R; r++)); do
	V[bare]+="$(tp "${P}d" 10.98.0.2) "
	V[bridge]+="$(tp "${P}a" 10.99.0.2) "
	conntrack_on
	V[conntrack]+="$(tp "${P}a" 10.99.0.2) "
	conntrack_off
	redirect_on
	b0=$(bridged_bytes)
	V[redirect]+="$(tp "${P}a" 10.99.0.2) "
	b1=$(bridged_bytes)
	redirect_off
	# the redirect took the data past the bridge: what crossed it is ARP
	# and the like, not the transfer
	[ $((b1 - b0)) -lt 1000000 ] || { echo "net-datapath.sh: $((b1 - b0)) bytes crossed the bridge while redirected" >&2; exit 1; }
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
base=$(echo "${V[bare]}" | median)
printf '%-52s %8s %8s\n' "path (median of $R, Gbit/s)" Gbit/s "/bare"
for n in "${names[@]}"; do
	m=$(echo "${V[$n]}" | median)
	case $n in
	bare) label="one veth pair" ;;
	bridge) label="a bridge (two veth pairs)" ;;
	conntrack) label="a bridge, conntrack on in its namespace" ;;
	redirect) label="a bridge, tc bpf_redirect_peer between the veths" ;;
	esac
	printf '%-52s %8.2f %8.2f\n' "$label" "$m" "$(echo "$m / $base" | bc -l)"
done
