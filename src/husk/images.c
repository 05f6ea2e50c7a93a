/* The image commands of the engine's command line: images, load, import,
 * rmi, image ls|rm|prune. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "image.h"
#include "util.h"

int cmd_images(int argc, char **argv)
{
	bool quiet = argc > 1 && strcmp(argv[1], "-q") == 0;
	husk_error *err = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(eng.root, &s, &err) < 0)
		return fail(err);
	struct husk_image **v = NULL;
	size_t n = 0;
	int r = husk_store_list(s, &v, &n, &err);
	if (r < 0) {
		husk_store_close(s);
		return fail(err);
	}
	if (!quiet)
		printf("%-30s %-14s %s\n", "IMAGE", "IMAGE ID", "SIZE");
	for (size_t i = 0; i < n; i++) {
		const char *hex = strchr(v[i]->id, ':') ? strchr(v[i]->id, ':') + 1 : v[i]->id;
		if (quiet)
			printf("%.12s\n", hex);
		else
			printf("%-30s %-14.12s %lld kB\n", v[i]->name, hex, v[i]->size / 1024);
		husk_image_free(v[i]);
	}
	free(v);
	husk_store_close(s);
	return 0;
}

int cmd_load(int argc, char **argv)
{
	const char *in = NULL;
	int c;
	while ((c = getopt(argc, argv, "+i:")) != -1) {
		if (c != 'i')
			return failf("load: usage: husk load -i FILE");
		in = optarg;
	}
	if (!in)
		return failf("load: usage: husk load -i FILE");
	husk_error *err = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(eng.root, &s, &err) < 0)
		return fail(err);
	char **names = NULL;
	int r = husk_store_load(s, in, &names, &err);
	husk_store_close(s);
	if (r < 0)
		return fail(err);
	for (char **p = names; p && *p; p++) {
		printf("Loaded image: %s\n", *p);
		free(*p);
	}
	free(names);
	return 0;
}

int cmd_import(int argc, char **argv)
{
	if (argc != 3)
		return failf("import: usage: husk import ROOTFS.tar NAME[:TAG]");
	husk_error *err = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(eng.root, &s, &err) < 0)
		return fail(err);
	int r = husk_store_import(s, argv[1], argv[2], &err);
	husk_store_close(s);
	if (r < 0)
		return fail(err);
	printf("Imported image: %s\n", argv[2]);
	return 0;
}

int cmd_rmi(int argc, char **argv)
{
	if (argc < 2)
		return failf("rmi: usage: husk rmi IMAGE...");
	husk_error *err = NULL;
	struct husk_store *s = NULL;
	if (husk_store_open(eng.root, &s, &err) < 0)
		return fail(err);
	struct husk_ctr_info *v = NULL;
	size_t n = 0;
	husk_engine_list(&eng, &v, &n, NULL);
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		struct husk_image *img = NULL;
		if (husk_store_find(s, argv[i], &img, &err) < 0) {
			rc = fail(err);
			err = NULL;
			continue;
		}
		/* an image a container was made from stays: its layers are
		 * that container's root */
		const char *user = NULL;
		for (size_t k = 0; k < n; k++)
			if (strcmp(v[k].image, img->name) == 0)
				user = v[k].name;
		if (user) {
			rc = failf("image \"%s\" is used by container \"%s\": remove it first",
				   img->name, user);
		} else if (husk_store_remove(s, img->name, &err) < 0) {
			rc = fail(err);
			err = NULL;
		} else {
			printf("Untagged: %s\n", img->name);
		}
		husk_image_free(img);
	}
	husk_engine_list_free(v, n);
	long long freed = 0;
	if (rc == 0 && husk_store_prune(s, &freed, &err) < 0)
		rc = fail(err);
	husk_store_close(s);
	return rc;
}

int cmd_image(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "prune") == 0) {
		husk_error *err = NULL;
		struct husk_store *s = NULL;
		if (husk_store_open(eng.root, &s, &err) < 0)
			return fail(err);
		long long freed = 0;
		int r = husk_store_prune(s, &freed, &err);
		husk_store_close(s);
		if (r < 0)
			return fail(err);
		printf("Total reclaimed space: %lld kB\n", freed / 1024);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return cmd_images(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return cmd_rmi(argc - 1, argv + 1);
	return failf("image: usage: husk image ls|rm|prune");
}
