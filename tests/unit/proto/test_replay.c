/* test_replay: proto/replay — table-driven edges (first packet, window boundary,
 * one past it, jumps by a word, by the window and beyond the ring, ring wrap,
 * the reject-after limit) and a randomized comparison against a naive
 * reference (a set of every seen counter plus the highest). The seed is fixed,
 * printed on failure, and can be overridden with WH_TEST_SEED. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/replay.h"

#define W REPLAY_WINDOW_SIZE
#define NO_LIMIT UINT64_MAX

struct step {
	uint64_t counter;
	bool want;
};

struct edge_case {
	const char *name;
	uint64_t limit;
	const struct step *steps;
	size_t n_steps;
};

#define STEPS(...)                          \
	(const struct step[]){__VA_ARGS__}, \
		sizeof((const struct step[]){__VA_ARGS__}) / sizeof(struct step)

static const struct edge_case edge_cases[] = {
	{"first packet is counter 0", NO_LIMIT,
	 STEPS({0, true}, {0, false}, {1, true}, {0, false})},
	{"window boundary exactly and one past", NO_LIMIT,
	 STEPS({10000, true}, {10000 - W, true}, {10000 - W, false}, {10000 - W - 1, false},
	       {10000 - W + 1, true}, {9999, true}, {10000, false})},
	{"boundary from the very start", NO_LIMIT,
	 STEPS({W, true}, {0, true}, {0, false}, {W + 1, true}, {0, false}, {1, true}, {2, true})},
	{"out of order inside the window", NO_LIMIT,
	 STEPS({5, true}, {3, true}, {4, true}, {3, false}, {5, false}, {2, true}, {6, true})},
	{"jump of one word keeps older bits", NO_LIMIT,
	 STEPS({10, true}, {74, true}, {10, false}, {11, true}, {138, true}, {10, false},
	       {12, true})},
	{"jump of exactly the window", NO_LIMIT,
	 STEPS({100, true}, {100 + W, true}, {100, false}, {101, true}, {100 + W, false})},
	{"jump past the window clears aliased bits", NO_LIMIT,
	 STEPS({10, true}, {11, true}, {8692, true}, {8202, true}, {8203, true}, {11, false},
	       {8692 - W, true}, {8692 - W, false}, {8692 - W - 1, false}, {10, false})},
	{"large jump far beyond the ring", NO_LIMIT,
	 STEPS({1, true}, {2, true}, {1000000, true}, {1, false}, {2, false}, {1000000 - W, true},
	       {1000000 - 1, true}, {1000000 - W - 1, false}, {1000000 + 8192 * 3 + 1, true},
	       {1000000 + 8192 * 3 + 1 - W, true}, {1000000, false})},
	{"counters at and past the reject-after limit", 1000,
	 STEPS({998, true}, {999, true}, {1000, false}, {1001, false}, {UINT64_MAX, false},
	       {999, false}, {997, true})},
	{"UINT64_MAX is never accepted", NO_LIMIT,
	 STEPS({UINT64_MAX - 1, true}, {UINT64_MAX, false}, {UINT64_MAX - 2, true})},
	{"rejected counters do not move the window", 50,
	 STEPS({1, true}, {100000, false}, {2, true}, {1, false})},
};

static void test_replay_handles_table_of_edge_cases(void **state)
{
	struct replay r;

	(void)state;
	for (size_t c = 0; c < sizeof(edge_cases) / sizeof(edge_cases[0]); c++) {
		const struct edge_case *ec = &edge_cases[c];

		replay_init(&r);
		for (size_t i = 0; i < ec->n_steps; i++) {
			const struct step *s = &ec->steps[i];
			bool peek = replay_check(&r, s->counter);
			bool got = replay_check_and_update(&r, s->counter, ec->limit);

			if (got != s->want || (s->counter < ec->limit && peek != s->want)) {
				fail_msg("case \"%s\" step %zu: counter %" PRIu64 " got %d want %d",
					 ec->name, i, s->counter, got, s->want);
			}
		}
	}
}

static void test_replay_ring_wraps_many_times_in_order(void **state)
{
	struct replay r;

	(void)state;
	replay_init(&r);
	for (uint64_t c = 0; c < 5 * 8192 + 77; c++) {
		assert_true(replay_check_and_update(&r, c, NO_LIMIT));
		assert_false(replay_check_and_update(&r, c, NO_LIMIT));
		if (c >= 8192) {
			/* same ring bit one lap ago: too old, not mistaken for fresh */
			assert_false(replay_check(&r, c - 8192));
		}
		if (c >= W) {
			assert_false(replay_check(&r, c - W));
		}
	}
}

