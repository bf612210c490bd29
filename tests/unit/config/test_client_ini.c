/* test_client_ini: client.ini parsing and validation (config/client_ini.c,
 * config/iniscan.c), including the inih traps (long lines, long names,
 * indented lines, text after a section header). Diag file "c.ini". */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/b64key.h"
#include "common/diag.h"
#include "config/client_ini.h"
#include "routes_fixture.h"

#define PRIV_DRONE3 "kgxz9B5Z9ja3ZnxUCriSBalxdItOvdEoVKczGyQhfUQ="

/* Lines 1-5. */
#define INI_HEAD                       \
	"[client]\n"                   \
	"id = drone3\n"                \
	"key = " PRIV_DRONE3 "\n"      \
	"server = 203.0.113.10:7400\n" \
	"server_key = " FIX_KEY_SERVER_PUB "\n"

struct ini_case {
	const char *text;
	const char *want;
};

static struct client_ini *parse_ok(const char *text)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct client_ini *c;

	diag_clear(&d);
	c = client_ini_parse_text(text, strlen(text), "c.ini", NULL, false, &d);
	if (!c) {
		fail_msg("unexpected error: %s", diag_format(&d, buf, sizeof(buf)));
	}
	return c;
}

static void check_cases(const struct ini_case *cases, size_t n)
{
	char got[DIAG_FILE_MAX + DIAG_MSG_MAX];

	for (size_t i = 0; i < n; i++) {
		struct diag d;
		struct client_ini *c;

		diag_clear(&d);
		c = client_ini_parse_text(cases[i].text, strlen(cases[i].text), "c.ini", NULL,
					  false, &d);
		if (c) {
			client_ini_free(c);
			fail_msg("case %zu accepted; want \"%s\"", i, cases[i].want);
		}
		diag_format(&d, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0) {
			fail_msg("case %zu:\n  got  \"%s\"\n  want \"%s\"", i, got, cases[i].want);
		}
	}
}

static void test_client_ini_parses_the_design_example(void **state)
{
	struct client_ini *c =
		parse_ok(INI_HEAD "api = 127.1.0.1:7070\n"
				  "log_level = debug\n"
				  "[peers]\n"
				  "gcs4 = " FIX_KEY_GCS4 "\n"
				  "[uplink lte1]\n"
				  "interface = wwan0        ; or: source = 10.20.0.2\n"
				  "[uplink lte2]\n"
				  "source = 10.20.0.2\n");
	char buf[ADDR_TEXT_MAX];
	uint8_t key[32];

	(void)state;
	assert_string_equal(c->id, "drone3");
	assert_true(c->has_key);
	assert_false(c->has_key_file);
	assert_int_equal(b64key_decode(PRIV_DRONE3, key), 0);
	assert_memory_equal(c->key, key, 32);
	assert_int_equal(c->n_servers, 1);
	assert_string_equal(addr_format((struct sockaddr *)&c->servers[0], buf, sizeof(buf)),
			    "203.0.113.10:7400");
	assert_int_equal(b64key_decode(FIX_KEY_SERVER_PUB, key), 0);
	assert_memory_equal(c->server_key, key, 32);
	assert_string_equal(addr_format((struct sockaddr *)&c->api, buf, sizeof(buf)),
			    "127.1.0.1:7070");
	assert_true(c->has_log_level);
	assert_string_equal(c->log_level, "debug");
	assert_int_equal(c->n_pins, 1);
	assert_non_null(client_ini_find_pin(c, "gcs4"));
	assert_null(client_ini_find_pin(c, "gcs5"));
	assert_int_equal(c->n_uplinks, 2);
	assert_string_equal(c->uplinks[0].name, "lte1");
	assert_true(c->uplinks[0].has_interface);
	assert_string_equal(c->uplinks[0].interface, "wwan0");
	assert_false(c->uplinks[1].has_interface);
	assert_string_equal(addr_format((struct sockaddr *)&c->uplinks[1].source, buf, sizeof(buf)),
			    "10.20.0.2:0");
	client_ini_free(c);
}

