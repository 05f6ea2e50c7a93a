#!/bin/bash
# net.sh: what husk's networking costs, in one run, as ratios.
#   1. TCP throughput (iperf3, Debian's) container to container on the
#      default bridge, and from the host to a published port (127.0.0.1,
#      DNAT in husk's table), each against the same path over a bare veth
#      pair the script makes (two netns, or the host and one netns: no
#      bridge, no nft).  Target: within 10%.  And, as a control, the
#      same between two netns on a plain bridge the script makes (what
#      the bridge itself costs, with the host's br_netfilter).
#   2. What networking adds to `run --rm busybox true`: husk's default
#      bridge against its --network none, and Podman 4.3's (CNI bridge
#      plugin, the backend Debian's Podman has; no masquerade and no
#      firewall plugin, so that Podman touches no iptables/nft table)
#      against its --network none, alternating.  A container holds a
#      lease (husk) during the runs, so that husk's nft table is neither
#      made nor removed by them: the steady state of a busy host.
#   3. Name resolution on a user-defined network: getaddrinfo() of another
#      container's name from inside a container (python3's socket module,
#      glibc's stub resolver, UDP to husk-dns on the gateway), median and
#      p90 over many lookups.
# Traffic goes only between the script's containers and namespaces and
# the host's loopback.  Run as root.  See bench/README.md.
#
# Environment:
#   HUSK   husk binary (default build/husk next to bench/)
#   N      run --rm rounds (default 20)
#   R      iperf3 rounds, each path once a round, alternating (default 7)
#   T      seconds an iperf3 run (default 3)
#   L      lookups (default 500)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib-engine.sh
. "$here/lib-engine.sh"
# shellcheck source=bench/lib-podman.sh
. "$here/lib-podman.sh"
N=${N:-20}
R=${R:-7}
T=${T:-3}
L=${L:-500}
[ "$(id -u)" = 0 ] || { echo "net.sh: run as root" >&2; exit 1; }
for t in iperf3 jq python3 podman; do
	command -v "$t" >/dev/null || { echo "net.sh: $t not found" >&2; exit 1; }
done

# husk on the network (lib-engine's hk keeps it off)
hkn() { timeout "$HK_TIMEOUT" "$HUSK" "$@"; }
# the host's iperf3 and python3 in the busybox image (merged /usr)
MOUNTS=(-v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro)

NSA=hkbench-a$$
NSB=hkbench-b$$
NSC=hkbench-c$$ # C and D: a plain bridge made here, the control of the
NSD=hkbench-d$$ # bridge's own cost (no husk, the host's br_netfilter)
BR=hkbbr$$
VA=hkbva$$
VH=hkbvh$$
CNI_NET=huskbench$$
CNI_BR=cni-hkb$$
IPERF_PIDS=()
# the bare iperf3 server: its shell and what runs in its cgroup
stop_servers() {
	local p
	for p in "${IPERF_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	local g
	for g in srv srv2; do
		if [ -n "$CPU_CG" ] && [ -f "$CPU_CG/hkbench$$-$g/cgroup.procs" ]; then
			for p in $(cat "$CPU_CG/hkbench$$-$g/cgroup.procs"); do kill "$p" 2>/dev/null; done
		fi
	done
	IPERF_PIDS=()
	sleep 0.2
}
[ -d /var/lib/cni ] && cni_was=1 || cni_was=
# Each container runs in a cpu cgroup of its own, which under load gets
# it more CPU than a process among the many in the root one (measured:
# an iperf3 server moved into a cgroup of its own went from 1.8-2.8 to
# 3.1-3.8 Gbit/s); the bare endpoints get one each too, so that the
# comparison is of the paths.  cgroup v1's cpu hierarchy only.
CPU_CG=
[ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/cpu/cgroup.procs ] && CPU_CG=/sys/fs/cgroup/cpu
# in_cg NAME CMD...: CMD in the cpu cgroup hkbench<pid>-NAME
in_cg() {
	local d=$CPU_CG/hkbench$$-$1
	shift
	[ -n "$CPU_CG" ] || { "$@"; return; }
	mkdir -p "$d" && sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$d" "$@"
}
bench_more_cleanup() {
	stop_servers
	[ -z "$CPU_CG" ] || rmdir "$CPU_CG"/hkbench$$-* 2>/dev/null
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSD" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	ip link del "$VH" 2>/dev/null
	if [ -n "${PM_DIR:-}" ]; then
		pm rm -af -t 0 >/dev/null 2>&1
		pm network rm -f "$CNI_NET" >/dev/null 2>&1
	fi
	ip link del "$CNI_BR" 2>/dev/null
	rm -rf "/var/lib/cni/networks/$CNI_NET" 2>/dev/null
	find /var/lib/cni/results -name "$CNI_NET-*" -delete 2>/dev/null
	[ -n "$cni_was" ] || rmdir /var/lib/cni/networks /var/lib/cni/results /var/lib/cni 2>/dev/null
	return 0
}
bench_begin net

