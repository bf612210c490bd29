/* test_routes: routes.conf parsing into struct routes (config/routes.c):
 * the DESIGN §6 example, defaults, key files and the lookup helpers. The
 * validation rules are in test_routes_rules.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/b64key.h"
#include "common/diag.h"
#include "config/routes.h"
#include "routes_fixture.h"

/* DESIGN §6, verbatim apart from real keys and a token. */
static const char DESIGN_EXAMPLE[] =
	"server: { listen = [\"203.0.113.10:7400\", \"203.0.113.11:7400\"]; alt_port = 7401;\n"
	"          key_file = \"server.key\"; relay_a = \"2000-2999\"; relay_b = \"3000-3999\";\n"
	"          api = { listen = \"127.0.0.1:7480\"; tokens = [\"0123456789abcdef-token\"]; "
	"}; };\n"
	"clients: { drone3 = { key = \"" FIX_KEY_DRONE3 "\"; }; gcs4 = { key = \"" FIX_KEY_GCS4
	"\"; }; };\n"
	"flows: (\n"
	"  { name = \"mavlink\"; proto = \"udp\"; port = 14550; members = [\"drone3\", "
	"\"gcs4\"]; },\n"
	"  { name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; to = "
	"[\"gcs4\"];\n"
	"    impair = { loss = 0.02; delay_ms = 40; jitter_ms = 10; corrupt = 0.001; }; },\n"
	"  { name = \"ssh\"; proto = \"tcp\"; port = 2222; from = [\"gcs4\"]; to = [\"drone3\"];\n"
	"    deliver = { drone3 = \"127.0.0.1:22\"; }; }\n"
	");\n";

static struct routes *parse_ok(const char *text)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct routes *r;

	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "t.conf", NULL, false, &d);
	if (!r) {
		fail_msg("unexpected error: %s", diag_format(&d, buf, sizeof(buf)));
	}
	return r;
}

static const char *fmt_addr(const struct sockaddr_storage *ss, char *buf)
{
	return addr_format((const struct sockaddr *)ss, buf, ADDR_TEXT_MAX);
}

static void test_routes_parses_the_design_example(void **state)
{
	struct routes *r = parse_ok(DESIGN_EXAMPLE);
	const struct routes_flow *f;
	char buf[ADDR_TEXT_MAX];
	uint8_t key[32];

	(void)state;
	assert_int_equal(r->server.n_listen, 2);
	assert_string_equal(fmt_addr(&r->server.listen[0], buf), "203.0.113.10:7400");
	assert_string_equal(fmt_addr(&r->server.listen[1], buf), "203.0.113.11:7400");
	assert_int_equal(r->server.alt_port, 7401);
	assert_string_equal(r->server.key_file, "server.key");
	assert_false(r->server.has_key);
	assert_int_equal(r->server.api.n_tokens, 1);
	assert_string_equal(r->server.api.tokens[0], "0123456789abcdef-token");
	assert_int_equal(r->n_clients, 2);
	assert_int_equal(b64key_decode(FIX_KEY_GCS4, key), 0);
	assert_memory_equal(routes_find_client(r, "gcs4")->key, key, 32);
	assert_int_equal(r->n_flows, 3);

	f = routes_find_flow(r, "mavlink");
	assert_true(f->is_nn);
	assert_int_equal(f->n_members, 2);
	assert_int_equal(f->proto, ROUTES_PROTO_UDP);
	assert_int_equal(f->line, 6);

	f = routes_find_flow(r, "video");
	assert_int_equal(f->port, 5600);
	assert_true(f->has_impair);
	assert_true(f->impair.loss == 0.02);
	assert_int_equal(f->impair.delay_ms, 40);
	assert_int_equal(f->impair.jitter_ms, 10);
	assert_true(f->impair.corrupt == 0.001);
	assert_false(f->impair.has_seed);

	f = routes_find_flow(r, "ssh");
	assert_int_equal(f->proto, ROUTES_PROTO_TCP);
	assert_string_equal(f->from[0], "gcs4");
	assert_string_equal(f->to[0], "drone3");
	assert_int_equal(f->n_deliver, 1);
	assert_string_equal(fmt_addr(&f->deliver[0].addr, buf), "127.0.0.1:22");
	routes_free(r);
}