static void test_client_ini_fills_in_defaults(void **state)
{
	struct client_ini *c = parse_ok(INI_HEAD);
	char buf[ADDR_TEXT_MAX];

	(void)state;
	assert_string_equal(addr_format((struct sockaddr *)&c->api, buf, sizeof(buf)),
			    "127.1.0.1:7070");
	assert_false(c->has_log_level);
	assert_int_equal(c->n_pins, 0);
	assert_int_equal(c->n_uplinks, 0);
	client_ini_free(c);
}

static void test_client_ini_takes_any_loopback_api_address(void **state)
{
	static const char *const apis[] = {"127.0.0.1:7070", "127.255.0.9:1", "[::1]:7070"};
	char text[512];
	char buf[ADDR_TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		struct client_ini *c;

		snprintf(text, sizeof(text), INI_HEAD "api = %s\n", apis[i]);
		c = parse_ok(text);
		assert_string_equal(addr_format((struct sockaddr *)&c->api, buf, sizeof(buf)),
				    apis[i]);
		client_ini_free(c);
	}
}

static void test_client_ini_takes_ids_that_routes_conf_can_name(void **state)
{
	static const char *const ids[] = {"d", "Drone-3_b", "a2345678901234567890123456789012"};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct client_ini *c;

		snprintf(text, sizeof(text),
			 "[client]\nid = %s\nkey = " PRIV_DRONE3 "\nserver = 203.0.113.10:7400\n"
			 "server_key = " FIX_KEY_SERVER_PUB "\n[peers]\n%s-peer = " FIX_KEY_GCS4
			 "\n",
			 ids[i], i == 2 ? "x" : ids[i]);
		c = parse_ok(text);
		assert_string_equal(c->id, ids[i]);
		client_ini_free(c);
	}
}

static void test_client_ini_reads_several_servers(void **state)
{
	struct client_ini *c = parse_ok("[client]\nid = d\nkey = " PRIV_DRONE3 "\n"
					"server = 203.0.113.10:7400, [2001:db8::1]:7400 ,"
					"203.0.113.11:7400\n"
					"server_key = " FIX_KEY_SERVER_PUB "\n");
	char buf[ADDR_TEXT_MAX];

	(void)state;
	assert_int_equal(c->n_servers, 3);
	assert_string_equal(addr_format((struct sockaddr *)&c->servers[1], buf, sizeof(buf)),
			    "[2001:db8::1]:7400");
	client_ini_free(c);
}

/* Names are kept for the client to resolve; the sockets' family is the
 * first numeric address's, else the first uplink source's, else IPv4 and
 * not fixed. */
static void test_client_ini_keeps_server_names_and_picks_the_family(void **state)
{
	struct client_ini *c = parse_ok("[client]\nid = d\nkey = " PRIV_DRONE3 "\n"
					"server = relay.example.com:7400, [2001:db8::1]:7401, "
					"relay.example.com:7402, 203.0.113.10:7400\n"
					"server_key = " FIX_KEY_SERVER_PUB "\n");

	(void)state;
	assert_int_equal(c->n_servers, 4);
	assert_string_equal(c->server_names[0], "relay.example.com");
	assert_int_equal(c->servers[0].ss_family, 0);
	assert_int_equal(c->server_ports[0], 7400);
	assert_string_equal(c->server_names[1], "");
	assert_int_equal(c->server_ports[1], 7401);
	assert_int_equal(c->server_ports[2], 7402);
	assert_int_equal(c->family, AF_INET6);
	assert_false(c->is_family_auto);
	client_ini_free(c);

	/* Names alone (and uplinks by interface): IPv4 to start with, and
	 * the running client follows the names. */
	c = parse_ok("[client]\nid = d\nkey = " PRIV_DRONE3 "\nserver = relay.example.com:7400\n"
		     "server_key = " FIX_KEY_SERVER_PUB "\n[uplink a]\ninterface = eth0\n");
	assert_int_equal(c->family, AF_INET);
	assert_true(c->is_family_auto);
	client_ini_free(c);
	c = parse_ok("[client]\nid = d\nkey = " PRIV_DRONE3 "\nserver = relay.example.com:7400\n"
		     "server_key = " FIX_KEY_SERVER_PUB "\n[uplink a]\ninterface = eth0\n"
		     "[uplink b]\nsource = 2001:db8::5\n");
	assert_int_equal(c->family, AF_INET6);
	assert_false(c->is_family_auto);
	client_ini_free(c);
}

