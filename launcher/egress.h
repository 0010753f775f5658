/* egress.h — the way out of a private network namespace, as mechanism: init opens a TCP listener
 * on 127.0.0.1:PORT inside the namespace before the target exists (egress_apply) and passes it to
 * the monitor; the monitor accepts each connection and relays it (relay.h) to a unix socket on
 * the host, where the caller's filtering proxy decides what it may reach (egress_accept). The
 * launcher never looks at the bytes. Op: `egress PORT SOCKET-PATH`. */
#pragma once
#include "config.h"
#include "relay.h"
#include "util.h"

/* Most connections relayed at once per run; more wait in the listener's backlog. */
#define EGRESS_PAIRS_MAX 64u

/* Inside the namespace, after loopback is up: the listener (close-on-exec), or -1 with the
 * failure in *e (step "egress"). */
int egress_apply(const struct config *cfg, struct sbx_err *e);
/* Monitor: accepts what is pending on the listener, connects each to the host socket and adds
 * the pair to the relay. A connection the host side refuses is closed (the client sees a reset). */
void egress_accept(const struct config *cfg, int listener, struct relay *r);
