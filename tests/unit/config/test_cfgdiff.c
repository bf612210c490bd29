/* test_cfgdiff: differences between two routes (config/cfgdiff.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/diag.h"
#include "config/cfgdiff.h"
#include "config/routes.h"
#include "routes_fixture.h"

#define MAVLINK \
	"{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = [\"drone3\", \"gcs4\"]; }"
#define VIDEO                                                                                      \
	"{ name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; to = [\"gcs4\"]; " \
	"}"
#define SSH \
	"{ name = \"ssh\"; proto = \"tcp\"; port = 2222; from = [\"gcs4\"]; to = [\"drone3\"]; }"

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

/* Diff old -> new and compare the one-line summary. */
static void expect_diff(const char *old_text, const char *new_text, const char *want)
{
	struct routes *a = parse_ok(old_text);
	struct routes *b = parse_ok(new_text);
	struct cfgdiff d;
	char line[256];
	size_t n;

	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	n = cfgdiff_format(&d, line, sizeof(line));
	assert_string_equal(line, want);
	assert_int_equal(n, strlen(want));
	cfgdiff_fini(&d);
	routes_free(a);
	routes_free(b);
}

static void test_cfgdiff_of_identical_configs_is_empty(void **state)
{
	static const char text[] = FIX_HEAD "flows: ( " MAVLINK ", " VIDEO " );\n";
	struct routes *a = parse_ok(text);
	struct routes *b =
		parse_ok("# moved down\n\n" FIX_HEAD "flows: ( " VIDEO ", " MAVLINK " );\n");
	struct cfgdiff d;
	char line[64];

	(void)state;
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	assert_true(cfgdiff_is_empty(&d));
	cfgdiff_format(&d, line, sizeof(line));
	assert_string_equal(line, "no changes");
	cfgdiff_fini(&d);
	routes_free(a);
	routes_free(b);
}

static void test_cfgdiff_lists_added_removed_and_changed_flows(void **state)
{
	(void)state;
	expect_diff(FIX_HEAD "flows: ( " MAVLINK ", " SSH " );\n",
		    FIX_HEAD "flows: ( " VIDEO ", { name = \"mavlink\"; proto = \"udp\"; port = "
			     "14551; members = [\"drone3\", \"gcs4\"]; } );\n",
		    "flows +video -ssh ~mavlink");
}

static void test_cfgdiff_leaves_unchanged_flows_out(void **state)
{
	struct routes *a = parse_ok(FIX_HEAD "flows: ( " MAVLINK ", " VIDEO ", " SSH " );\n");
	struct routes *b = parse_ok(FIX_HEAD "flows: ( " MAVLINK ", " SSH " );\n");
	struct cfgdiff d;

	(void)state;
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	assert_int_equal(d.n_flows_removed, 1);
	assert_string_equal(d.flows_removed[0], "video");
	assert_int_equal(d.n_flows_added, 0);
	assert_int_equal(d.n_flows_changed, 0);
	assert_false(d.needs_restart);
	cfgdiff_fini(&d);
	routes_free(a);
	routes_free(b);
}

static void test_cfgdiff_sees_changes_in_optional_flow_keys(void **state)
{
	(void)state;
	expect_diff(FIX_HEAD "flows: ( " VIDEO " );\n",
		    FIX_HEAD "flows: ( { name = \"video\"; proto = \"udp\"; port = 5600; from = "
			     "[\"drone3\"]; to = [\"gcs4\"]; impair = { loss = 0.1; }; } );\n",
		    "flows ~video");
	expect_diff(FIX_HEAD "flows: ( " VIDEO " );\n",
		    FIX_HEAD "flows: ( { name = \"video\"; proto = \"udp\"; port = 5600; from = "
			     "[\"drone3\"]; to = [\"gcs4\", \"gcs5\"]; } );\n",
		    "flows ~video");
}

