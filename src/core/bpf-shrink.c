/* bpf-shrink.c: libseccomp's filter, re-emitted as range tests.
 *
 * Why: loading a filter costs the kernel time in proportion to its length
 * (it converts it to eBPF and JITs it, several passes; on these VMs each
 * pass writes executable pages through text_poke), ~0.45 ms of every start
 * for Docker's default profile, which libseccomp emits as 1,220
 * instructions: a tree with one equality test per allowed syscall per
 * architecture.  Allowed syscall numbers come in runs (0-17, 19-24, ...),
 * so the same decision takes one comparison per run boundary.
 *
 * The method, which needs no knowledge of how libseccomp lays its program
 * out, only of what the program may do:
 *  - the program may load seccomp_data words, compare A with constants
 *    (jeq, jgt, jge, jset), jump, AND A with a constant and return a
 *    constant: nothing else (no X, no scratch memory), or it is kept as is;
 *  - the "head" is what runs before the first load of a word other than
 *    nr and arch (an argument or the instruction pointer).  In the head A
 *    holds nr, arch or the initial 0, found for every instruction by a
 *    forward pass (jumps only go forward); a head that tests bits (jset) or
 *    changes A (and) is kept as is;
 *  - every comparison in the head is then constant over the intervals that
 *    its constants cut nr and arch into, so the head's outcome (a return
 *    value, or "go on at instruction T" where an argument is loaded) is
 *    found exactly by running it once for one value of each interval;
 *  - the new program tests arch, then nr by binary search over the merged
 *    intervals, and returns or jumps to a copy of the code from T on (the
 *    instructions reachable from the tails, jump offsets renumbered: they
 *    only shrink, so an 8-bit offset still fits).  The search's leaves
 *    share one instruction per distinct outcome (tree() says how): for
 *    Docker's profile 307 instructions where a return per leaf made 561,
 *    and the kernel's load 235 us against 312 (medians of 300 loads here).
 * The result is checked the same way, every interval run through both
 * programs; any difference keeps the original.  The unit test also runs
 * both with real syscall numbers and random arguments. */
#define _GNU_SOURCE
#include "bpf-shrink.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define OFF_NR	 0 /* offsetof(struct seccomp_data, nr) */
#define OFF_ARCH 4 /* offsetof(struct seccomp_data, arch) */

enum field { F_UNSEEN, F_ZERO, F_NR, F_ARCH, F_OTHER, F_MIXED };

struct outcome {
	bool tail;  /* go on at pc (the original's), which loads another word */
	uint32_t v; /* the return value, or that pc */
};

struct vec {
	struct sock_filter *v;
	size_t n, cap;
	bool oom;
};

