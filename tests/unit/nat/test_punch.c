/* test_punch: nat/punch — the strategy for every pair of NAT classes (the
 * table of DESIGN §5.3), the birthday-paradox scan size against a direct
 * computation and a simulation, the retry schedule, the port
 * permutation (every port once), and PREDICT: when it is chosen, and a
 * simulation of two sequential NATs showing that the two roles' mappings
 * meet whatever foreign mappings the NATs hand out in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nat/punch.h"

static struct punch_side side(uint8_t natclass, uint8_t ip_last)
{
	struct punch_side s;

	memset(&s, 0, sizeof(s));
	s.natclass = natclass;
	s.mapped.family = FRAME_ADDR_IPV4;
	s.mapped.ip[0] = 198;
	s.mapped.ip[1] = 51;
	s.mapped.ip[2] = 100;
	s.mapped.ip[3] = ip_last;
	s.mapped.port = 40000;
	s.has_local = true;
	return s;
}

static void test_punch_strategy_table(void **state)
{
	static const struct {
		uint8_t a, b, strategy;
	} cases[] = {
		{FRAME_NAT_OPEN, FRAME_NAT_OPEN, FRAME_PUNCH_DIRECT},
		{FRAME_NAT_OPEN, FRAME_NAT_SYMMETRIC, FRAME_PUNCH_DIRECT},
		{FRAME_NAT_FULL_CONE, FRAME_NAT_SYMMETRIC, FRAME_PUNCH_DIRECT},
		{FRAME_NAT_SYMMETRIC, FRAME_NAT_FULL_CONE, FRAME_PUNCH_DIRECT},
		{FRAME_NAT_FULL_CONE, FRAME_NAT_PORT_RESTRICTED, FRAME_PUNCH_DIRECT},
		{FRAME_NAT_RESTRICTED, FRAME_NAT_RESTRICTED, FRAME_PUNCH_SIMUL},
		{FRAME_NAT_RESTRICTED, FRAME_NAT_PORT_RESTRICTED, FRAME_PUNCH_SIMUL},
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_PORT_RESTRICTED, FRAME_PUNCH_SIMUL},
		{FRAME_NAT_UNKNOWN, FRAME_NAT_PORT_RESTRICTED, FRAME_PUNCH_SIMUL},
		{FRAME_NAT_RESTRICTED, FRAME_NAT_SYMMETRIC, FRAME_PUNCH_SPRAY},
		{FRAME_NAT_SYMMETRIC, FRAME_NAT_PORT_RESTRICTED, FRAME_PUNCH_SPRAY},
		{FRAME_NAT_SYMMETRIC, FRAME_NAT_SYMMETRIC, FRAME_PUNCH_RELAY},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct punch_side a = side(cases[i].a, 1), b = side(cases[i].b, 2);
		struct punch_plan plan;

		punch_choose(&a, &b, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_RELAY, &plan);
		assert_int_equal(plan.strategy, cases[i].strategy);
		if (plan.strategy == FRAME_PUNCH_SPRAY) {
			int sym = cases[i].a == FRAME_NAT_SYMMETRIC ? 0 : 1;

			assert_int_equal(plan.role[sym], FRAME_PUNCH_ROLE_SPRAY);
			assert_int_equal(plan.count[sym], PUNCH_SPRAY_DEFAULT);
			assert_int_equal(plan.role[!sym], FRAME_PUNCH_ROLE_SCAN);
			assert_true(plan.count[!sym] > 900 && plan.count[!sym] < 1100);
		} else if (plan.strategy != FRAME_PUNCH_RELAY) {
			assert_int_equal(plan.role[0], FRAME_PUNCH_ROLE_PROBE);
			assert_int_equal(plan.role[1], FRAME_PUNCH_ROLE_PROBE);
		}
	}
}

static void test_punch_same_public_ip_uses_lan(void **state)
{
	struct punch_side a = side(FRAME_NAT_SYMMETRIC, 7), b = side(FRAME_NAT_SYMMETRIC, 7);
	struct punch_plan plan;

	(void)state;
	punch_choose(&a, &b, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_LAN);
	b.has_local = false;
	punch_choose(&a, &b, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_RELAY);
}

static void test_punch_spray_off_and_memory(void **state)
{
	struct punch_side c = side(FRAME_NAT_PORT_RESTRICTED, 1), s = side(FRAME_NAT_SYMMETRIC, 2);
	struct punch_side f = side(FRAME_NAT_FULL_CONE, 3);
	struct punch_plan plan;

	(void)state;
	punch_choose(&c, &s, 0, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_RELAY); /* spraying forbidden */
	punch_choose(&c, &s, 1000000, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.count[1], PUNCH_SPRAY_MAX); /* capped */
	/* A remembered strategy is tried first when it can apply... */
	punch_choose(&c, &f, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_SIMUL, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_SIMUL);
	/* ...but not a spray between two cones. */
	punch_choose(&c, &f, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_SPRAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_DIRECT);
}

