/* test_punchcoord: server/punchcoord — a request from a client on the
 * relay sends both clients a PUNCH (roles and candidates from their NAT
 * classes), not twice within the busy time, not for a peer that is offline,
 * unclassified or in no shared flow; `punch = false` keeps pairs on the
 * relay; path reports set the pair's kind, and the strategy that worked is
 * remembered for those public addresses and NAT classes (not used for
 * other classes behind the same addresses, forgotten when it fails; for
 * the two addresses whichever way round a pair has them); a
 * sequential symmetric NAT gets
 * PREDICT with a cone (a spray after a failed one) or another such NAT
 * (waiting for, and holding back, attempts making many mappings on one of
 * those NATs). A random run of reports from many clients on several
 * uplinks checks the records against a naive model and every lookup
 * against a scan of all records. No sockets; time is injected. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/diag.h"
#include "common/log.h"
#include "config/routes.h"
#include "nat/punch.h"
#include "server/punchcoord.h"
#include "server/registry.h"

#define KEY_A "MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM="
#define KEY_B "PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8="
#define KEY_C "3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0="
#define KEY_D "LUzkOsXwaqv0G+4rrdpFlxTXFKhKZm4UgUem0sVLjQ4="
#define CONF                                                                                    \
	"server: { listen = [\"203.0.113.10:7400\"]; key_file = \"server.key\"; };\n"           \
	"clients: { drone3 = { key = \"" KEY_A "\"; }; gcs4 = { key = \"" KEY_B "\"; };\n"      \
	"  loner = { key = \"" KEY_C "\"; }; drone5 = { key = \"" KEY_D "\"; }; };\n"           \
	"flows: ( { name = \"m\"; proto = \"udp\"; port = 14550; members = [\"drone3\", "       \
	"\"gcs4\"]; },\n"                                                                       \
	"  { name = \"v\"; proto = \"udp\"; port = 5600; members = [\"gcs4\", \"loner\"]; },\n" \
	"  { name = \"w\"; proto = \"udp\"; port = 5601; members = [\"drone5\", \"gcs4\"]; } );\n"

#define SENT_MAX 16

struct sent {
	int n;
	char to[SENT_MAX][ROUTES_NAME_SIZE];
	struct frame_punch k[SENT_MAX];
};

static void send_cb(void *ctx, struct registry_client *c, const struct frame *f, uint64_t now_us)
{
	struct sent *s = ctx;

	(void)now_us;
	assert_int_equal(f->type, FRAME_PUNCH);
	assert_int_equal(frame_validate(f), 0);
	if (s->n < SENT_MAX) {
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

/* Register c's uplink u at ip:port (as conn does for its REGISTER). */
static void uplink_up(struct registry_client *c, unsigned u, const char *ip, uint16_t port,
		      uint8_t natclass, uint64_t now_us)
{
	struct sockaddr_in in;
	struct frame_register reg;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(port);
	inet_pton(AF_INET, ip, &in.sin_addr);
	memset(&reg, 0, sizeof(reg));
	reg.uplink_id = (uint8_t)u;
	reg.natclass = natclass;
	assert_int_equal(frame_name_set(&reg.name, "lte"), 0);
	assert_int_equal(registry_uplink_note(c, u, NULL, (struct sockaddr *)&in, &reg, now_us),
			 REGISTRY_UPLINK_ADDED);
}

static int index_to(const struct sent *s, int from, const char *id)
{
	for (int i = from; i < s->n && i < SENT_MAX; i++) {
		if (strcmp(s->to[i], id) == 0) {
			return i;
		}
	}
	fail_msg("no PUNCH to %s", id);
	return -1;
}

