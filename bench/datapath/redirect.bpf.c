/* A tc ingress program for bench/net-datapath.sh: an IPv4 packet for
 * TARGET_IP (as a little-endian u32 read from the packet) goes straight to
 * the peer of TARGET_IFINDEX (bpf_redirect_peer: into the other
 * namespace's veth, past the bridge and the host's netfilter hooks); any
 * other packet goes on as before.  Built with clang -target bpf by the
 * script, loaded by load.c; a measurement, not a part of husk. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#define SEC(x) __attribute__((section(x), used))

static long (*bpf_redirect_peer)(__u32 ifindex, __u64 flags) = (void *)BPF_FUNC_redirect_peer;

SEC("classifier") int redirect(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	unsigned char *p = data;
	if (data + 34 > end || p[12] != 0x08 || p[13] != 0x00)
		return TC_ACT_OK;
	if (*(__u32 *)(p + 30) != TARGET_IP)
		return TC_ACT_OK;
	return bpf_redirect_peer(TARGET_IFINDEX, 0);
}

char _license[] SEC("license") = "GPL";