static void push(struct vec *o, struct sock_filter f)
{
	if (o->oom)
		return;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct sock_filter *v = realloc(o->v, cap * sizeof(*v));
		if (!v) {
			o->oom = true;
			return;
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = f;
}

static bool is_cond(uint16_t code)
{
	return code == (BPF_JMP | BPF_JEQ | BPF_K) || code == (BPF_JMP | BPF_JGT | BPF_K) ||
	       code == (BPF_JMP | BPF_JGE | BPF_K) || code == (BPF_JMP | BPF_JSET | BPF_K);
}

/* Only what libseccomp emits, every jump inside the program. */
static bool shape_ok(const struct sock_filter *p, size_t n)
{
	for (size_t pc = 0; pc < n; pc++) {
		uint16_t c = p[pc].code;
		if (c == (BPF_LD | BPF_W | BPF_ABS)) {
			if (p[pc].k % 4 || p[pc].k >= sizeof(struct seccomp_data))
				return false;
		} else if (is_cond(c)) {
			if (pc + 1 + p[pc].jt >= n || pc + 1 + p[pc].jf >= n)
				return false;
		} else if (c == (BPF_JMP | BPF_JA)) {
			if (p[pc].k >= n - pc - 1)
				return false;
		} else if (c != (BPF_RET | BPF_K) && c != (BPF_ALU | BPF_AND | BPF_K)) {
			return false;
		}
	}
	return n > 0 && p[n - 1].code == (BPF_RET | BPF_K);
}

static enum field join(enum field a, enum field b)
{
	if (a == F_UNSEEN)
		return b;
	return a == b ? a : F_MIXED;
}

/* What A holds on entry to each instruction of the head; tail entries
 * (loads of other words) are F_OTHER and not followed.  false: a head
 * this file does not take. */
static bool head_fields(const struct sock_filter *p, size_t n, enum field *in)
{
	for (size_t i = 0; i < n; i++)
		in[i] = F_UNSEEN;
	in[0] = F_ZERO;
	for (size_t pc = 0; pc < n; pc++) {
		enum field f = in[pc];
		if (f == F_UNSEEN || f == F_OTHER)
			continue;
		uint16_t c = p[pc].code;
		if (c == (BPF_LD | BPF_W | BPF_ABS)) {
			uint32_t k = p[pc].k;
			if (k != OFF_NR && k != OFF_ARCH) {
				in[pc] = F_OTHER;
				continue;
			}
			in[pc + 1] = join(in[pc + 1], k == OFF_NR ? F_NR : F_ARCH);
		} else if (is_cond(c)) {
			if (f == F_MIXED || c == (BPF_JMP | BPF_JSET | BPF_K))
				return false;
			in[pc + 1 + p[pc].jt] = join(in[pc + 1 + p[pc].jt], f);
			in[pc + 1 + p[pc].jf] = join(in[pc + 1 + p[pc].jf], f);
		} else if (c == (BPF_JMP | BPF_JA)) {
			in[pc + 1 + p[pc].k] = join(in[pc + 1 + p[pc].k], f);
		} else if (c == (BPF_ALU | BPF_AND | BPF_K)) {
			return false;
		}
	}
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The starts of the intervals over which every comparison made with A
 * holding `want` is constant: 0, and K and K+1 for each constant K. */
static uint32_t *cuts(const struct sock_filter *p, size_t n, const enum field *in, enum field want,
		      size_t *ret_n)
{
	uint32_t *v = malloc((2 * n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	size_t m = 0;
	v[m++] = 0;
	for (size_t pc = 0; pc < n; pc++) {
		if (in[pc] != want || !is_cond(p[pc].code))
			continue;
		v[m++] = p[pc].k;
		if (p[pc].k != UINT32_MAX)
			v[m++] = p[pc].k + 1;
	}
	qsort(v, m, sizeof(*v), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < m; i++)
		if (u == 0 || v[i] != v[u - 1])
			v[u++] = v[i];
	*ret_n = u;
	return v;
}

/* Run the program for one (arch, nr) until it returns or loads another
 * word.  origin maps a pc to the original's pc (NULL: the identity). */
static struct outcome run(const struct sock_filter *p, size_t n, const uint32_t *origin,
			  uint32_t arch, uint32_t nr)
{
	uint32_t a = 0;
	size_t pc = 0;
	while (pc < n) {
		const struct sock_filter *f = &p[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k != OFF_NR && f->k != OFF_ARCH)
				return (struct outcome){true, origin ? origin[pc] : (uint32_t)pc};
			a = f->k == OFF_NR ? nr : arch;
			pc++;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += 1 + (a == f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += 1 + (a > f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += 1 + (a >= f->k ? f->jt : f->jf);
			break;
		case BPF_JMP | BPF_JA:
			pc += 1 + f->k;
			break;
		case BPF_RET | BPF_K:
			return (struct outcome){false, f->k};
		default: /* not in a head: head_fields said so */
			return (struct outcome){true, UINT32_MAX};
		}
	}
	return (struct outcome){true, UINT32_MAX};
}

int husk_bpf_decides(const struct sock_filter *p, size_t n, uint32_t arch, uint32_t nr,
		     uint32_t *ret)
{
	struct outcome oc = run(p, n, NULL, arch, nr);
	if (oc.tail)
		return 0;
	*ret = oc.v;
	return 1;
}

static bool same(struct outcome a, struct outcome b)
{
	return a.tail == b.tail && a.v == b.v;
}

/* nr's intervals for one arch: starts[i] .. starts[i+1]-1 give out[i];
 * neighbours with the same outcome merged. */
struct nrmap {
	uint32_t *starts;
	struct outcome *out;
	size_t n;
};

static bool nrmap_equal(const struct nrmap *a, const struct nrmap *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->starts[i] != b->starts[i] || !same(a->out[i], b->out[i]))
			return false;
	return true;
}

#define TO_BLOCK 0x80000000u

struct fixup {
	size_t at;     /* a JA in the new program */
	uint32_t tail; /* to the copy of this original pc, or TO_BLOCK | a map's block */
};

struct emitter {
	struct vec o;
	struct fixup *fx;
	size_t n_fx, cap_fx;
	bool oom;
};

/* a JA whose offset is known once everything is laid out */
static void ja_to(struct emitter *e, uint32_t target)
{
	if (e->n_fx == e->cap_fx) {
		size_t cap = e->cap_fx ? e->cap_fx * 2 : 16;
		struct fixup *v = realloc(e->fx, cap * sizeof(*v));
		if (!v) {
			e->oom = true;
			return;
		}
		e->fx = v;
		e->cap_fx = cap;
	}
	e->fx[e->n_fx++] = (struct fixup){e->o.n, target};
	push(&e->o, (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0));
}

static void leaf(struct emitter *e, struct outcome oc)
{
	if (oc.tail)
		ja_to(e, oc.v);
	else
		push(&e->o, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, oc.v));
}

/* The distinct outcomes of out[i..j], at most max; 0 when there are more */
static size_t outcomes(const struct outcome *out, size_t i, size_t j, struct outcome *ret,
		       size_t max)
{
	size_t n = 0;
	for (size_t k = i; k <= j; k++) {
		size_t d = 0;
		while (d < n && !same(ret[d], out[k]))
			d++;
		if (d == n) {
			if (n == max)
				return 0;
			ret[n++] = out[k];
		}
	}
	return n;
}

static size_t slot_of(const struct outcome *slots, size_t n, struct outcome oc)
{
	size_t d = 0;
	while (d < n && !same(slots[d], oc))
		d++;
	return d;
}

/* The comparisons of [i, j] in pre-order from the current end, each leaf a
 * jump to its outcome's slot at slot0 + index (the caller places them) */
static void comparisons(struct emitter *e, const uint32_t *starts, const struct outcome *out,
			size_t i, size_t j, const struct outcome *slots, size_t n_slots,
			size_t slot0)
{
	size_t mid = i + (j - i) / 2;
	size_t at = e->o.n;
	push(&e->o,
	     (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, starts[mid + 1] - 1, 0, 0));
	if (e->o.oom)
		return;
	/* left: inline (jf 0) or a slot; right: after the left's
	 * comparisons (mid - i of them) or a slot */
	if (mid == i)
		e->o.v[at].jf = (uint8_t)(slot0 + slot_of(slots, n_slots, out[i]) - at - 1);
	else
		comparisons(e, starts, out, i, mid, slots, n_slots, slot0);
	if (e->o.oom)
		return;
	if (j == mid + 1)
		e->o.v[at].jt = (uint8_t)(slot0 + slot_of(slots, n_slots, out[j]) - at - 1);
	else {
		e->o.v[at].jt = (uint8_t)(e->o.n - at - 1);
		comparisons(e, starts, out, mid + 1, j, slots, n_slots, slot0);
	}
}

/* Binary search over intervals [i, j] of a map (starts, out): A > the
 * last value of the left half goes right.  A range small enough for 8-bit
 * jumps to reach past all its comparisons is laid out with its leaves
 * shared: j - i comparisons, then one instruction per distinct outcome
 * (a return, or a jump to a tail), which every leaf of that outcome jumps
 * to.  Docker's default profile alternates allow and ERRNO over ~90
 * intervals an architecture: a return each took as many instructions as
 * the comparisons, and the kernel's load time goes with the length. */
static void tree(struct emitter *e, const uint32_t *starts, const struct outcome *out, size_t i,
		 size_t j)
{
	if (i == j) {
		leaf(e, out[i]);
		return;
	}
	struct outcome slots[8];
	size_t n_slots = outcomes(out, i, j, slots, ARRAY_SIZE(slots));
	if (n_slots && (j - i) + n_slots <= 255) {
		size_t slot0 = e->o.n + (j - i);
		comparisons(e, starts, out, i, j, slots, n_slots, slot0);
		for (size_t d = 0; d < n_slots; d++)
			leaf(e, slots[d]);
		return;
	}
	size_t mid = i + (j - i) / 2;
	uint32_t split = starts[mid + 1] - 1; /* the left half's last value */
	size_t at = e->o.n;
	push(&e->o, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, split, 0, 0));
	/* the left half follows; if it is too long for jt's 8 bits, jt
	 * falls through to a JA over it and jf skips that JA */
	size_t left_at = e->o.n;
	tree(e, starts, out, i, mid);
	size_t left_len = e->o.n - left_at;
	if (left_len > 255) {
		/* the JA goes before the left half: shift it by one */
		push(&e->o, (struct sock_filter){0});
		if (e->o.oom)
			return;
		memmove(&e->o.v[left_at + 1], &e->o.v[left_at],
			left_len * sizeof(struct sock_filter));
		for (size_t f = 0; f < e->n_fx; f++)
			if (e->fx[f].at >= left_at)
				e->fx[f].at++;
		e->o.v[left_at] =
			(struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, (uint32_t)left_len);
		e->o.v[at].jf = 1;
	} else if (!e->o.oom) {
		e->o.v[at].jt = (uint8_t)left_len;
	}
	tree(e, starts, out, mid + 1, j);
}

/* The same for arch, whose leaves are nr maps (or, when a map is one
 * outcome, that outcome). */
static void arch_tree(struct emitter *e, const uint32_t *starts, const size_t *map_of, size_t i,
		      size_t j, const struct nrmap *maps)
{
	if (i == j) {
		const struct nrmap *m = &maps[map_of[i]];
		if (m->n == 1)
			leaf(e, m->out[0]);
		else
			ja_to(e, TO_BLOCK | (uint32_t)map_of[i]);
		return;
	}
	size_t mid = i + (j - i) / 2;
	uint32_t split = starts[mid + 1] - 1;
	size_t at = e->o.n;
	push(&e->o, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, split, 0, 0));
	size_t left_at = e->o.n;
	arch_tree(e, starts, map_of, i, mid, maps);
	size_t left_len = e->o.n - left_at;
	if (e->o.oom || left_len > 255) { /* a handful of arches: never */
		e->oom = true;
		return;
	}
	e->o.v[at].jt = (uint8_t)left_len;
	arch_tree(e, starts, map_of, mid + 1, j, maps);
}

static void free_maps(struct nrmap *maps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(maps[i].starts);
		free(maps[i].out);
	}
	free(maps);
}

