/* resolver: getaddrinfo in a thread of its own, for a fixed list of names.
 * The loop and the thread share one block under one mutex: the request
 * (a round number and the addresses to prefer), the answers, and a quit
 * flag. The thread sends the loop's ev_async while it holds the mutex, and
 * resolver_stop sets quit under it, so no wake-up can reach a loop that
 * has stopped. The block is freed by whichever side lets go of it last. */
#include "client/resolver.h"

#include "common/diag.h"

#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct resolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	unsigned refs; /* 2 while both the loop and the thread hold it */
	/* Fixed at start. */
	struct ev_loop *loop;
	ev_async *done;
	char names[RESOLVER_NAMES_MAX][ADDR_NAME_MAX];
	uint16_t ports[RESOLVER_NAMES_MAX];
	size_t n;
	int family;		  /* AF_UNSPEC: either, by route (resolver_lookup) */
	char ifname[IF_NAMESIZE]; /* routes through this interface; "": any */
	/* Under mu. */
	bool is_quit;
	bool is_asked;	 /* a round is wanted and not started */
	bool is_running; /* the thread is in a round */
	bool has_answers;
	struct sockaddr_storage keep[RESOLVER_NAMES_MAX];
	int prefer;
	struct sockaddr_storage out[RESOLVER_NAMES_MAX];
	struct sockaddr_storage alt[RESOLVER_NAMES_MAX];
	struct sockaddr_storage other[RESOLVER_NAMES_MAX];
	int err[RESOLVER_NAMES_MAX];
	struct resolver_nat64 n64;
};

size_t resolver_pick(const struct sockaddr_storage *cands, const bool *is_routable, size_t n,
		     int prefer, const struct sockaddr_storage *keep)
{
	size_t best = 0;
	unsigned best_rank = UINT_MAX;

	for (size_t i = 0; i < n; i++) {
		bool is_keep = keep && keep->ss_family != 0 &&
			       addr_equal((const struct sockaddr *)&cands[i],
					  (const struct sockaddr *)keep);
		bool is_prefer = cands[i].ss_family == prefer;
		unsigned rank = is_routable[i] ? (is_keep     ? 0u
						  : is_prefer ? 1u
							      : 2u)
					       : (is_prefer ? 3u : 4u);

		if (rank < best_rank) {
			best = i;
			best_rank = rank;
		}
	}
	return best;
}

/* ifname has an address of family of its own (IPv6: not link-local);
 * true when that cannot be told. */
static bool has_own_addr(const char *ifname, int family)
{
	struct ifaddrs *ifs = NULL;
	bool found = false;

	if (getifaddrs(&ifs) != 0) {
		return true;
	}
	for (const struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
		    strcmp(i->ifa_name, ifname) != 0) {
			continue;
		}
		found = family == AF_INET ||
			!IN6_IS_ADDR_LINKLOCAL(
				&((const struct sockaddr_in6 *)(const void *)i->ifa_addr)
					 ->sin6_addr);
	}
	freeifaddrs(ifs);
	return found;
}

/* The interface must have an address of ss's family: Linux connects an
 * IPv4 socket bound to an interface without IPv4 all the same, from
 * another interface's address. */
bool resolver_has_route(const struct sockaddr_storage *ss, const char *ifname)
{
	int fd;
	bool ok;

	if (ifname && !has_own_addr(ifname, ss->ss_family)) {
		return false;
	}
	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	if (ifname) {
		/* Refused (no CAP_NET_RAW): the host's routes decide. */
		(void)setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				 (socklen_t)strlen(ifname));
	}
	ok = connect(fd, (const struct sockaddr *)ss, addr_len(ss)) == 0;
	close(fd);
	return ok;
}

/* getaddrinfo for UDP addresses of family (AF_UNSPEC: either). */
static int lookup_udp(const char *name, int family, struct addrinfo **res)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	return getaddrinfo(name, NULL, &hints, res);
}

