/* test_stamp: client/stamp — wall clock after 2024-01-01, else monotonic,
 * and never repeating or going back within the process (PROTOCOL.md
 * "Stamps"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/stamp.h"

#define WALL_2025 1735689600000000ull
#define WALL_1970 5000000ull

static void test_stamp_uses_the_wall_clock_after_2024(void **state)
{
	struct stamp st;

	(void)state;
	stamp_init(&st);
	assert_int_equal(stamp_next(&st, WALL_2025, 42), WALL_2025);
}

static void test_stamp_uses_the_monotonic_clock_before_2024(void **state)
{
	struct stamp st;

	(void)state;
	stamp_init(&st);
	assert_int_equal(stamp_next(&st, WALL_1970, 42), 42);
	assert_int_equal(stamp_next(&st, STAMP_WALL_MIN_US, 43), 43);
}

static void test_stamp_grows_when_the_clock_stands_still(void **state)
{
	struct stamp st;

	(void)state;
	stamp_init(&st);
	assert_int_equal(stamp_next(&st, WALL_2025, 0), WALL_2025);
	assert_int_equal(stamp_next(&st, WALL_2025, 0), WALL_2025 + 1);
	assert_int_equal(stamp_next(&st, WALL_2025, 0), WALL_2025 + 2);
}

static void test_stamp_never_goes_back_when_the_wall_clock_does(void **state)
{
	struct stamp st;

	(void)state;
	stamp_init(&st);
	assert_int_equal(stamp_next(&st, WALL_2025, 10), WALL_2025);
	/* The clock is set back to 1970: the monotonic value is far below. */
	assert_int_equal(stamp_next(&st, WALL_1970, 11), WALL_2025 + 1);
	assert_int_equal(stamp_next(&st, WALL_2025 - 1000, 12), WALL_2025 + 2);
}

static void test_stamp_jumps_forward_when_ntp_sets_the_clock(void **state)
{
	struct stamp st;

	(void)state;
	stamp_init(&st);
	assert_int_equal(stamp_next(&st, WALL_1970, 1000), 1000);
	assert_int_equal(stamp_next(&st, WALL_2025, 1001), WALL_2025);
}

static void test_stamp_monotonic_zero_still_gives_a_positive_stamp(void **state)
{
	struct stamp st;

	(void)state;
	stamp_init(&st);
	assert_int_equal(stamp_next(&st, 0, 0), 1);
	assert_int_equal(stamp_next(&st, 0, 0), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_uses_the_wall_clock_after_2024),
		cmocka_unit_test(test_stamp_uses_the_monotonic_clock_before_2024),
		cmocka_unit_test(test_stamp_grows_when_the_clock_stands_still),
		cmocka_unit_test(test_stamp_never_goes_back_when_the_wall_clock_does),
		cmocka_unit_test(test_stamp_jumps_forward_when_ntp_sets_the_clock),
		cmocka_unit_test(test_stamp_monotonic_zero_still_gives_a_positive_stamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
