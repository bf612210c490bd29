/* test_pmtu: nat/pmtu — a path searches until a full-size probe is
 * answered (FULL), falls to BASE after PMTU_MAX_PROBES lost in a row, is
 * probed again later in either state (sooner after a stream's timeout)
 * and rises again when answered; probes lost in an outage do not count, a
 * probe waits for the path's next sign of life to be judged; late,
 * foreign and pathmon ids are ignored; a larger size searches again; an idle
 * path (none of the owner's traffic since its last probe) is not probed
 * again until it carries some. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat/pathmon.h"
#include "nat/pmtu.h"

#define MS 1000ull

static void test_pmtu_answered_probe_makes_the_path_full(void **state)
{
	struct pmtu pm;
	uint64_t t = 5000000;
	uint32_t id;

	(void)state;
	pmtu_start(&pm, t);
	assert_false(pmtu_carries(&pm, 1400));
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(pmtu_is_probe_id(id));
	assert_int_equal(pmtu_probe_due(&pm, 1452, t + 10 * MS), 0); /* one in flight */
	assert_false(pmtu_on_pong(&pm, id ^ 1, t + 20 * MS));	     /* not ours */
	assert_true(pmtu_on_pong(&pm, id, t + 30 * MS));
	assert_int_equal(pm.state, PMTU_FULL);
	assert_true(pmtu_carries(&pm, 1452));
	assert_false(pmtu_carries(&pm, 1453));
	assert_false(pmtu_on_pong(&pm, id, t + 40 * MS)); /* a duplicate */
	/* Confirmed again later; a lost confirmation is retried, the path
	 * stays FULL until PMTU_MAX_PROBES are lost. */
	assert_int_equal(pmtu_next_us(&pm), t + 30 * MS + PMTU_CONFIRM_US);
	t += 30 * MS + PMTU_CONFIRM_US;
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(id != 0);
	assert_false(pmtu_on_timer(&pm, t + 1, t + PMTU_PROBE_WAIT_US));
	assert_int_equal(pm.state, PMTU_FULL);
	t += PMTU_PROBE_WAIT_US;
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(id != 0);
	assert_false(pmtu_on_pong(&pm, id, t + 50 * MS)); /* still FULL: no change */
	assert_int_equal(pm.lost, 0);
	/* A stream's timeout brings the next confirmation forward. */
	pmtu_suspect(&pm, t + 60 * MS); /* within a second of the last probe */
	assert_int_equal(pmtu_probe_due(&pm, 1452, t + 60 * MS), 0);
	t += PMTU_PROBE_WAIT_US;
	assert_int_equal(pmtu_probe_due(&pm, 1452, t), 0);
	pmtu_suspect(&pm, t);
	assert_int_equal(pmtu_next_us(&pm), t);
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(id != 0);
	pmtu_suspect(&pm, t + 10 * MS); /* one in flight: no change */
	assert_int_equal(pmtu_next_us(&pm), t + PMTU_PROBE_WAIT_US);
}

static void test_pmtu_lost_probes_make_the_path_base_then_it_rises(void **state)
{
	struct pmtu pm;
	uint64_t t = 5000000;
	uint32_t id = 0;
	int changes = 0;

	(void)state;
	pmtu_start(&pm, t);
	for (int i = 0; i < PMTU_MAX_PROBES; i++) {
		id = pmtu_probe_due(&pm, 1452, t);
		assert_true(id != 0);
		assert_false(pmtu_on_timer(&pm, t + 1, t + PMTU_PROBE_WAIT_US - 1));
		assert_int_equal(pmtu_next_us(&pm), t + PMTU_PROBE_WAIT_US);
		t += PMTU_PROBE_WAIT_US;
		changes += pmtu_on_timer(&pm, t - 1, t);
	}
	assert_int_equal(changes, 1);
	assert_int_equal(pm.state, PMTU_BASE);
	assert_false(pmtu_carries(&pm, 1300));
	assert_false(pmtu_on_pong(&pm, id, t + 10 * MS)); /* the last one, late */
	assert_int_equal(pmtu_probe_due(&pm, 1452, t + PMTU_RAISE_US - 1), 0);
	/* A lost raise probe waits another PMTU_RAISE_US. */
	t += PMTU_RAISE_US;
	assert_true(pmtu_probe_due(&pm, 1452, t) != 0);
	assert_false(pmtu_on_timer(&pm, t + 1, t + PMTU_PROBE_WAIT_US));
	assert_int_equal(pm.state, PMTU_BASE);
	assert_int_equal(pmtu_next_us(&pm), t + PMTU_PROBE_WAIT_US + PMTU_RAISE_US);
	t += PMTU_PROBE_WAIT_US + PMTU_RAISE_US;
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(pmtu_on_pong(&pm, id, t + 20 * MS));
	assert_true(pmtu_carries(&pm, 1452));
}

