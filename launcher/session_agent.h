/* session_agent.h — a session's agent (`sandbox-launcher --session-agent`): the target of a
 * long-lived sandbox. It runs inside the sandbox, as the sandbox user, under the session's
 * Landlock and seccomp, and serves the library over its stdin/stdout (framed, session_wire.h):
 * commands, fs operations, connections to ports inside the network namespace, usage.
 * It holds no more privilege than the code it runs, so nothing it resolves can reach further
 * than that code could itself; it makes itself undumpable so that code cannot take over its
 * channel. Mechanism only: every limit comes in the request. */
#pragma once

int session_agent_main(int argc, char **argv);