/* A remembered strategy is planned only where the classes seen now allow
 * it (the table's own conditions); otherwise the table decides. */
static void test_punch_remembered_strategy_needs_the_classes_it_needs(void **state)
{
	static const struct {
		uint8_t a, b;
		int8_t step_b;
		uint8_t remembered, strategy;
	} cases[] = {
		/* SIMUL needs two cones: never towards a symmetric NAT. */
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_SYMMETRIC, 0, FRAME_PUNCH_SIMUL,
		 FRAME_PUNCH_SPRAY},
		{FRAME_NAT_SYMMETRIC, FRAME_NAT_RESTRICTED, 0, FRAME_PUNCH_SIMUL,
		 FRAME_PUNCH_SPRAY},
		{FRAME_NAT_SYMMETRIC, FRAME_NAT_SYMMETRIC, 0, FRAME_PUNCH_SIMUL, FRAME_PUNCH_RELAY},
		{FRAME_NAT_FULL_CONE, FRAME_NAT_RESTRICTED, 0, FRAME_PUNCH_SIMUL,
		 FRAME_PUNCH_SIMUL},
		/* DIRECT needs a reachable side. */
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_PORT_RESTRICTED, 0, FRAME_PUNCH_DIRECT,
		 FRAME_PUNCH_SIMUL},
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_SYMMETRIC, 0, FRAME_PUNCH_DIRECT,
		 FRAME_PUNCH_SPRAY},
		{FRAME_NAT_OPEN, FRAME_NAT_SYMMETRIC, 0, FRAME_PUNCH_DIRECT, FRAME_PUNCH_DIRECT},
		/* SPRAY needs a cone and a symmetric NAT... */
		{FRAME_NAT_SYMMETRIC, FRAME_NAT_SYMMETRIC, 1, FRAME_PUNCH_SPRAY,
		 FRAME_PUNCH_PREDICT},
		{FRAME_NAT_SYMMETRIC, FRAME_NAT_SYMMETRIC, 0, FRAME_PUNCH_SPRAY, FRAME_PUNCH_RELAY},
		/* ...and is tried before a prediction when it worked (the case the
		 * memory is for: the spray after a failed prediction). */
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_SYMMETRIC, 1, FRAME_PUNCH_SPRAY,
		 FRAME_PUNCH_SPRAY},
		/* PREDICT needs a step on each symmetric side. */
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_SYMMETRIC, 0, FRAME_PUNCH_PREDICT,
		 FRAME_PUNCH_SPRAY},
		{FRAME_NAT_FULL_CONE, FRAME_NAT_SYMMETRIC, 1, FRAME_PUNCH_PREDICT,
		 FRAME_PUNCH_PREDICT},
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_PORT_RESTRICTED, 0, FRAME_PUNCH_PREDICT,
		 FRAME_PUNCH_SIMUL},
		/* LAN needs one public IP (these two have two). */
		{FRAME_NAT_PORT_RESTRICTED, FRAME_NAT_SYMMETRIC, 0, FRAME_PUNCH_LAN,
		 FRAME_PUNCH_SPRAY},
		{FRAME_NAT_RESTRICTED, FRAME_NAT_RESTRICTED, 0, 77, FRAME_PUNCH_SIMUL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct punch_side a = side(cases[i].a, 1), b = side(cases[i].b, 2);
		struct punch_plan plan;

		b.alloc_step = cases[i].step_b;
		if (cases[i].a == FRAME_NAT_SYMMETRIC) {
			a.alloc_step = cases[i].step_b;
		}
		punch_choose(&a, &b, PUNCH_SPRAY_DEFAULT, cases[i].remembered, &plan);
		if (plan.strategy != cases[i].strategy) {
			fail_msg("case %zu: remembered %s for %u/%u planned %s, want %s", i,
				 punch_strategy_name(cases[i].remembered), cases[i].a, cases[i].b,
				 punch_strategy_name(plan.strategy),
				 punch_strategy_name(cases[i].strategy));
		}
		assert_int_equal(punch_strategy_fits(&a, &b, PUNCH_SPRAY_DEFAULT, plan.strategy),
				 plan.strategy != FRAME_PUNCH_RELAY);
	}
}