/* Every interval of both cut lists through both programs. */
static bool equivalent(const struct sock_filter *p, size_t n, const struct sock_filter *q, size_t m,
		       const uint32_t *origin, const uint32_t *ac, size_t n_ac, const uint32_t *nc,
		       size_t n_nc)
{
	for (size_t i = 0; i < n_ac; i++)
		for (size_t k = 0; k < n_nc; k++)
			if (!same(run(p, n, NULL, ac[i], nc[k]), run(q, m, origin, ac[i], nc[k])))
				return false;
	return true;
}

struct sock_filter *husk_bpf_shrink(const struct sock_filter *p, size_t n, size_t *ret_n)
{
	struct sock_filter *result = NULL;
	enum field *in = NULL;
	uint32_t *ac = NULL, *nc = NULL, *origin = NULL, *newidx = NULL, *block = NULL;
	size_t n_ac = 0, n_nc = 0, n_maps = 0;
	struct nrmap *maps = NULL;
	size_t *map_of = NULL;
	uint32_t *astarts = NULL;
	size_t *amap = NULL;
	bool *keep = NULL;
	struct emitter e = {0};

	if (!shape_ok(p, n) || !(in = calloc(n, sizeof(*in))) || !head_fields(p, n, in))
		goto out;
	ac = cuts(p, n, in, F_ARCH, &n_ac);
	nc = cuts(p, n, in, F_NR, &n_nc);
	maps = calloc(n_ac, sizeof(*maps));
	map_of = calloc(n_ac, sizeof(*map_of));
	if (!ac || !nc || !maps || !map_of)
		goto out;

