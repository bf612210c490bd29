/* test_idxmap: client/idxmap — client receiver indices have the top bit
 * clear, are unique and non-zero, map back to their owner, survive
 * deletions in the middle of a probe run, and owners release the indices
 * their session dropped. A randomized run compares the table with a naive
 * list; the seed is printed on failure (WH_TEST_SEED overrides it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/idxmap.h"

struct seq_rand {
	const uint32_t *vals;
	size_t n;
	size_t at;
};

static uint32_t seq_next(void *ctx)
{
	struct seq_rand *s = ctx;

	return s->vals[s->at++ % s->n];
}

static void test_idxmap_indices_have_the_top_bit_clear_and_are_unique(void **state)
{
	struct idxmap m;
	int owner;
	uint32_t seen[1000];

	(void)state;
	assert_int_equal(idxmap_init(&m), 0);
	for (size_t i = 0; i < 1000; i++) {
		uint8_t kind = 0;

		assert_int_equal(idxmap_add(&m, IDXMAP_PEER, &owner, &seen[i]), 0);
		assert_int_equal(seen[i] & IDXMAP_TOP_BIT, 0);
		assert_int_not_equal(seen[i], 0);
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(seen[i], seen[j]);
		}
		assert_ptr_equal(idxmap_find(&m, seen[i], &kind), &owner);
		assert_int_equal(kind, IDXMAP_PEER);
	}
	idxmap_fini(&m);
}

static void test_idxmap_skips_zero_collisions_and_clears_the_top_bit(void **state)
{
	/* 0, a top-bit value whose low part is 5, then 5 again, then 6. */
	static const uint32_t vals[] = {0, 0x80000005u, 5, 6};
	struct seq_rand r = {vals, 4, 0};
	struct idxmap m;
	int a, b;
	uint32_t x, y;

	(void)state;
	assert_int_equal(idxmap_init(&m), 0);
	m.rand_fn = seq_next;
	m.rand_ctx = &r;
	assert_int_equal(idxmap_add(&m, IDXMAP_SERVER, &a, &x), 0);
	assert_int_equal(x, 5);
	assert_int_equal(idxmap_add(&m, IDXMAP_PEER, &b, &y), 0);
	assert_int_equal(y, 6);
	assert_null(idxmap_find(&m, 0x80000005u, NULL));
	assert_null(idxmap_find(&m, 0, NULL));
	idxmap_fini(&m);
}

static void test_idxmap_finds_entries_after_a_deletion_inside_their_run(void **state)
{
	/* Sequential candidates collide often in a small neighbourhood once
	 * hashed; delete every other one and check the rest. */
	uint32_t vals[64];
	struct seq_rand r = {vals, 64, 0};
	struct idxmap m;
	uint32_t got[64];
	int owners[64];

	(void)state;
	for (uint32_t i = 0; i < 64; i++) {
		vals[i] = (i + 1) * IDXMAP_SLOTS; /* all hash to slot 0 */
	}
	assert_int_equal(idxmap_init(&m), 0);
	m.rand_fn = seq_next;
	m.rand_ctx = &r;
	for (size_t i = 0; i < 64; i++) {
		assert_int_equal(idxmap_add(&m, IDXMAP_PEER, &owners[i], &got[i]), 0);
	}
	for (size_t i = 0; i < 64; i += 2) {
		idxmap_del(&m, got[i]);
	}
	for (size_t i = 0; i < 64; i++) {
		if (i % 2) {
			assert_ptr_equal(idxmap_find(&m, got[i], NULL), &owners[i]);
		} else {
			assert_null(idxmap_find(&m, got[i], NULL));
		}
	}
	assert_int_equal(m.used, 32);
	idxmap_fini(&m);
}

static bool keep_odd(void *owner, uint32_t idx)
{
	(void)owner;
	return idx % 2 == 1;
}