int resolver_lookup(const char *name, uint16_t port, int family, int prefer, const char *ifname,
		    const struct sockaddr_storage *keep, struct sockaddr_storage *out,
		    struct sockaddr_storage *alt, struct sockaddr_storage *other)
{
	struct sockaddr_storage cands[RESOLVER_CANDIDATES_MAX];
	bool routable[RESOLVER_CANDIDATES_MAX];
	struct addrinfo *res = NULL;
	bool is_other_routed = false;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (alt) {
		memset(alt, 0, sizeof(*alt));
	}
	if (other) {
		memset(other, 0, sizeof(*other));
	}
	rc = lookup_udp(name, family, &res);
	if (rc != 0) {
		return rc;
	}
	for (const struct addrinfo *a = res; a && n < RESOLVER_CANDIDATES_MAX; a = a->ai_next) {
		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
		    (family != AF_UNSPEC && a->ai_family != family) ||
		    a->ai_addrlen > sizeof(cands[n])) {
			continue;
		}
		memset(&cands[n], 0, sizeof(cands[n]));
		memcpy(&cands[n], a->ai_addr, a->ai_addrlen);
		addr_set_port(&cands[n], port);
		/* With the family fixed, any answer will do: routes are for
		 * choosing a family. */
		routable[n] = family != AF_UNSPEC || resolver_has_route(&cands[n], ifname);
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		return EAI_ADDRFAMILY;
	}
	*out = cands[resolver_pick(cands, routable, n, family != AF_UNSPEC ? family : prefer,
				   keep)];
	for (size_t i = 0; alt && family == AF_UNSPEC && i < n; i++) {
		if (routable[i] && cands[i].ss_family != prefer) {
			*alt = cands[i];
			break;
		}
	}
	for (size_t i = 0; other && family == AF_UNSPEC && i < n; i++) {
		if (cands[i].ss_family != out->ss_family &&
		    (other->ss_family == 0 || (routable[i] && !is_other_routed))) {
			*other = cands[i];
			is_other_routed = routable[i];
		}
	}
	return 0;
}

void resolver_lookup_nat64(struct resolver_nat64 *out)
{
	struct addrinfo *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = lookup_udp(NAT64_WKA_NAME, AF_INET6, &res);
	/* No AAAA record (the usual answer: no DNS64) is an answer too. */
	out->is_known = rc == 0 || rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY;
	if (rc != 0) {
		return;
	}
	for (const struct addrinfo *a = res; a; a = a->ai_next) {
		const struct sockaddr_in6 *s6 =
			(const struct sockaddr_in6 *)(const void *)a->ai_addr;

		if (a->ai_family == AF_INET6 && a->ai_addrlen >= sizeof(*s6) &&
		    nat64_prefix_of_wka(&s6->sin6_addr, &out->prefix)) {
			break;
		}
	}
	freeaddrinfo(res);
}

/* Drop one hold on r; the last one frees it. Called with r->mu held; it is
 * released (or gone) on return. */
static void let_go(struct resolver *r)
{
	bool is_last = --r->refs == 0;

	pthread_mutex_unlock(&r->mu);
	if (is_last) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
	}
}

static void *thread_main(void *arg)
{
	struct resolver *r = arg;
	struct sockaddr_storage keep[RESOLVER_NAMES_MAX];
	struct sockaddr_storage out[RESOLVER_NAMES_MAX];
	struct sockaddr_storage alt[RESOLVER_NAMES_MAX];
	struct sockaddr_storage other[RESOLVER_NAMES_MAX];
	int err[RESOLVER_NAMES_MAX];
	struct resolver_nat64 n64;
	int prefer;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->is_quit && !r->is_asked) {
			pthread_cond_wait(&r->cv, &r->mu);
		}
		if (r->is_quit) {
			break;
		}
		r->is_asked = false;
		r->is_running = true;
		memcpy(keep, r->keep, sizeof(keep));
		prefer = r->prefer;
		pthread_mutex_unlock(&r->mu);

		for (size_t i = 0; i < r->n; i++) {
			err[i] = resolver_lookup(r->names[i], r->ports[i], r->family, prefer,
						 r->ifname[0] ? r->ifname : NULL, &keep[i], &out[i],
						 &alt[i], &other[i]);
		}
		/* An IPv6 socket with the family free (the sockets', or an
		 * uplink's: other): the network may reach IPv4 peers through a
		 * NAT64 only. */
		memset(&n64, 0, sizeof(n64));
		for (size_t i = 0; i < r->n && r->family == AF_UNSPEC; i++) {
			if (err[i] == 0 &&
			    (out[i].ss_family == AF_INET6 || other[i].ss_family == AF_INET6)) {
				resolver_lookup_nat64(&n64);
				break;
			}
		}

		pthread_mutex_lock(&r->mu);
		r->is_running = false;
		if (r->is_quit) {
			break;
		}
		memcpy(r->out, out, sizeof(out));
		memcpy(r->alt, alt, sizeof(alt));
		memcpy(r->other, other, sizeof(other));
		memcpy(r->err, err, sizeof(err));
		r->n64 = n64;
		r->has_answers = true;
		ev_async_send(r->loop, r->done);
	}
	let_go(r);
	return NULL;
}

