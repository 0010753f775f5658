/* prepared.h — a prepared run: the launcher as the warm launcher (warm.c) starts it anew, which
 * prepares one run (its monitor, cgroup, init in new namespaces with the root built), says so,
 * then waits for its request and runs it as a cold run's monitor does.
 *
 * Interface, over the SOCK_SEQPACKET socketpair to the warm launcher:
 *  - prepared run -> warm launcher: one-byte messages: 'P' prepared, 'S' the request was taken
 *    (from here a failure is the run's own), 'E' the target exec'd, 'D' + exit code: the result
 *    is written (monitor.c).
 *  - warm launcher -> prepared run: the run's id (a NUL-terminated message of at most
 *    WARM_ID_MAX bytes), then its ops as a blob (prepared_send_blob()): only the per-run ops
 *    (status, stdio-fifos, chdir, timeout, env, exec, arg) are accepted, parsed as any frame.
 *    End of file before a request: the warm launcher ended the prepared run (idle, disposal). */
#pragma once
#include <stdint.h>

#define WARM_ID_MAX 32

/* A blob over a SOCK_SEQPACKET socket: its length, then chunks; -1 when the socket refused. */
int prepared_send_blob(int sock, const char *buf, uint32_t len);

/* The prepared run numbered n (its cgroup's suffix `.wN`); op_base: the static ops' count, which
 * the run's op indexes follow. Never returns. */
_Noreturn void prepared_main(int sock, unsigned n, int op_base);

/* `sandbox-launcher --prepared N OP_BASE WARM_PID`: a prepared run as the warm launcher starts
 * it (vfork and exec, warm.c): its socket on fd 3, the static frame on fd 4 (a sealed memfd,
 * read with pread). Dies with the warm launcher. Never returns. */
_Noreturn void prepared_exec_main(int argc, char **argv);
