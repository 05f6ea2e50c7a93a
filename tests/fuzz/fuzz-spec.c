/* libFuzzer: config.json parsing, and the process object of exec; and
 * json-span.c's scan against jansson on the same text: where the scan
 * finds linux.seccomp, the parser must find the same value there (create
 * blanks that span before it parses). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json-span.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct husk_spec *s = NULL;
	husk_error *err = NULL;
	if (husk_spec_parse(text, "/bundle", &s, &err) == 0)
		husk_spec_free(s);

	static const char *const keys[] = {"linux", "seccomp"};
	size_t off = 0, len = 0;
	int r = husk_json_member_span(text, size, keys, 2, &off, &len);
	json_t *root = json_loadb(text, size, 0, NULL);
	if (root && r >= 0) {
		json_t *lx = json_object_get(root, "linux");
		json_t *want = json_is_object(lx) ? json_object_get(lx, "seccomp") : NULL;
		if (r == 0 && want)
			abort(); /* the scan missed a value the parser has */
		if (r == 1) {
			json_t *got = json_loadb(text + off, len, JSON_DECODE_ANY, NULL);
			if (!want || !got || !json_equal(got, want))
				abort(); /* the scan's span is not the parser's value */
			json_decref(got);
		}
	}
	json_decref(root);
	husk_error_free(err);
	free(text);
	return 0;
}
