/* test_relaystate: the relay's state across a server restart (relaystate.h).
 * A real relay on 127.0.0.1 writes its pairs and bindings; a second relay,
 * as a restarted server builds it, reads them: its pairs get the same ports
 * (not the ones the round robin would give) and the same client addresses,
 * with their ages; bindings from longer ago than a restart may take, ports
 * another program took meanwhile and malformed files are each handled as the
 * header says; a pair whose addresses are old keeps its ports for its
 * clients to be heard, and forwards again once they are. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/diag.h"
#include "config/routes.h"
#include "proto/wire_const.h"
#include "server/relay.h"
#include "server/relaystate.h"

#include "relay_fixture.h"

#define KEY_DRONE3 "MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM="
#define KEY_GCS4 "PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8="
#define KEY_GCS5 "3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0="
#define SEC 1000000ull

struct fixture {
	char dir[64];
	char path[128];
	struct routes *r;
	struct ev_loop *loop;
	uint16_t base; /* relay_a: base..base+7, relay_b: base+8..base+15 */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char text[1024];
	struct diag d;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_relaystate.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/routes.conf.state", f->dir);
	f->base = fix_free_ports(16, 40000, 47000, 32);
	assert_int_not_equal(f->base, 0);
	snprintf(text, sizeof(text),
		 "server: { listen = \"127.0.0.1:7400\"; key_file = \"server.key\"; "
		 "relay_a = \"%u-%u\"; relay_b = \"%u-%u\"; };\n"
		 "clients: { drone3 = { key = \"" KEY_DRONE3 "\"; }; gcs4 = { key = \"" KEY_GCS4
		 "\"; }; gcs5 = { key = \"" KEY_GCS5 "\"; }; };\n"
		 "flows: ( { name = \"mavlink\"; proto = \"udp\"; port = 14550; "
		 "members = [\"drone3\", \"gcs4\"]; },\n"
		 "  { name = \"chat\"; proto = \"udp\"; port = 7000; members = [\"gcs4\", "
		 "\"gcs5\"]; } );\n",
		 f->base, f->base + 7, f->base + 8, f->base + 15);
	diag_clear(&d);
	f->r = routes_parse_text(text, strlen(text), "routes.conf", f->dir, false, &d);
	assert_non_null(f->r);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[160];

	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	routes_free(f->r);
	ev_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* A relay as the server starts it: from st when given (the number of
 * addresses it restored is returned), else fresh. */
static unsigned relay_up(struct fixture *f, struct relay *rl, struct relaystate *st,
			 uint64_t now_us)
{
	struct diag d;
	unsigned n = 0;

	diag_clear(&d);
	assert_int_equal(relay_init(rl, f->loop, f->r, &d), 0);
	if (st) {
		n = relaystate_start(st, rl, f->r, now_us);
	} else {
		assert_int_equal(relay_update(rl, f->r, now_us), 0);
	}
	assert_int_equal(rl->n_pairs, 2);
	return n;
}

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;

	assert_int_equal(addr_parse(text, &ss, NULL), 0);
	return ss;
}

static void bind_at(struct relay *rl, const char *a, const char *b, int k, const char *text,
		    bool primary, uint64_t t_us)
{
	struct relay_pair *p = relay_find_pair(rl, a, b);
	struct sockaddr_storage ss = addr(text);

	assert_non_null(p);
	relay_side_bind(&p->side[k].socks[0], (const struct sockaddr *)&ss, primary, t_us);
}

static const struct relay_endpoint *ep_of(const struct relay_side *s, const char *text)
{
	struct sockaddr_storage ss = addr(text);

	for (unsigned i = 0; i < s->n_ep; i++) {
		if (addr_equal((const struct sockaddr *)&s->ep[i].addr,
			       (const struct sockaddr *)&ss)) {
			return &s->ep[i];
		}
	}
	return NULL;
}

/* Relay A: round robin moved on, so its pairs hold other ports than a fresh
 * relay would hand out; bindings of various ages; written at t_save. */
