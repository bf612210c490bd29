/* srvaddr: the addresses client.ini's `server` entries stand for, with the
 * names among them resolved off the loop (srvaddr.h). The resolver thread
 * answers through `done`; this file applies the answers, logs what changed
 * and tells srvconn and natwatch when the server became reachable. */
#include "client/srvaddr.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/resolver.h"
#include "client/srvconn.h"
#include "client/uplink.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

_Static_assert(RESOLVER_NAMES_MAX >= CLIENT_INI_SERVERS_MAX, "every server entry may be a name");

/* A round; is_other: the sockets' family has gone unanswered
 * (srvaddr_refresh), take the other one if it has a route (done_cb). */
static void ask_round(struct client *cl, uint64_t now_us, bool is_other)
{
	struct srvaddr *sa = &cl->sa;
	struct sockaddr_storage keep[RESOLVER_NAMES_MAX];
	size_t k = 0;

	for (size_t i = 0; i < cl->ini->n_servers; i++) {
		if (cl->ini->server_names[i][0]) {
			keep[k++] = sa->addrs[i];
		}
	}
	sa->last_round_us = now_us;
	sa->rounds++;
	/* Cleared when the round is collected: an ask that finds a round in
	 * flight (a no-op) leaves the flag as it is. */
	if (is_other) {
		sa->is_other_round = true;
	}
	resolver_ask(sa->res, keep, cl->family);
}

static void ask(struct client *cl, uint64_t now_us)
{
	ask_round(cl, now_us, false);
}

/* Entry i has an address of the main socket's family (cl->family). */
static bool has_own_family(const struct client *cl, size_t i)
{
	return i < cl->ini->n_servers && cl->sa.addrs[i].ss_family == cl->family;
}

static bool is_any_unresolved(const struct client *cl)
{
	for (size_t i = 0; i < cl->ini->n_servers; i++) {
		if (cl->ini->server_names[i][0] && !has_own_family(cl, i)) {
			return true;
		}
	}
	return false;
}

void srvaddr_pick_usable(struct client *cl)
{
	if (srvconn_is_up(cl) || srvaddr_is_usable(cl, cl->srv.server_i)) {
		return;
	}
	for (size_t i = 0; i < cl->ini->n_servers; i++) {
		if (srvaddr_is_usable(cl, i)) {
			cl->srv.server_i = (unsigned)i;
			return;
		}
	}
}

/* Apply the answer for entry i. Returns true when the entry got a new address. */
static bool apply(struct client *cl, size_t i, const struct sockaddr_storage *out, int err)
{
	struct srvaddr *sa = &cl->sa;
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX];
	const char *name = cl->ini->server_names[i];
	unsigned port = cl->ini->server_ports[i];

	if (err != 0) {
		sa->lookup_failures++;
		if (err != sa->errs[i]) {
			log_warn("server: cannot resolve %s:%u: %s%s%s%s", name, port,
				 gai_strerror(err), has_own_family(cl, i) ? " (keeping " : "",
				 has_own_family(cl, i)
					 ? addr_format((const struct sockaddr *)&sa->addrs[i], b,
						       sizeof(b))
					 : "",
				 has_own_family(cl, i) ? ")" : "");
		} else {
			log_debug("server: cannot resolve %s:%u: %s", name, port,
				  gai_strerror(err));
		}
		sa->errs[i] = err;
		return false;
	}
	sa->errs[i] = 0;
	if (addr_equal((const struct sockaddr *)&sa->addrs[i], (const struct sockaddr *)out)) {
		log_debug("server: %s:%u is still %s", name, port,
			  addr_format((const struct sockaddr *)out, a, sizeof(a)));
		return false;
	}
	if (has_own_family(cl, i) && i == cl->srv.server_i && srvconn_is_up(cl) &&
	    uplink_family(cl, cl->ctl) == cl->family) {
		/* The session works through the old address: it stays until the
		 * server stops answering there. */
		log_info("server: %s:%u now resolves to %s; the session stays on %s while it "
			 "answers",
			 name, port, addr_format((const struct sockaddr *)out, a, sizeof(a)),
			 addr_format((const struct sockaddr *)&sa->addrs[i], b, sizeof(b)));
		return false;
	}
	if (has_own_family(cl, i)) {
		log_info("server: %s:%u now resolves to %s (was %s)", name, port,
			 addr_format((const struct sockaddr *)out, a, sizeof(a)),
			 addr_format((const struct sockaddr *)&sa->addrs[i], b, sizeof(b)));
	} else {
		log_info("server: %s:%u resolves to %s", name, port,
			 addr_format((const struct sockaddr *)out, a, sizeof(a)));
	}
	sa->addrs[i] = *out;
	return true;
}