	/* the head's outcome on each interval, per arch interval, merged */
	for (size_t i = 0; i < n_ac; i++) {
		struct nrmap m = {malloc(n_nc * sizeof(uint32_t)),
				  malloc(n_nc * sizeof(struct outcome)), 0};
		if (!m.starts || !m.out) {
			free(m.starts);
			free(m.out);
			goto out;
		}
		for (size_t k = 0; k < n_nc; k++) {
			struct outcome oc = run(p, n, NULL, ac[i], nc[k]);
			if (oc.tail && oc.v == UINT32_MAX) {
				free(m.starts);
				free(m.out);
				goto out;
			}
			if (m.n && same(m.out[m.n - 1], oc))
				continue;
			m.starts[m.n] = nc[k];
			m.out[m.n++] = oc;
		}
		size_t d;
		for (d = 0; d < n_maps; d++)
			if (nrmap_equal(&maps[d], &m))
				break;
		if (d == n_maps) {
			maps[n_maps++] = m;
		} else {
			free(m.starts);
			free(m.out);
		}
		map_of[i] = d;
	}
	/* arch intervals with the same map side by side are one */
	astarts = malloc(n_ac * sizeof(*astarts));
	amap = malloc(n_ac * sizeof(*amap));
	if (!astarts || !amap)
		goto out;
	size_t n_arch = 0;
	for (size_t i = 0; i < n_ac; i++) {
		if (n_arch && amap[n_arch - 1] == map_of[i])
			continue;
		astarts[n_arch] = ac[i];
		amap[n_arch++] = map_of[i];
	}