static void write_a(struct fixture *f, uint64_t t_save, uint64_t wall, uint16_t ports[2][2])
{
	struct relay a;
	struct diag d;

	diag_clear(&d);
	assert_int_equal(relay_init(&a, f->loop, f->r, &d), 0);
	/* A fresh relay hands out base, base+1 (and base+8, base+9): these
	 * pairs start at the ranges' ends instead. */
	a.ports[0].next = 5;
	a.ports[1].next = 6;
	assert_int_equal(relay_update(&a, f->r, 100 * SEC), 0);
	/* In the order they happen (chat: gcs5's binding is older than the
	 * relay forwards to). */
	bind_at(&a, "gcs4", "gcs5", 1, "203.0.113.5:50002", true, t_save - 35 * SEC);
	bind_at(&a, "drone3", "gcs4", 1, "[2001:db8::9]:50000", false, t_save - 3 * SEC);
	bind_at(&a, "drone3", "gcs4", 0, "198.51.100.8:40002", false, t_save - 2 * SEC);
	bind_at(&a, "drone3", "gcs4", 0, "198.51.100.7:40001", true, t_save - 1500000);
	bind_at(&a, "gcs4", "gcs5", 0, "203.0.113.99:50001", true, t_save - 1 * SEC);
	for (int i = 0; i < 2; i++) {
		struct relay_pair *p =
			relay_find_pair(&a, i ? "gcs4" : "drone3", i ? "gcs5" : "gcs4");

		ports[i][0] = p->side[0].port;
		ports[i][1] = p->side[1].port;
		assert_true(ports[i][0] >= f->base + 5);
		assert_true(ports[i][1] >= f->base + 14);
	}
	assert_true(relaystate_has_binds(&a, t_save));
	assert_int_equal(relaystate_write(f->path, &a, t_save, wall), 4);
	relay_fini(&a);
}

static void test_relaystate_a_restarted_relay_gets_its_ports_and_bindings_back(void **state)
{
	struct fixture *f = *state;
	const uint64_t t_save = 200 * SEC, wall = 1800000000ull * SEC, t1 = 50 * SEC;
	uint16_t ports[2][2];
	struct relaystate st;
	struct relay b;
	char msg[256];
	struct relay_pair *p;
	const struct relay_endpoint *ep;

	write_a(f, t_save, wall, ports);
	/* Read 2.5 s later (the restart's time). */
	assert_int_equal(relaystate_read(f->path, wall + 2500000, &st, msg, sizeof(msg)), 2);
	assert_int_equal(relay_up(f, &b, &st, t1), 4);
	for (int i = 0; i < 2; i++) {
		p = relay_find_pair(&b, i ? "gcs4" : "drone3", i ? "gcs5" : "gcs4");
		assert_int_equal(p->side[0].port, ports[i][0]);
		assert_int_equal(p->side[1].port, ports[i][1]);
	}
	p = relay_find_pair(&b, "drone3", "gcs4");
	assert_int_equal(p->side[0].n_ep, 2);
	ep = ep_of(&p->side[0], "198.51.100.7:40001");
	assert_non_null(ep);
	assert_true(ep->is_primary);
	assert_int_equal(ep->last_rx_us, t1 - 1500000 - 2500000);
	ep = ep_of(&p->side[0], "198.51.100.8:40002");
	assert_non_null(ep);
	assert_false(ep->is_primary);
	assert_int_equal(ep->last_rx_us, t1 - 2 * SEC - 2500000);
	assert_int_equal(p->side[0].last_rx_us, t1); /* its ports opened now */
	assert_true(p->side[0].is_bound);
	/* Datagrams to drone3 go to its primary, as before the restart. */
	ep = relay_side_target(&p->side[0], t1);
	assert_non_null(ep);
	assert_true(ep->is_primary);
	assert_non_null(ep_of(&p->side[1], "[2001:db8::9]:50000"));
	/* chat: gcs4's address back, gcs5's (35 s old when written: the relay
	 * forwarded to it no longer) not: it binds anew. */
	p = relay_find_pair(&b, "gcs4", "gcs5");
	assert_int_equal(p->side[0].n_ep, 1);
	assert_int_equal(p->side[1].n_ep, 0);
	assert_false(p->side[1].is_bound);
	relay_fini(&b);
	relaystate_free(&st);
}