struct fixture {
	struct routes *r;
	struct registry reg;
	struct punchcoord pc;
	struct registry_client *d, *g, *l, *d5;
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
	fx.d5 = registry_find_by_id(&fx.reg, "drone5");
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
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t, send_cb,
			      &s);
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
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->g, 0, "drone3", 0, true, 256, t + 1000,
			      send_cb, &s);
	assert_int_equal(s.n, 2);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->g, 0, "drone3", 0, true, 256,
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
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t, send_cb,
			      &s);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "loner", 0, true, 256, t, send_cb,
			      &s);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "nobody", 0, true, 256, t,
			      send_cb, &s);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "drone3", 0, true, 256, t,
			      send_cb, &s);
	assert_int_equal(s.n, 0);
	/* gcs4 online but not classified yet: wait, unless it has been long. */
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_UNKNOWN);
	fx->g->registered_us = t - 1000;
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t, send_cb,
			      &s);
	assert_int_equal(s.n, 0);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
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
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, false, 256, t, send_cb,
			      &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.k[0].strategy, FRAME_PUNCH_RELAY);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "gcs4", "drone3"), "relay");

	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
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

	/* Remembered: DIRECT worked for these addresses and classes; asked
	 * again with the same classes, DIRECT it is. With drone3's NAT now a
	 * port-restricted cone the entry is not for them (and DIRECT could
	 * not work: no side is reachable): the table's SIMUL. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
			      t + 3 * PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.k[4].strategy, FRAME_PUNCH_DIRECT);
	up.token = s.k[4].token;
	up.op = FRAME_PATH_UP;
	punchcoord_on_report(&fx->pc, &fx->reg, fx->g, &up, t + 3 * PUNCHCOORD_BUSY_US + 1000);
	fx->d->natclass = FRAME_NAT_PORT_RESTRICTED;
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
			      t + 4 * PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 8);
	assert_int_equal(s.k[6].strategy, FRAME_PUNCH_SIMUL);
}

/* PATH UP for the attempt with token, reported by c about peer. */
static void report_up(struct fixture *fx, struct registry_client *c, const char *peer,
		      uint64_t token, uint64_t now_us)
{
	struct frame_path up;

	memset(&up, 0, sizeof(up));
	up.op = FRAME_PATH_UP;
	up.token = token;
	assert_int_equal(frame_name_set(&up.peer, peer), 0);
	punchcoord_on_report(&fx->pc, &fx->reg, c, &up, now_us);
}

/* Two drones behind one carrier NAT share its public IP, each behind a NAT
 * of its own: what worked between the first (a cone) and gcs4 is not tried
 * between the second (symmetric) and gcs4, and not between two cones one
 * of which is reachable now (the entry is for the classes it worked for). */
static void test_punchcoord_memory_is_per_nat_classes(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	uint64_t t = 10000000;
	int i;

	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_PORT_RESTRICTED);
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_PORT_RESTRICTED);
	online(fx->d5, "198.51.100.1", 40005, FRAME_NAT_SYMMETRIC);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t, send_cb,
			      &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.k[0].strategy, FRAME_PUNCH_SIMUL);
	report_up(fx, fx->g, "drone3", s.k[0].token, t + 1000);

	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d5, 0, "gcs4", 0, true, 256, t + 2000,
			      send_cb, &s);
	assert_int_equal(s.n, 4);
	i = index_to(&s, 2, "drone5");
	assert_int_equal(s.k[i].strategy, FRAME_PUNCH_SPRAY);
	assert_int_equal(s.k[i].role, FRAME_PUNCH_ROLE_SPRAY);

	/* Both cones still, drone5's now full cone: SIMUL would do, but the
	 * entry is for two port-restricted cones; the table's DIRECT. */
	fx->d5->natclass = FRAME_NAT_FULL_CONE;
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d5, 0, "gcs4", 0, true, 256,
			      t + 2000 + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.k[4].strategy, FRAME_PUNCH_DIRECT);
	/* drone3 with the classes of the entry: SIMUL, remembered. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
			      t + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 8);
	assert_int_equal(s.k[6].strategy, FRAME_PUNCH_SIMUL);
}

/* drone3 behind a port-restricted cone (198.51.100.1) and gcs4 behind a
 * sequential symmetric NAT (198.51.100.2): a prediction that fails, then
 * a spray that works, remembered (two PUNCH each, from t and t + b). */
static void learn_a_spray(struct fixture *fx, struct sent *s, uint64_t t, uint64_t b)
{
	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_PORT_RESTRICTED);
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_SYMMETRIC);
	fx->g->alloc_step = 1;
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t, send_cb,
			      s);
	assert_int_equal(s->k[0].strategy, FRAME_PUNCH_PREDICT);
	/* No UP: drone3 asks again, a spray, which works. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t + b,
			      send_cb, s);
	assert_int_equal(s->k[2].strategy, FRAME_PUNCH_SPRAY);
	report_up(fx, fx->d, "gcs4", s->k[2].token, t + b + 1000);
	assert_int_equal(fx->pc.memo[0].strategy, FRAME_PUNCH_SPRAY);
}

/* The case the memory is for: a cone and a sequential symmetric NAT whose
 * prediction failed and whose spray worked get the spray first next time;
 * once that fails, the entry is forgotten and the table's prediction comes
 * back. */
