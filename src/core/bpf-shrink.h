/* A seccomp filter made shorter: see bpf-shrink.c. */
#ifndef HUSK_BPF_SHRINK_H
#define HUSK_BPF_SHRINK_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* The same decisions as p (n instructions) for every seccomp_data, in
 * fewer instructions: malloc'd, its length in *ret_n.  NULL when p is not
 * of a shape this takes, would not get shorter, or the result failed its
 * own check (or on ENOMEM): then load p. */
struct sock_filter *husk_bpf_shrink(const struct sock_filter *p, size_t n, size_t *ret_n);

/* What p returns for (arch, nr) whatever the arguments: 1 with the value
 * in *ret when the program decides before it loads any other word (an
 * argument, the instruction pointer), 0 when it does not or takes a step
 * this cannot follow. */
int husk_bpf_decides(const struct sock_filter *p, size_t n, uint32_t arch, uint32_t nr,
		     uint32_t *ret);

#endif
