/* Device rules on cgroup v2: an eBPF program of type CGROUP_DEVICE
 * attached to the container's cgroup.  v2 has no devices.allow file; the
 * kernel asks the program about every open and mknod of a device node.
 *
 * The program walks the rules from the last to the first and the first
 * that matches decides (the last rule written wins, as in v1's lists); no
 * match denies.  Written by hand: a dozen instructions per rule. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

#define MAX_INSNS 4096

struct prog {
	struct bpf_insn insn[MAX_INSNS];
	size_t n;
	bool overflow;
};

static void emit(struct prog *p, struct bpf_insn i)
{
	if (p->n >= MAX_INSNS) {
		p->overflow = true;
		return;
	}
	p->insn[p->n++] = i;
}

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
/* r_dst = *(u32 *)(r_src + off) */
#define LDX_W(d, s, o)	INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define MOV_R(d, s)	INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_K(d, k)	INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define AND_K(d, k)	INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, k)
#define RSH_K(d, k)	INSN(BPF_ALU64 | BPF_RSH | BPF_K, d, 0, 0, k)
#define JNE_K(d, k, o)	INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, k)
#define JSET_K(d, k, o) INSN(BPF_JMP | BPF_JSET | BPF_K, d, 0, o, k)
#define JEQ_K(d, k, o)	INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, k)
#define EXIT()		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* r2 = type, r3 = access, r4 = major, r5 = minor */
static void prologue(struct prog *p)
{
	emit(p, LDX_W(BPF_REG_2, BPF_REG_1, 0));
	emit(p, MOV_R(BPF_REG_3, BPF_REG_2));
	emit(p, AND_K(BPF_REG_2, 0xffff));
	emit(p, RSH_K(BPF_REG_3, 16));
	emit(p, LDX_W(BPF_REG_4, BPF_REG_1, 4));
	emit(p, LDX_W(BPF_REG_5, BPF_REG_1, 8));
}

/* One rule: each test jumps to the end of the block when it fails. */
static void rule(struct prog *p, const struct husk_dev_rule *r)
{
	struct bpf_insn b[8];
	size_t n = 0;
	size_t jumps[8];
	size_t nj = 0;
	if (r->type != 'a') {
		jumps[nj++] = n;
		b[n++] = JNE_K(BPF_REG_2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
			       0);
	}
	int acc = r->access;
	if (acc != 7) {
		if (r->allow) {
			/* an allow rule covers a request only if all of it is allowed */
			b[n++] = MOV_R(BPF_REG_0, BPF_REG_3);
			b[n++] = AND_K(BPF_REG_0, ~acc & 7);
			jumps[nj++] = n;
			b[n++] = JNE_K(BPF_REG_0, 0, 0);
		} else {
			/* a deny rule hits a request that asks for any of it */
			b[n++] = JSET_K(BPF_REG_3, acc, 1);
			jumps[nj++] = n;
			b[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0);
		}
	}
	if (r->major >= 0) {
		jumps[nj++] = n;
		b[n++] = JNE_K(BPF_REG_4, (int)r->major, 0);
	}
	if (r->minor >= 0) {
		jumps[nj++] = n;
		b[n++] = JNE_K(BPF_REG_5, (int)r->minor, 0);
	}
	b[n++] = MOV_K(BPF_REG_0, r->allow ? 1 : 0);
	b[n++] = EXIT();
	for (size_t k = 0; k < nj; k++)
		b[jumps[k]].off = (short)(n - jumps[k] - 1);
	for (size_t k = 0; k < n; k++)
		emit(p, b[k]);
}

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

int husk_cgroup_v2_devices(const char *dir, const struct husk_dev_rule *rules, size_t n,
			   husk_error **err)
{
	static struct prog p; /* 32 KiB: not on the stack */
	memset(&p, 0, sizeof(p));
	prologue(&p);
	bool decided = false;
	for (size_t i = n; i-- > 0 && !decided;) {
		rule(&p, &rules[i]);
		/* a rule for every device and access decides alone: what comes
		 * after it could never run, and the verifier refuses dead code */
		decided = rules[i].type == 'a' && rules[i].access == 7 && rules[i].major < 0 &&
			  rules[i].minor < 0;
	}
	if (!decided) {
		emit(&p, MOV_K(BPF_REG_0, 0));
		emit(&p, EXIT());
	}
	if (p.overflow)
		return husk_fail(err, E2BIG,
				 "linux.resources.devices: too many rules for one program");
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)p.insn;
	a.insn_cnt = (uint32_t)p.n;
	a.license = (uint64_t)(uintptr_t) "Apache-2.0";
	cleanup_close int prog = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		int e = errno;
		/* load again with the verifier's log, whose last words say what
		 * it refused */
		static char log[65536];
		log[0] = '\0';
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = sizeof(log);
		a.log_level = 1;
		int again = (int)sys_bpf(BPF_PROG_LOAD, &a);
		if (again >= 0)
			close(again);
		size_t len = strnlen(log, sizeof(log));
		while (len > 0 && (log[len - 1] == '\n' || log[len - 1] == ' '))
			log[--len] = '\0';
		char *last = strrchr(log, '\n');
		if (last) { /* the summary line ends it: the reason is just before */
			*last = '\0';
			char *prev = strrchr(log, '\n');
			last = prev ? prev : log;
		}
		return husk_fail(err, e,
				 "linux.resources.devices: load the eBPF device program (%zu "
				 "instructions%s%s)",
				 p.n, *log ? "; verifier: " : "",
				 last ? last + (*last == '\n') : log);
	}
	cleanup_close int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return husk_fail(err, errno, "linux.resources.devices: open \"%s\"", dir);
	/* the programs attached before, to detach once the new one is in: in
	 * between both apply, which is stricter, never looser */
	uint32_t old_ids[64];
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)cg;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
	a.query.prog_cnt = 64;
	uint32_t n_old = sys_bpf(BPF_PROG_QUERY, &a) == 0 ? a.query.prog_cnt : 0;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cg;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
		return husk_fail(err, errno,
				 "linux.resources.devices: attach the eBPF program to "
				 "\"%s\"",
				 dir);
	for (uint32_t i = 0; i < n_old; i++) {
		memset(&a, 0, sizeof(a));
		a.prog_id = old_ids[i];
		int old = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (old < 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.target_fd = (uint32_t)cg;
		a.attach_bpf_fd = (uint32_t)old;
		a.attach_type = BPF_CGROUP_DEVICE;
		sys_bpf(BPF_PROG_DETACH, &a);
		close(old);
	}
	return 0;
}