static void test_cfgdiff_lists_added_removed_and_rekeyed_clients(void **state)
{
	(void)state;
	expect_diff(FIX_SERVER "clients: { drone3 = { key = \"" FIX_KEY_DRONE3 "\"; }; "
			       "gcs4 = { key = \"" FIX_KEY_GCS4 "\"; }; };\n",
		    FIX_SERVER "clients: { drone3 = { key = \"" FIX_KEY_GCS5 "\"; }; "
			       "gcs5 = { key = \"" FIX_KEY_GCS4 "\"; }; };\n",
		    "clients +gcs5 -gcs4 ~drone3");
}

static void test_cfgdiff_flags_settings_that_need_a_restart(void **state)
{
	struct routes *a = parse_ok(FIX_SERVER);
	struct routes *b =
		parse_ok("server: { listen = [\"203.0.113.10:7500\", \"203.0.113.11:7400\"]; "
			 "key_file = \"other.key\"; relay_a = \"2000-2099\"; alt_port = 7402; "
			 "state_file = \"\"; api = { listen = \"127.0.0.1:7481\"; }; };\n");
	struct cfgdiff d;

	(void)state;
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	assert_true(d.needs_restart);
	assert_string_equal(d.restart_what, "listen,alt_port,key,state_file,relay_a,api.listen");
	assert_int_equal(d.restart_line, 1); /* listen's: all on line 1 here */
	assert_false(d.api_tokens_changed);
	assert_false(cfgdiff_is_empty(&d));
	cfgdiff_fini(&d);
	routes_free(a);
	routes_free(b);
}

/* A refusal names the line of the setting that changed, not the server
 * group's (nor none). */
static void test_cfgdiff_gives_the_line_of_the_setting_that_needs_a_restart(void **state)
{
	struct routes *a = parse_ok(FIX_SERVER);
	struct routes *b = parse_ok("server: {\n"
				    "  listen = [\"203.0.113.10:7400\", \"203.0.113.11:7400\"];\n"
				    "  key_file = \"server.key\";\n"
				    "  alt_port = 7402;\n"
				    "  api = {\n"
				    "    listen = \"127.0.0.1:7481\"; };\n"
				    "};\n");
	struct cfgdiff d;

	(void)state;
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	assert_string_equal(d.restart_what, "alt_port,api.listen");
	assert_int_equal(d.restart_line, 4);
	cfgdiff_fini(&d);
	routes_free(b);
	b = parse_ok("server: {\n"
		     "  listen = [\"203.0.113.10:7400\", \"203.0.113.11:7400\"];\n"
		     "  key_file = \"server.key\";\n"
		     "  api = {\n"
		     "    listen = \"127.0.0.1:7481\"; };\n"
		     "};\n");
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	assert_string_equal(d.restart_what, "api.listen");
	assert_int_equal(d.restart_line, 4);
	cfgdiff_fini(&d);
	routes_free(a);
	routes_free(b);
}

/* key_file "server.key" and "./server.key" name one key: no restart. The
 * key itself decides when both were loaded. */
static void test_cfgdiff_compares_the_server_key_not_its_path(void **state)
{
	struct routes *a = parse_ok(FIX_SERVER);
	struct routes *b = parse_ok("server: { listen = [\"203.0.113.10:7400\", "
				    "\"203.0.113.11:7400\"]; key_file = \"./server.key\"; };\n");
	struct cfgdiff d;

	(void)state;
	a->server.has_key = true;
	b->server.has_key = true;
	memset(a->server.key, 0x42, sizeof(a->server.key));
	memset(b->server.key, 0x42, sizeof(b->server.key));
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	assert_false(d.needs_restart);
	assert_true(cfgdiff_is_empty(&d));
	cfgdiff_fini(&d);
	b->server.key[31] = 0x43;
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	assert_true(d.needs_restart);
	assert_string_equal(d.restart_what, "key");
	cfgdiff_fini(&d);
	routes_free(a);
	routes_free(b);
}

static void test_cfgdiff_public_addresses_need_a_restart(void **state)
{
	(void)state;
	expect_diff(
		FIX_SERVER,
		"server: { listen = [\"203.0.113.10:7400\", \"203.0.113.11:7400\"]; "
		"public = [\"198.51.100.10\", \"198.51.100.11\"]; key_file = \"server.key\"; };\n",
		"restart(public)");
}