/* A remembered PREDICT or SPRAY gets its roles from the classes seen now. */
static void test_punch_remembered_strategy_gets_the_roles_of_now(void **state)
{
	struct punch_side c = side(FRAME_NAT_PORT_RESTRICTED, 1), s = side(FRAME_NAT_SYMMETRIC, 2);
	struct punch_plan plan;

	(void)state;
	s.alloc_step = 1;
	punch_choose(&s, &c, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_SPRAY, &plan);
	assert_int_equal(plan.role[0], FRAME_PUNCH_ROLE_SPRAY);
	assert_int_equal(plan.role[1], FRAME_PUNCH_ROLE_SCAN);
	punch_choose(&c, &s, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_PREDICT, &plan);
	assert_int_equal(plan.role[0], FRAME_PUNCH_ROLE_PREDICT_SCAN);
	assert_int_equal(plan.role[1], FRAME_PUNCH_ROLE_PREDICT_OPEN);
	/* No spraying allowed: a remembered spray is not planned. */
	s.alloc_step = 0;
	punch_choose(&c, &s, 0, FRAME_PUNCH_SPRAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_RELAY);
}

static void test_punch_scan_probes_meet_the_bound(void **state)
{
	unsigned ports = PUNCH_PORT_HI - PUNCH_PORT_LO + 1;
	unsigned n = punch_scan_probes(256, ports, 0.98);

	(void)state;
	/* 1 - (1 - 256/64512)^n >= 0.98 gives n ~ 984 with replacement; without
	 * replacement a little fewer. */
	assert_true(n > 900 && n <= 984);
	assert_true(punch_scan_success(256, ports, n) >= 0.98);
	assert_true(punch_scan_success(256, ports, n - 1) < 0.98);
	assert_int_equal(punch_scan_probes(0, ports, 0.98), 0);
	assert_int_equal(punch_scan_probes(10, 20, 0.999), 8); /* 1 - C(10,8)/C(20,8) */
	assert_int_equal(punch_scan_probes(10, 20, 1.0), 11);  /* pigeonhole */
	assert_int_equal(punch_scan_probes(1, ports, 0.999999), PUNCH_SCAN_MAX);
}

/* Simulate scans against 256 random open ports: the success rate must be
 * at least the promised 98 % (within sampling error). */
static void test_punch_scan_simulated(void **state)
{
	enum { RUNS = 1500 };
	static struct punch_ports pp;
	static bool open[65536];
	unsigned n = punch_scan_probes(256, PUNCH_PORT_HI - PUNCH_PORT_LO + 1, 0.98);
	struct punch_rng rng;
	unsigned ok = 0;

	(void)state;
	punch_rng_seed(&rng, 12345);
	for (unsigned run = 0; run < RUNS; run++) {
		memset(open, 0, sizeof(open));
		for (unsigned k = 0; k < 256;) {
			unsigned port = PUNCH_PORT_LO +
					punch_rng_below(&rng, PUNCH_PORT_HI - PUNCH_PORT_LO + 1);

			if (!open[port]) {
				open[port] = true;
				k++;
			}
		}
		punch_ports_init(&pp, run * 7919u + 1);
		for (unsigned i = 0; i < n; i++) {
			if (open[punch_ports_next(&pp)]) {
				ok++;
				break;
			}
		}
	}
	/* Expectation 0.98 x 1500 = 1470, sd ~5.4: 1450 is ~3.7 sd below. */
	assert_true(ok >= 1450);
}

static void test_punch_ports_permutation(void **state)
{
	static struct punch_ports pp;
	static bool seen[65536];
	unsigned total = PUNCH_PORT_HI - PUNCH_PORT_LO + 1;

	(void)state;
	memset(seen, 0, sizeof(seen));
	punch_ports_init(&pp, 99);
	for (unsigned i = 0; i < total; i++) {
		uint16_t p = punch_ports_next(&pp);

		assert_true(p >= PUNCH_PORT_LO);
		assert_false(seen[p]);
		seen[p] = true;
	}
	assert_int_equal(punch_ports_next(&pp), 0);
}

static void test_punch_retry_schedule(void **state)
{
	(void)state;
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SIMUL, 1), PUNCH_RETRY_US);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SIMUL, 2), PUNCH_RETRY_US);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SIMUL, 3), PUNCH_COOLDOWN_US);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SIMUL, 50), PUNCH_COOLDOWN_US);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SPRAY, 1), 10000000ull);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SPRAY, 2), 60000000ull);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SPRAY, 3), 300000000ull);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_SPRAY, 9), 300000000ull);
	/* PREDICT: two quick retries, then the spray's backoff. */
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_PREDICT, 2), PUNCH_RETRY_US);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_PREDICT, 3), 10000000ull);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_PREDICT, 4), 60000000ull);
	assert_int_equal(punch_retry_delay_us(FRAME_PUNCH_PREDICT, 7), 300000000ull);
	assert_string_equal(punch_strategy_name(FRAME_PUNCH_SPRAY), "spray");
	assert_string_equal(punch_strategy_name(200), "unknown");
}