# A /24 for the bare pairs and one for Podman's network, neither on a
# route of the host (husk's networks, other sessions' included)
free_net() {
	local n
	for n in $(seq "$1" 250); do
		ip -4 route | grep -q "^10\.213\.$n\." || { echo "$n"; return; }
	done
	return 1
}
bare=$(free_net 10) && pnet=$(free_net $((bare + 1))) ||
	{ echo "net.sh: no free 10.213.x.0/24" >&2; exit 1; }

# iperf3_bps ARGS...: the receiver's bits a second (client on the host side)
iperf3_bps() {
	"$@" -J -t "$T" 2>/dev/null | jq -e '.end.sum_received.bits_per_second | floor' ||
		echo 0
}

# wait_listen CMD...: until CMD (a netstat) shows :5201 listening (bounded)
wait_listen() {
	for _ in $(seq 100); do
		"$@" 2>/dev/null | grep -q ':5201 ' && return 0
		sleep 0.05
	done
	echo "net.sh: iperf3 -s did not listen" >&2
	return 1
}

[ -n "$CPU_CG" ] || echo "net.sh: no cgroup v1 cpu hierarchy: the bare endpoints share the caller's cpu cgroup" >&2
echo "husk: $HUSK; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; iperf3 -t $T, $R rounds"

# --- 1. throughput ------------------------------------------------------
# bare: netns A <-> netns B over one veth pair; the host <-> netns A over
# another (as the host reaches a published port, minus the bridge and DNAT)
ip netns add "$NSA" && ip netns add "$NSB" || exit 1
ip link add hkbx$$ netns "$NSA" type veth peer name hkby$$ netns "$NSB"
ip -n "$NSA" addr add "10.213.$bare.1/30" dev hkbx$$
ip -n "$NSB" addr add "10.213.$bare.2/30" dev hkby$$
ip link add "$VH" type veth peer name "$VA" netns "$NSA"
ip addr add "10.213.$bare.5/30" dev "$VH"
ip -n "$NSA" addr add "10.213.$bare.6/30" dev "$VA"
ip -n "$NSA" link set lo up
ip -n "$NSA" link set hkbx$$ up
ip -n "$NSA" link set "$VA" up
ip -n "$NSB" link set hkby$$ up
ip link set "$VH" up
in_cg srv ip netns exec "$NSA" iperf3 -s >/dev/null 2>&1 &
IPERF_PIDS+=($!)
wait_listen ip netns exec "$NSA" ss -ltn || exit 1
# the control: netns C and D on a plain bridge, each by a veth pair, as
# husk's containers are on husk0 (no nft rule of husk's on the way)
ip netns add "$NSC" && ip netns add "$NSD" || exit 1
ip link add "$BR" type bridge && ip link set "$BR" up || exit 1
for x in c d; do
	ns=$NSC
	[ "$x" = d ] && ns=$NSD
	ip link add "hkbp$x$$" type veth peer name eth0 netns "$ns"
	ip link set "hkbp$x$$" master "$BR"
	ip link set "hkbp$x$$" up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
done
ip -n "$NSC" addr add "10.213.$bare.9/30" dev eth0
ip -n "$NSD" addr add "10.213.$bare.10/30" dev eth0
in_cg srv2 ip netns exec "$NSD" iperf3 -s >/dev/null 2>&1 &
IPERF_PIDS+=($!)
wait_listen ip netns exec "$NSD" ss -ltn || exit 1

# husk: a server container published on a free port of the host's loopback
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hkn run -d --name srv -p "$port:5201" "${MOUNTS[@]}" busybox iperf3 -s >/dev/null ||
	{ echo "net.sh: husk run of the iperf3 server failed" >&2; exit 1; }
wait_listen hkn exec srv netstat -ltn || exit 1
srv_ip=$(hkn inspect -f '{{.NetworkSettings.IPAddress}}' srv)

for ((i = 0; i < R; i++)); do
	iperf3_bps in_cg cli ip netns exec "$NSB" iperf3 -c "10.213.$bare.1" >>"$W/bare-c2c"
	iperf3_bps hkn run --rm "${MOUNTS[@]}" busybox iperf3 -c "$srv_ip" >>"$W/husk-c2c"
	iperf3_bps in_cg cli ip netns exec "$NSC" iperf3 -c "10.213.$bare.10" >>"$W/bridge-c2c"
	iperf3_bps iperf3 -c "10.213.$bare.6" >>"$W/bare-host"
	iperf3_bps iperf3 -c 127.0.0.1 -p "$port" >>"$W/husk-port"
