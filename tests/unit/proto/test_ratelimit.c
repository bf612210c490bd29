/* test_ratelimit: per-source token buckets with injected time: a burst,
 * then refusal, then refill; sources are independent; a full table refuses
 * new sources (counted) without growing, and frees up as buckets refill. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ratelimit.h"

#define MS 1000ull
#define T0 (1000000ull * 1000)

static void src_of(uint8_t out[6], unsigned n)
{
	out[0] = 198;
	out[1] = 51;
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	out[4] = 0x1c;
	out[5] = 0xe8;
}

static enum ratelimit_verdict take(struct ratelimit *rl, unsigned n, uint64_t now)
{
	uint8_t src[6];

	src_of(src, n);
	return ratelimit_check(rl, src, sizeof(src), now);
}

static void test_ratelimit_burst_then_refusal_then_refill(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 20, 5), 0); /* one token per 50 ms */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(take(&rl, 1, T0), RATELIMIT_ALLOW);
	}
	assert_int_equal(take(&rl, 1, T0), RATELIMIT_DENY);
	assert_int_equal(take(&rl, 1, T0 + 49 * MS), RATELIMIT_DENY);
	assert_int_equal(take(&rl, 1, T0 + 50 * MS), RATELIMIT_ALLOW);
	assert_int_equal(take(&rl, 1, T0 + 50 * MS), RATELIMIT_DENY);
	/* A long pause refills to the burst, not beyond. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(take(&rl, 1, T0 + 10000 * MS), RATELIMIT_ALLOW);
	}
	assert_int_equal(take(&rl, 1, T0 + 10000 * MS), RATELIMIT_DENY);
	/* Time going backwards grants nothing. */
	assert_int_equal(take(&rl, 1, T0), RATELIMIT_DENY);
	ratelimit_fini(&rl);
}

static void test_ratelimit_sources_are_independent(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 64, 20, 2), 0);
	assert_int_equal(take(&rl, 1, T0), RATELIMIT_ALLOW);
	assert_int_equal(take(&rl, 1, T0), RATELIMIT_ALLOW);
	assert_int_equal(take(&rl, 1, T0), RATELIMIT_DENY);
	assert_int_equal(take(&rl, 2, T0), RATELIMIT_ALLOW);
	assert_int_equal(take(&rl, 2, T0), RATELIMIT_ALLOW);
	assert_int_equal(take(&rl, 2, T0), RATELIMIT_DENY);
	ratelimit_fini(&rl);
}

static void test_ratelimit_full_table_refuses_new_sources_without_growing(void **state)
{
	struct ratelimit rl;
	struct ratelimit_entry *table;
	unsigned admitted = 0;
	unsigned refused = 0;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 8, 20, 5), 0);
	assert_int_equal(rl.slots, 8);
	table = rl.table;
	/* Many active sources: each takes a token, so none is idle. */
	for (unsigned n = 0; n < 64; n++) {
		enum ratelimit_verdict v = take(&rl, n, T0);

		if (v == RATELIMIT_ALLOW) {
			admitted++;
		} else {
			assert_int_equal(v, RATELIMIT_TABLE_FULL);
			refused++;
		}
	}
	assert_int_equal(admitted, 8);
	assert_int_equal(refused, 56);
	assert_true(rl.full_drops == 56);
	assert_ptr_equal(rl.table, table);
	assert_int_equal(rl.slots, 8);
	/* Once buckets have refilled, their slots serve new sources. */
	assert_int_equal(take(&rl, 1000, T0 + 250 * MS), RATELIMIT_ALLOW);
	ratelimit_fini(&rl);
}

/* A deliberately naive reference: one bucket per source in a plain array,
 * tokens counted in microseconds of refill time, no hashing, no table. */
struct naive_bucket {
	bool seen;
	uint64_t last_us;
	uint64_t credit_us;
};

static bool naive_take(struct naive_bucket *b, uint64_t now, uint64_t cost, uint64_t burst)
{
	if (!b->seen) {
		b->seen = true;
		b->last_us = now;
		b->credit_us = cost * burst;
	}
	if (now > b->last_us) {
		b->credit_us += now - b->last_us;
		b->last_us = now;
	}
	if (b->credit_us > cost * burst) {
		b->credit_us = cost * burst;
	}
	if (b->credit_us < cost) {
		return false;
	}
	b->credit_us -= cost;
	return true;
}

static void test_ratelimit_matches_naive_reference_at_random(void **state)
{
	const unsigned seed = 0x5eed1234;
	struct naive_bucket ref[40];
	struct ratelimit rl;
	uint64_t now = T0;

	(void)state;
	memset(ref, 0, sizeof(ref));
	srand(seed);
	assert_int_equal(ratelimit_init(&rl, 4096, 20, 5), 0);
	for (unsigned i = 0; i < 20000; i++) {
		unsigned src = (unsigned)rand() % 40;
		bool want;
		enum ratelimit_verdict got;

		now += (uint64_t)(rand() % 30) * MS / 10;
		want = naive_take(&ref[src], now, 50 * MS, 5);
		got = take(&rl, src, now);
		if ((got == RATELIMIT_ALLOW) != want) {
			fail_msg("seed 0x%x step %u source %u: got %d, reference %d", seed, i, src,
				 got, want);
		}
	}
	ratelimit_fini(&rl);
}

static void test_ratelimit_rejects_bad_parameters(void **state)
{
	struct ratelimit rl;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, 0, 20, 5), -EINVAL);
	assert_int_equal(ratelimit_init(&rl, 8, 0, 5), -EINVAL);
	assert_int_equal(ratelimit_init(&rl, 8, 20, 0), -EINVAL);
	assert_int_equal(take(&rl, 1, T0), RATELIMIT_DENY);
	ratelimit_fini(&rl);
	ratelimit_fini(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratelimit_burst_then_refusal_then_refill),
		cmocka_unit_test(test_ratelimit_sources_are_independent),
		cmocka_unit_test(test_ratelimit_full_table_refuses_new_sources_without_growing),
		cmocka_unit_test(test_ratelimit_matches_naive_reference_at_random),
		cmocka_unit_test(test_ratelimit_rejects_bad_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