/* client.ini fixes no family (names only, uplinks by interface): while no
 * session is up and no entry has an address of the sockets' family, an
 * entry that has one of the other family moves every socket to it (an
 * IPv6-only network, a NAT64 one among them; or back). Returns true when
 * the sockets moved. */
static bool follow_family(struct client *cl, uint64_t now_us)
{
	const struct srvaddr *sa = &cl->sa;
	int other = cl->family == AF_INET ? AF_INET6 : AF_INET;
	size_t found = cl->ini->n_servers;
	char text[ADDR_TEXT_MAX];

	if (!cl->ini->is_family_auto || srvconn_is_up(cl)) {
		return false;
	}
	for (size_t i = 0; i < cl->ini->n_servers; i++) {
		if (has_own_family(cl, i)) {
			return false;
		}
		if (found == cl->ini->n_servers && sa->addrs[i].ss_family == other) {
			found = i;
		}
	}
	if (found == cl->ini->n_servers) {
		return false;
	}
	if (uplink_set_family(cl, other, now_us) != 0) {
		return false;
	}
	log_info("server: %s:%u is reachable at %s: the client's sockets moved to IPv%c",
		 cl->ini->server_names[found], (unsigned)cl->ini->server_ports[found],
		 addr_format((const struct sockaddr *)&sa->addrs[found], text, sizeof(text)),
		 other == AF_INET6 ? '6' : '4');
	return true;
}

static bool is_any_direct_up(const struct client *cl)
{
	for (const struct peer *p = cl->peers; p; p = p->next) {
		if (direct_any_up(p)) {
			return true;
		}
	}
	return false;
}

/* A round asked because the server went unanswered over the sockets'
 * family (srvaddr_refresh): when a name has an address of the other family
 * with a route, and still no session is up and no direct path works (it
 * would run on this family and needs no server), every socket moves to that
 * family and such names take those addresses. alt[k]: resolver_collect's,
 * one per name. Returns true when the sockets moved. */
static bool take_other_family(struct client *cl, const struct sockaddr_storage *alt,
			      uint64_t now_us)
{
	struct srvaddr *sa = &cl->sa;
	int was = cl->family, other = was == AF_INET ? AF_INET6 : AF_INET;
	size_t found = cl->ini->n_servers, k = 0;
	char text[ADDR_TEXT_MAX];

	if (!cl->ini->is_family_auto || srvconn_is_up(cl) || is_any_direct_up(cl)) {
		return false;
	}
	for (size_t i = 0; i < cl->ini->n_servers && found == cl->ini->n_servers; i++) {
		if (cl->ini->server_names[i][0] && alt[k++].ss_family == other) {
			found = i;
		}
	}
	if (found == cl->ini->n_servers || uplink_set_family(cl, other, now_us) != 0) {
		return false;
	}
	k = 0;
	for (size_t i = 0; i < cl->ini->n_servers; i++) {
		if (cl->ini->server_names[i][0] && alt[k++].ss_family == other) {
			sa->addrs[i] = alt[k - 1];
		}
	}
	log_info("server: no answer over IPv%c; %s:%u is reachable at %s: the client's sockets "
		 "moved to IPv%c",
		 was == AF_INET6 ? '6' : '4', cl->ini->server_names[found],
		 (unsigned)cl->ini->server_ports[found],
		 addr_format((const struct sockaddr *)&sa->addrs[found], text, sizeof(text)),
		 other == AF_INET6 ? '6' : '4');
	return true;
}

/* A round's word on the NAT64 prefix: a round that did not look it up, or
 * got no answer, changes nothing. */
static void take_nat64(struct client *cl, const struct resolver_nat64 *n)
{
	struct srvaddr *sa = &cl->sa;
	const struct nat64_prefix *p = &n->prefix;
	char text[INET6_ADDRSTRLEN + 8];

	if (!n->is_known || (p->len == sa->pref64.len &&
			     memcmp(&p->prefix, &sa->pref64.prefix, sizeof(p->prefix)) == 0)) {
		return;
	}
	if (p->len == 0) {
		log_info("nat64: no NAT64 prefix on this network any more (was %s)",
			 nat64_prefix_format(&sa->pref64, text, sizeof(text)));
	} else {
		log_info("nat64: this network's NAT64 prefix is %s (from %s): IPv4 peers are "
			 "reached through it",
			 nat64_prefix_format(p, text, sizeof(text)), NAT64_WKA_NAME);
	}
	sa->pref64 = *p;
}

/* A round's address of the other family for server i (none: family 0); true
 * when it differs from the one known. */