static void test_punchcoord_memory_is_forgotten_when_it_fails(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	uint64_t t = 10000000, b = PUNCHCOORD_BUSY_US;

	learn_a_spray(fx, &s, t, b);

	/* Later (the path went down): the spray first. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t + 10 * b,
			      send_cb, &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.k[4].strategy, FRAME_PUNCH_SPRAY);
	/* It fails (asked again, no UP): forgotten, the table's prediction. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t + 11 * b,
			      send_cb, &s);
	assert_int_equal(s.n, 8);
	assert_int_equal(s.k[6].strategy, FRAME_PUNCH_PREDICT);
	assert_int_equal(fx->pc.memo[0].strategy, FRAME_PUNCH_RELAY);
	/* An attempt not from the memory that fails forgets nothing: a spray
	 * that works is remembered again, and a failed prediction leaves it. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t + 12 * b,
			      send_cb, &s);
	assert_int_equal(s.k[8].strategy, FRAME_PUNCH_SPRAY);
	report_up(fx, fx->g, "drone3", s.k[8].token, t + 12 * b + 1000);
	assert_int_equal(fx->pc.memo[0].strategy, FRAME_PUNCH_SPRAY);
	assert_int_equal(fx->pc.n_memo, 1);
}

/* The memory is per pair of addresses whichever way round: a pair's sides
 * are in the order of its ids (drone3 before gcs4, gcs4 before loner), so
 * loner behind drone3's NAT has the addresses the other way round; it
 * gets the spray that worked for drone3, not the table's prediction. */
static void test_punchcoord_memory_holds_for_the_addresses_either_way(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	uint64_t t = 10000000, b = PUNCHCOORD_BUSY_US;

	online(fx->l, "198.51.100.1", 40003, FRAME_NAT_PORT_RESTRICTED);
	learn_a_spray(fx, &s, t, b);

	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->l, 0, "gcs4", 0, true, 256, t + 2 * b,
			      send_cb, &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.k[4].strategy, FRAME_PUNCH_SPRAY);
	assert_int_equal(s.k[index_to(&s, 4, "gcs4")].role, FRAME_PUNCH_ROLE_SPRAY);
	/* It fails: forgotten for both pairs; loner gets the table's plan. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->l, 0, "gcs4", 0, true, 256, t + 3 * b,
			      send_cb, &s);
	assert_int_equal(s.n, 8);
	assert_int_equal(s.k[6].strategy, FRAME_PUNCH_PREDICT);
	assert_int_equal(fx->pc.memo[0].strategy, FRAME_PUNCH_RELAY);
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

/* A request names an uplink pair: each side's PUNCH says which of its
 * uplinks punches (uplink) and whose candidates it gets (peer_uplink), the
 * candidates are that uplink's mapped address, and the busy time is per
 * uplink pair. */
static void test_punchcoord_plans_per_uplink_pair(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	uint64_t t = 10000000;
	int kd, kg;

	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_PORT_RESTRICTED);
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_PORT_RESTRICTED);
	uplink_up(fx->d, 1, "192.0.2.77", 50001, FRAME_NAT_SYMMETRIC, t);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 1, "gcs4", 0, true, 256, t, send_cb,
			      &s);
	assert_int_equal(s.n, 2);
	kd = index_to(&s, 0, "drone3");
	kg = index_to(&s, 0, "gcs4");
	/* drone3's uplink 1 is symmetric, gcs4's main is a cone: spray. */
	assert_int_equal(s.k[kd].strategy, FRAME_PUNCH_SPRAY);
	assert_int_equal(s.k[kd].role, FRAME_PUNCH_ROLE_SPRAY);
	assert_int_equal(s.k[kd].uplink, 1);
	assert_int_equal(s.k[kd].peer_uplink, 0);
	assert_int_equal(s.k[kd].addrs[0].port, 40002);
	assert_int_equal(s.k[kg].uplink, 0);
	assert_int_equal(s.k[kg].peer_uplink, 1);
	assert_int_equal(s.k[kg].addrs[0].port, 50001);
	assert_int_equal(s.k[kg].addrs[0].ip[0], 192);
	assert_int_equal(s.k[kg].addrs[0].ip[3], 77);
	assert_non_null(punchcoord_find_uplinks(&fx->pc, "gcs4", 0, "drone3", 1));
	assert_null(punchcoord_find(&fx->pc, "gcs4", "drone3"));

	/* The main pair is another pair: not busy. Its PUNCH has no tail. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->g, 0, "drone3", 0, true, 256, t + 1000,
			      send_cb, &s);
	assert_int_equal(s.n, 4);
	kd = index_to(&s, 2, "drone3");
	assert_int_equal(s.k[kd].strategy, FRAME_PUNCH_SIMUL);
	assert_int_equal(s.k[kd].uplink, 0);
	assert_int_equal(s.k[kd].peer_uplink, 0);
	assert_int_equal(s.k[kd].addrs[0].port, 40002);
	/* The uplink pair again, asked by the other side: busy. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->g, 0, "drone3", 1, true, 256, t + 2000,
			      send_cb, &s);
	assert_int_equal(s.n, 4);
	/* Uplinks that are not registered: nothing. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 2, "gcs4", 0, true, 256,
			      t + PUNCHCOORD_BUSY_US, send_cb, &s);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 3, true, 256,
			      t + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 4);
}

/* PATH UP/DOWN set the kind of their uplink pair; the client pair is direct
 * while any of its uplink pairs is. */
