/* libFuzzer: the engine CLI's --format templates (src/husk/template.c):
 * parsed against ps's field names and rendered over one row. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fields[] = {"ID", "Names", "Image", "Status", "State", "Config", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	if (!text)
		return 0;
	json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:i,s:{s:[s,s],s:{s:s}}}", "ID", "0123456789ab",
				"Names", "web", "Image", "busybox", "Status", "Up 3 seconds",
				"State", 1, "Config", "Cmd", "sh", "-c", "Labels", "a", "b");
	husk_error *err = NULL;
	struct husk_tmpl *t = NULL;
	if (husk_tmpl_parse(text, fields, &t, &err) == 0) {
		char *out = NULL;
		if (husk_tmpl_render(t, row, &out, &err) == 0)
			free(out);
		husk_tmpl_free(t);
	}
	husk_error_free(err);
	json_decref(row);
	free(text);
	return 0;
}
