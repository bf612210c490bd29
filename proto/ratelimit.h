/* ratelimit: per-source token bucket for handshake initiations (DESIGN §3:
 * handshake flooding costs the server little). A fixed-size table made once
 * at init; no allocation per packet. Sources are the caller's address bytes,
 * hashed with a secret key so an attacker cannot aim at one slot. */
#ifndef WH_RATELIMIT_H
#define WH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct ratelimit_entry {
	uint64_t key;	    /* keyed hash of the source; 0 = free slot */
	uint64_t last_us;   /* last refill */
	uint64_t credit_us; /* tokens, in microseconds of refill time */
};

struct ratelimit {
	struct ratelimit_entry *table; /* owns: `slots` entries */
	size_t slots;		       /* power of two */
	uint64_t cost_us;	       /* refill time of one token */
	uint64_t max_credit_us;	       /* burst * cost_us */
	uint8_t secret[16];	       /* SipHash key for the source hash */
	uint64_t full_drops;	       /* refusals because no slot was free */
};

enum ratelimit_verdict {
	RATELIMIT_ALLOW = 0,
	RATELIMIT_DENY,	      /* this source is over its rate */
	RATELIMIT_TABLE_FULL, /* no slot for a new source: refused, counted */
};

/* Allocate a table of `slots` entries (rounded up to a power of two, >= 8)
 * for `per_second` initiations per source with bursts of `burst`.
 * Returns 0, -EINVAL or -ENOMEM. */
WH_MUST_CHECK int ratelimit_init(struct ratelimit *rl, size_t slots, uint32_t per_second,
				 uint32_t burst);

/* Free the table and wipe the secret. Safe on a zeroed or finished struct. */
void ratelimit_fini(struct ratelimit *rl);

/* Take one token for source src (src_len address bytes) at now_us. */
enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const uint8_t *src, size_t src_len,
				       uint64_t now_us);

#endif