static void test_punchcoord_reports_are_per_uplink_pair(void **state)
{
	struct fixture *fx = *state;
	struct frame_path up;
	struct frame_path_stats st;
	uint64_t t = 10000000;

	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_PORT_RESTRICTED);
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_PORT_RESTRICTED);
	uplink_up(fx->d, 1, "192.0.2.77", 50001, FRAME_NAT_FULL_CONE, t);
	memset(&up, 0, sizeof(up));
	up.op = FRAME_PATH_UP;
	up.uplink = 0;	    /* gcs4's main ... */
	up.peer_uplink = 1; /* ... to drone3's uplink 1 */
	assert_int_equal(frame_name_set(&up.peer, "drone3"), 0);
	punchcoord_on_report(&fx->pc, &fx->reg, fx->g, &up, t);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "drone3", "gcs4"), "direct");
	assert_true(punchcoord_find_uplinks(&fx->pc, "drone3", 1, "gcs4", 0)->is_direct[1]);
	assert_null(punchcoord_find_uplinks(&fx->pc, "drone3", 0, "gcs4", 1));
	assert_null(punchcoord_find(&fx->pc, "drone3", "gcs4"));
	/* The main pair comes up and goes down: the uplink pair stays direct. */
	up.peer_uplink = 0;
	punchcoord_on_report(&fx->pc, &fx->reg, fx->g, &up, t + 1);
	up.op = FRAME_PATH_DOWN;
	punchcoord_on_report(&fx->pc, &fx->reg, fx->g, &up, t + 2);
	assert_string_equal(punchcoord_pair_kind(punchcoord_find(&fx->pc, "drone3", "gcs4")),
			    "relay");
	assert_int_equal(punchcoord_find(&fx->pc, "drone3", "gcs4")->fallbacks, 1);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "drone3", "gcs4"), "direct");
	/* A PATH_STATS "direct" keeps it; "relay" means no direct path at all. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(frame_name_set(&st.peer, "drone3"), 0);
	st.kind = FRAME_PATH_KIND_DIRECT;
	punchcoord_on_stats(&fx->pc, &fx->reg, fx->g, &st, t + 3);
	assert_string_equal(punchcoord_pair_kind(punchcoord_find(&fx->pc, "drone3", "gcs4")),
			    "relay");
	assert_string_equal(punchcoord_path_kind(&fx->pc, "drone3", "gcs4"), "direct");
	st.kind = FRAME_PATH_KIND_RELAY;
	punchcoord_on_stats(&fx->pc, &fx->reg, fx->g, &st, t + 4);
	assert_string_equal(punchcoord_path_kind(&fx->pc, "drone3", "gcs4"), "relay");
	assert_non_null(punchcoord_stats(&fx->pc, "gcs4", "drone3"));
}

static void test_punchcoord_predict_waits_for_heavy_attempts(void **state)
{
	struct fixture *fx = *state;
	struct sent s = {0};
	uint64_t t = 10000000;
	int i;

	online(fx->d, "198.51.100.1", 40001, FRAME_NAT_SYMMETRIC);
	online(fx->g, "198.51.100.2", 40002, FRAME_NAT_SYMMETRIC);
	online(fx->l, "198.51.100.3", 40003, FRAME_NAT_PORT_RESTRICTED);
	fx->d->alloc_step = 1;
	fx->g->alloc_step = 2;
	/* loner (cone) and gcs4 (sequential): a prediction, one mapping on
	 * gcs4's NAT. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->l, 0, "gcs4", 0, true, 256,
			      t - PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 2);
	i = index_to(&s, 0, "gcs4");
	assert_int_equal(s.k[i].strategy, FRAME_PUNCH_PREDICT);
	assert_int_equal(s.k[i].role, FRAME_PUNCH_ROLE_PREDICT_OPEN);
	assert_int_equal(s.k[i].addrs[0].port, 40003);
	assert_int_equal(s.k[!i].role, FRAME_PUNCH_ROLE_PREDICT_SCAN);
	/* drone3 and gcs4, both sequential: PREDICT (that one mapping is no
	 * reason to wait). */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256, t, send_cb,
			      &s);
	assert_int_equal(s.n, 4);
	i = index_to(&s, 2, "drone3");
	assert_int_equal(s.k[i].strategy, FRAME_PUNCH_PREDICT);
	assert_int_equal(s.k[i].role, FRAME_PUNCH_ROLE_PREDICT_ODD); /* drone3 < gcs4 */
	assert_int_equal(s.k[i].count, PUNCH_PREDICT_COUNT);
	assert_int_equal(s.k[i].addrs[0].port, 40002);
	i = index_to(&s, 2, "gcs4");
	assert_int_equal(s.k[i].role, FRAME_PUNCH_ROLE_PREDICT);
	assert_int_equal(s.k[i].count, 2 * PUNCH_PREDICT_COUNT);
	/* loner asks again (its prediction failed): a spray is next, but not
	 * while gcs4 predicts... */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->l, 0, "gcs4", 0, true, 256,
			      t + PUNCHCOORD_HEAVY_US / 2, send_cb, &s);
	assert_int_equal(s.n, 4);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->l, 0, "gcs4", 0, true, 256,
			      t + PUNCHCOORD_HEAVY_US, send_cb, &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.k[4].strategy, FRAME_PUNCH_SPRAY);
	/* ...and a prediction on gcs4's NAT waits for the spray's mappings. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
			      t + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 6);
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
			      t + 2 * PUNCHCOORD_HEAVY_US, send_cb, &s);
	assert_int_equal(s.n, 8);
	assert_int_equal(s.k[6].strategy, FRAME_PUNCH_PREDICT);
	/* After the spray (not up either): prediction again. */
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->l, 0, "gcs4", 0, true, 256,
			      t + PUNCHCOORD_HEAVY_US + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 10);
	assert_int_equal(s.k[8].strategy, FRAME_PUNCH_PREDICT);
	/* Without a step on one side: the relay, at once. */
	fx->g->alloc_step = 0;
	punchcoord_on_request(&fx->pc, &fx->reg, fx->r, fx->d, 0, "gcs4", 0, true, 256,
			      t + 2 * PUNCHCOORD_HEAVY_US + PUNCHCOORD_BUSY_US, send_cb, &s);
	assert_int_equal(s.n, 12);
	assert_int_equal(s.k[10].strategy, FRAME_PUNCH_RELAY);
}

