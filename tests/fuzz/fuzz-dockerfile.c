/* libFuzzer: a Dockerfile (src/build/dockerfile.c).  The input is parsed
 * as a Dockerfile; every instruction's shell-form text is then split into
 * words and expanded, as the builder will; and the input is taken as a
 * .dockerignore and asked about a few paths. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *ud)
{
	(void)ud;
	return name[0] == 'A' ? "a value" : name[0] == 'E' ? "" : NULL;
}

static void words_of(const struct husk_df_insn *in, char escape)
{
	for (size_t i = 0; !in->json && i < in->n_args; i++) {
		husk_error *err = NULL;
		char **w = NULL;
		size_t n = 0;
		if (husk_df_words(in->args[i], escape, lookup, NULL, &w, &n, &err) == 0)
			husk_strv_free(w, n);
		husk_error_free(err);
		err = NULL;
		char *one = NULL;
		if (husk_df_expand(in->args[i], escape, lookup, NULL, &one, &err) == 0)
			free(one);
		husk_error_free(err);
	}
	if (in->onbuild)
		words_of(in->onbuild, escape);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	if (!text)
		return 0;
	husk_error *err = NULL;
	struct husk_dockerfile *df = NULL;
	if (husk_df_parse(text, "Dockerfile", &df, &err) == 0) {
		for (size_t i = 0; i < df->n_args; i++)
			words_of(&df->args[i], df->escape);
		for (size_t s = 0; s < df->n_stages; s++)
			for (size_t i = 0; i < df->stages[s].n; i++)
				words_of(&df->stages[s].v[i], df->escape);
		husk_df_free(df);
	}
	husk_error_free(err);
	err = NULL;
	struct husk_ignore *ig = NULL;
	if (husk_ignore_parse(text, &ig, &err) == 0) {
		static const char *const paths[] = {"a", "a/b/c.log", "node_modules/x", "./x/../y",
						    ""};
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			(void)husk_ignore_excluded(ig, paths[i]);
			(void)husk_ignore_may_include_below(ig, paths[i]);
		}
		husk_ignore_free(ig);
	}
	husk_error_free(err);
	free(text);
	return 0;
}