static void test_relaystate_bindings_older_than_a_restart_may_take_are_not_restored(void **state)
{
	struct fixture *f = *state;
	const uint64_t t_save = 200 * SEC, wall = 1800000000ull * SEC;
	const uint64_t max_s = RELAYSTATE_RESTORE_MAX_US / SEC;
	const struct relay_endpoint *ep;
	uint16_t ports[2][2];
	struct relaystate st;
	struct relay b;
	char msg[256];

	write_a(f, t_save, wall, ports);
	/* Down max - 2 s: drone3's primary (1.5 s old then) is still young
	 * enough, its other address (2 s) at the limit, gcs4's (3 s) over it. */
	assert_int_equal(relaystate_read(f->path, wall + (max_s - 2) * SEC, &st, msg, sizeof(msg)),
			 2);
	assert_int_equal(relay_up(f, &b, &st, 1000 * SEC), 3);
	relay_fini(&b);
	relaystate_free(&st);
	/* Down 9 minutes: every address back, each 9 minutes old, so the relay
	 * forwards to none until its client is heard again; the pairs keep
	 * their ports for that as long as after opening them (not released at
	 * the next tick for addresses that old). */
	assert_int_equal(relaystate_read(f->path, wall + 540 * SEC, &st, msg, sizeof(msg)), 2);
	assert_int_equal(relay_up(f, &b, &st, 1000 * SEC), 4);
	ep = relay_side_target(&relay_find_pair(&b, "drone3", "gcs4")->side[0], 1000 * SEC);
	assert_non_null(ep);
	assert_true(ep->last_rx_us <= (1000 - 540) * SEC);
	assert_false(relay_tick(&b, (1000 + 119) * SEC));
	assert_true(relay_find_pair(&b, "drone3", "gcs4")->has_ports);
	assert_true(relay_tick(&b, (1000 + 121) * SEC));
	assert_false(relay_find_pair(&b, "drone3", "gcs4")->has_ports);
	relay_fini(&b);
	relaystate_free(&st);
	/* Down longer: nothing; no pair keeps its old ports. */
	assert_int_equal(relaystate_read(f->path, wall + (max_s + 10) * SEC, &st, msg, sizeof(msg)),
			 0);
	assert_int_equal(relay_up(f, &b, &st, 1000 * SEC), 0);
	assert_int_equal(relay_find_pair(&b, "drone3", "gcs4")->side[0].n_ep, 0);
	relay_fini(&b);
	relaystate_free(&st);
	/* A clock that went back: not used. */
	assert_int_equal(relaystate_read(f->path, wall - 5 * SEC, &st, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ":1: written in the future"));
}

static void test_relaystate_a_port_taken_meanwhile_leaves_that_side_to_bind_anew(void **state)
{
	struct fixture *f = *state;
	const uint64_t t_save = 200 * SEC, wall = 1800000000ull * SEC;
	uint16_t ports[2][2];
	struct relaystate st;
	struct relay b;
	struct relay_pair *p;
	char msg[256];
	int fd;

	write_a(f, t_save, wall, ports);
	fd = fix_hold(ports[0][0]); /* drone3's port of mavlink */
	assert_true(fd >= 0);
	assert_int_equal(relaystate_read(f->path, wall + SEC, &st, msg, sizeof(msg)), 2);
	/* drone3's two addresses are not put on a port it never bound. */
	assert_int_equal(relay_up(f, &b, &st, 10 * SEC), 2);
	p = relay_find_pair(&b, "drone3", "gcs4");
	assert_int_not_equal(p->side[0].port, ports[0][0]);
	assert_int_equal(p->side[1].port, ports[0][1]);
	assert_int_equal(p->side[0].n_ep, 0);
	assert_int_equal(p->side[1].n_ep, 1);
	relay_fini(&b);
	relaystate_free(&st);
	close(fd);
}

static void put(const char *path, const char *text);

/* The pairs are allocated in routes.conf's order, and drone3<->gcs4 comes
 * first: without state it would take the first ports, which gcs4<->gcs5
 * held before the restart. They are held for gcs4<->gcs5 instead. */