/* ---- a random run against a naive model and a scan ---- */

#define POOL 40	  /* clients c0..c39 */
#define UPLINKS 4 /* uplinks used by the run, of WIRE_UPLINKS_MAX */
#define MODEL_MAX (POOL * (POOL - 1) / 2 * UPLINKS * UPLINKS)

/* What a record should hold, in the order the records were made. */
struct model_rec {
	char a[8], b[8]; /* a < b */
	unsigned uplink[2];
	bool is_direct[2];
	bool has_stats[2];
};

struct model {
	struct model_rec rec[MODEL_MAX];
	size_t n;
};

/* routes.conf text with clients c0..c(POOL-1) and no flow (reports and
 * stats do not ask for one), or with with_flows the flows model_shares
 * knows: c(2k) with c(2k+1), and c0 to c(POOL-1). */
static char *pool_routes_text(bool with_flows)
{
	size_t cap = 16 * 1024, len = 0;
	char *t = malloc(cap);

	assert_non_null(t);
	len += (size_t)snprintf(t + len, cap - len,
				"server: { listen = \"127.0.0.1:7400\"; key_file = \"server.key\"; "
				"};\nclients: {");
	for (int i = 0; i < POOL; i++) {
		uint8_t k[32];
		char b64[64];

		for (size_t j = 0; j < sizeof(k); j++) {
			k[j] = (uint8_t)rand();
		}
		sodium_bin2base64(b64, sizeof(b64), k, sizeof(k), sodium_base64_VARIANT_ORIGINAL);
		len += (size_t)snprintf(t + len, cap - len, " c%d = { key = \"%s\"; };", i, b64);
	}
	len += (size_t)snprintf(t + len, cap - len, " };\nflows: (");
	for (int k = 0; with_flows && k < POOL / 2; k++) {
		len += (size_t)snprintf(t + len, cap - len,
					" { name = \"f%d\"; proto = \"udp\"; port = %d; members = "
					"[\"c%d\", \"c%d\"]; },",
					k, 20000 + k, 2 * k, 2 * k + 1);
	}
	if (with_flows) {
		len += (size_t)snprintf(t + len, cap - len,
					" { name = \"wide\"; proto = \"udp\"; port = 19999; from = "
					"[\"c0\"]; to = [\"c%d\"]; }",
					POOL - 1);
	}
	len += (size_t)snprintf(t + len, cap - len, " );\n");
	assert_true(len < cap);
	return t;
}