static void test_replay_check_does_not_update(void **state)
{
	struct replay r;

	(void)state;
	replay_init(&r);
	assert_true(replay_check(&r, 5));
	assert_true(replay_check(&r, 5));
	assert_true(replay_check_and_update(&r, 5, NO_LIMIT));
	assert_false(replay_check(&r, 5));
	assert_true(replay_check(&r, 4));
}

/* ---- randomized comparison against a naive reference ---- */

#define NAIVE_RANGE (1ull << 26)
#define RANDOM_OPS 1000000

/* Deliberately naive: one bit per counter ever seen, plus the highest. */
struct naive {
	uint8_t *seen; /* NAIVE_RANGE bits */
	uint64_t highest;
	bool any;
};

static bool naive_check(const struct naive *n, uint64_t c)
{
	if (n->any && c < n->highest && n->highest - c > W) {
		return false;
	}
	return (n->seen[c / 8] & (1u << (c % 8))) == 0;
}

static bool naive_accept(struct naive *n, uint64_t c, uint64_t limit)
{
	if (c >= limit || !naive_check(n, c)) {
		return false;
	}
	n->seen[c / 8] |= (uint8_t)(1u << (c % 8));
	if (!n->any || c > n->highest) {
		n->highest = c;
		n->any = true;
	}
	return true;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mostly in order, with reordering near and across the window edge, word and
 * window sized jumps, large jumps and probes at the reject limit. */
static uint64_t next_counter(uint64_t *rng, const struct naive *n, uint64_t limit)
{
	uint64_t h = n->highest, x = xorshift(rng), pick = x % 1000;

	x >>= 10;
	if (pick < 550) {
		return h + 1 + x % 3;
	}
	if (pick < 850) {
		return h - (x % (W + 300) < h ? x % (W + 300) : h);
	}
	if (pick < 900) {
		uint64_t d = W - 2 + x % 5;
		return d <= h ? h - d : 0;
	}
	if (pick < 980) {
		return h + 1 + x % 200;
	}
	if (pick < 995) {
		return h + 60 + x % 9000;
	}
	return limit - 3 + x % 6;
}

static void test_replay_matches_naive_reference_at_random(void **state)
{
	const char *env = getenv("WH_TEST_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ull;
	uint64_t rng = seed, limit = 0;
	struct naive n = {calloc(NAIVE_RANGE / 8, 1), 0, false};
	struct replay r;

	(void)state;
	assert_non_null(n.seen);
	for (long op = 0; op < RANDOM_OPS; op++) {
		if (op == 0 || n.highest + 20000 >= limit) {
			/* new epoch: fresh state and a new reject-after limit */
			memset(n.seen, 0, NAIVE_RANGE / 8);
			n.highest = 0;
			n.any = false;
			replay_init(&r);
			limit = 20000 + xorshift(&rng) % (NAIVE_RANGE / 64);
		}
		uint64_t c = next_counter(&rng, &n, limit);
		bool want_peek = naive_check(&n, c);
		bool got_peek = replay_check(&r, c);
		bool want = naive_accept(&n, c, limit);
		bool got = replay_check_and_update(&r, c, limit);
		if (got != want || got_peek != want_peek) {
			free(n.seen);
			fail_msg("seed 0x%" PRIx64 " op %ld counter %" PRIu64 " limit %" PRIu64
				 ": replay %d/%d, reference %d/%d",
				 seed, op, c, limit, got_peek, got, want_peek, want);
		}
	}
	free(n.seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_handles_table_of_edge_cases),
		cmocka_unit_test(test_replay_ring_wraps_many_times_in_order),
		cmocka_unit_test(test_replay_check_does_not_update),
		cmocka_unit_test(test_replay_matches_naive_reference_at_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
