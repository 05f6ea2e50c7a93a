/* load.c BIN PIN: load BIN, raw eBPF instructions with no relocations
 * (clang's "classifier" section copied out by llvm-objcopy), as a tc
 * program, and pin it at PIN in a bpffs, where `tc filter ... bpf da
 * object-pinned` finds it (Debian's tc reads no ELF objects).  For
 * bench/net-datapath.sh only. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char insns[65536], log[65536];
	if (argc != 3) {
		fprintf(stderr, "usage: load BIN PIN\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	size_t n = fread(insns, 1, sizeof(insns), f);
	fclose(f);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SCHED_CLS;
	a.insns = (unsigned long)insns;
	a.insn_cnt = n / 8;
	a.license = (unsigned long)"GPL";
	a.log_buf = (unsigned long)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	int fd = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0) {
		perror("BPF_PROG_LOAD");
		fprintf(stderr, "%s\n", log);
		return 1;
	}
	memset(&a, 0, sizeof(a));
	a.pathname = (unsigned long)argv[2];
	a.bpf_fd = fd;
	if (syscall(SYS_bpf, BPF_OBJ_PIN, &a, sizeof(a)) < 0) {
		perror("BPF_OBJ_PIN");
		return 1;
	}
	return 0;
}