/* Do clients "c<x>" and "c<y>" share a flow of pool_routes_text(true)? */
static bool model_shares(const char *x, const char *y)
{
	int xi = atoi(x + 1), yi = atoi(y + 1);

	return xi / 2 == yi / 2 || (xi == 0 && yi == POOL - 1) || (yi == 0 && xi == POOL - 1);
}

/* The model's record of x's uplink ux and y's uplink uy, made at the end
 * if there is none; *side is x's side in it. */
static struct model_rec *model_get(struct model *m, const char *x, unsigned ux, const char *y,
				   unsigned uy, int *side)
{
	bool is_ordered = strcmp(x, y) < 0;
	struct model_rec *q;

	*side = is_ordered ? 0 : 1;
	for (size_t i = 0; i < m->n; i++) {
		q = &m->rec[i];
		if (strcmp(q->a, is_ordered ? x : y) == 0 &&
		    strcmp(q->b, is_ordered ? y : x) == 0 && q->uplink[*side] == ux &&
		    q->uplink[!*side] == uy) {
			return q;
		}
	}
	assert_true(m->n < MODEL_MAX);
	q = &m->rec[m->n++];
	memset(q, 0, sizeof(*q));
	snprintf(q->a, sizeof(q->a), "%s", is_ordered ? x : y);
	snprintf(q->b, sizeof(q->b), "%s", is_ordered ? y : x);
	q->uplink[*side] = ux;
	q->uplink[!*side] = uy;
	return q;
}

/* PATH_STATS from x about y, as the coordinator should apply them. */
static void model_stats(struct model *m, const char *x, const char *y, uint8_t kind)
{
	int side;
	struct model_rec *p = model_get(m, x, 0, y, 0, &side);
	bool is_any = false;

	p->has_stats[side] = true;
	for (size_t i = 0; i < m->n; i++) {
		struct model_rec *q = &m->rec[i];

		if (strcmp(q->a, p->a) == 0 && strcmp(q->b, p->b) == 0) {
			is_any = is_any || q->is_direct[side];
			if (kind != FRAME_PATH_KIND_DIRECT) {
				q->is_direct[side] = false;
			}
		}
	}
	if (kind == FRAME_PATH_KIND_DIRECT && !is_any) {
		p->is_direct[side] = true;
	}
}

