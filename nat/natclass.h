/* natclass: the NAT behaviour discovery engine (RFC 5780 §4.3-§4.6, with the
 * classic RFC 3489 names), run from the client's main socket. An engine
 * without I/O: it takes responses and now_us, and says what to send, where,
 * and when it next needs to run.
 *
 * How a daemon drives it:
 *   natclass_new(&params, now_us, &nc)
 *   loop:
 *     switch (natclass_next(nc, now_us, &send)):
 *     NATCLASS_SEND: sendto(main socket, send.buf, send.len, send.to); loop again
 *     NATCLASS_WAIT: arm one timer for send.wake_us; on the timer, or after
 *                    feeding natclass_on_packet() every datagram the main
 *                    socket receives, call natclass_next() again
 *     NATCLASS_DONE: natclass_get_result(nc, &res); natclass_free(nc)
 * The whole run ends within NATCLASS_MAX_RUN_US even when nothing answers. */
#ifndef WH_NATCLASS_H
#define WH_NATCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "nat/nat64.h"
#include "nat/stun.h"

#define NATCLASS_LOCAL_MAX 4 /* local addresses of the main socket */
#define NATCLASS_SEED_LEN 16
#define NATCLASS_TRIES 3	      /* requests per test: at 0, RTO, 3 RTO; give up at 7 RTO */
#define NATCLASS_RTO_FIRST_US 250000u /* first test: path RTT not yet known */
#define NATCLASS_RTO_MIN_US 100000u
#define NATCLASS_RTO_MAX_US 150000u
#define NATCLASS_RTT_FACTOR 3 /* later tests: RTO = 3 x the first test's RTT, clamped */
#define NATCLASS_TEST_SPAN(rto) (7 * (uint64_t)(rto))
/* Three phases (binding, filtering, mapping), each at most one test span. */
#define NATCLASS_MAX_RUN_US \
	(NATCLASS_TEST_SPAN(NATCLASS_RTO_FIRST_US) + 2 * NATCLASS_TEST_SPAN(NATCLASS_RTO_MAX_US))
/* Largest |step| still called "sequential" allocation. */
#define NATCLASS_SEQ_STEP_MAX 64
#define NATCLASS_JSON_MAX 512
#define NATCLASS_TEXT_MAX 512

_Static_assert(NATCLASS_MAX_RUN_US <= 4000000, "classification ends within 4 s");
_Static_assert(NATCLASS_RTO_MIN_US <= NATCLASS_RTO_MAX_US, "RTO clamp range");

enum natclass_type {
	NATCLASS_OPEN = 0,	       /* no NAT (filtering tells a firewall apart) */
	NATCLASS_FULL_CONE,	       /* EIM + EIF */
	NATCLASS_RESTRICTED_CONE,      /* EIM + ADF */
	NATCLASS_PORT_RESTRICTED_CONE, /* EIM + APDF */
	NATCLASS_SYMMETRIC,	       /* mapping not endpoint-independent */
	NATCLASS_UDP_BLOCKED,	       /* the server never answered */
	NATCLASS_TYPE_COUNT
};

/* Mapping and filtering behaviour (RFC 4787 §4.1, §5). */
enum natclass_behaviour {
	NATCLASS_BEHAVIOUR_UNKNOWN = 0,
	NATCLASS_ENDPOINT_INDEPENDENT,
	NATCLASS_ADDRESS_DEPENDENT,
	NATCLASS_ADDRESS_AND_PORT_DEPENDENT,
	NATCLASS_BEHAVIOUR_COUNT
};

enum natclass_alloc {
	NATCLASS_ALLOC_UNKNOWN = 0,
	NATCLASS_ALLOC_PRESERVING, /* external port = local port */
	NATCLASS_ALLOC_SEQUENTIAL, /* new mappings step by allocation_step */
	NATCLASS_ALLOC_RANDOM,
	NATCLASS_ALLOC_COUNT
};

enum natclass_hairpin {
	NATCLASS_HAIRPIN_UNKNOWN = 0,
	NATCLASS_HAIRPIN_YES,
	NATCLASS_HAIRPIN_NO,
};