static void test_punch_predict_choice(void **state)
{
	struct punch_side a = side(FRAME_NAT_SYMMETRIC, 1), b = side(FRAME_NAT_SYMMETRIC, 2);
	struct punch_side c = side(FRAME_NAT_PORT_RESTRICTED, 3);
	struct punch_plan plan;

	(void)state;
	a.alloc_step = 1;
	b.alloc_step = -2;
	punch_choose(&a, &b, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_PREDICT);
	assert_int_equal(plan.role[0], FRAME_PUNCH_ROLE_PREDICT_ODD);
	assert_int_equal(plan.count[0], PUNCH_PREDICT_COUNT);
	assert_int_equal(plan.role[1], FRAME_PUNCH_ROLE_PREDICT);
	assert_int_equal(plan.count[1], 2 * PUNCH_PREDICT_COUNT);
	/* Remembered or not, and whatever the spray setting. */
	punch_choose(&a, &b, 0, FRAME_PUNCH_PREDICT, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_PREDICT);
	/* One side random: nothing to predict. */
	b.alloc_step = 0;
	punch_choose(&a, &b, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_PREDICT, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_RELAY);
	/* A step out of range is not trusted. */
	b.alloc_step = WIRE_ALLOC_STEP_MAX + 1;
	punch_choose(&a, &b, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_RELAY);
	/* A sequential symmetric NAT and a cone: the symmetric side opens one
	 * predicted mapping, the cone side probes the ports after the base;
	 * spraying forbidden or not. What worked before (a spray) goes first. */
	punch_choose(&a, &c, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_PREDICT);
	assert_int_equal(plan.role[0], FRAME_PUNCH_ROLE_PREDICT_OPEN);
	assert_int_equal(plan.role[1], FRAME_PUNCH_ROLE_PREDICT_SCAN);
	assert_int_equal(plan.count[1], PUNCH_PREDICT_COUNT);
	punch_choose(&c, &a, 0, FRAME_PUNCH_RELAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_PREDICT);
	assert_int_equal(plan.role[0], FRAME_PUNCH_ROLE_PREDICT_SCAN);
	assert_int_equal(plan.role[1], FRAME_PUNCH_ROLE_PREDICT_OPEN);
	punch_choose(&a, &c, PUNCH_SPRAY_DEFAULT, FRAME_PUNCH_SPRAY, &plan);
	assert_int_equal(plan.strategy, FRAME_PUNCH_SPRAY);
	/* The cone side's probes cover the symmetric side's mapping whenever
	 * fewer than the count were taken by others before it. */
	for (unsigned others = 0; others < PUNCH_PREDICT_COUNT; others++) {
		uint16_t opened = punch_predict_port(41000, -2, 1 + others);
		bool hit = false;

		for (uint32_t k = 1; k <= punch_predict_count(FRAME_PUNCH_ROLE_PREDICT_SCAN); k++) {
			hit = hit ||
			      punch_predict_port(41000, -2,
						 punch_predict_target(FRAME_PUNCH_ROLE_PREDICT_SCAN,
								      k)) == opened;
		}
		assert_true(hit);
	}
	/* Ports: index i of base with step, and nothing off the port range. */
	assert_int_equal(punch_predict_port(40000, 1, 5), 40005);
	assert_int_equal(punch_predict_port(40000, -3, 2), 39994);
	assert_int_equal(punch_predict_port(65530, 2, 3), 0);
	assert_int_equal(punch_predict_port(4, -2, 2), 0);
	assert_int_equal(punch_predict_target(FRAME_PUNCH_ROLE_PREDICT, 7), 7);
	assert_int_equal(punch_predict_target(FRAME_PUNCH_ROLE_PREDICT_ODD, 7), 13);
}

/* One side of the simulation: a sequential NAT (index 0 = base) whose
 * foreign[k] other mappings come before our k-th new mapping. */
struct sim_nat {
	uint16_t base;
	int step;
	uint8_t role;
	unsigned foreign[2 * PUNCH_PREDICT_COUNT + 2]; /* before our k-th (1-based) */
	uint16_t own[2 * PUNCH_PREDICT_COUNT + 1];     /* our k-th mapping's port */
	uint16_t to[2 * PUNCH_PREDICT_COUNT + 1];      /* and where it points */
};

