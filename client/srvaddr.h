/* srvaddr: the server's addresses at run time. client.ini's `server` lists
 * numeric addresses and host names; the numeric ones are used as given, the
 * names are resolved by a resolver thread (resolver.h), never by the loop.
 * A name is resolved at start; again, with backoff (1 s doubling to 30 s),
 * until it has an address; and again when the server stops answering
 * (srvconn goes round its addresses without an answer: it may have moved):
 * at once in a new outage, then at most every SRVADDR_REFRESH_MIN_US. A failed lookup keeps the
 * address a name had (a DNS outage does not take a working server away). Embedded in struct client.
 */
#ifndef WH_SRVADDR_H
#define WH_SRVADDR_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/compiler.h"
#include "config/client_ini.h"
#include "nat/nat64.h"

struct client;
struct diag;
struct resolver;

#define SRVADDR_RETRY_MIN_US 1000000ull
#define SRVADDR_RETRY_MAX_US 30000000ull
#define SRVADDR_REFRESH_MIN_US 10000000ull

struct srvaddr {
	/* Per `server` entry: the address in use; family 0 while a name has
	 * none (yet). */
	struct sockaddr_storage addrs[CLIENT_INI_SERVERS_MAX];
	/* Per name: its address of the other family than addrs[i]'s (the
	 * resolver's `other`), for an uplink of that family; family 0: none. */
	struct sockaddr_storage others[CLIENT_INI_SERVERS_MAX];
	struct resolver *res; /* owns; NULL when client.ini lists no name */
	ev_async done;	      /* the resolver finished a round */
	ev_timer retry;	      /* next round while a name has no address */
	uint64_t backoff_us;
	uint64_t last_round_us;		  /* when the last round was asked for */
	unsigned outage_rounds;		  /* refresh rounds since the server was last heard */
	bool is_other_round;		  /* the round asked for is for the other family too */
	int errs[CLIENT_INI_SERVERS_MAX]; /* each name's last lookup error (logged once) */
	bool is_wait_logged;		  /* "waiting for ... to resolve" said */
	uint64_t rounds;
	uint64_t lookup_failures;
	/* This network's NAT64 prefix (RFC 7050), looked up with the names
	 * when the family is free and they answer IPv6; len 0: none. */
	struct nat64_prefix pref64;
};

void srvaddr_init(struct srvaddr *sa);
/* Copy the numeric addresses and, when there are names, start the resolver
 * and its first round. Returns 0, or negative errno with d set. */
WH_MUST_CHECK int srvaddr_start(struct client *cl, struct diag *d);
void srvaddr_fini(struct client *cl);

/* Entry i has an address of the family the server session runs on (its
 * uplink's: uplink_family of cl->ctl). */
bool srvaddr_is_usable(const struct client *cl, size_t i);
/* Entry i's address of family, or NULL (none, or not resolved yet). */
const struct sockaddr_storage *srvaddr_addr_of(const struct client *cl, size_t i, int family);
/* The server address an uplink of family uses: entry `prefer`'s (the one
 * the session runs through) when it has one of that family, else the first
 * entry's that has; NULL when none has. */
const struct sockaddr_storage *srvaddr_for_family(const struct client *cl, size_t prefer,
						  int family);
/* "203.0.113.10:7400", or "name:port (203.0.113.10:7400)", or "name:port
 * (unresolved)" for entry i, into buf. */
const char *srvaddr_label(const struct client *cl, size_t i, char *buf, size_t len);
/* Not connected and the entry in use has no address of the session's
 * family (at start, or the session moved to an uplink of another family):
 * use the first one that has. */
void srvaddr_pick_usable(struct client *cl);
/* Every address went unanswered: look the names up again (rate-limited). */
void srvaddr_refresh(struct client *cl, uint64_t now_us);
/* The host's network changed: a name with no address is looked up now. */
void srvaddr_on_network_change(struct client *cl, uint64_t now_us);

#endif