static void check_records(const struct punchcoord *pc, const struct model *m, unsigned seed,
			  int step)
{
	if (pc->n_pairs != m->n) {
		fail_msg("seed %u step %d: %zu records, model %zu", seed, step, pc->n_pairs, m->n);
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct punchcoord_pair *p = &pc->pairs[i];
		const struct model_rec *q = &m->rec[i];

		for (int s = 0; s < 2; s++) {
			if (strcmp(p->a, q->a) != 0 || strcmp(p->b, q->b) != 0 ||
			    p->uplink[s] != q->uplink[s] || p->is_direct[s] != q->is_direct[s] ||
			    p->stats[s].has != q->has_stats[s]) {
				fail_msg("seed %u step %d: record %zu (%s %s) differs", seed, step,
					 i, q->a, q->b);
			}
		}
	}
}

/* Every record of x and y, by a scan of all records in array order. */
static size_t scan_records(const struct punchcoord *pc, const char *x, const char *y,
			   const struct punchcoord_pair **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < pc->n_pairs; i++) {
		const struct punchcoord_pair *p = &pc->pairs[i];

		if ((strcmp(p->a, x) == 0 && strcmp(p->b, y) == 0) ||
		    (strcmp(p->a, y) == 0 && strcmp(p->b, x) == 0)) {
			assert_true(n < max);
			out[n++] = p;
		}
	}
	return n;
}

/* The lookups of x and y (this way round) give what a scan gives. */
static void check_lookups(const struct punchcoord *pc, const char *x, const char *y, unsigned seed,
			  int step)
{
	const struct punchcoord_pair *rec[UPLINKS * UPLINKS + 1], *q, *want;
	size_t n = scan_records(pc, x, y, rec, UPLINKS * UPLINKS + 1), k = 0;
	const struct punchcoord_side_stats *st = NULL;
	bool is_direct = false;

	for (q = punchcoord_next(pc, x, y, NULL); q; q = punchcoord_next(pc, x, y, q)) {
		if (k >= n || q != rec[k++]) {
			fail_msg("seed %u step %d: next %s %s differs at %zu", seed, step, x, y, k);
		}
	}
	if (k != n) {
		fail_msg("seed %u step %d: next %s %s stops at %zu of %zu", seed, step, x, y, k, n);
	}
	for (unsigned ux = 0; ux < UPLINKS + 1; ux++) {
		for (unsigned uy = 0; uy < UPLINKS + 1; uy++) {
			want = NULL;
			for (k = 0; k < n && !want; k++) {
				int side = strcmp(rec[k]->a, x) == 0 ? 0 : 1;

				if (rec[k]->uplink[side] == ux && rec[k]->uplink[!side] == uy) {
					want = rec[k];
				}
			}
			if (punchcoord_find_uplinks(pc, x, ux, y, uy) != want ||
			    (ux == 0 && uy == 0 && punchcoord_find(pc, x, y) != want)) {
				fail_msg("seed %u step %d: find %s/%u %s/%u", seed, step, x, ux, y,
					 uy);
			}
			if (ux == 0 && uy == 0 && want &&
			    want->stats[strcmp(want->a, x) == 0 ? 0 : 1].has) {
				st = &want->stats[strcmp(want->a, x) == 0 ? 0 : 1];
			}
		}
	}
	for (k = 0; k < n; k++) {
		is_direct = is_direct || rec[k]->is_direct[0] || rec[k]->is_direct[1];
	}
	if (punchcoord_stats(pc, x, y) != st ||
	    strcmp(punchcoord_path_kind(pc, x, y), is_direct ? "direct" : "relay") != 0) {
		fail_msg("seed %u step %d: stats or kind of %s %s", seed, step, x, y);
	}
}

/* Every lookup of every two clients, either way round (c<POOL>: nobody). */
static void check_all_lookups(const struct punchcoord *pc, unsigned seed, int step)
{
	char x[8], y[8];

	for (int i = 0; i < POOL; i++) {
		for (int j = 0; j <= POOL; j++) {
			snprintf(x, sizeof(x), "c%d", i);
			snprintf(y, sizeof(y), "c%d", j);
			check_lookups(pc, x, y, seed, step);
		}
	}
}

/* punchcoord_prune with routes whose flows model_shares knows: the model
 * keeps the records of clients sharing a flow, in their order. */
