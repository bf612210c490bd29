/* test_flowqos: client/flowqos — impairment of a flow with several sources
 * (README "Impairment", keys seed and reorder). The decisions about the Nth
 * datagram from a source depend on the seed and N only, whatever the other
 * sources send in between, reorder is the share of each source's own
 * datagrams that arrive after one of its own sent later, and a route change
 * keeps the engines of the members that stay. The flow is built
 * by hand around a client that has only its loop and send queue: delivered
 * datagrams are read back from the queue, which is never flushed, so no
 * socket is used. Time is injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/flow_udp.h"
#include "client/flowqos.h"
#include "client_fixture.h"
#include "common/log.h"

#define SOURCES 2 /* run() picks the other one when one is done */
#define PER_SOURCE 5000
#define STEP_US 10ull
#define SEED 4242

struct rig {
	struct client *cl;
	struct flow_udp *f;
};

/* What came out, per source: sequence numbers in delivery order. */
struct seen {
	uint32_t seq[SOURCES][2 * PER_SOURCE];
	size_t n[SOURCES];
};

static void rig_up(struct rig *r)
{
	static const char *const names[] = {"sink0", "sink1", "us"};
	static const uint8_t roles[] = {2, 2, 1};
	struct sockaddr_in *app;

	r->cl = calloc(1, sizeof(*r->cl));
	r->f = calloc(1, sizeof(*r->f));
	assert_non_null(r->cl);
	assert_non_null(r->f);
	r->cl->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(r->cl->loop);
	assert_int_equal(udpio_txq_init(&r->cl->ms.txq, SOURCES * PER_SOURCE * 2), 0);
	r->f->cl = r->cl;
	r->f->route = fixture_route(1, 7, "video", 5600, 0, 3, names, roles);
	/* Replies from the sinks go to the app's address from the listening
	 * socket: queued only, so any descriptor number does. */
	r->f->listen_fd = 1000;
	r->f->has_app = true;
	app = (struct sockaddr_in *)(void *)&r->f->app;
	app->sin_family = AF_INET;
	app->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	app->sin_port = htons(5601);
	r->f->qos = flowqos_new(r->f);
	assert_non_null(r->f->qos);
}

static void rig_down(struct rig *r)
{
	flowqos_free(r->f->qos);
	udpio_txq_fini(&r->cl->ms.txq);
	ev_loop_destroy(r->cl->loop);
	free(r->f);
	free(r->cl);
}

static struct frame_flow_opts impair_opts(double loss, double reorder)
{
	struct frame_flow_opts o;

	memset(&o, 0, sizeof(o));
	o.flow_id = 7;
	o.flags = FRAME_FLOW_OPTS_IMPAIR | FRAME_FLOW_OPTS_HAS_SEED;
	o.loss_ppb = (uint32_t)(loss * FRAME_PPB_ONE);
	o.reorder_ppb = (uint32_t)(reorder * FRAME_PPB_ONE);
	o.seed = SEED;
	return o;
}

/* Each source sends PER_SOURCE replies; order[i % order_len] names the
 * source of the ith, or the other source once that one is done. Then the impairment is switched
 * off, which delivers what is held, and the send queue is read back into *out. */
static void run(const struct frame_flow_opts *o, const uint8_t *order, size_t order_len,
		struct seen *out)
{
	struct rig r;
	uint32_t next[SOURCES] = {0};
	uint64_t now_us = 1000000;
	struct udpio_txq *txq;

	rig_up(&r);
	flowqos_set_opts(r.f->qos, o, now_us);
	for (size_t i = 0; next[0] < PER_SOURCE || next[1] < PER_SOURCE; i++) {
		size_t m = order[i % order_len];
		uint8_t payload[8];

		if (next[m] == PER_SOURCE) {
			m = 1 - m; /* the other one is not done yet */
		}
		payload[0] = (uint8_t)m;
		memcpy(payload + 1, &next[m], sizeof(next[m]));
		memset(payload + 5, 0xab, 3);
		flowqos_on_datagram(r.f->qos, m, true, next[m], payload, sizeof(payload), now_us);
		next[m]++;
		now_us += STEP_US;
	}
	flowqos_set_opts(r.f->qos, NULL, now_us);
	memset(out, 0, sizeof(*out));
	txq = &r.cl->ms.txq;
	for (size_t k = 0; k < txq->n; k++) {
		const struct udpio_txq_entry *e = &txq->ents[(txq->head + k) % txq->cap];
		size_t m = e->data[0];

		assert_int_equal(e->len, 8);
		assert_true(m < SOURCES);
		memcpy(&out->seq[m][out->n[m]++], e->data + 1, sizeof(uint32_t));
	}
	rig_down(&r);
}

