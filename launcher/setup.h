/* setup.h — main.c's setup of one run, in two halves, shared with warm.c:
 *  - setup_prepare(): everything that does not depend on the run's request: channels, host ids,
 *    cgroup (created and, on v1, joined), host paths, cloned trees, clone of init into the new
 *    namespaces, id maps, release. init then builds the root and, with stdio-fifos (or
 *    await_request), waits inside it for the request.
 *  - setup_run(): the per-run half: the request (FIFOs opened, request and fds sent to init), the
 *    wall clock, the monitor loop, the exit record. Returns the launcher's exit code.
 * setup_failed() is the one place a monitor turns a setup error into an exit (init killed,
 * cgroup removed, error recorded). setup_config() is the config main.c parsed. */
#pragma once
#include "config.h"
#include "monitor.h"

struct config *setup_config(void);
int setup_prepare(struct monitor *m, struct sbx_err *e);
int setup_run(struct monitor *m);
int setup_failed(struct monitor *m, const struct sbx_err *e);
/* Writes the records made before the status file existed (the run's host ids) to m->status_fd. */
void setup_replay_status(struct monitor *m);
