/* libFuzzer: config.json parsing, and the process object of exec. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
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
	husk_error_free(err);
	free(text);
	return 0;
}
