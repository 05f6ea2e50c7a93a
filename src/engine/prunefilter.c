/* Docker's --filter of the prune verbs (container, image, volume,
 * network and system prune): what is pruned must have been created
 * before until, carry every label= and not carry all of the label!=, as
 * moby's daemon/prune.go matches them. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"

void husk_prune_filter_release(struct husk_prune_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; f->labels && f->labels[i]; i++)
		free(f->labels[i]);
	for (size_t i = 0; f->not_labels && f->not_labels[i]; i++)
		free(f->not_labels[i]);
	free(f->labels);
	free(f->not_labels);
	memset(f, 0, sizeof(*f));
}

bool husk_prune_filter_empty(const struct husk_prune_filter *f)
{
	return !f || (!f->until_ns && !f->labels && !f->not_labels);
}

bool husk_labels_match(json_t *labels, const char *spec)
{
	const char *eq = strchr(spec, '=');
	cleanup_free char *key = eq ? strndup(spec, (size_t)(eq - spec)) : strdup(spec);
	json_t *v = json_object_get(labels, key);
	if (!v)
		return false;
	return !eq || (json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0);
}

/* every spec matches (moby's MatchKVList) */
static bool has_all(json_t *labels, char *const *specs)
{
	for (size_t i = 0; specs && specs[i]; i++)
		if (!husk_labels_match(labels, specs[i]))
			return false;
	return true;
}

bool husk_prune_filter_match(const struct husk_prune_filter *f, json_t *labels, int64_t created_ns)
{
	if (husk_prune_filter_empty(f))
		return true;
	if (f->until_ns && created_ns >= f->until_ns)
		return false;
	if (!has_all(labels, f->labels))
		return false;
	if (f->not_labels && has_all(labels, f->not_labels))
		return false;
	return true;
}

json_t *husk_labels_object(char *const *kv)
{
	json_t *o = json_object();
	for (size_t i = 0; kv && kv[i]; i++) {
		const char *eq = strchr(kv[i], '=');
		cleanup_free char *key = eq ? strndup(kv[i], (size_t)(eq - kv[i])) : strdup(kv[i]);
		json_object_set_new(o, key, json_string(eq ? eq + 1 : ""));
	}
	return o;
}