static void test_routes_fills_in_defaults(void **state)
{
	struct routes *r =
		parse_ok(FIX_HEAD "flows: ( { name = \"m\"; proto = \"udp\"; "
				  "port = 14550; members = [\"drone3\", \"gcs4\"]; } );\n");
	const struct routes_flow *f = &r->flows[0];
	char buf[ADDR_TEXT_MAX];

	(void)state;
	assert_int_equal(r->server.alt_port, 7401);
	assert_int_equal(r->server.relay_a.lo, 2000);
	assert_int_equal(r->server.relay_a.hi, 2999);
	assert_int_equal(r->server.relay_b.lo, 3000);
	assert_int_equal(r->server.relay_b.hi, 3999);
	assert_int_equal(r->server.keepalive_s, 25);
	assert_false(r->server.has_state_file); /* the server names it after routes.conf */
	assert_string_equal(fmt_addr(&r->server.api.listen, buf), "127.0.0.1:7480");
	assert_int_equal(r->server.api.n_tokens, 0);
	assert_int_equal(f->mtu, 1400);
	assert_int_equal(f->multipath, ROUTES_MULTIPATH_FAILOVER);
	assert_false(f->has_impair);
	assert_false(f->is_joinable_all);
	assert_int_equal(f->n_joinable, 0);
	routes_free(r);
}

static void test_routes_accepts_empty_clients_and_flows(void **state)
{
	struct routes *r = parse_ok(FIX_SERVER);

	(void)state;
	assert_int_equal(r->n_clients, 0);
	assert_int_equal(r->n_flows, 0);
	assert_null(routes_find_flow(r, "x"));
	assert_null(routes_find_client(r, "x"));
	routes_free(r);
}

static void test_routes_reads_every_optional_flow_key(void **state)
{
	struct routes *r = parse_ok(
		FIX_HEAD "flows: ( { name = \"v\"; proto = \"udp\"; port = 5600; "
			 "from = [\"drone3\"]; to = [\"gcs4\", \"gcs5\"]; "
			 "deliver = { gcs5 = \"[::1]:5601\"; }; listen = { drone3 = 15600; }; "
			 "impair = { loss = 0; duplicate = 0.5; reorder = 1; loss_burst = 0.25; "
			 "rate_kbps = 2000; seed = 42; delay_ms = 60000; }; "
			 "multipath = \"redundant\"; joinable = [\"gcs5\"]; mtu = 9000; } );\n");
	const struct routes_flow *f = &r->flows[0];

	(void)state;
	assert_true(f->impair.duplicate == 0.5);
	assert_true(f->impair.reorder == 1.0);
	assert_true(f->impair.loss_burst == 0.25);
	assert_int_equal(f->impair.rate_kbps, 2000);
	assert_true(f->impair.has_seed);
	assert_int_equal(f->impair.seed, 42);
	assert_int_equal(f->impair.delay_ms, 60000);
	assert_int_equal(f->multipath, ROUTES_MULTIPATH_REDUNDANT);
	assert_int_equal(f->n_joinable, 1);
	assert_string_equal(f->joinable[0], "gcs5");
	assert_int_equal(f->mtu, 9000);
	assert_string_equal(routes_multipath_name(f->multipath), "redundant");
	assert_string_equal(routes_proto_name(f->proto), "udp");
	routes_free(r);
}

static void test_routes_reads_floats_hex_and_64_bit_integers(void **state)
{
	struct routes *r =
		parse_ok(FIX_HEAD "flows: ( { name = \"v\"; proto = \"udp\"; port = 0x15E0; "
				  "from = [\"drone3\"]; to = [\"gcs4\"]; impair = { loss "
				  "= 1e-3; corrupt = .5; reorder = 1.0E-1; "
				  "seed = 9223372036854775807L; }; } );\n");
	const struct routes_flow *f = &r->flows[0];

	(void)state;
	assert_int_equal(f->port, 5600);
	assert_true(f->impair.loss == 1e-3);
	assert_true(f->impair.corrupt == 0.5);
	assert_true(f->impair.reorder == 0.1);
	assert_true(f->impair.seed == 9223372036854775807ULL); /* the largest seed */
	routes_free(r);
}