static void prune_and_check(struct punchcoord *pc, struct model *m, unsigned seed, int step)
{
	char *text = pool_routes_text(true);
	size_t kept = 0, before = m->n;
	struct routes *rf;
	struct diag d;

	diag_clear(&d);
	rf = routes_parse_text(text, strlen(text), "routes.conf", NULL, false, &d);
	if (!rf) {
		fail_msg("%s", d.msg);
	}
	punchcoord_prune(pc, rf);
	for (size_t i = 0; i < m->n; i++) {
		if (model_shares(m->rec[i].a, m->rec[i].b)) {
			m->rec[kept++] = m->rec[i];
		}
	}
	m->n = kept;
	assert_true(kept > 0 && kept < before);
	check_records(pc, m, seed, step);
	check_all_lookups(pc, seed, step);
	routes_free(rf);
	free(text);
}

/* Reports and stats of random clients on random uplinks make records one
 * at a time, past several growths of the array and its index: each step
 * leaves the records as the model has them, and at checkpoints every
 * lookup of every two clients, either way round, gives what a scan of all
 * records gives (punchcoord_next in the same order). Twice a routes change
 * prunes the records of clients sharing no flow: the lookups still match
 * the scan, and records made after it join the right chains. */
static void test_punchcoord_lookups_match_a_scan_at_random(void **state)
{
	unsigned seed = 20261129;
	static struct model m;
	struct punchcoord pc;
	struct registry reg;
	struct routes *r;
	struct diag d;
	char *text;

	(void)state;
	log_set_level(LOG_LEVEL_WARN); /* a line per report */
	srand(seed);
	text = pool_routes_text(false);
	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "routes.conf", NULL, false, &d);
	if (!r) {
		fail_msg("%s", d.msg);
	}
	memset(r->server.key, 0x42, sizeof(r->server.key));
	assert_int_equal(registry_init(&reg, r, 1000), 0);
	punchcoord_init(&pc, 5);
	memset(&m, 0, sizeof(m));
	for (int step = 0; step < 12000; step++) {
		int xi = rand() % POOL, yi = (xi + 1 + rand() % (POOL - 1)) % POOL, side;
		char x[8], y[8];
		struct registry_client *from;

		snprintf(x, sizeof(x), "c%d", xi);
		snprintf(y, sizeof(y), "c%d", yi);
		from = registry_find_by_id(&reg, x);
		assert_non_null(from);
		if (rand() % 4 == 0) {
			struct frame_path_stats s;

			memset(&s, 0, sizeof(s));
			assert_int_equal(frame_name_set(&s.peer, y), 0);
			s.kind = rand() % 2 ? FRAME_PATH_KIND_DIRECT : FRAME_PATH_KIND_RELAY;
			punchcoord_on_stats(&pc, &reg, from, &s, 1000 + (uint64_t)step);
			model_stats(&m, x, y, s.kind);
		} else {
			struct frame_path fp;

			memset(&fp, 0, sizeof(fp));
			assert_int_equal(frame_name_set(&fp.peer, y), 0);
			fp.op = rand() % 3 ? FRAME_PATH_UP : FRAME_PATH_DOWN;
			fp.uplink = (uint8_t)(rand() % UPLINKS);
			fp.peer_uplink = (uint8_t)(rand() % UPLINKS);
			punchcoord_on_report(&pc, &reg, from, &fp, 1000 + (uint64_t)step);
			model_get(&m, x, fp.uplink, y, fp.peer_uplink, &side)->is_direct[side] =
				fp.op == FRAME_PATH_UP;
		}
		check_records(&pc, &m, seed, step);
		if (step % 2000 != 1999) {
			continue;
		}
		check_all_lookups(&pc, seed, step);
		if (step == 5999 || step == 9999) {
			prune_and_check(&pc, &m, seed, step);
		}
	}
	assert_true(m.n > 1000);
	punchcoord_fini(&pc);
	registry_fini(&reg);
	routes_free(r);
	free(text);
	log_set_level(LOG_LEVEL_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_punchcoord_request_sends_both_a_plan, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_disabled_and_reports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_memory_is_per_nat_classes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_punchcoord_memory_holds_for_the_addresses_either_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_memory_is_forgotten_when_it_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_plans_per_uplink_pair, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_reports_are_per_uplink_pair, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_punchcoord_predict_waits_for_heavy_attempts,
						setup, teardown),
		cmocka_unit_test(test_punchcoord_lookups_match_a_scan_at_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