static void test_pmtu_a_larger_size_searches_again(void **state)
{
	struct pmtu pm;
	uint64_t t = 5000000;
	uint32_t id;

	(void)state;
	pmtu_start(&pm, t);
	id = pmtu_probe_due(&pm, 1300, t);
	assert_true(pmtu_on_pong(&pm, id, t + 10 * MS));
	assert_true(pmtu_carries(&pm, 1300));
	id = pmtu_probe_due(&pm, 1452, t + 20 * MS);
	assert_true(id != 0);
	assert_int_equal(pm.state, PMTU_SEARCHING);
	assert_false(pmtu_carries(&pm, 1300));
	assert_true(pmtu_on_pong(&pm, id, t + 30 * MS));
	assert_true(pmtu_carries(&pm, 1452));
}

/* Probes lost in an outage (no pong to anything since they went out) do
 * not count: each waits PMTU_LIFE_WAIT_US for a sign of life, then the
 * path keeps searching, and a probe is answered. */
static void test_pmtu_an_outage_is_no_black_hole(void **state)
{
	struct pmtu pm;
	uint64_t t = 5000000, life = t - 100 * MS, sent;
	uint32_t id;

	(void)state;
	pmtu_start(&pm, t);
	for (int i = 0; i < 2 * PMTU_MAX_PROBES; i++) {
		assert_true(pmtu_probe_due(&pm, 1452, t) != 0);
		sent = t;
		t += PMTU_PROBE_WAIT_US;
		assert_false(pmtu_on_timer(&pm, life, t));
		assert_true(pm.id != 0); /* still in flight: no life seen yet */
		assert_int_equal(pmtu_next_us(&pm), t + PMTU_LIFE_POLL_US);
		assert_int_equal(pmtu_probe_due(&pm, 1452, t + 10 * MS), 0);
		t = sent + PMTU_LIFE_WAIT_US;
		assert_false(pmtu_on_timer(&pm, life, t));
		assert_int_equal(pm.id, 0);
		assert_int_equal(pm.state, PMTU_SEARCHING);
		assert_int_equal(pm.lost, 0);
		assert_int_equal(pmtu_next_us(&pm), t); /* sent again at once */
	}
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(pmtu_on_pong(&pm, id, t + 10 * MS));
	assert_int_equal(pm.state, PMTU_FULL);
}

/* A path whose pongs are held (a relay's: up to a ping interval) shows life
 * late: a probe is judged once the path answered anything after it left —
 * lost if its own answer has not come by then, found if it comes first,
 * even after PMTU_PROBE_WAIT_US. Three lost that way make the path BASE. */
static void test_pmtu_a_late_sign_of_life_judges_the_probe(void **state)
{
	struct pmtu pm;
	uint64_t t = 5000000, life = t - 500 * MS, sent;
	uint32_t id;
	int changes = 0;

	(void)state;
	pmtu_start(&pm, t);
	/* Its own answer after the wait, before any other sign of life. */
	id = pmtu_probe_due(&pm, 1452, t);
	assert_false(pmtu_on_timer(&pm, life, t + PMTU_PROBE_WAIT_US));
	assert_true(pmtu_on_pong(&pm, id, t + PMTU_PROBE_WAIT_US + 400 * MS));
	assert_true(pmtu_carries(&pm, 1452));

	/* A held pong to an earlier ping 1.7 s after each probe: lost. */
	pmtu_start(&pm, t);
	for (int i = 0; i < PMTU_MAX_PROBES; i++) {
		assert_true(pmtu_probe_due(&pm, 1452, t) != 0);
		sent = t;
		t += PMTU_PROBE_WAIT_US;
		assert_false(pmtu_on_timer(&pm, life, t));
		assert_int_equal(pm.lost, i);
		life = sent + 1700 * MS;
		while (pm.id != 0 && t < sent + PMTU_LIFE_WAIT_US) { /* the owner's polls */
			t = pmtu_next_us(&pm);
			changes += pmtu_on_timer(&pm, t < life ? sent - 1 : life, t);
		}
		assert_int_equal(pm.id, 0);
		assert_true(t >= life && t <= life + PMTU_LIFE_POLL_US);
	}
	assert_int_equal(changes, 1);
	assert_int_equal(pm.state, PMTU_BASE);
}

