/* test_dgdedup: client/dgdedup — each (flow, seq) once; duplicates inside
 * the window dropped, in any order; flows independent; sequence numbers
 * wrap; a sender that starts over (far behind) is accepted again; more
 * flows than slots evict the least recently used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/dgdedup.h"

static void test_dgdedup_basic_and_reordered(void **state)
{
	static struct dgdedup d;

	(void)state;
	dgdedup_init(&d);
	for (uint32_t s = 1; s <= 100; s++) {
		assert_true(dgdedup_accept(&d, 7, s));
	}
	/* The same again (the copies from the second path), late. */
	for (uint32_t s = 1; s <= 100; s++) {
		assert_false(dgdedup_accept(&d, 7, s));
	}
	assert_int_equal(d.duplicates, 100);
	/* Out of order inside the window: new ones pass once. */
	assert_true(dgdedup_accept(&d, 7, 150));
	assert_true(dgdedup_accept(&d, 7, 120));
	assert_false(dgdedup_accept(&d, 7, 120));
	assert_true(dgdedup_accept(&d, 7, 101));
	/* Another flow has its own numbers. */
	assert_true(dgdedup_accept(&d, 8, 1));
	assert_false(dgdedup_accept(&d, 8, 1));
}

static void test_dgdedup_wrap_restart_and_slide(void **state)
{
	static struct dgdedup d;

	(void)state;
	dgdedup_init(&d);
	assert_true(dgdedup_accept(&d, 1, UINT32_MAX - 1));
	assert_true(dgdedup_accept(&d, 1, UINT32_MAX));
	assert_true(dgdedup_accept(&d, 1, 0));
	assert_true(dgdedup_accept(&d, 1, 1));
	assert_false(dgdedup_accept(&d, 1, UINT32_MAX));
	/* The sender started over from 1 after a long run: accepted. */
	for (uint32_t s = 2; s < 3 * DGDEDUP_WINDOW; s++) {
		assert_true(dgdedup_accept(&d, 1, s));
	}
	assert_true(dgdedup_accept(&d, 1, 1));
	assert_true(dgdedup_accept(&d, 1, 2));
	assert_false(dgdedup_accept(&d, 1, 2));
	/* Sliding forward forgets old bits: the slot of seq 3 is reused by
	 * 3 + WINDOW, which must pass even though 3 was seen. */
	assert_true(dgdedup_accept(&d, 1, 3));
	assert_true(dgdedup_accept(&d, 1, 3 + DGDEDUP_WINDOW - 1));
}

static void test_dgdedup_many_flows(void **state)
{
	static struct dgdedup d;

	(void)state;
	dgdedup_init(&d);
	for (uint32_t f = 0; f < DGDEDUP_FLOWS; f++) {
		assert_true(dgdedup_accept(&d, f, 5));
	}
	assert_false(dgdedup_accept(&d, 0, 5));	 /* flow 0 is now the most recent */
	assert_true(dgdedup_accept(&d, 999, 5)); /* evicts flow 1, the oldest */
	assert_false(dgdedup_accept(&d, 0, 5));
	assert_true(dgdedup_accept(&d, 1, 5)); /* forgotten: accepted again */
}

/* A redundant flow re-created by a route change (or a member removed and
 * added back) while the session lasts: its new datagrams reach the app.
 * Numbering from 1 again, the first 300 after the re-creation were taken
 * for copies of the old ones and dropped. */
static void test_dgdedup_a_recreated_flow_continues_its_numbers(void **state)
{
	struct dgdedup rx;
	struct dgdedup_seq first = {0}, again = {0}, other = {0};
	uint32_t peer_top = 0;
	unsigned taken = 0;

	(void)state;
	dgdedup_init(&rx);
	for (int i = 0; i < 300; i++) {
		assert_true(dgdedup_accept(&rx, 7, dgdedup_next_seq(&first, &peer_top)));
	}
	for (int i = 0; i < 20; i++) {
		assert_true(dgdedup_accept(&rx, 9, dgdedup_next_seq(&other, &peer_top)));
	}
	/* The flow's member state is new (flowqos zeroes it); the peer's top
	 * stays. */
	for (int i = 0; i < 300; i++) {
		uint32_t seq = dgdedup_next_seq(&again, &peer_top);

		taken += dgdedup_accept(&rx, 7, seq);
		assert_false(dgdedup_accept(&rx, 7, seq)); /* its copy is still dropped */
	}
	assert_int_equal(taken, 300);
	assert_int_equal(again.last, 620);
	/* The other flow (it began after the first: 301..320) goes on with its
	 * own numbers, no gap. */
	assert_int_equal(dgdedup_next_seq(&other, &peer_top), 321);
	assert_int_equal(peer_top, 620);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dgdedup_basic_and_reordered),
		cmocka_unit_test(test_dgdedup_wrap_restart_and_slide),
		cmocka_unit_test(test_dgdedup_many_flows),
		cmocka_unit_test(test_dgdedup_a_recreated_flow_continues_its_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