static void test_client_ini_takes_indented_keys_as_keys(void **state)
{
	/* inih would read an indented line as a continuation of the value above. */
	struct client_ini *c = parse_ok("[client]\n  id = drone3\n  key = " PRIV_DRONE3 "\n"
					"\tserver = 203.0.113.10:7400\r\n"
					"  server_key = " FIX_KEY_SERVER_PUB "\n");

	(void)state;
	assert_string_equal(c->id, "drone3");
	client_ini_free(c);
}

static void test_client_ini_accepts_a_line_of_199_characters(void **state)
{
	char text[1024];
	char comment[200];
	struct client_ini *c;

	(void)state;
	memset(comment, 'x', sizeof(comment));
	comment[0] = ';';
	comment[199] = '\0';
	snprintf(text, sizeof(text), "%s\n" INI_HEAD, comment);
	c = parse_ok(text);
	client_ini_free(c);
}

static void test_client_ini_rejects_inih_traps(void **state)
{
	static char long_line[400];
	static char long_section[400];
	static char long_key[400];
	struct ini_case cases[] = {
		{long_line, "c.ini:6: line too long (200 characters, max 199)"},
		{long_section, "c.ini:6: section name too long (50 characters, max 49)"},
		{long_key, "c.ini:6: key name too long (50 characters, max 49)"},
		{INI_HEAD "[peers] junk\n", "c.ini:6: unexpected text after section header"},
		{INI_HEAD "[peers\n", "c.ini:6: section header without \"]\""},
		{INI_HEAD "api 127.1.0.1\n", "c.ini:6: expected \"key = value\""},
		{INI_HEAD "= 1\n", "c.ini:6: missing key name before \"=\""},
	};

	(void)state;
	snprintf(long_line, sizeof(long_line), INI_HEAD "api = %0200d\n", 0);
	long_line[strlen(INI_HEAD) + 200] = '\n';
	long_line[strlen(INI_HEAD) + 201] = '\0';
	snprintf(long_section, sizeof(long_section), INI_HEAD "[uplink %043d]\n", 0);
	snprintf(long_key, sizeof(long_key), INI_HEAD "%050d = 1\n", 0);
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_client_ini_rejects_bad_sections_and_keys(void **state)
{
	static const struct ini_case cases[] = {
		{"id = x\n" INI_HEAD,
		 "c.ini:1: key \"id\" outside a section (start with [client])"},
		{INI_HEAD "[server]\n",
		 "c.ini:6: unknown section [server] (expected [client], [peers] or [uplink NAME])"},
		{INI_HEAD "[client]\n", "c.ini:6: duplicate section [client] (first at line 1)"},
		{INI_HEAD "colour = blue\n", "c.ini:6: [client]: unknown key \"colour\""},
		{INI_HEAD "id = drone4\n",
		 "c.ini:6: [client]: duplicate key \"id\" (first at line 2)"},
		{INI_HEAD "[uplink lte1]\nifname = wwan0\n",
		 "c.ini:7: [uplink lte1]: unknown key \"ifname\""},
		{INI_HEAD "[uplink lte1]\ninterface = wwan0\n[uplink  lte1]\ninterface = wwan1\n",
		 "c.ini:8: duplicate section [uplink lte1] (first at line 6)"},
		{INI_HEAD "[uplink bad/name]\ninterface = wwan0\n",
		 "c.ini:6: [uplink bad/name]: invalid uplink name \"bad/name\""},
		{INI_HEAD "[peers]\ngcs4 = " FIX_KEY_GCS4 "\ngcs4 = " FIX_KEY_GCS4 "\n",
		 "c.ini:8: [peers]: duplicate key \"gcs4\" (first at line 7)"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_client_ini_rejects_missing_and_conflicting_keys(void **state)
{
	static const struct ini_case cases[] = {
		{"[peers]\n", "c.ini:1: missing [client] section"},
		{"[client]\nkey = " PRIV_DRONE3
		 "\nserver = 203.0.113.10:7400\nserver_key = " FIX_KEY_SERVER_PUB "\n",
		 "c.ini:1: [client]: missing \"id\""},
		{"[client]\nid = d\nkey = " PRIV_DRONE3 "\nserver_key = " FIX_KEY_SERVER_PUB "\n",
		 "c.ini:1: [client]: missing \"server\""},
		{"[client]\nid = d\nkey = " PRIV_DRONE3 "\nserver = 203.0.113.10:7400\n",
		 "c.ini:1: [client]: missing \"server_key\""},
		{"[client]\nid = d\nserver = 203.0.113.10:7400\nserver_key = " FIX_KEY_SERVER_PUB
		 "\n",
		 "c.ini:1: [client]: missing \"key\" (or \"key_file\")"},
		{INI_HEAD "key_file = drone3.key\n",
		 "c.ini:6: [client]: set either \"key\" or \"key_file\", not both"},
		{INI_HEAD "[uplink lte1]\n", "c.ini:6: [uplink lte1]: missing \"interface\" (or "
					     "\"source\")"},
		{INI_HEAD "[uplink lte1]\ninterface = wwan0\nsource = 10.0.0.1\n",
		 "c.ini:8: [uplink lte1]: set either \"interface\" or \"source\", not both"},
		{INI_HEAD "[uplink a]\ninterface = wwan0\n[uplink b]\ninterface = wwan0\n",
		 "c.ini:8: [uplink b]: same interface as [uplink a]"},
		{INI_HEAD "[peers]\ndrone3 = " FIX_KEY_GCS4 "\n",
		 "c.ini:7: [peers]: \"drone3\" is this client's own id"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_client_ini_rejects_bad_values(void **state)
{
	static const struct ini_case cases[] = {
		{"[client]\nid = drone 3\n",
		 "c.ini:2: [client]: id: invalid id \"drone 3\" (1-32 letters, digits, '_' or '-', "
		 "starting with a letter)"},
		{"[client]\nid = 3drone\n",
		 "c.ini:2: [client]: id: invalid id \"3drone\" (1-32 letters, digits, '_' or '-', "
		 "starting with a letter)"},
		{"[client]\nid = a.b\n",
		 "c.ini:2: [client]: id: invalid id \"a.b\" (1-32 letters, digits, '_' or '-', "
		 "starting with a letter)"},
		{"[client]\nid = _a\n",
		 "c.ini:2: [client]: id: invalid id \"_a\" (1-32 letters, digits, '_' or '-', "
		 "starting with a letter)"},
		{"[client]\nid = a23456789012345678901234567890123\n",
		 "c.ini:2: [client]: id: invalid id \"a23456789012345678901234567890123\" (1-32 "
		 "letters, digits, '_' or '-', starting with a letter)"},
		{INI_HEAD "[peers]\n4gcs = " FIX_KEY_GCS4 "\n",
		 "c.ini:7: [peers]: invalid client id \"4gcs\" (1-32 letters, digits, '_' or '-', "
		 "starting with a letter)"},
		{INI_HEAD "[peers]\ngcs.4 = " FIX_KEY_GCS4 "\n",
		 "c.ini:7: [peers]: invalid client id \"gcs.4\" (1-32 letters, digits, '_' or '-', "
		 "starting with a letter)"},
		{"[client]\nkey = AAAA\n", "c.ini:2: [client]: key: not a base64 X25519 key"},
		{"[client]\nserver_key = " PRIV_DRONE3 "x\n",
		 "c.ini:2: [client]: server_key: not a base64 X25519 key"},
		{"[client]\nserver = 203.0.113.10\n",
		 "c.ini:2: [client]: server: invalid address \"203.0.113.10\" (expected IP:PORT, "
		 "[IPv6]:PORT or NAME:PORT, port 1..65535)"},
		{"[client]\nserver = 203.0.113.310:7400\n",
		 "c.ini:2: [client]: server: invalid address \"203.0.113.310:7400\" (expected "
		 "IP:PORT, [IPv6]:PORT or NAME:PORT, port 1..65535)"},
		{"[client]\nserver = wormhole_server:7400\n",
		 "c.ini:2: [client]: server: invalid address \"wormhole_server:7400\" (expected "
		 "IP:PORT, [IPv6]:PORT or NAME:PORT, port 1..65535)"},
		{"[client]\nserver = relay.example.com\n",
		 "c.ini:2: [client]: server: invalid address \"relay.example.com\" (expected "
		 "IP:PORT, [IPv6]:PORT or NAME:PORT, port 1..65535)"},
		{"[client]\nserver = relay.example.com:7400, RELAY.example.com.:7400\n",
		 "c.ini:2: [client]: server: \"RELAY.example.com.:7400\" is listed twice"},
		{"[client]\nserver = 203.0.113.10:1, 203.0.113.10:1\n",
		 "c.ini:2: [client]: server: \"203.0.113.10:1\" is listed twice"},
		{"[client]\nserver = 1.1.1.1:1,1.1.1.1:2,1.1.1.1:3,1.1.1.1:4,1.1.1.1:5,1.1.1.1:6,"
		 "1.1.1.1:7,1.1.1.1:8,1.1.1.1:9\n",
		 "c.ini:2: [client]: server: more than 8 addresses"},
		{"[client]\nserver = ,\n", "c.ini:2: [client]: server: no address given"},
		{"[client]\napi = 127.1.0.1:0\n",
		 "c.ini:2: [client]: api: invalid address \"127.1.0.1:0\" (expected IP:PORT, or "
		 "[IPv6]:PORT, port 1..65535)"},
		{"[client]\napi = 0.0.0.0:18730\n",
		 "c.ini:2: [client]: api: \"0.0.0.0:18730\" is not a loopback address (the local "
		 "API has no token: loopback only, 127.0.0.0/8 or [::1])"},
		{"[client]\napi = 203.0.113.5:7070\n",
		 "c.ini:2: [client]: api: \"203.0.113.5:7070\" is not a loopback address (the "
		 "local API has no token: loopback only, 127.0.0.0/8 or [::1])"},
		{"[client]\napi = [::]:7070\n",
		 "c.ini:2: [client]: api: \"[::]:7070\" is not a loopback address (the local "
		 "API has no token: loopback only, 127.0.0.0/8 or [::1])"},
		{"[client]\napi = [::ffff:203.0.113.5]:7070\n",
		 "c.ini:2: [client]: api: \"[::ffff:203.0.113.5]:7070\" is not a loopback address "
		 "(the local API has no token: loopback only, 127.0.0.0/8 or [::1])"},
		{"[client]\nlog_level = loud\n",
		 "c.ini:2: [client]: log_level must be error, warn, "
		 "info, debug or trace (got \"loud\")"},
		{"[client]\nid =\n", "c.ini:2: [client]: id: empty value"},
		{INI_HEAD "[peers]\ngcs4 = nope\n",
		 "c.ini:7: [peers]: gcs4: not a base64 X25519 key"},
		{INI_HEAD "[uplink u]\ninterface = averyveryverylongname\n",
		 "c.ini:7: [uplink u]: invalid interface name \"averyveryverylongname\""},
		{INI_HEAD "[uplink u]\nsource = 10.0.0.1:5\n",
		 "c.ini:7: [uplink u]: source: invalid IP address \"10.0.0.1:5\""},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_client_ini_rejects_nul_bytes_and_huge_input(void **state)
{
	static const char with_nul[] = "[client]\nid = a\0b\n";
	char got[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct diag d;
	char *big = calloc(1, CLIENT_INI_FILE_MAX + 1);

	(void)state;
	diag_clear(&d);
	assert_null(
		client_ini_parse_text(with_nul, sizeof(with_nul) - 1, "c.ini", NULL, false, &d));
	assert_string_equal(diag_format(&d, got, sizeof(got)), "c.ini:2: contains a NUL byte");
	assert_non_null(big);
	diag_clear(&d);
	assert_null(client_ini_parse_text(big, CLIENT_INI_FILE_MAX + 1, "c.ini", NULL, false, &d));
	assert_string_equal(diag_format(&d, got, sizeof(got)),
			    "c.ini:1: file too large (more than 65536 bytes)");
	free(big);
}

static void test_client_ini_load_resolves_key_file_next_to_the_ini(void **state)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct client_ini *c;
	uint8_t key[32];

	(void)state;
	diag_clear(&d);
	c = client_ini_load("config/examples/drone3.ini", &d);
	if (!c) {
		fail_msg("%s", diag_format(&d, buf, sizeof(buf)));
	}
	assert_true(c->has_key_file);
	assert_true(c->has_key);
	assert_string_equal(c->key_file, "config/examples/drone3.key");
	assert_int_equal(b64key_decode(PRIV_DRONE3, key), 0);
	assert_memory_equal(c->key, key, 32);
	client_ini_free(c);
}

static void test_client_ini_reports_an_unreadable_key_file_at_its_line(void **state)
{
	static const char text[] =
		"[client]\nid = d\nkey_file = nope.key\n"
		"server = 203.0.113.10:7400\nserver_key = " FIX_KEY_SERVER_PUB "\n";
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];

	(void)state;
	diag_clear(&d);
	assert_null(client_ini_parse_text(text, strlen(text), "c.ini", "/nonexistent", true, &d));
	assert_string_equal(diag_format(&d, buf, sizeof(buf)),
			    "c.ini:3: [client]: key_file \"/nonexistent/nope.key\": cannot read: "
			    "No such file or directory");
}

static void test_client_ini_free_accepts_null(void **state)
{
	(void)state;
	client_ini_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_ini_parses_the_design_example),
		cmocka_unit_test(test_client_ini_fills_in_defaults),
		cmocka_unit_test(test_client_ini_takes_any_loopback_api_address),
		cmocka_unit_test(test_client_ini_takes_ids_that_routes_conf_can_name),
		cmocka_unit_test(test_client_ini_reads_several_servers),
		cmocka_unit_test(test_client_ini_keeps_server_names_and_picks_the_family),
		cmocka_unit_test(test_client_ini_takes_indented_keys_as_keys),
		cmocka_unit_test(test_client_ini_accepts_a_line_of_199_characters),
		cmocka_unit_test(test_client_ini_rejects_inih_traps),
		cmocka_unit_test(test_client_ini_rejects_bad_sections_and_keys),
		cmocka_unit_test(test_client_ini_rejects_missing_and_conflicting_keys),
		cmocka_unit_test(test_client_ini_rejects_bad_values),
		cmocka_unit_test(test_client_ini_rejects_nul_bytes_and_huge_input),
		cmocka_unit_test(test_client_ini_load_resolves_key_file_next_to_the_ini),
		cmocka_unit_test(test_client_ini_reports_an_unreadable_key_file_at_its_line),
		cmocka_unit_test(test_client_ini_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
