/* test_punchcoord: server/punchcoord — a request from a client on the
 * relay sends both clients a PUNCH (roles and candidates from their NAT
 * classes), not twice within the busy time, not for a peer that is offline,
 * unclassified or in no shared flow; `punch = false` keeps pairs on the
 * relay; path reports set the pair's kind, and the strategy that worked is
 * remembered for those public addresses. No sockets; time is injected. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/diag.h"
#include "config/routes.h"
#include "nat/punch.h"
#include "server/punchcoord.h"
#include "server/registry.h"

#define KEY_A "MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM="
#define KEY_B "PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8="
#define KEY_C "3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0="
#define CONF                                                                               \
	"server: { listen = [\"203.0.113.10:7400\"]; key_file = \"server.key\"; };\n"      \
	"clients: { drone3 = { key = \"" KEY_A "\"; }; gcs4 = { key = \"" KEY_B "\"; };\n" \
	"  loner = { key = \"" KEY_C "\"; }; };\n"                                         \
	"flows: ( { name = \"m\"; proto = \"udp\"; port = 14550; members = [\"drone3\", "  \
	"\"gcs4\"]; } );\n"

struct sent {
	int n;
	char to[8][ROUTES_NAME_SIZE];
	struct frame_punch k[8];
};

static void send_cb(void *ctx, struct registry_client *c, const struct frame *f, uint64_t now_us)
{
	struct sent *s = ctx;

	(void)now_us;
	assert_int_equal(f->type, FRAME_PUNCH);
	assert_int_equal(frame_validate(f), 0);
	if (s->n < 8) {
		strcpy(s->to[s->n], c->id);
		s->k[s->n] = f->u.punch;
	}
	s->n++;
}

static void online(struct registry_client *c, const char *ip, uint16_t port, uint8_t natclass)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&c->addr;

	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	c->addr_len = sizeof(*in);
	c->is_online = true;
	c->natclass = natclass;
	c->registered_us = 1;
}

struct fixture {
	struct routes *r;
	struct registry reg;
	struct punchcoord pc;
	struct registry_client *d, *g, *l;
};

static int setup(void **state)
{
	static struct fixture fx;
	struct diag d;

	memset(&fx, 0, sizeof(fx));
	diag_clear(&d);
	fx.r = routes_parse_text(CONF, strlen(CONF), "routes.conf", NULL, false, &d);
	assert_non_null(fx.r);
	memset(fx.r->server.key, 0x42, sizeof(fx.r->server.key));
	assert_int_equal(registry_init(&fx.reg, fx.r, 1000), 0);
	punchcoord_init(&fx.pc, 5);
	fx.d = registry_find_by_id(&fx.reg, "drone3");
	fx.g = registry_find_by_id(&fx.reg, "gcs4");
	fx.l = registry_find_by_id(&fx.reg, "loner");
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	punchcoord_fini(&fx->pc);
	registry_fini(&fx->reg);
	routes_free(fx->r);
	return 0;
}

static void test_punchcoord_request_sends_both_a_plan(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	uint64_t t = 10000000;

	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_SYMMETRIC);
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_PORT_RESTRICTED);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "gcs4", true, 256, t, send_cb, &s);
	assert_int_equal(s.n, 2);
	for (int i = 0; i < 2; i++) {
		bool to_drone = strcmp(s.to[i], "drone3") == 0;

		assert_int_equal(s.k[i].strategy, FRAME_PUNCH_SPRAY);
		assert_string_equal(s.k[i].peer.text, to_drone ? "gcs4" : "drone3");
		assert_int_equal(s.k[i].role,
				 to_drone ? FRAME_PUNCH_ROLE_SPRAY : FRAME_PUNCH_ROLE_SCAN);
		assert_int_equal(s.k[i].addrs[0].port, to_drone ? 40002 : 40001);
		assert_int_equal(s.k[i].token, s.k[0].token);
	}
	/* The scanning side starts after the 256 sockets are open (1 ms each). */
	assert_int_equal(s.k[strcmp(s.to[0], "gcs4") == 0 ? 0 : 1].delay_ms,
			 PUNCH_START_DELAY_MS + 256);
	/* Asked again at once (by the other side, say): not a second attempt. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->g, "drone3", true, 256, t + 1000,
			      send_cb, &s);
	assert_int_equal(s.n, 2);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->g, "drone3", true, 256,
			      t + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 4);
}

static void test_punchcoord_refusals(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	uint64_t t = 10000000;

	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_PORT_RESTRICTED);
	online(fx->l, "198.51.100.3", 40003, FRAME_NAT_PORT_RESTRICTED);
	/* gcs4 offline; loner shares no flow; unknown names; oneself. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "gcs4", true, 256, t, send_cb, &s);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "loner", true, 256, t, send_cb, &s);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "nobody", true, 256, t, send_cb, &s);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "drone3", true, 256, t, send_cb, &s);
	assert_int_equal(s.n, 0);
	/* gcs4 online but not classified yet: wait, unless it has been long. */
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_UNKNOWN);
	fx->g->registered_us = t - 1000;
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "gcs4", true, 256, t, send_cb, &s);
	assert_int_equal(s.n, 0);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "gcs4", true, 256,
			      t + PUNCHCOORD_CLASS_WAIT_US, send_cb, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.k[0].strategy, FRAME_PUNCH_SIMUL);
}