static void test_relaystate_saved_ports_are_held_for_their_pair(void **state)
{
	struct fixture *f = *state;
	struct relaystate st;
	struct relay b;
	struct relay_pair *p;
	char text[256], msg[256];

	snprintf(text, sizeof(text),
		 "wormhole-relay-state 1 1000000\npair gcs4 %u gcs5 %u\n"
		 "bind 1 100 1 127.0.0.1:%u 203.0.113.5:50002\n",
		 f->base, f->base + 8, f->base + 8);
	put(f->path, text);
	assert_int_equal(relaystate_read(f->path, 1500000, &st, msg, sizeof(msg)), 1);
	assert_int_equal(relay_up(f, &b, &st, 10 * SEC), 1);
	p = relay_find_pair(&b, "gcs4", "gcs5");
	assert_int_equal(p->side[0].port, f->base);
	assert_int_equal(p->side[1].port, f->base + 8);
	assert_non_null(ep_of(&p->side[1], "203.0.113.5:50002"));
	p = relay_find_pair(&b, "drone3", "gcs4");
	assert_int_equal(p->side[0].port, f->base + 1);
	assert_int_equal(p->side[1].port, f->base + 9);
	relay_fini(&b);
	relaystate_free(&st);
	/* A saved pair that is no longer wanted (no shared flow now): its
	 * ports are held only while the pairs are allocated, then free. */
	snprintf(text, sizeof(text),
		 "wormhole-relay-state 1 1000000\npair drone3 %u gcs5 %u\n"
		 "bind 1 100 1 127.0.0.1:%u 203.0.113.5:50002\n",
		 f->base, f->base + 8, f->base + 8);
	put(f->path, text);
	assert_int_equal(relaystate_read(f->path, 1500000, &st, msg, sizeof(msg)), 1);
	assert_int_equal(relay_up(f, &b, &st, 10 * SEC), 0);
	assert_int_equal(relay_find_pair(&b, "drone3", "gcs4")->side[0].port, f->base + 1);
	assert_false(b.ports[0].used[0]);
	assert_false(b.ports[1].used[0]);
	assert_true(b.ports[0].used[1]);
	relay_fini(&b);
	relaystate_free(&st);
}

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

#define HEAD "wormhole-relay-state 1 1000000\n"

