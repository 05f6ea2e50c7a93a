/* bpf-query DIR: how many device programs are attached to the cgroup DIR
 * (BPF_PROG_QUERY of BPF_CGROUP_DEVICE). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bpf-query CGROUP-DIR\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	unsigned int ids[64];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (unsigned int)fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (unsigned long long)(unsigned long)ids;
	a.query.prog_cnt = 64;
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a)) < 0) {
		perror("BPF_PROG_QUERY");
		return 1;
	}
	printf("%u\n", a.query.prog_cnt);
	return 0;
}