static bool take_other_addr(struct srvaddr *sa, size_t i, const struct sockaddr_storage *other)
{
	if (sa->others[i].ss_family == other->ss_family &&
	    (other->ss_family == 0 ||
	     addr_equal((const struct sockaddr *)&sa->others[i], (const struct sockaddr *)other))) {
		return false;
	}
	sa->others[i] = *other;
	return true;
}

/* Ask again later while a name is still unresolved, backing off to
 * SRVADDR_RETRY_MAX_US; a round that resolved all starts the backoff over. */
static void schedule_retry(struct client *cl)
{
	struct srvaddr *sa = &cl->sa;

	ev_timer_stop(cl->loop, &sa->retry);
	if (!is_any_unresolved(cl)) {
		sa->backoff_us = SRVADDR_RETRY_MIN_US;
		return;
	}
	ev_timer_set(&sa->retry, (double)sa->backoff_us / 1e6, 0.0);
	ev_timer_start(cl->loop, &sa->retry);
	sa->backoff_us = sa->backoff_us * 2 < SRVADDR_RETRY_MAX_US ? sa->backoff_us * 2
								   : SRVADDR_RETRY_MAX_US;
}

static void done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct client *cl = container_of(w, struct client, sa.done);
	struct srvaddr *sa = &cl->sa;
	struct sockaddr_storage out[RESOLVER_NAMES_MAX];
	struct sockaddr_storage alt[RESOLVER_NAMES_MAX];
	struct sockaddr_storage other[RESOLVER_NAMES_MAX];
	int err[RESOLVER_NAMES_MAX];
	struct resolver_nat64 n64;
	bool is_other_round = sa->is_other_round;
	uint64_t now_us = monotime_now_us();
	bool was_usable = srvaddr_is_usable(cl, cl->srv.server_i);
	bool is_new_in_use = false, is_new_other = false;
	size_t k = 0;

	(void)loop;
	(void)revents;
	if (!resolver_collect(sa->res, out, alt, other, err, &n64)) {
		return;
	}
	sa->is_other_round = false;
	take_nat64(cl, &n64);
	for (size_t i = 0; i < cl->ini->n_servers; i++) {
		if (cl->ini->server_names[i][0]) {
			if (apply(cl, i, &out[k], err[k]) && i == cl->srv.server_i) {
				is_new_in_use = true;
			}
			if (err[k] == 0 && take_other_addr(sa, i, &other[k])) {
				is_new_other = true;
			}
			k++;
		}
	}
	if (is_new_other) {
		/* Uplinks of the other family may reach the server now, and
		 * the relay (through its address of that family). */
		uplink_check_families(cl, now_us);
		if (srvconn_is_up(cl)) {
			peer_all_rebind(cl, now_us);
		}
	}
	if (follow_family(cl, now_us) || (is_other_round && take_other_family(cl, alt, now_us))) {
		is_new_in_use = true;
	}
	srvaddr_pick_usable(cl);
	schedule_retry(cl);
	if (!srvaddr_is_usable(cl, cl->srv.server_i) || (was_usable && !is_new_in_use)) {
		return;
	}
	/* The server has an address at last, or a new one while we were
	 * trying to reach the old: initiate and classify now. */
	sa->is_wait_logged = false;
	srvconn_on_server_addr(cl, now_us);
	for (size_t u = 0; u < cl->n_up; u++) {
		natwatch_on_server_addr(&cl->up[u].nw, now_us);
	}
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *cl = container_of(w, struct client, sa.retry);

	(void)loop;
	(void)revents;
	ask(cl, monotime_now_us());
}

void srvaddr_init(struct srvaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->backoff_us = SRVADDR_RETRY_MIN_US;
	ev_async_init(&sa->done, done_cb);
	ev_timer_init(&sa->retry, retry_cb, 0.0, 0.0);
}

int srvaddr_start(struct client *cl, struct diag *d)
{
	const struct client_ini *ini = cl->ini;
	struct srvaddr *sa = &cl->sa;
	char names[RESOLVER_NAMES_MAX][ADDR_NAME_MAX];
	uint16_t ports[RESOLVER_NAMES_MAX];
	size_t n = 0;

	for (size_t i = 0; i < ini->n_servers; i++) {
		if (!ini->server_names[i][0]) {
			sa->addrs[i] = ini->servers[i];
		} else if (n < RESOLVER_NAMES_MAX) {
			memcpy(names[n], ini->server_names[i], ADDR_NAME_MAX);
			ports[n++] = ini->server_ports[i];
		}
	}
	/* Start at the first entry that has an address (a name listed first
	 * may have none for a while). */
	srvaddr_pick_usable(cl);
	if (n == 0) {
		return 0;
	}
	ev_async_start(cl->loop, &sa->done);
	sa->res = resolver_start(cl->loop, &sa->done, (const char(*)[ADDR_NAME_MAX])names, ports, n,
				 ini->is_family_auto ? AF_UNSPEC : ini->family,
				 client_ini_interface(ini, 0), d);
	if (!sa->res) {
		ev_async_stop(cl->loop, &sa->done);
		return -ENOMEM;
	}
	ask(cl, monotime_now_us());
	return 0;
}