	/* emit: arch, then one block per map of more than one outcome */
	push(&e.o, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_ARCH));
	arch_tree(&e, astarts, amap, 0, n_arch - 1, maps);
	block = calloc(n_maps, sizeof(*block));
	if (!block)
		goto out;
	for (size_t d = 0; d < n_maps; d++) {
		if (maps[d].n == 1)
			continue;
		block[d] = (uint32_t)e.o.n;
		push(&e.o, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_NR));
		tree(&e, maps[d].starts, maps[d].out, 0, maps[d].n - 1);
	}
	if (e.oom || e.o.oom)
		goto out;

	/* the tails: what is reachable from them, in order */
	keep = calloc(n, sizeof(*keep));
	newidx = malloc(n * sizeof(*newidx));
	if (!keep || !newidx)
		goto out;
	for (size_t f = 0; f < e.n_fx; f++)
		if (!(e.fx[f].tail & TO_BLOCK))
			keep[e.fx[f].tail] = true;
	for (size_t pc = 0; pc < n; pc++) {
		if (!keep[pc])
			continue;
		uint16_t c = p[pc].code;
		if (is_cond(c)) {
			keep[pc + 1 + p[pc].jt] = keep[pc + 1 + p[pc].jf] = true;
		} else if (c == (BPF_JMP | BPF_JA)) {
			keep[pc + 1 + p[pc].k] = true;
		} else if (c != (BPF_RET | BPF_K)) {
			keep[pc + 1] = true;
		}
	}
	size_t base = e.o.n;
	for (size_t pc = 0, m = base; pc < n; pc++)
		newidx[pc] = keep[pc] ? (uint32_t)m++ : UINT32_MAX;
	for (size_t pc = 0; pc < n; pc++) {
		if (!keep[pc])
			continue;
		struct sock_filter f = p[pc];
		uint32_t here = newidx[pc];
		if (is_cond(f.code)) {
			f.jt = (uint8_t)(newidx[pc + 1 + p[pc].jt] - here - 1);
			f.jf = (uint8_t)(newidx[pc + 1 + p[pc].jf] - here - 1);
		} else if (f.code == (BPF_JMP | BPF_JA)) {
			f.k = newidx[pc + 1 + p[pc].k] - here - 1;
		}
		push(&e.o, f);
	}
	if (e.o.oom || e.o.n >= n || e.o.n > BPF_MAXINSNS)
		goto out;
	for (size_t f = 0; f < e.n_fx; f++) {
		uint32_t t = e.fx[f].tail;
		uint32_t to = (t & TO_BLOCK) ? block[t & ~TO_BLOCK] : newidx[t];
		e.o.v[e.fx[f].at].k = to - (uint32_t)e.fx[f].at - 1;
	}
	origin = malloc(e.o.n * sizeof(*origin));
	if (!origin)
		goto out;
	for (size_t i = 0; i < e.o.n; i++)
		origin[i] = UINT32_MAX;
	for (size_t pc = 0; pc < n; pc++)
		if (keep[pc])
			origin[newidx[pc]] = (uint32_t)pc;
	if (!shape_ok(e.o.v, e.o.n) || !equivalent(p, n, e.o.v, e.o.n, origin, ac, n_ac, nc, n_nc))
		goto out;
	result = steal_ptr(e.o.v);
	*ret_n = e.o.n;
out:
	free(e.o.v);
	free(e.fx);
	free(in);
	free(ac);
	free(nc);
	free(origin);
	free(newidx);
	free(block);
	free(astarts);
	free(amap);
	free(keep);
	free(map_of);
	free_maps(maps, n_maps);
	return result;
}