static void test_idxmap_take_releases_what_the_session_dropped(void **state)
{
	static const uint32_t vals[] = {2, 3, 4, 5, 7};
	struct seq_rand r = {vals, 5, 0};
	struct idxmap m;
	struct idxmap_owned o = {.n = 0};
	int owner;
	uint32_t x;

	(void)state;
	assert_int_equal(idxmap_init(&m), 0);
	m.rand_fn = seq_next;
	m.rand_ctx = &r;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(idxmap_take(&m, &o, IDXMAP_PEER, &owner, NULL, &x), 0);
	}
	assert_int_equal(o.n, 4);
	/* 2 and 4 are no longer the session's: they go before 7 is added. */
	assert_int_equal(idxmap_take(&m, &o, IDXMAP_PEER, &owner, keep_odd, &x), 0);
	assert_int_equal(x, 7);
	assert_int_equal(o.n, 3);
	assert_null(idxmap_find(&m, 2, NULL));
	assert_null(idxmap_find(&m, 4, NULL));
	assert_ptr_equal(idxmap_find(&m, 3, NULL), &owner);
	idxmap_release_all(&m, &o);
	assert_int_equal(o.n, 0);
	assert_int_equal(m.used, 0);
	idxmap_fini(&m);
}

static void test_idxmap_take_evicts_the_oldest_when_full(void **state)
{
	struct idxmap m;
	struct idxmap_owned o = {.n = 0};
	uint32_t first = 0;
	uint32_t x;
	int owner;

	(void)state;
	assert_int_equal(idxmap_init(&m), 0);
	for (int i = 0; i < IDXMAP_OWNED_MAX + 1; i++) {
		assert_int_equal(idxmap_take(&m, &o, IDXMAP_PEER, &owner, NULL, &x), 0);
		if (i == 0) {
			first = x;
		}
	}
	assert_int_equal(o.n, IDXMAP_OWNED_MAX);
	assert_null(idxmap_find(&m, first, NULL));
	assert_int_equal(m.used, IDXMAP_OWNED_MAX);
	idxmap_fini(&m);
}

static uint32_t lcg(void *ctx)
{
	uint64_t *s = ctx;

	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	/* Few distinct values so collisions and runs are common. */
	return (uint32_t)(*s >> 33) % 5000;
}

static void test_idxmap_matches_a_naive_list_at_random(void **state)
{
	uint64_t seed = 12345;
	const char *env = getenv("WH_TEST_SEED");
	uint64_t rng;
	struct idxmap m;
	uint32_t live[1500];
	size_t n = 0;
	int owner;

	(void)state;
	if (env) {
		seed = strtoull(env, NULL, 10);
	}
	rng = seed;
	assert_int_equal(idxmap_init(&m), 0);
	m.rand_fn = lcg;
	m.rand_ctx = &rng;
	for (int step = 0; step < 20000; step++) {
		uint64_t pick = rng >> 40;

		if (n < 1500 && (pick % 3 != 0 || n == 0)) {
			if (idxmap_add(&m, IDXMAP_PEER, &owner, &live[n]) != 0) {
				break;
			}
			n++;
		} else {
			size_t k = (size_t)(pick % n);

			idxmap_del(&m, live[k]);
			live[k] = live[--n];
		}
		if (m.used != n) {
			fprintf(stderr, "seed %llu: used %zu, want %zu\n", (unsigned long long)seed,
				m.used, n);
			fail();
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (idxmap_find(&m, live[i], NULL) != &owner) {
			fprintf(stderr, "seed %llu: lost index %u\n", (unsigned long long)seed,
				live[i]);
			fail();
		}
	}
	idxmap_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idxmap_indices_have_the_top_bit_clear_and_are_unique),
		cmocka_unit_test(test_idxmap_skips_zero_collisions_and_clears_the_top_bit),
		cmocka_unit_test(test_idxmap_finds_entries_after_a_deletion_inside_their_run),
		cmocka_unit_test(test_idxmap_take_releases_what_the_session_dropped),
		cmocka_unit_test(test_idxmap_take_evicts_the_oldest_when_full),
		cmocka_unit_test(test_idxmap_matches_a_naive_list_at_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
