/* resolver: host names -> addresses off the event loop (STYLE §1: "no DNS
 * after startup"; a thread shares nothing and talks to the loop only
 * through ev_async). One thread per resolver resolves a fixed list of names
 * when asked, one round at a time, and wakes the loop with ev_async_send
 * when a round is done. getaddrinfo may block for seconds (a dead DNS
 * server): the loop never waits for it, not even to stop. */
#ifndef WH_RESOLVER_H
#define WH_RESOLVER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/compiler.h"
#include "nat/nat64.h"

struct diag;
struct resolver; /* opaque: the part shared with the thread */

/* At most this many names per resolver. */
#define RESOLVER_NAMES_MAX 8

/* At most this many addresses of a name are considered. */
#define RESOLVER_CANDIDATES_MAX 16

/* Resolve name for family and set port: blocks. When the name has several
 * addresses, keep (if not NULL and of the family) wins when it is one of
 * them, so that round-robin DNS does not move a client between a server's
 * addresses; else the first answer. family AF_UNSPEC takes either family
 * and picks by route (resolver_pick; prefer: the family the client's
 * sockets have now; ifname, when not NULL, the interface the main socket is
 * bound to: routes through it, and it must have an address of the family);
 * then alt (if not NULL) is the first address of the other family than
 * prefer with a route, and other (if not NULL) the first address of the
 * other family than out's (the first with a route, if one has), for an
 * uplink of that family (it checks its own routes); family 0 if none.
 * Returns 0, or a getaddrinfo error code (gai_strerror tells it). */
int resolver_lookup(const char *name, uint16_t port, int family, int prefer, const char *ifname,
		    const struct sockaddr_storage *keep, struct sockaddr_storage *out,
		    struct sockaddr_storage *alt, struct sockaddr_storage *other);

/* The host has a route to ss: a UDP socket connects to it (nothing is
 * sent). Through ifname (not NULL): the socket bound to it, and the
 * interface has an address of ss's family of its own (IPv6: not
 * link-local). Blocks briefly (no DNS): the loop may call it. */
bool resolver_has_route(const struct sockaddr_storage *ss, const char *ifname);

/* Which of a name's n addresses (n >= 1) to use, in this order: keep when
 * it is one of them and the host has a route to it; the first one of
 * family prefer with a route; the first one with a route; the first one of
 * prefer; the first one. A host with IPv4 and IPv6 routes thus stays on the
 * family it has, and one that lost a family's routes moves to the other. */
size_t resolver_pick(const struct sockaddr_storage *cands, const bool *is_routable, size_t n,
		     int prefer, const struct sockaddr_storage *keep);

/* What a round found of the network's NAT64 prefix. */
struct resolver_nat64 {
	bool is_known;		    /* looked up and answered (a prefix, or none) */
	struct nat64_prefix prefix; /* len 0: none */
};

/* The NAT64 prefix of this network (RFC 7050): from the AAAA records of
 * ipv4only.arpa, which only a DNS64 server gives. Blocks. out->is_known is
 * false when the lookup got no answer (no DNS server reached). */
void resolver_lookup_nat64(struct resolver_nat64 *out);

/* Start the thread for names[n] with their ports (both copied), for
 * family (AF_UNSPEC: either, by routes through ifname if not NULL, as
 * resolver_lookup). done (initialised by the caller, started on loop) is
 * sent when a round ends. Returns NULL with d set on failure. */
WH_MUST_CHECK struct resolver *resolver_start(struct ev_loop *loop, ev_async *done,
					      const char (*names)[ADDR_NAME_MAX],
					      const uint16_t *ports, size_t n, int family,
					      const char *ifname, struct diag *d);

/* Ask for a round. keep[n]: the address each name has now (family 0: none),
 * preferred when still among the answers; prefer: as resolver_lookup's. A
 * round already asked for and not yet collected makes this a no-op. */
void resolver_ask(struct resolver *r, const struct sockaddr_storage *keep, int prefer);

/* True while a round is asked for or running. */
bool resolver_is_busy(struct resolver *r);

/* The answers of a finished round: out[n] (family 0 where err[i] != 0),
 * alt[n] and other[n] (resolver_lookup's), err[n] (0 or a getaddrinfo
 * code) and n64: with the family free (AF_UNSPEC) and a name answered with
 * an IPv6 address, the network's NAT64 prefix (resolver_lookup_nat64), else
 * not known. False when no round finished since the last collect. */
bool resolver_collect(struct resolver *r, struct sockaddr_storage *out,
		      struct sockaddr_storage *alt, struct sockaddr_storage *other, int *err,
		      struct resolver_nat64 *n64);

/* Stop. An idle thread is joined; one inside getaddrinfo is left to end
 * after it and free the shared part itself. done is never sent after this
 * returns. NULL is a no-op. */
void resolver_stop(struct resolver *r);

#endif
