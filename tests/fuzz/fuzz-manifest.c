/* libFuzzer: what a registry or an archive hands the store.  The input is
 * taken three ways: as an image reference, as a WWW-Authenticate header,
 * and as a manifest blob registered under a name.  The store holds, from
 * the start, a config and an empty layer that a manifest may refer to
 * (the seed does), so that registering gets past its first lookups. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "image-private.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct husk_store *store;
static char *seeded[2];

/* an empty tar (two zero blocks) is a layer of nothing */
static const char config_json[] =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
	"\"diff_ids\":[\"sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\"]"
	"},"
	"\"config\":{\"Cmd\":[\"sh\"]}}";

static void init(void)
{
	char root[64];
	snprintf(root, sizeof(root), "/tmp/husk-fuzz-manifest.%d", (int)getpid());
	mkdir(root, 0700);
	husk_error *err = NULL;
	if (husk_store_open(root, &store, &err) < 0)
		abort();
	static char empty_tar[1024];
	if (husk_store_put_blob(store, empty_tar, sizeof(empty_tar), NULL, &seeded[0], &err) < 0 ||
	    husk_store_put_blob(store, config_json, strlen(config_json), NULL, &seeded[1], &err) <
		    0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!store)
		init();
	char *s = strndup((const char *)data, size);
	husk_error *err = NULL;

	struct husk_ref *ref = NULL;
	if (husk_ref_parse(s, &ref, &err) == 0) {
		free(husk_ref_string(ref));
		husk_ref_free(ref);
	}
	husk_error_free(err);
	err = NULL;

	struct husk_auth_challenge c;
	memset(&c, 0, sizeof(c));
	if (husk_auth_challenge_parse(s, &c) == 0)
		husk_auth_challenge_clear(&c);
	free(s);

	char *digest = NULL;
	if (husk_store_put_blob(store, data, size, NULL, &digest, &err) == 0) {
		husk_store_register(store, "fuzz:latest", digest, &err);
		husk_error_free(err);
		err = NULL;
		husk_store_remove(store, "fuzz:latest", &err);
		/* the next input must not find this one's blob */
		char *p = husk_store_blob_path(store, digest);
		if (p && strcmp(digest, seeded[0]) != 0 && strcmp(digest, seeded[1]) != 0)
			unlink(p);
		free(p);
		free(digest);
	}
	husk_error_free(err);
	return 0;
}