struct resolver *resolver_start(struct ev_loop *loop, ev_async *done,
				const char (*names)[ADDR_NAME_MAX], const uint16_t *ports, size_t n,
				int family, const char *ifname, struct diag *d)
{
	struct resolver *r;
	sigset_t all, old;
	int rc;

	if (n == 0 || n > RESOLVER_NAMES_MAX) {
		diag_set(d, NULL, 0, "resolver: %zu names (1..%d)", n, RESOLVER_NAMES_MAX);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		diag_set(d, NULL, 0, "resolver: out of memory");
		return NULL;
	}
	r->loop = loop;
	r->done = done;
	r->n = n;
	r->family = family;
	if (ifname) {
		snprintf(r->ifname, sizeof(r->ifname), "%s", ifname);
	}
	r->refs = 2;
	for (size_t i = 0; i < n; i++) {
		memcpy(r->names[i], names[i], ADDR_NAME_MAX);
		r->names[i][ADDR_NAME_MAX - 1] = '\0';
		r->ports[i] = ports[i];
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	/* Signals are the loop's: the thread starts with all of them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->thread, NULL, thread_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		diag_set(d, NULL, 0, "resolver: cannot start a thread: %s", strerror(rc));
		return NULL;
	}
	return r;
}

void resolver_ask(struct resolver *r, const struct sockaddr_storage *keep, int prefer)
{
	pthread_mutex_lock(&r->mu);
	if (!r->is_asked) {
		memcpy(r->keep, keep, r->n * sizeof(*keep));
		r->prefer = prefer;
		r->is_asked = true;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

bool resolver_is_busy(struct resolver *r)
{
	bool is_busy;

	pthread_mutex_lock(&r->mu);
	is_busy = r->is_asked || r->is_running;
	pthread_mutex_unlock(&r->mu);
	return is_busy;
}

bool resolver_collect(struct resolver *r, struct sockaddr_storage *out,
		      struct sockaddr_storage *alt, struct sockaddr_storage *other, int *err,
		      struct resolver_nat64 *n64)
{
	bool has;

	pthread_mutex_lock(&r->mu);
	has = r->has_answers;
	if (has) {
		memcpy(out, r->out, r->n * sizeof(*out));
		memcpy(alt, r->alt, r->n * sizeof(*alt));
		memcpy(other, r->other, r->n * sizeof(*other));
		memcpy(err, r->err, r->n * sizeof(*err));
		*n64 = r->n64;
		r->has_answers = false;
	}
	pthread_mutex_unlock(&r->mu);
	return has;
}

void resolver_stop(struct resolver *r)
{
	bool is_running;

	if (!r) {
		return;
	}
	pthread_mutex_lock(&r->mu);
	r->is_quit = true;
	is_running = r->is_running;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (is_running) {
		/* Inside getaddrinfo: it ends by itself, and frees r if last. */
		pthread_detach(r->thread);
		pthread_mutex_lock(&r->mu);
		let_go(r);
		return;
	}
	pthread_join(r->thread, NULL);
	pthread_mutex_lock(&r->mu);
	let_go(r);
}
