/* session_port.h — connections from the host to ports inside a session's network namespace
 * (`exposeHttp`): the agent connects to 127.0.0.1:PORT inside and relays bytes in frames
 * (session_wire.h); the library listens on the host's loopback. One small file, so that it can
 * move onto the monitor's generic relay later. */
#pragma once
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define SESSION_MAX_CONNS 64

/* CONNECT, CONN_DATA, CONN_CLOSE. */
void session_port_request(uint8_t type, uint32_t id, char *payload, size_t len);
/* Fills the pollfds of the open connections (at most SESSION_MAX_CONNS); returns how many. */
int session_port_pollfds(struct pollfd *p);
/* Serves what poll reported for them (the same order). */
void session_port_ready(const struct pollfd *p, size_t n);