void srvaddr_fini(struct client *cl)
{
	struct srvaddr *sa = &cl->sa;

	if (!sa->res) {
		return;
	}
	resolver_stop(sa->res);
	sa->res = NULL;
	ev_async_stop(cl->loop, &sa->done);
	ev_timer_stop(cl->loop, &sa->retry);
	log_debug("server: name lookups: rounds=%llu failures=%llu", (unsigned long long)sa->rounds,
		  (unsigned long long)sa->lookup_failures);
}

const struct sockaddr_storage *srvaddr_addr_of(const struct client *cl, size_t i, int family)
{
	if (i >= cl->ini->n_servers || family == 0) {
		return NULL;
	}
	if (cl->sa.addrs[i].ss_family == family) {
		return &cl->sa.addrs[i];
	}
	return cl->sa.others[i].ss_family == family ? &cl->sa.others[i] : NULL;
}

const struct sockaddr_storage *srvaddr_for_family(const struct client *cl, size_t prefer,
						  int family)
{
	const struct sockaddr_storage *a = srvaddr_addr_of(cl, prefer, family);

	for (size_t i = 0; !a && i < cl->ini->n_servers; i++) {
		a = srvaddr_addr_of(cl, i, family);
	}
	return a;
}

bool srvaddr_is_usable(const struct client *cl, size_t i)
{
	return srvaddr_addr_of(cl, i, uplink_family(cl, cl->ctl)) != NULL;
}

const char *srvaddr_label(const struct client *cl, size_t i, char *buf, size_t len)
{
	char a[ADDR_TEXT_MAX];

	if (i >= cl->ini->n_servers) {
		snprintf(buf, len, "?");
	} else if (!cl->ini->server_names[i][0]) {
		addr_format((const struct sockaddr *)&cl->sa.addrs[i], buf, len);
	} else {
		const struct sockaddr_storage *at =
			srvaddr_addr_of(cl, i, uplink_family(cl, cl->ctl));

		snprintf(buf, len, "%s:%u (%s)", cl->ini->server_names[i],
			 (unsigned)cl->ini->server_ports[i],
			 at ? addr_format((const struct sockaddr *)at, a, sizeof(a))
			    : "unresolved");
	}
	return buf;
}

void srvaddr_refresh(struct client *cl, uint64_t now_us)
{
	struct srvaddr *sa = &cl->sa;

	bool is_new_outage = cl->srv.last_rx_us > sa->last_round_us;

	/* The first time after the server was last heard from (a new
	 * outage: it may have moved), then at most every
	 * SRVADDR_REFRESH_MIN_US. */
	if (!sa->res || resolver_is_busy(sa->res) ||
	    (!is_new_outage && now_us < sa->last_round_us + SRVADDR_REFRESH_MIN_US)) {
		return;
	}
	sa->outage_rounds = is_new_outage ? 0 : sa->outage_rounds + 1;
	/* With the family free, a family that routes but goes unanswered for
	 * a round and more (a carrier's broken IPv4 NAT, a firewall for one
	 * family) gives way to the other, if a name has an address of it with
	 * a route (take_other_family); every other round, so that each is
	 * tried in turn while the server is away. */
	if (cl->ini->is_family_auto && sa->outage_rounds % 2 == 1) {
		log_debug("server: no answer from any address over IPv%c: looking the names up "
			  "again, for the other family too",
			  cl->family == AF_INET6 ? '6' : '4');
		ask_round(cl, now_us, true);
		return;
	}
	log_debug("server: no answer from any address: looking the names up again");
	ask(cl, now_us);
}

void srvaddr_on_network_change(struct client *cl, uint64_t now_us)
{
	struct srvaddr *sa = &cl->sa;

	/* Without a session and with the family not fixed, a name that has
	 * an address may have a better one now (a route of the other family
	 * came up). */
	if (!sa->res || resolver_is_busy(sa->res) ||
	    !(is_any_unresolved(cl) || (cl->ini->is_family_auto && !srvconn_is_up(cl)))) {
		return;
	}
	ev_timer_stop(cl->loop, &sa->retry);
	sa->backoff_us = SRVADDR_RETRY_MIN_US;
	ask(cl, now_us);
}