static void test_punchcoord_disabled_and_reports(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	struct frame_path up;
	uint64_t t = 10000000;

	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_FULL_CONE);
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_PORT_RESTRICTED);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "gcs4", false, 256, t, send_cb, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.k[0].strategy, FRAME_PUNCH_RELAY);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "gcs4", "drone3"), "relay");

	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "gcs4", true, 256,
			      t + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.k[2].strategy, FRAME_PUNCH_DIRECT);
	memset(&up, 0, sizeof(up));
	up.op = FRAME_PATH_UP;
	up.token = s.k[2].token;
	assert_int_equal(frame_name_set(&up.peer, "drone3"), 0);
	punchcoord_on_report(&fx->pc, &fx->reg, fx->g, &up, t + PUNCHCOORD_BUSY_US + 500000);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "drone3", "gcs4"), "direct");
	assert_int_equal(punchcoord_find(&fx->pc, "gcs4", "drone3")->upgrades, 1);
	up.op = FRAME_PATH_DOWN;
	punchcoord_on_report(&fx->pc, &fx->reg, fx->g, &up, t + 2 * PUNCHCOORD_BUSY_US);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "drone3", "gcs4"), "relay");
	assert_int_equal(punchcoord_find(&fx->pc, "gcs4", "drone3")->fallbacks, 1);

	/* Remembered: DIRECT worked for these addresses; even if the classes
	 * now read cone/cone, DIRECT is tried first. */
	fx->d->natclass = FRAME_NAT_PORT_RESTRICTED;
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, "gcs4", true, 256,
			      t + 3 * PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.k[4].strategy, FRAME_PUNCH_DIRECT);
}

static void test_punchcoord_stats(void **state)
{
	struct fixture *fx = *state;
	struct frame_path_stats s;
	const struct punchcoord_side_stats *st;

	memset(&s, 0, sizeof(s));
	assert_int_equal(frame_name_set(&s.peer, "gcs4"), 0);
	s.kind = FRAME_PATH_KIND_DIRECT;
	s.rtt_us = 21000;
	s.loss_ppm = 2500;
	s.relay_rtt_us = 48000;
	assert_null(punchcoord_stats(&fx->pc, "drone3", "gcs4"));
	punchcoord_on_stats(&fx->pc, &fx->reg, fx->d, &s, 77);
	st = punchcoord_stats(&fx->pc, "drone3", "gcs4");
	assert_non_null(st);
	assert_int_equal(st->rtt_us, 21000);
	assert_int_equal(st->loss_ppm, 2500);
	assert_int_equal(st->relay_rtt_us, 48000);
	assert_int_equal(st->updated_us, 77);
	assert_null(punchcoord_stats(&fx->pc, "gcs4", "drone3")); /* gcs4 said nothing */
	assert_string_equal(punchcoord_path_kind(&fx->pc, "gcs4", "drone3"), "direct");
	s.kind = FRAME_PATH_KIND_RELAY;
	punchcoord_on_stats(&fx->pc, &fx->reg, fx->d, &s, 78);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "gcs4", "drone3"), "relay");
	/* Unknown peers and oneself change nothing. */
	assert_int_equal(frame_name_set(&s.peer, "drone3"), 0);
	punchcoord_on_stats(&fx->pc, &fx->reg, fx->d, &s, 79);
	assert_null(punchcoord_stats(&fx->pc, "drone3", "drone3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_punchcoord_request_sends_both_a_plan, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_disabled_and_reports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_stats, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
