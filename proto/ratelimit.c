/* ratelimit: token buckets per source in one open-addressed table with a
 * bounded probe (as WireGuard's ratelimiter, without its per-entry
 * allocation). Owns the table; never allocates after init. An entry whose
 * bucket has refilled completely is equivalent to a new one, so it may be
 * reused by any source: the table is only "full" when every slot in the probe
 * range belongs to a source that is actively sending. Time comes from the
 * caller (now_us); this file reads no clock. */
#include "proto/ratelimit.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Slots looked at for one source; bounds the work per packet. */
#define RATELIMIT_PROBE 8

int ratelimit_init(struct ratelimit *rl, size_t slots, uint32_t per_second, uint32_t burst)
{
	size_t n = RATELIMIT_PROBE;

	memset(rl, 0, sizeof(*rl));
	if (per_second == 0 || burst == 0 || slots == 0 || slots > (SIZE_MAX >> 2)) {
		return -EINVAL;
	}
	while (n < slots) {
		n <<= 1;
	}
	if (sodium_init() < 0) {
		return -EIO;
	}
	rl->table = calloc(n, sizeof(*rl->table));
	if (!rl->table) {
		return -ENOMEM;
	}
	rl->slots = n;
	rl->cost_us = 1000000u / per_second;
	if (rl->cost_us == 0) {
		rl->cost_us = 1;
	}
	rl->max_credit_us = rl->cost_us * burst;
	randombytes_buf(rl->secret, sizeof(rl->secret));
	return 0;
}

void ratelimit_fini(struct ratelimit *rl)
{
	free(rl->table);
	sodium_memzero(rl, sizeof(*rl));
}

static uint64_t source_key(const struct ratelimit *rl, const uint8_t *src, size_t src_len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t k = 0;

	/* crypto_shorthash (SipHash-2-4) cannot fail. */
	crypto_shorthash(h, src, src_len, rl->secret);
	for (size_t i = 0; i < sizeof(h); i++) {
		k = k << 8 | h[i];
	}
	return k ? k : 1; /* 0 marks a free slot */
}

/* Refill e up to now; true if its bucket is full (the entry is idle). */
static bool refill(const struct ratelimit *rl, struct ratelimit_entry *e, uint64_t now_us)
{
	uint64_t elapsed = now_us > e->last_us ? now_us - e->last_us : 0;

	if (elapsed >= rl->max_credit_us || e->credit_us + elapsed >= rl->max_credit_us) {
		e->credit_us = rl->max_credit_us;
	} else {
		e->credit_us += elapsed;
	}
	e->last_us = now_us > e->last_us ? now_us : e->last_us;
	return e->credit_us == rl->max_credit_us;
}

static struct ratelimit_entry *find_slot(struct ratelimit *rl, uint64_t key, uint64_t now_us)
{
	struct ratelimit_entry *reuse = NULL;

	for (size_t i = 0; i < RATELIMIT_PROBE; i++) {
		struct ratelimit_entry *e = &rl->table[(key + i) & (rl->slots - 1)];

		if (e->key == key) {
			return e;
		}
		if (!reuse && (e->key == 0 || refill(rl, e, now_us))) {
			reuse = e;
		}
	}
	if (reuse) {
		reuse->key = key;
		reuse->last_us = now_us;
		reuse->credit_us = rl->max_credit_us;
	}
	return reuse;
}

enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const uint8_t *src, size_t src_len,
				       uint64_t now_us)
{
	struct ratelimit_entry *e;

	if (!rl->table) {
		return RATELIMIT_DENY;
	}
	e = find_slot(rl, source_key(rl, src, src_len), now_us);
	if (!e) {
		rl->full_drops++;
		return RATELIMIT_TABLE_FULL;
	}
	refill(rl, e, now_us);
	if (e->credit_us < rl->cost_us) {
		return RATELIMIT_DENY;
	}
	e->credit_us -= rl->cost_us;
	return RATELIMIT_ALLOW;
}
