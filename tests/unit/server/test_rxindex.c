/* test_rxindex: the server's receiver-index table — add, find, delete with
 * backward shift across a wrapped probe run, growth keeping every entry, the
 * half-full limit, and a long random run against a naive reference (an
 * array searched linearly), with a fixed seed printed on failure. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/rxindex.h"

static int owners[4096];

static void test_rxindex_finds_what_was_added_and_nothing_else(void **state)
{
	struct rxindex t = {0};

	(void)state;
	assert_int_equal(rxindex_reserve(&t, 8), 0);
	assert_int_equal(rxindex_add(&t, 0x80000001, &owners[1]), 0);
	assert_int_equal(rxindex_add(&t, 0x80000002, &owners[2]), 0);
	assert_int_equal(rxindex_add(&t, 0x80000001, &owners[3]), -EEXIST);
	assert_int_equal(rxindex_add(&t, 0, &owners[3]), -ENOSPC);
	assert_ptr_equal(rxindex_find(&t, 0x80000001), &owners[1]);
	assert_ptr_equal(rxindex_find(&t, 0x80000002), &owners[2]);
	assert_null(rxindex_find(&t, 0x80000003));
	assert_null(rxindex_find(&t, 0));
	rxindex_del(&t, 0x80000001);
	rxindex_del(&t, 0x80000001); /* absent: no-op */
	assert_null(rxindex_find(&t, 0x80000001));
	assert_ptr_equal(rxindex_find(&t, 0x80000002), &owners[2]);
	assert_int_equal(t.n_used, 1);
	rxindex_fini(&t);
	rxindex_fini(&t);
}

static void test_rxindex_delete_keeps_a_wrapped_probe_run_reachable(void **state)
{
	struct rxindex t = {0};
	size_t n;

	(void)state;
	assert_int_equal(rxindex_reserve(&t, 1), 0);
	n = t.mask + 1;
	/* Three indices whose home is the last slot: the run wraps to 0 and 1. */
	for (uint32_t k = 0; k < 3; k++) {
		assert_int_equal(rxindex_add(&t, (uint32_t)((n - 1) + n * (k + 1)), &owners[k]), 0);
	}
	/* One whose home is slot 0, pushed to slot 2 by the run. */
	assert_int_equal(rxindex_add(&t, (uint32_t)(n * 7), &owners[9]), 0);
	rxindex_del(&t, (uint32_t)((n - 1) + n));
	for (uint32_t k = 1; k < 3; k++) {
		assert_ptr_equal(rxindex_find(&t, (uint32_t)((n - 1) + n * (k + 1))), &owners[k]);
	}
	assert_ptr_equal(rxindex_find(&t, (uint32_t)(n * 7)), &owners[9]);
	rxindex_fini(&t);
}

static void test_rxindex_is_never_more_than_half_full_and_grows_whole(void **state)
{
	struct rxindex t = {0};
	uint32_t i;

	(void)state;
	assert_int_equal(rxindex_reserve(&t, 10), 0);
	for (i = 1; rxindex_add(&t, 0x80000000u | i, &owners[i]) == 0; i++) {
	}
	assert_int_equal(t.n_used, (t.mask + 1) / 2);
	assert_int_equal(rxindex_add(&t, 0x80000000u | i, &owners[i]), -ENOSPC);
	assert_int_equal(rxindex_reserve(&t, 1000), 0);
	for (uint32_t k = 1; k < i; k++) {
		assert_ptr_equal(rxindex_find(&t, 0x80000000u | k), &owners[k]);
	}
	assert_int_equal(rxindex_add(&t, 0x80000000u | i, &owners[i]), 0);
	/* Reserving less than held never shrinks it. */
	assert_int_equal(rxindex_reserve(&t, 1), 0);
	assert_ptr_equal(rxindex_find(&t, 0x80000000u | i), &owners[i]);
	rxindex_fini(&t);
}

struct ref {
	uint32_t idx[512];
	void *owner[512];
	size_t n;
};

static void *ref_find(const struct ref *r, uint32_t idx)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->idx[i] == idx) {
			return r->owner[i];
		}
	}
	return NULL;
}

static void ref_del(struct ref *r, uint32_t idx)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->idx[i] == idx) {
			r->idx[i] = r->idx[r->n - 1];
			r->owner[i] = r->owner[r->n - 1];
			r->n--;
			return;
		}
	}
}

static void test_rxindex_matches_a_naive_reference_at_random(void **state)
{
	const unsigned seed = 4242;
	static struct ref ref;
	struct rxindex t = {0};

	(void)state;
	srand(seed);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(rxindex_reserve(&t, 256), 0);
	for (int step = 0; step < 200000; step++) {
		/* Few distinct values and a small mask: long runs, many collisions. */
		uint32_t idx = 0x80000000u | (uint32_t)(rand() % 1024) * 61u;
		int op = rand() % 3;

		if (op == 0 && ref.n < 256) {
			int rc = rxindex_add(&t, idx, &owners[step % 4096]);
			if ((rc == -EEXIST) != (ref_find(&ref, idx) != NULL) ||
			    (rc != 0 && rc != -EEXIST)) {
				fail_msg("seed %u step %d: add %08x gave %d", seed, step, idx, rc);
			}
			if (rc == 0) {
				ref.idx[ref.n] = idx;
				ref.owner[ref.n++] = &owners[step % 4096];
			}
		} else if (op == 1) {
			rxindex_del(&t, idx);
			ref_del(&ref, idx);
		} else if (rxindex_find(&t, idx) != ref_find(&ref, idx)) {
			fail_msg("seed %u step %d: find %08x differs", seed, step, idx);
		}
		if (t.n_used != ref.n) {
			fail_msg("seed %u step %d: %zu entries, reference %zu", seed, step,
				 t.n_used, ref.n);
		}
	}
	for (size_t i = 0; i < ref.n; i++) {
		assert_ptr_equal(rxindex_find(&t, ref.idx[i]), ref.owner[i]);
	}
	rxindex_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rxindex_finds_what_was_added_and_nothing_else),
		cmocka_unit_test(test_rxindex_delete_keeps_a_wrapped_probe_run_reachable),
		cmocka_unit_test(test_rxindex_is_never_more_than_half_full_and_grows_whole),
		cmocka_unit_test(test_rxindex_matches_a_naive_reference_at_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
