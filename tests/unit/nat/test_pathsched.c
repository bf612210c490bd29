/* test_pathsched: nat/pathsched — weights fall with RTT and loss, equal
 * paths alternate, unequal ones share in proportion to their weights over
 * any window (no bursts), ineligible paths are never picked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat/pathsched.h"

static void test_pathsched_weight_falls_with_rtt_and_loss(void **state)
{
	(void)state;
	assert_true(pathsched_weight(0, 1000) > pathsched_weight(0, 30000));
	assert_true(pathsched_weight(0, 1000) > pathsched_weight(0.2, 1000));
	/* The bias keeps sub-millisecond differences from mattering much. */
	assert_true(pathsched_weight(0, 100) * 100 / pathsched_weight(0, 900) < 105);
	/* A path losing everything still has the minimum weight; out of range
	 * losses are clamped. */
	assert_int_equal(pathsched_weight(1.0, 0), 1);
	assert_int_equal(pathsched_weight(2.0, 0), 1);
	assert_int_equal(pathsched_weight(-1.0, 5000), pathsched_weight(0, 5000));
}

static void test_pathsched_equal_paths_alternate(void **state)
{
	int64_t credit[2] = {0, 0};
	const int64_t weight[2] = {50, 50};
	int last = -1;

	(void)state;
	for (int i = 0; i < 100; i++) {
		int k = pathsched_pick(credit, weight, 2);

		assert_true(k == 0 || k == 1);
		assert_int_not_equal(k, last);
		last = k;
	}
}

static void test_pathsched_shares_follow_weights_without_bursts(void **state)
{
	int64_t credit[3] = {0, 0, 0};
	const int64_t weight[3] = {3, 0, 1}; /* path 1 is not eligible */
	int count[3] = {0, 0, 0};
	int run = 0, longest = 0, prev = -1;

	(void)state;
	for (int i = 0; i < 400; i++) {
		int k = pathsched_pick(credit, weight, 3);

		assert_true(k == 0 || k == 2);
		count[k]++;
		run = k == prev ? run + 1 : 1;
		longest = run > longest ? run : longest;
		prev = k;
		/* Any prefix stays within one pick of the exact share. */
		assert_true(count[2] * 4 >= (i + 1) - 4 && count[2] * 4 <= (i + 1) + 4);
	}
	assert_int_equal(count[0], 300);
	assert_int_equal(count[1], 0);
	assert_int_equal(count[2], 100);
	assert_true(longest <= 3);
}

static void test_pathsched_none_eligible(void **state)
{
	int64_t credit[2] = {0, 0};
	const int64_t weight[2] = {0, 0};

	(void)state;
	assert_int_equal(pathsched_pick(credit, weight, 2), -1);
	assert_int_equal(pathsched_pick(credit, weight, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pathsched_weight_falls_with_rtt_and_loss),
		cmocka_unit_test(test_pathsched_equal_paths_alternate),
		cmocka_unit_test(test_pathsched_shares_follow_weights_without_bursts),
		cmocka_unit_test(test_pathsched_none_eligible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