struct natclass_result {
	enum natclass_type type;
	bool behind_nat; /* the mapped address is not one of ours */
	enum natclass_behaviour mapping;
	enum natclass_behaviour filtering;
	struct sockaddr_storage mapped; /* first mapped address; ss_family 0 if none */
	bool port_preserving;		/* mapped port == local port */
	enum natclass_alloc allocation;
	int allocation_step; /* signed port step when sequential, else 0 */
	enum natclass_hairpin hairpin;
	bool alternate_answered; /* the server's alternate IP answered us */
	uint64_t elapsed_us;
	/* The NAT64 prefix the run reached the server's IPv4 addresses
	 * through (natclass_params.pref64, with an IPv6 server); len 0: none. */
	struct nat64_prefix nat64;
};

struct natclass_params {
	struct sockaddr_storage server; /* the server's primary IP and main port */
	/* The main socket's own addresses with its port (the interface addresses
	 * when it is bound to a wildcard); a mapped address equal to one of them
	 * means there is no NAT. */
	struct sockaddr_storage local[NATCLASS_LOCAL_MAX];
	size_t n_local;
	/* Random bytes for the transaction ids (RFC 8489 §6: ids must be
	 * unpredictable); fresh for every run. */
	uint8_t seed[NATCLASS_SEED_LEN];
	/* The NAT64 prefix the server is reached through (server an IPv6
	 * address on an IPv6-only network; len 0: none): the IPv4 addresses
	 * the server names (its other address, our mapped one) are reached
	 * embedded in it, so the whole of RFC 5780 runs through the NAT64.
	 * Without it they cannot be reached: no mapping or hairpin tests. */
	struct nat64_prefix pref64;
};

enum natclass_action {
	NATCLASS_SEND = 0, /* send out->buf to out->to from the main socket */
	NATCLASS_WAIT,	   /* nothing to send before out->wake_us */
	NATCLASS_DONE,	   /* the result is ready */
};

struct natclass_send {
	uint8_t buf[STUN_REQUEST_MAX];
	size_t len;
	struct sockaddr_storage to;
	bool is_hairpin;  /* to is our own mapped address (hairpin test) */
	uint64_t wake_us; /* NATCLASS_WAIT: call natclass_next again by then */
};

struct natclass;

/* Start a run at now_us. Copies *p. Returns 0 and *out (the caller owns it;
 * natclass_free), -EINVAL (server or local address family) or -ENOMEM. */
WH_MUST_CHECK int natclass_new(const struct natclass_params *p, uint64_t now_us,
			       struct natclass **out);

/* Free a run; NULL is a no-op. */
void natclass_free(struct natclass *nc);

/* What to do now: fills *out for NATCLASS_SEND and NATCLASS_WAIT. Call it
 * until it returns NATCLASS_WAIT or NATCLASS_DONE. */
enum natclass_action natclass_next(struct natclass *nc, uint64_t now_us, struct natclass_send *out);

/* Feed one datagram the main socket received from `from` (buf borrowed).
 * Returns true if it belonged to this run (a response to one of its tests,
 * or its own hairpinned request); anything else is left to the caller. */
bool natclass_on_packet(struct natclass *nc, uint64_t now_us, const uint8_t *buf, size_t len,
			const struct sockaddr *from);

/* Copy the result. Returns 0, or -EAGAIN while the run is not done. */
WH_MUST_CHECK int natclass_get_result(const struct natclass *nc, struct natclass_result *out);

/* Stable names: "port-restricted-cone", "address-dependent", "sequential". */
const char *natclass_type_name(enum natclass_type t);
const char *natclass_behaviour_name(enum natclass_behaviour b);
const char *natclass_alloc_name(enum natclass_alloc a);

/* One JSON object: type, mapping, filtering, mapped_address ("ip:port" or
 * null), behind_nat (null when UDP is blocked), port_preserving, allocation,
 * allocation_step, hairpin (true, false or null), alternate_answered,
 * elapsed_ms. Returns 0 or -ENOSPC (buf holds
 * "" then). NATCLASS_JSON_MAX is always enough. */
WH_MUST_CHECK int natclass_result_format_json(const struct natclass_result *r, char *buf,
					      size_t len);

/* The same for people, several lines. Returns 0 or -ENOSPC.
 * NATCLASS_TEXT_MAX is always enough. */
WH_MUST_CHECK int natclass_result_format_text(const struct natclass_result *r, char *buf,
					      size_t len);

#endif