static void test_relaystate_malformed_files_are_refused_whole_with_their_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"", ":0: empty"},
		{"wormhole-relay-state 2 1000000\n", ":1: not a relay state file"},
		{"# a comment first\n" HEAD, ":1: not a relay state file"},
		{"wormhole-relay-state 1 x\n", ":1: not a relay state file"},
		{HEAD "bind 0 10 1 127.0.0.1:2000 198.51.100.7:40001\n",
		 ":2: a bind line before any pair line"},
		{HEAD "pair a 2000 b\n", ":2: a pair line has 4 fields"},
		{HEAD "pair b 2000 a 3000\n", ":2: bad client ids"},
		{HEAD "pair a 2000 a 3000\n", ":2: bad client ids"},
		{HEAD "pair a 0 b 3000\n", ":2: bad port"},
		{HEAD "pair a 2000 b 65536\n", ":2: bad port"},
		{HEAD "pair a 2000 b -3\n", ":2: bad port"},
		{HEAD "\n# note\npair a 2000 b 3000\nbind 2 10 1 127.0.0.1:2000 1.2.3.4:5\n",
		 ":5: bad side, age or primary flag"},
		{HEAD "pair a 2000 b 3000\nbind 0 10 1 127.0.0.1:2000 1.2.3.4\n",
		 ":3: bad address"},
		{HEAD "pair a 2000 b 3000\nbind 0 10 1 127.0.0.1:2000 1.2.3.4:5 x\n",
		 ":3: a bind line has 5 fields"},
		{HEAD "pair a 2000 b 3000 1 2 3 4 5\n", ":2: too many fields"},
		{HEAD "peer a b\n", ":2: unknown record"},
		{HEAD "pair a 2000 b 3000\npair c 2001 d 3000\n", ":3: a port given to two pairs"},
		{HEAD "pair a 2000 b 3000\n"
		      "bind 0 1 0 127.0.0.1:2000 1.2.3.4:1\nbind 0 1 0 127.0.0.1:2000 1.2.3.4:2\n"
		      "bind 0 1 0 127.0.0.1:2000 1.2.3.4:3\nbind 0 1 0 127.0.0.1:2000 1.2.3.4:4\n"
		      "bind 0 1 0 127.0.0.1:2000 1.2.3.4:5\nbind 0 1 0 127.0.0.1:2000 1.2.3.4:6\n"
		      "bind 0 1 0 127.0.0.1:2000 1.2.3.4:7\nbind 0 1 0 127.0.0.1:2000 1.2.3.4:8\n"
		      "bind 0 1 0 127.0.0.1:2000 1.2.3.4:9\n",
		 ":11: too many bind lines for one side"},
	};
	struct fixture *f = *state;
	struct relaystate st;
	char msg[256], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(f->path, cases[i].text);
		assert_int_equal(relaystate_read(f->path, 2000000, &st, msg, sizeof(msg)), -EINVAL);
		snprintf(want, sizeof(want), "%s%s", f->path, cases[i].want);
		if (strncmp(msg, want, strlen(want)) != 0) {
			fail_msg("case %zu: \"%s\", want \"%s...\"", i, msg, want);
		}
		assert_null(st.pairs);
		assert_int_equal(st.n_pairs, 0);
	}
	/* One pair twice (with other ports): which would be meant? */
	put(f->path, HEAD "pair a 2000 b 3000\npair a 2001 b 3001\n");
	assert_int_equal(relaystate_read(f->path, 2000000, &st, msg, sizeof(msg)), -EINVAL);
	snprintf(want, sizeof(want), "%s: the pair a b is there twice", f->path);
	assert_string_equal(msg, want);
	/* A NUL byte would hide the rest of the file from a line parser. */
	{
		static const char with_nul[] = HEAD "pair a 2000 b 3000\0bind 0 1 0 x y\n";
		FILE *fp = fopen(f->path, "w");

		assert_non_null(fp);
		assert_int_equal(fwrite(with_nul, 1, sizeof(with_nul) - 1, fp),
				 sizeof(with_nul) - 1);
		fclose(fp);
		assert_int_equal(relaystate_read(f->path, 2000000, &st, msg, sizeof(msg)), -EINVAL);
		snprintf(want, sizeof(want), "%s: a NUL byte in the file", f->path);
		assert_string_equal(msg, want);
	}
	/* Comments and blank lines are fine; no file is no state. */
	put(f->path,
	    HEAD "\n# x\npair a 2000 b 3000\nbind 1 10 1 127.0.0.1:3000 [2001:db8::1]:9\n");
	assert_int_equal(relaystate_read(f->path, 2000000, &st, msg, sizeof(msg)), 1);
	assert_int_equal(st.pairs[0].n_bind[1], 1);
	assert_int_equal(st.pairs[0].bind[1][0].age_us, 10000 + 1000000);
	assert_int_equal(st.pairs[0].port[1], 3000);
	relaystate_free(&st);
	unlink(f->path);
	assert_int_equal(relaystate_read(f->path, 2000000, &st, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

static void test_relaystate_path_and_write_errors(void **state)
{
	struct fixture *f = *state;
	struct relay a;
	char path[ROUTES_PATH_MAX], bad[160];

	/* Default: beside routes.conf, named after it. */
	assert_true(relaystate_path(f->r, path, sizeof(path)));
	assert_string_equal(path, "routes.conf.state");
	f->r->server.has_state_file = true;
	snprintf(f->r->server.state_file, sizeof(f->r->server.state_file), "%s", "");
	assert_false(relaystate_path(f->r, path, sizeof(path)));
	f->r->server.has_state_file = false;
	/* Nothing bound: nothing to say. A folder that does not exist: an
	 * error, and no file anywhere. */
	relay_up(f, &a, NULL, 10 * SEC);
	assert_false(relaystate_has_binds(&a, 10 * SEC));
	bind_at(&a, "drone3", "gcs4", 0, "198.51.100.7:40001", true, 10 * SEC);
	assert_true(relaystate_has_binds(&a, 40 * SEC));
	assert_false(relaystate_has_binds(&a, 40 * SEC + 1));
	snprintf(bad, sizeof(bad), "%s/no/such/folder/state", f->dir);
	assert_int_equal(relaystate_write(bad, &a, 11 * SEC, 5), -ENOENT);
	/* state_file naming routes.conf or the key by mistake: that file is
	 * not replaced. */
	put(f->path, "server: { listen = \"127.0.0.1:7400\"; };\n");
	assert_int_equal(relaystate_write(f->path, &a, 11 * SEC, 5), -EEXIST);
	{
		char text[64] = "";
		FILE *fp = fopen(f->path, "r");

		assert_non_null(fp);
		assert_non_null(fgets(text, sizeof(text), fp));
		fclose(fp);
		assert_string_equal(text, "server: { listen = \"127.0.0.1:7400\"; };\n");
	}
	put(f->path, ""); /* an empty file is fine */
	assert_int_equal(relaystate_write(f->path, &a, 11 * SEC, 5), 1);
	assert_int_equal(relaystate_write(f->path, &a, 11 * SEC, 5), 1); /* and ours again */
	unlink(f->path);
	/* A link planted at the temporary name is not followed. */
	snprintf(bad, sizeof(bad), "%s.tmp", f->path);
	assert_int_equal(symlink("/nonexistent/target", bad), 0);
	assert_int_equal(relaystate_write(f->path, &a, 11 * SEC, 5), -ELOOP);
	assert_int_equal(unlink(bad), 0);
	/* A written file is private (it holds client addresses). */
	assert_int_equal(relaystate_write(f->path, &a, 11 * SEC, 5), 1);
	{
		struct stat sb;

		assert_int_equal(stat(f->path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	relay_fini(&a);
}

/* ---- strangers ---- */

static unsigned strangers;
static uint16_t stranger_port;

static void count_stranger(void *ctx, struct relay_sock *rs, const struct sockaddr *from,
			   uint64_t now_us)
{
	(void)ctx;
	(void)from;
	(void)now_us;
	strangers++;
	stranger_port = rs->side->port;
}

/* Send len zero bytes from fd to 127.0.0.1:port, then run the loop until
 * the relay has read them (bounded). */
static void send_to_port(struct fixture *f, int fd, uint16_t port, size_t len)
{
	uint8_t buf[64] = {0};
	struct sockaddr_in to;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	for (int i = 0; i < 50; i++) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

/* Peer traffic from an address no client bound: the server hears of it
 * (the side's client may have lost it), once per RELAY_STRANGER_TELL_US a
 * side, and not for a datagram shorter than the notice it may answer with. */
static void test_relaystate_a_stranger_at_a_relay_port_is_reported_once(void **state)
{
	struct fixture *f = *state;
	struct relay b;
	struct relay_pair *p;
	int fd = fix_hold(0);

	assert_true(fd >= 0);
	(void)relay_up(f, &b, NULL, 10 * SEC);
	relay_start(&b);
	b.on_stranger = count_stranger;
	p = relay_find_pair(&b, "drone3", "gcs4");
	strangers = 0;
	send_to_port(f, fd, p->side[0].port, WIRE_RESTARTED_LEN - 1);
	assert_int_equal(strangers, 0);
	send_to_port(f, fd, p->side[0].port, WIRE_RESTARTED_LEN);
	assert_int_equal(strangers, 1);
	assert_int_equal(stranger_port, p->side[0].port);
	assert_int_equal(b.stats.drop_unbound_src, 2);
	send_to_port(f, fd, p->side[0].port, 40); /* within RELAY_STRANGER_TELL_US */
	assert_int_equal(strangers, 1);
	send_to_port(f, fd, p->side[1].port, 40); /* the other side: its own clock */
	assert_int_equal(strangers, 2);
	close(fd);
	relay_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_relaystate_a_restarted_relay_gets_its_ports_and_bindings_back, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_relaystate_bindings_older_than_a_restart_may_take_are_not_restored,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_relaystate_a_port_taken_meanwhile_leaves_that_side_to_bind_anew, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_relaystate_saved_ports_are_held_for_their_pair,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_relaystate_malformed_files_are_refused_whole_with_their_line, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_relaystate_path_and_write_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_relaystate_a_stranger_at_a_relay_port_is_reported_once, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
