/* libFuzzer: a layer tar unpacked into a fresh directory.  Besides the
 * sanitizers, a check of our own: nothing may appear outside that
 * directory, in the sibling directory "outside". */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];

static int rm_tree(const char *p)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	return system(cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base[0]) {
		snprintf(base, sizeof(base), "/tmp/husk-fuzz-layer.%d", (int)getpid());
		mkdir(base, 0700);
	}
	char tar[128], root[128], outside[128];
	snprintf(tar, sizeof(tar), "%s/in.tar", base);
	snprintf(root, sizeof(root), "%s/deep/root", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	rm_tree(root);
	mkdir(outside, 0700);
	char deep[128];
	snprintf(deep, sizeof(deep), "%s/deep", base);
	mkdir(deep, 0700);
	mkdir(root, 0700);
	FILE *f = fopen(tar, "w");
	fwrite(data, 1, size, f);
	fclose(f);
	husk_error *err = NULL;
	husk_layer_unpack(tar, root, &err);
	husk_error_free(err);
	/* whatever the tar said, the sibling must still be empty */
	DIR *d = opendir(outside);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	if (n)
		abort();
	return 0;
}