/* Make our mappings as punchrun does: the k-th towards the peer's
 * predicted index for it. */
static void sim_map(struct sim_nat *x, const struct sim_nat *peer)
{
	unsigned n = punch_predict_count(x->role);
	uint32_t index = 0;

	for (unsigned k = 1; k <= n; k++) {
		index += x->foreign[k] + 1;
		x->own[k] = punch_predict_port(x->base, x->step, index);
		x->to[k] = punch_predict_port(peer->base, peer->step,
					      punch_predict_target(x->role, k));
	}
}

/* Does some mapping of x let in a packet from some mapping of y that points
 * back at it? */
static bool sim_meet(const struct sim_nat *x, const struct sim_nat *y)
{
	for (unsigned k = 1; k <= punch_predict_count(x->role); k++) {
		for (unsigned m = 1; m <= punch_predict_count(y->role); m++) {
			if (x->own[k] != 0 && x->to[k] == y->own[m] && y->to[m] == x->own[k]) {
				return true;
			}
		}
	}
	return false;
}

static void sim_init(struct sim_nat *x, uint16_t base, int step, uint8_t role)
{
	memset(x, 0, sizeof(*x));
	x->base = base;
	x->step = step;
	x->role = role;
}

static void test_punch_predict_meets_with_drift(void **state)
{
	static struct sim_nat x, y;
	struct punch_rng rng;
	unsigned met = 0;

	(void)state;
	/* Every constant drift a (on the ODD side's NAT) and b with a + b
	 * below the count: a and b foreign mappings before the first of ours. */
	for (unsigned a = 0; a < PUNCH_PREDICT_COUNT; a++) {
		for (unsigned b = 0; a + b < PUNCH_PREDICT_COUNT; b++) {
			sim_init(&x, 30000, 1, FRAME_PUNCH_ROLE_PREDICT_ODD);
			sim_init(&y, 50000, -2, FRAME_PUNCH_ROLE_PREDICT);
			x.foreign[1] = a;
			y.foreign[1] = b;
			sim_map(&x, &y);
			sim_map(&y, &x);
			assert_true(sim_meet(&x, &y));
			assert_true(sim_meet(&y, &x));
		}
	}
	/* Foreign mappings scattered among ours (other hosts behind the same
	 * NATs): up to 20 on each side, anywhere. */
	punch_rng_seed(&rng, 2026);
	for (unsigned run = 0; run < 2000; run++) {
		unsigned fa = punch_rng_below(&rng, 21), fb = punch_rng_below(&rng, 21);

		sim_init(&x, (uint16_t)(20000 + punch_rng_below(&rng, 20000)), 1,
			 FRAME_PUNCH_ROLE_PREDICT_ODD);
		sim_init(&y, (uint16_t)(20000 + punch_rng_below(&rng, 20000)), 3,
			 FRAME_PUNCH_ROLE_PREDICT);
		for (unsigned i = 0; i < fa; i++) {
			x.foreign[1 + punch_rng_below(&rng, PUNCH_PREDICT_COUNT)]++;
		}
		for (unsigned i = 0; i < fb; i++) {
			y.foreign[1 + punch_rng_below(&rng, 2 * PUNCH_PREDICT_COUNT)]++;
		}
		sim_map(&x, &y);
		sim_map(&y, &x);
		met += sim_meet(&x, &y);
	}
	assert_int_equal(met, 2000);
	/* The check can fail: with the drift past the count, nothing meets. */
	sim_init(&x, 30000, 1, FRAME_PUNCH_ROLE_PREDICT_ODD);
	sim_init(&y, 50000, 1, FRAME_PUNCH_ROLE_PREDICT);
	x.foreign[1] = PUNCH_PREDICT_COUNT;
	y.foreign[1] = 1;
	sim_map(&x, &y);
	sim_map(&y, &x);
	assert_false(sim_meet(&x, &y));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_punch_strategy_table),
		cmocka_unit_test(test_punch_same_public_ip_uses_lan),
		cmocka_unit_test(test_punch_spray_off_and_memory),
		cmocka_unit_test(test_punch_remembered_strategy_needs_the_classes_it_needs),
		cmocka_unit_test(test_punch_remembered_strategy_gets_the_roles_of_now),
		cmocka_unit_test(test_punch_scan_probes_meet_the_bound),
		cmocka_unit_test(test_punch_scan_simulated),
		cmocka_unit_test(test_punch_ports_permutation),
		cmocka_unit_test(test_punch_retry_schedule),
		cmocka_unit_test(test_punch_predict_choice),
		cmocka_unit_test(test_punch_predict_meets_with_drift),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
