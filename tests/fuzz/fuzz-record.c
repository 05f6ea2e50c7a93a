/* libFuzzer: a container record (meta.json, src/engine/record.c) as the
 * engine reads it back: any bytes in the file must load or fail cleanly. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static char root[] = "/tmp/husk-fuzz-record.XXXXXX";
static char *meta;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!meta) {
		if (!mkdtemp(root))
			abort();
		char *dir = husk_strdup_printf("%s/containers/" ID, root);
		if (husk_mkdir_p(dir, 0700, NULL) < 0)
			abort();
		meta = husk_strdup_printf("%s/meta.json", dir);
		free(dir);
	}
	int fd = open(meta, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	husk_error *err = NULL;
	struct husk_ctr c;
	if (husk_record_load(root, ID, &c, &err) == 0) {
		husk_record_observe(&c);
		husk_ctr_release(&c);
	}
	husk_error_free(err);
	return 0;
}