static void test_routes_flow_helpers_answer_for_from_to_flows(void **state)
{
	struct routes *r = parse_ok(
		FIX_HEAD "flows: ( { name = \"v\"; proto = \"udp\"; port = 5600; "
			 "from = [\"drone3\"]; to = [\"gcs4\", \"gcs5\"]; "
			 "deliver = { gcs5 = \"192.0.2.7:5601\"; }; listen = { drone3 = 15600; }; "
			 "} );\n");
	const struct routes_flow *f = routes_find_flow(r, "v");
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char buf[ADDR_TEXT_MAX];

	(void)state;
	assert_true(routes_flow_is_source(f, "drone3"));
	assert_false(routes_flow_is_sink(f, "drone3"));
	assert_true(routes_flow_is_sink(f, "gcs4"));
	assert_false(routes_flow_is_source(f, "gcs4"));
	assert_false(routes_flow_has_member(f, "nobody"));
	assert_int_equal(routes_flow_listen_port(f, "drone3"), 15600);
	assert_int_equal(routes_flow_listen_port(f, "gcs4"), 0);
	assert_int_equal(routes_flow_deliver_addr(f, "gcs4", &ss, &len), 0);
	assert_string_equal(fmt_addr(&ss, buf), "127.0.0.1:5600");
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(routes_flow_deliver_addr(f, "gcs5", &ss, &len), 0);
	assert_string_equal(fmt_addr(&ss, buf), "192.0.2.7:5601");
	assert_int_equal(routes_flow_deliver_addr(f, "drone3", &ss, &len), -ENOENT);
	routes_free(r);
}

static void test_routes_flow_helpers_treat_members_as_both_sides(void **state)
{
	struct routes *r = parse_ok(FIX_HEAD "flows: ( { name = \"m\"; proto = \"udp\"; "
					     "port = 14550; members = [\"drone3\", \"gcs4\"]; "
					     "joinable = true; } );\n");
	const struct routes_flow *f = &r->flows[0];

	(void)state;
	assert_true(routes_flow_is_source(f, "gcs4"));
	assert_true(routes_flow_is_sink(f, "gcs4"));
	assert_int_equal(routes_flow_listen_port(f, "drone3"), 14550);
	assert_true(f->is_joinable_all);
	routes_free(r);
}

#define FLOW_V(loss)                                                                            \
	FIX_HEAD "flows: ( { name = \"v\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; " \
		 "to = [\"gcs4\"]; impair = { loss = " loss "; }; } );\n"

static void test_routes_flow_equal_notices_any_change(void **state)
{
	struct routes *a = parse_ok(FLOW_V("0.1"));
	struct routes *b = parse_ok("\n\n" FLOW_V("0.1"));
	struct routes *c = parse_ok(FLOW_V("0.2"));

	(void)state;
	assert_true(routes_flow_equal(&a->flows[0], &b->flows[0])); /* line differs only */
	assert_false(routes_flow_equal(&a->flows[0], &c->flows[0]));
	routes_free(a);
	routes_free(b);
	routes_free(c);
}

static void test_routes_load_resolves_key_file_next_to_the_config(void **state)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct routes *r;

	(void)state;
	diag_clear(&d);
	r = routes_load("config/examples/routes.conf", &d);
	if (!r) {
		fail_msg("%s", diag_format(&d, buf, sizeof(buf)));
	}
	assert_string_equal(r->path, "config/examples/routes.conf");
	assert_string_equal(r->base_dir, "config/examples");
	assert_string_equal(r->server.key_file, "config/examples/server.key");
	assert_true(r->server.has_key);
	routes_free(r);
}

