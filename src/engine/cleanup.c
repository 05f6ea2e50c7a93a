/* What is left of a container after its process ended, and its removal.
 * Linked into husk and into the static monitor: the network's undo
 * (src/net/teardown.c) needs neither libmnl nor libnftables. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "fault.h"
#include "engine-private.h"
#include "engine.h"
#include "husk.h"
#include "overlay.h"
#include "util.h"
#include "volume.h"

char *husk_engine_dir(struct husk_engine *e, const char *id)
{
	return husk_record_dir(e->root, id);
}

char *husk_engine_log_path(struct husk_engine *e, const char *id)
{
	return husk_strdup_printf("%s/containers/%s/log", e->root, id);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

void husk_engine_rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/* <root>/trash/ID.PID: a removed container's directory, out of every
 * listing (ps, the names, the record's dir) at once, unlinked by process
 * PID after it has answered.  One rename instead of ~30 unlinks on the
 * store's disk (1.3 ms of a run --rm here). */
static bool trash(struct husk_engine *e, const char *dir, const char *id)
{
	cleanup_free char *t = husk_strdup_printf("%s/trash", e->root);
	if (mkdir(t, 0700) < 0 && errno != EEXIST)
		return false;
	char *to = husk_strdup_printf("%s/%s.%d", t, id, (int)getpid());
	if (rename(dir, to) < 0) {
		free(to);
		return false;
	}
	free(e->trash);
	e->trash = to;
	return true;
}

void husk_engine_trash_sweep(struct husk_engine *e)
{
	cleanup_free char *t = husk_strdup_printf("%s/trash", e->root);
	DIR *d = opendir(t);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		long pid = 0;
		if (de->d_name[0] == '.' || !dot || husk_parse_long(dot + 1, &pid) < 0)
			continue;
		/* its remover is still at it */
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue;
		cleanup_free char *p = husk_strdup_printf("%s/%s", t, de->d_name);
		husk_engine_rm_rf(p);
	}
	closedir(d);
}

int husk_engine_cleanup(struct husk_engine *e, const char *id, bool remove, husk_error **err)
{
	return husk_engine_cleanup_volumes(e, id, remove, -1, err);
}

int husk_engine_cleanup_volumes(struct husk_engine *e, const char *id, bool remove, int volumes,
				husk_error **err)
{
	husk_error *cerr = NULL;
	/* the core's state and cgroup: gone already when the monitor did it */
	if (husk_delete(e->runroot, id, true, &cerr) < 0 && cerr && cerr->errnum != ENOENT) {
		husk_error_free(cerr);
		cerr = NULL;
		if (husk_delete(e->runroot, id, true, err) < 0)
			return -1;
	}
	husk_error_free(cerr);
	if (!remove)
		return 0;
	struct husk_ctr rec;
	bool have = husk_record_load(e->root, id, &rec, NULL) == 0;
	/* the network, also when the record never got written (a crash in
	 * create): the netns file tells */
	cleanup_free char *ns = husk_strdup_printf("%s/net/ns/%s", e->runroot, id);
	bool bridge =
		(have && rec.network && strcmp(rec.network, "none") != 0 &&
		 strcmp(rec.network, "host") != 0 && strncmp(rec.network, "container:", 10) != 0) ||
		access(ns, F_OK) == 0;
	if (bridge) {
		if (husk_net_teardown(e->runroot, id, err) < 0) {
			husk_ctr_release(&rec);
			return -1;
		}
	}
	HUSK_FAULT(engine_rm_network);
	cleanup_free char *dir = husk_engine_dir(e, id);
	cleanup_free char *rootfs = husk_strdup_printf("%s/rootfs", dir);
	if (husk_overlay_unmount(rootfs, err) < 0) {
		husk_ctr_release(&rec);
		return -1;
	}
	HUSK_FAULT(engine_rm_unmount);
	husk_attach_unlink(e->runroot, id);
	if (!e->trash_later || !trash(e, dir, id))
		husk_engine_rm_rf(dir);
	if (have) {
		husk_name_release(e->root, rec.name, id);
		husk_engine_event(e, "destroy", id, rec.name, rec.image, NULL);
	} else {
		husk_names_release_id(e->root, id);
	}
	/* its refs on volumes last: a volume is not free before the
	 * container is gone; anonymous ones go with rm -v and --rm */
	bool anon = volumes < 0 ? have && rec.rm : volumes > 0;
	for (size_t i = 0; have && i < rec.n_mounts; i++)
		if (rec.mounts[i].name)
			husk_volume_unuse(e->root, rec.mounts[i].name, id,
					  anon && rec.mounts[i].anonymous);
	husk_ctr_release(&rec);
	return 0;
}

int husk_exit_code_of_exec_error(int errnum)
{
	switch (errnum < 0 ? -errnum : errnum) {
	case ENOENT:
		return 127;
	case EACCES:
	case EPERM:
	case ENOEXEC:
	case EISDIR:
		return 126;
	default:
		return 125; /* an error of the engine itself */
	}
}
