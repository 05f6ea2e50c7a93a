/* HUSK_FAULT=<step>: the process that reaches the named step dies there by
 * SIGKILL, as a crash or an OOM kill would leave it, so that a test can
 * check that `husk-oci delete --force` and `husk rm -f` undo a crash at any
 * point (tests/integration/faults.bats).
 *
 * Compiled in only with -Dfault_injection=true, which is the default for
 * the debug and debugoptimized builds that the tests run and off for a
 * release build (scripts/deb.sh builds with --buildtype=release): in a
 * package the variable does nothing, and HUSK_FAULT() is no code at all.
 * `husk-oci --list-faults` prints the steps (nothing when compiled out). */
#ifndef HUSK_FAULT_H
#define HUSK_FAULT_H

#include <stdbool.h>
#include <stddef.h>

/* X(identifier, "name", "what has just happened when it fires") */
#define HUSK_FAULT_STEPS(X)                                                                   \
	X(oci_create_config, "oci.create.config", "config.json read, nothing made yet")       \
	X(oci_create_state_dir, "oci.create.state-dir", "state dir made and locked")          \
	X(oci_create_cgroup, "oci.create.cgroup", "cgroup made, resources written")           \
	X(oci_create_clone, "oci.create.clone", "init cloned into its namespaces")            \
	X(oci_create_child_mounts, "oci.create.child-mounts",                                 \
	  "in the init: the rootfs mounts made, before pivot_root")                           \
	X(oci_create_created, "oci.create.created", "init waits on exec.fifo, no state.json") \
	X(oci_create_state, "oci.create.state", "state.json written")                         \
	X(oci_start_fifo, "oci.start.fifo", "start: container locked, fifo not opened")       \
	X(oci_start_exec, "oci.start.exec", "start: the process exec'd, poststart not run")   \
	X(oci_exec_fork, "oci.exec.fork", "exec: a process forked into the container")        \
	X(oci_kill_signal, "oci.kill.signal", "kill: state read, no signal sent")             \
	X(oci_delete_killed, "oci.delete.killed", "delete: processes killed, cgroup kept")    \
	X(oci_delete_cgroup, "oci.delete.cgroup", "delete: cgroup removed, state dir kept")   \
	X(engine_create_dirs, "engine.create.dirs", "container dir made, no name")            \
	X(engine_create_name, "engine.create.name", "name claimed, no root")                  \
	X(engine_create_rootfs, "engine.create.rootfs", "overlay root mounted")               \
	X(engine_create_net_netns, "engine.create.net-netns",                                 \
	  "netns made and pinned, no lease or veth")                                          \
	X(engine_create_net_veth, "engine.create.net-veth",                                   \
	  "lease and veth made, netns not configured")                                        \
	X(engine_create_network, "engine.create.network", "veth, lease, nft rules made")      \
	X(engine_create_config, "engine.create.config", "config.json written, no record")     \
	X(engine_create_record, "engine.create.record", "record written, not started")        \
	X(engine_start_monitor, "engine.start.monitor", "start: network ready, no monitor")   \
	X(engine_monitor_created, "engine.monitor.created", "monitor: container created")     \
	X(engine_monitor_running, "engine.monitor.running", "monitor: started, not recorded") \
	X(engine_start_started, "engine.start.started", "start: the monitor said it runs")    \
	X(engine_stop_signal, "engine.stop.signal", "stop: the stop signal sent")             \
	X(engine_exec_started, "engine.exec.started", "exec: the process runs")               \
	X(engine_rm_removing, "engine.rm.removing", "rm: record marked removing")             \
	X(engine_rm_killed, "engine.rm.killed", "rm: container killed")                       \
	X(engine_rm_network, "engine.rm.network", "rm: network torn down, root mounted")      \
	X(engine_rm_unmount, "engine.rm.unmount", "rm: root unmounted, dir and name kept")    \
	X(engine_pull_blob, "engine.pull.blob", "pull: a blob in the store, no image")        \
	X(engine_pull_layer, "engine.pull.layer", "pull: a layer in the store, no image")     \
	X(engine_load_blob, "engine.load.blob", "load: a blob in the store, no image")        \
	X(engine_build_step, "engine.build.step", "build: a RUN step's container ran")        \
	X(engine_build_commit, "engine.build.commit", "build: a layer committed, not tagged")

enum husk_fault_step {
#define HUSK_FAULT_ENUM(id, name, what) HUSK_FAULT_##id,
	HUSK_FAULT_STEPS(HUSK_FAULT_ENUM)
#undef HUSK_FAULT_ENUM
		HUSK_FAULT_N
};

struct husk_fault_info {
	const char *name, *what;
};
extern const struct husk_fault_info husk_fault_steps[HUSK_FAULT_N];

#ifdef HUSK_FAULT_INJECTION
#define HUSK_FAULT_ENABLED 1
/* Die by SIGKILL if HUSK_FAULT names this step. */
void husk_fault_at(enum husk_fault_step step);
#define HUSK_FAULT(id) husk_fault_at(HUSK_FAULT_##id)
#else
#define HUSK_FAULT_ENABLED 0
#define HUSK_FAULT(id)	   ((void)0)
#endif

#endif