/* state_file resolves as key_file does; "" says the server keeps none. */
static void test_routes_state_file_resolves_next_to_the_config(void **state)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{"relay.state", "config/examples/relay.state"},
		{"/var/lib/wormhole/relay.state", "/var/lib/wormhole/relay.state"},
		{"", ""},
	};
	char text[512], buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct routes *r;

		snprintf(text, sizeof(text),
			 "server: { listen = \"203.0.113.10:7400\"; key_file = \"server.key\"; "
			 "state_file = \"%s\"; };\n" FIX_CLIENTS,
			 cases[i].value);
		diag_clear(&d);
		r = routes_parse_text(text, strlen(text), "t.conf", "config/examples", false, &d);
		if (!r) {
			fail_msg("%s", diag_format(&d, buf, sizeof(buf)));
		}
		assert_true(r->server.has_state_file);
		assert_string_equal(r->server.state_file, cases[i].want);
		routes_free(r);
	}
}

static void test_routes_load_reports_a_missing_key_file_at_its_line(void **state)
{
	static const char text[] = "server: {\n  listen = \"127.0.0.1:7400\";\n"
				   "  key_file = \"missing.key\";\n};\n";
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];

	(void)state;
	diag_clear(&d);
	assert_null(routes_parse_text(text, strlen(text), "r.conf", "/nonexistent", true, &d));
	assert_string_equal(diag_format(&d, buf, sizeof(buf)),
			    "r.conf:3: server.key_file \"/nonexistent/missing.key\": cannot "
			    "read: No such file or directory");
}

static void test_routes_load_reports_a_missing_file(void **state)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];

	(void)state;
	diag_clear(&d);
	assert_null(routes_load("/nonexistent/routes.conf", &d));
	assert_string_equal(diag_format(&d, buf, sizeof(buf)),
			    "/nonexistent/routes.conf: cannot read: No such file or directory");
}

/* A FIFO saved where routes.conf was would block open() until a writer
 * came (the server read it on its loop and hung); a device is no config
 * file either. Both are refused at once. */
static void test_routes_load_refuses_a_fifo_or_device_without_waiting(void **state)
{
	char dir[] = "/tmp/test_routes.XXXXXX";
	char fifo[sizeof(dir) + 16];
	char want[sizeof(fifo) + 64];
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct diag d;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/routes.conf", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	diag_clear(&d);
	assert_null(routes_load(fifo, &d));
	snprintf(want, sizeof(want), "%s: cannot read: not a regular file", fifo);
	assert_string_equal(diag_format(&d, buf, sizeof(buf)), want);
	diag_clear(&d);
	assert_null(routes_load("/dev/null", &d));
	assert_string_equal(diag_format(&d, buf, sizeof(buf)),
			    "/dev/null: cannot read: not a regular file");
	unlink(fifo);
	rmdir(dir);
}

/* A block comment that never ends made libconfig drop the rest of the file
 * silently: a half-written save applied with its flows gone. */
static void test_routes_refuses_an_unterminated_block_comment_at_its_start(void **state)
{
	static const char text[] = FIX_SERVER "/* flows\n\n" FIX_CLIENTS;
	static const char closed[] = FIX_SERVER "/* flows */\n" FIX_CLIENTS;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	char want[64];
	struct diag d;
	struct routes *r;
	int line = 1;

	(void)state;
	for (const char *p = FIX_SERVER; *p; p++) {
		line += *p == '\n';
	}
	diag_clear(&d);
	assert_null(routes_parse_text(text, strlen(text), "routes.conf", NULL, false, &d));
	snprintf(want, sizeof(want), "routes.conf:%d: unterminated /* comment", line);
	assert_string_equal(diag_format(&d, buf, sizeof(buf)), want);
	diag_clear(&d);
	r = routes_parse_text(closed, strlen(closed), "routes.conf", NULL, false, &d);
	assert_non_null(r);
	routes_free(r);
}

/* README "routes.conf": a file holds at most 10,000 settings, a client
 * entry counts three ("id =", "{", "key ="), so about 3,300 clients. */