done
med() { sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
gbit() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1e9}'; }
echo
echo "== TCP throughput, iperf3 -t $T, median of $R (Gbit/s)"
printf '%-44s %8s %8s %8s\n' path husk bare husk/bare
for p in c2c:"container to container (default bridge)" port:"host to a published port (127.0.0.1, DNAT)"; do
	k=${p%%:*}
	a=$(med "$W/husk-$k")
	[ "$k" = c2c ] && b=$(med "$W/bare-c2c") || b=$(med "$W/bare-host")
	printf '%-44s %8s %8s %8s\n' "${p#*:}" "$(gbit "$a")" "$(gbit "$b")" "$(ratio "$a" "$b")"
done
# the control: "bare" is a plain bridge here, what any bridged path pays
a=$(med "$W/husk-c2c")
b=$(med "$W/bridge-c2c")
printf '%-44s %8s %8s %8s\n' "the same against a plain bridge (control)" "$(gbit "$a")" \
	"$(gbit "$b")" "$(ratio "$a" "$b")"
printf '%-44s %8s %8s %8s\n' "a plain bridge against the bare pair" "$(gbit "$b")" \
	"$(gbit "$(med "$W/bare-c2c")")" "$(ratio "$b" "$(med "$W/bare-c2c")")"
stop_servers
hkn rm -f srv >/dev/null

# --- 2. what networking adds to run --rm ----------------------------------
mkdir -p "$PM_DIR/cni"
cat >"$PM_DIR/cni/$CNI_NET.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BR",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "10.213.$pnet.0/24", "gateway": "10.213.$pnet.1" }]]
      }
    }
  ]
}
EOF
cat >>"$PM_DIR/containers.conf" <<EOF
[network]
network_backend = "cni"
network_config_dir = "$PM_DIR/cni"
cni_plugin_dirs = ["/usr/lib/cni"]
EOF
names=(husk-none husk-bridge podman-none podman-bridge)
run_one() {
	case $1 in
	husk-none) hkn run --rm --network none busybox true ;;
	husk-bridge) hkn run --rm busybox true ;;
	podman-none) pm --runtime runc run --rm --network none busybox true ;;
	podman-bridge) pm --runtime runc run --rm --network "$CNI_NET" busybox true ;;
	esac
}
hkn run -d --name holder busybox sleep 3600 >/dev/null
for n in "${names[@]}"; do
	run_one "$n" >/dev/null 2>"$W/probe.err" ||
		{ echo "net.sh: $n fails: $(head -c 400 "$W/probe.err")" >&2; exit 1; }
done
for ((i = 0; i < N; i++)); do
	for n in "${names[@]}"; do
		timed "$W/run-$n" run_one "$n" || echo "$n failed" >>"$W/fails"
	done
done
hkn rm -f holder >/dev/null
echo
echo "== run --rm busybox true, $N rounds alternating (ms)"
printf '%-24s %8s %8s %8s\n' "" median p90 "+ms"
for e in husk podman; do
	base=$(stats "$W/run-$e-none" | awk '{print $2}')
	for m in none bridge; do
		read -r _ md p90 _ <<<"$(stats "$W/run-$e-$m")"
		printf '%-24s %8s %8s %8s\n' "$e --network $m" "$md" "$p90" \
			"$(awk -v a="$md" -v b="$base" 'BEGIN {printf "%+.1f", a - b}')"
	done
	eval "add_$e=\$(awk -v a=\"\$md\" -v b=\"\$base\" 'BEGIN {print a - b}')"
done
# shellcheck disable=SC2154
echo "networking adds: husk $add_husk ms, podman $add_podman ms (husk/podman $(ratio "$add_husk" "$add_podman"))"
[ ! -s "$W/fails" ] || { sort "$W/fails" | uniq -c; }

# --- 3. name resolution -------------------------------------------------
hkn network create "hkbench$$" >/dev/null
hkn run -d --name web --network "hkbench$$" --network-alias www busybox sleep 3600 >/dev/null
echo
echo "== getaddrinfo() from a container on a user-defined network, $L lookups (us)"
hkn run --rm --network "hkbench$$" "${MOUNTS[@]}" busybox python3 -c '
import socket, sys, time
n = int(sys.argv[1])
print("%-26s %8s %8s %8s" % ("name", "median", "p90", "min"))
for name in sys.argv[2:]:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        socket.getaddrinfo(name, None, socket.AF_INET)
        ts.append((time.perf_counter() - t) * 1e6)
    ts.sort()
    print("%-26s %8.0f %8.0f %8.0f" % (name, ts[n // 2], ts[int(n * 0.9)], ts[0]))
' "$L" web www
hkn rm -f web >/dev/null
hkn network rm "hkbench$$" >/dev/null