static void test_cfgdiff_applies_token_and_keepalive_changes_live(void **state)
{
	(void)state;
	expect_diff("server: { listen = [\"203.0.113.10:7400\", \"203.0.113.11:7400\"]; "
		    "key_file = \"server.key\"; api = { tokens = [\"0123456789abcdef\"]; }; };\n",
		    "server: { listen = [\"203.0.113.10:7400\", \"203.0.113.11:7400\"]; "
		    "key_file = \"server.key\"; keepalive_s = 10; "
		    "api = { read_tokens = [\"0123456789abcdef\"]; }; };\n",
		    "api_tokens keepalive");
}

/* The API runs only when it had a token at start: a first token added by
 * a reload was logged as applied while nothing listened. Turning it on or
 * off needs a restart, like api.listen. */
static void test_cfgdiff_turning_the_api_on_or_off_needs_a_restart(void **state)
{
	static const char on[] = "server: { listen = [\"203.0.113.10:7400\", "
				 "\"203.0.113.11:7400\"]; key_file = \"server.key\"; "
				 "api = { listen = \"127.0.0.1:18491\"; tokens = "
				 "[\"0123456789abcdef\"]; }; };\n";
	static const char off[] = "server: { listen = [\"203.0.113.10:7400\", "
				  "\"203.0.113.11:7400\"]; key_file = \"server.key\"; "
				  "api = { listen = \"127.0.0.1:18491\"; tokens = []; }; };\n";

	(void)state;
	expect_diff(off, on, "api_tokens restart(api (on/off))");
	expect_diff(on, off, "api_tokens restart(api (on/off))");
}

static void test_cfgdiff_format_combines_everything_in_one_line(void **state)
{
	(void)state;
	expect_diff(FIX_HEAD "flows: ( " MAVLINK " );\n",
		    "server: { listen = \"203.0.113.10:7400\"; key_file = \"server.key\"; "
		    "};\n" FIX_CLIENTS "flows: ( " MAVLINK ", " VIDEO " );\n",
		    "flows +video restart(listen)");
}

static void test_cfgdiff_format_truncates_safely(void **state)
{
	struct routes *a = parse_ok(FIX_HEAD);
	struct routes *b = parse_ok(FIX_HEAD "flows: ( " MAVLINK ", " VIDEO ", " SSH " );\n");
	struct cfgdiff d;
	char small[10];
	size_t n;

	(void)state;
	assert_int_equal(cfgdiff_routes(a, b, &d), 0);
	n = cfgdiff_format(&d, small, sizeof(small));
	assert_int_equal(n, strlen("flows +mavlink +ssh +video"));
	assert_string_equal(small, "flows +ma");
	assert_int_equal(cfgdiff_format(&d, NULL, 0), n);
	cfgdiff_fini(&d);
	cfgdiff_fini(NULL);
	routes_free(a);
	routes_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfgdiff_of_identical_configs_is_empty),
		cmocka_unit_test(test_cfgdiff_lists_added_removed_and_changed_flows),
		cmocka_unit_test(test_cfgdiff_leaves_unchanged_flows_out),
		cmocka_unit_test(test_cfgdiff_sees_changes_in_optional_flow_keys),
		cmocka_unit_test(test_cfgdiff_lists_added_removed_and_rekeyed_clients),
		cmocka_unit_test(test_cfgdiff_flags_settings_that_need_a_restart),
		cmocka_unit_test(test_cfgdiff_gives_the_line_of_the_setting_that_needs_a_restart),
		cmocka_unit_test(test_cfgdiff_compares_the_server_key_not_its_path),
		cmocka_unit_test(test_cfgdiff_public_addresses_need_a_restart),
		cmocka_unit_test(test_cfgdiff_applies_token_and_keepalive_changes_live),
		cmocka_unit_test(test_cfgdiff_turning_the_api_on_or_off_needs_a_restart),
		cmocka_unit_test(test_cfgdiff_format_combines_everything_in_one_line),
		cmocka_unit_test(test_cfgdiff_format_truncates_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