/* pathmon never hands out an id a probe's answer could be taken for. */
static void test_pmtu_ids_never_meet_pathmon_ids(void **state)
{
	struct pathmon mon;

	(void)state;
	pathmon_init(&mon, 0, 1, 2, 3);
	mon.next_id = 0x7FFFFFFEu;
	assert_false(pmtu_is_probe_id(pathmon_on_ping_sent(&mon, 1)));
	assert_false(pmtu_is_probe_id(pathmon_on_ping_sent(&mon, 2)));
	assert_int_equal(pathmon_on_ping_sent(&mon, 3), 1);
}

static void test_pmtu_an_idle_path_is_not_probed_again(void **state)
{
	struct pmtu pm;
	uint64_t t = 1000000;
	uint32_t id;

	(void)state;
	pmtu_start(&pm, t);
	/* A new path searches whatever its traffic. */
	pmtu_note_sent(&pm, 0, t);
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(id != 0);
	assert_true(pmtu_on_pong(&pm, id, t + 20 * MS));
	/* FULL, and nothing sent since: the confirmation waits, again and again. */
	t += 20 * MS + PMTU_CONFIRM_US;
	pmtu_note_sent(&pm, 0, t);
	assert_int_equal(pmtu_probe_due(&pm, 1452, t), 0);
	assert_int_equal(pmtu_next_us(&pm), t + PMTU_CONFIRM_US);
	t += PMTU_CONFIRM_US;
	pmtu_note_sent(&pm, 0, t);
	assert_int_equal(pmtu_probe_due(&pm, 1452, t), 0);
	/* Traffic meanwhile: confirmed at its time; then idle again, it waits. */
	pmtu_note_sent(&pm, 7, t + 5 * MS);
	assert_int_equal(pmtu_probe_due(&pm, 1452, t + 5 * MS), 0); /* not yet due */
	t += PMTU_CONFIRM_US;
	pmtu_note_sent(&pm, 7, t);
	id = pmtu_probe_due(&pm, 1452, t);
	assert_true(id != 0);
	assert_false(pmtu_on_pong(&pm, id, t + 20 * MS));
	t += 20 * MS + PMTU_CONFIRM_US;
	pmtu_note_sent(&pm, 7, t);
	assert_int_equal(pmtu_probe_due(&pm, 1452, t), 0);
	/* A stream's data times out (on this path or another, where it may
	 * move from): the idle path is probed at once. */
	t += 3 * MS;
	pmtu_suspect(&pm, t);
	pmtu_note_sent(&pm, 7, t);
	assert_true(pmtu_probe_due(&pm, 1452, t) != 0);
	/* BASE: the raise probe waits for traffic too. */
	pmtu_note_sent(&pm, 9, t);
	for (int i = 0; i < PMTU_MAX_PROBES; i++) {
		if (i > 0) {
			assert_true(pmtu_probe_due(&pm, 1452, t) != 0);
		}
		t += PMTU_PROBE_WAIT_US;
		(void)pmtu_on_timer(&pm, t, t); /* pings answered meanwhile */
	}
	assert_int_equal(pm.state, PMTU_BASE);
	t += PMTU_RAISE_US;
	pmtu_note_sent(&pm, 9, t);
	assert_int_equal(pmtu_probe_due(&pm, 1452, t), 0);
	pmtu_note_sent(&pm, 10, t + PMTU_RAISE_US);
	assert_true(pmtu_probe_due(&pm, 1452, t + PMTU_RAISE_US) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pmtu_answered_probe_makes_the_path_full),
		cmocka_unit_test(test_pmtu_lost_probes_make_the_path_base_then_it_rises),
		cmocka_unit_test(test_pmtu_a_larger_size_searches_again),
		cmocka_unit_test(test_pmtu_an_outage_is_no_black_hole),
		cmocka_unit_test(test_pmtu_a_late_sign_of_life_judges_the_probe),
		cmocka_unit_test(test_pmtu_ids_never_meet_pathmon_ids),
		cmocka_unit_test(test_pmtu_an_idle_path_is_not_probed_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