static void assert_same_stream(const struct seen *a, size_t ma, const struct seen *b, size_t mb)
{
	assert_int_equal(a->n[ma], b->n[mb]);
	assert_memory_equal(a->seq[ma], b->seq[mb], a->n[ma] * sizeof(uint32_t));
}

static void
test_flowqos_gives_each_source_the_same_decisions_whatever_the_interleaving(void **state)
{
	static const uint8_t one_then_other[] = {0};
	static const uint8_t alternate[] = {0, 1};
	static const uint8_t uneven[] = {1, 1, 0, 1, 0, 0, 0, 1, 1};
	struct frame_flow_opts o = impair_opts(0.1, 0.3);
	struct seen *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *c = malloc(sizeof(*c));

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/* {0}: source 0 sends everything, then source 1. */
	run(&o, one_then_other, sizeof(one_then_other), a);
	run(&o, alternate, sizeof(alternate), b);
	run(&o, uneven, sizeof(uneven), c);
	assert_true(a->n[0] > PER_SOURCE / 2 && a->n[0] < PER_SOURCE);
	for (size_t m = 0; m < SOURCES; m++) {
		assert_same_stream(a, m, b, m);
		assert_same_stream(a, m, c, m);
	}
	/* Every source's engine starts from the flow's seed. */
	assert_same_stream(a, 0, a, 1);
	free(a);
	free(b);
	free(c);
}

/* The share of a source's datagrams that arrive after one of its own sent
 * later. */
static double reordered_share(const struct seen *s, size_t m)
{
	uint32_t top = 0;
	size_t late = 0;

	for (size_t i = 0; i < s->n[m]; i++) {
		if (i > 0 && s->seq[m][i] < top) {
			late++;
		}
		top = s->seq[m][i] > top ? s->seq[m][i] : top;
	}
	return (double)late / (double)s->n[m];
}

static void test_flowqos_reorders_each_source_by_the_setting(void **state)
{
	static const uint8_t alternate[] = {0, 1};
	struct frame_flow_opts o = impair_opts(0, 0.3);
	struct seen *s = malloc(sizeof(*s));

	(void)state;
	assert_non_null(s);
	run(&o, alternate, sizeof(alternate), s);
	for (size_t m = 0; m < SOURCES; m++) {
		double share = reordered_share(s, m);

		assert_int_equal(s->n[m], PER_SOURCE);
		if (share < 0.27 || share > 0.33) {
			fail_msg("source %zu: reordered share %.3f, want 0.3 (seed %d)", m, share,
				 SEED);
		}
	}
	free(s);
}

/* A route change moves a member's engine to its new index (its numbering
 * goes on), frees the engine of a member that left, and the counters keep
 * what every engine counted. */
static void test_flowqos_keeps_the_engines_of_members_that_stay(void **state)
{
	static const char *const names[] = {"sink1", "us"};
	static const uint8_t roles[] = {2, 1};
	struct frame_flow_opts o = impair_opts(0.5, 0);
	struct frame_route now_route;
	struct flow_udp_state st;
	struct rig r;
	uint8_t payload[8] = {0};

	(void)state;
	rig_up(&r);
	flowqos_set_opts(r.f->qos, &o, 1000);
	for (uint32_t i = 0; i < 100; i++) {
		flowqos_on_datagram(r.f->qos, i % 2, true, i / 2, payload, sizeof(payload), 1000);
	}
	now_route = fixture_route(2, 7, "video", 5600, 0, 2, names, roles);
	flowqos_remap_members(r.f->qos, &r.f->route, &now_route);
	r.f->route = now_route;
	assert_null(r.f->qos->m[1].imp[1]);
	assert_non_null(r.f->qos->m[0].imp[1]);
	assert_int_equal(r.f->qos->m[0].imp[1]->n, 50);
	flowqos_on_datagram(r.f->qos, 0, true, 50, payload, sizeof(payload), 1000);
	assert_int_equal(r.f->qos->m[0].imp[1]->n, 51);
	memset(&st, 0, sizeof(st));
	flowqos_state(r.f->qos, &st);
	assert_true(st.has_impair);
	assert_int_equal(st.impair.received, 101);
	assert_int_equal(st.impair.delivered + st.impair.dropped, 101);
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_flowqos_gives_each_source_the_same_decisions_whatever_the_interleaving),
		cmocka_unit_test(test_flowqos_reorders_each_source_by_the_setting),
		cmocka_unit_test(test_flowqos_keeps_the_engines_of_members_that_stay),
	};

	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
