/* netwatch: the host's addresses, links and routes changing (rtnetlink).
 * A drone's LTE modem that comes up after the daemon started, or comes back
 * with a new address, should not wait out the server backoff (up to 5 s)
 * or the next NAT mapping check (a keepalive interval, 25 s): on a change,
 * after NETWATCH_SETTLE_US of quiet, the client initiates to the server at
 * once when it has no session (PING when it has one) and checks each open
 * uplink's NAT mapping. At most one such kick per NETWATCH_KICK_GAP_US.
 * Where rtnetlink cannot be opened the client runs as before, on timers.
 * Embedded in struct client. */
#ifndef WH_NETWATCH_H
#define WH_NETWATCH_H

#include <ev.h>
#include <stdint.h>

struct client;

/* Changes come in bursts (link up, address, then routes): act after this
 * much quiet. */
#define NETWATCH_SETTLE_US 200000u
/* A flapping link or a chatty routing daemon costs one PING and one STUN
 * probe per uplink at most this often. */
#define NETWATCH_KICK_GAP_US 1000000u

struct netwatch {
	int fd; /* rtnetlink socket; -1 when unavailable */
	ev_io io;
	ev_timer settle;
	uint64_t last_kick_us; /* 0: never */
	uint64_t events;       /* netlink messages about addresses, links, routes */
	uint64_t kicks;
};

void netwatch_init(struct netwatch *nw);
/* Open the socket and start watching (logs and does nothing if it cannot). */
void netwatch_start(struct client *cl);
void netwatch_fini(struct client *cl);

#endif