static char *clients_text(size_t n)
{
	size_t cap = sizeof(FIX_SERVER) + 16 + n * 80;
	char *text = malloc(cap);
	size_t used = (size_t)snprintf(text, cap, "%sclients: {\n", FIX_SERVER);

	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
		char b64[sodium_base64_ENCODED_LEN(sizeof(pk), sodium_base64_VARIANT_ORIGINAL)];

		crypto_box_keypair(pk, sk);
		sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
		used += (size_t)snprintf(text + used, cap - used, "c%zu = { key = \"%s\"; };\n", i,
					 b64);
	}
	snprintf(text + used, cap - used, "};\n");
	return text;
}

static void test_routes_holds_about_3300_clients(void **state)
{
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	char *text = clients_text(3300);
	struct diag d;
	struct routes *r;

	(void)state;
	assert_int_equal(sodium_init() >= 0, 1);
	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "routes.conf", NULL, false, &d);
	if (!r) {
		fail_msg("%s", diag_format(&d, buf, sizeof(buf)));
	}
	assert_int_equal(r->n_clients, 3300);
	routes_free(r);
	free(text);
	text = clients_text(3340);
	diag_clear(&d);
	assert_null(routes_parse_text(text, strlen(text), "routes.conf", NULL, false, &d));
	assert_non_null(strstr(diag_format(&d, buf, sizeof(buf)), "too many settings (max 10000)"));
	free(text);
}

static void test_routes_parse_text_needs_no_terminating_nul(void **state)
{
	char *text = malloc(sizeof(FIX_SERVER) - 1);
	struct diag d;
	struct routes *r;

	(void)state;
	memcpy(text, FIX_SERVER, sizeof(FIX_SERVER) - 1);
	diag_clear(&d);
	r = routes_parse_text(text, sizeof(FIX_SERVER) - 1, "t.conf", NULL, false, &d);
	assert_non_null(r);
	routes_free(r);
	free(text);
}

static void test_routes_free_accepts_null(void **state)
{
	(void)state;
	routes_free(NULL);
}

static void test_routes_name_rule_matches_the_design(void **state)
{
	(void)state;
	assert_true(routes_name_is_valid("drone3"));
	assert_true(routes_name_is_valid("3dr_one.a-b"));
	assert_true(routes_name_is_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
	assert_false(routes_name_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));
	assert_false(routes_name_is_valid(""));
	assert_false(routes_name_is_valid("-x"));
	assert_false(routes_name_is_valid("_x"));
	assert_false(routes_name_is_valid("a b"));
	assert_false(routes_name_is_valid("a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_parses_the_design_example),
		cmocka_unit_test(test_routes_fills_in_defaults),
		cmocka_unit_test(test_routes_accepts_empty_clients_and_flows),
		cmocka_unit_test(test_routes_reads_every_optional_flow_key),
		cmocka_unit_test(test_routes_reads_floats_hex_and_64_bit_integers),
		cmocka_unit_test(test_routes_flow_helpers_answer_for_from_to_flows),
		cmocka_unit_test(test_routes_flow_helpers_treat_members_as_both_sides),
		cmocka_unit_test(test_routes_flow_equal_notices_any_change),
		cmocka_unit_test(test_routes_load_resolves_key_file_next_to_the_config),
		cmocka_unit_test(test_routes_state_file_resolves_next_to_the_config),
		cmocka_unit_test(test_routes_load_reports_a_missing_key_file_at_its_line),
		cmocka_unit_test(test_routes_load_reports_a_missing_file),
		cmocka_unit_test(test_routes_load_refuses_a_fifo_or_device_without_waiting),
		cmocka_unit_test(test_routes_refuses_an_unterminated_block_comment_at_its_start),
		cmocka_unit_test(test_routes_holds_about_3300_clients),
		cmocka_unit_test(test_routes_parse_text_needs_no_terminating_nul),
		cmocka_unit_test(test_routes_free_accepts_null),
		cmocka_unit_test(test_routes_name_rule_matches_the_design),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
