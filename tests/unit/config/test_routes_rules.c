/* test_routes_rules: every validation rule of routes.conf (config/routes.c,
 * serverdef.c, flowdef.c, cfgscan.c), each as one bad input and the exact
 * one-line diag it must give. Diag file "t.conf"; FIX_HEAD is lines 1-2. */
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
#include "common/diag.h"
#include "config/routes.h"
#include "routes_fixture.h"

struct rule_case {
	const char *text;
	const char *want;
};

#define FLOW(body) FIX_HEAD "flows: ( { " body " } );\n"
#define UDP_NN "name = \"m\"; proto = \"udp\"; port = 14550; members = [\"drone3\", \"gcs4\"]; "
#define SRV(body) "server: { listen = \"127.0.0.1:7400\"; key_file = \"k\"; " body " };\n"

static struct routes *parse_ok(const char *text)
{
	struct diag d;
	char got[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct routes *r;

	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "t.conf", NULL, false, &d);
	if (!r) {
		fail_msg("%s", diag_format(&d, got, sizeof(got)));
	}
	return r;
}

static void check_cases(const struct rule_case *cases, size_t n)
{
	char got[DIAG_FILE_MAX + DIAG_MSG_MAX];

	for (size_t i = 0; i < n; i++) {
		struct diag d;
		struct routes *r;

		diag_clear(&d);
		r = routes_parse_text(cases[i].text, strlen(cases[i].text), "t.conf", NULL, false,
				      &d);
		if (r) {
			routes_free(r);
			fail_msg("case %zu accepted; want \"%s\"", i, cases[i].want);
		}
		diag_format(&d, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0) {
			fail_msg("case %zu:\n  got  \"%s\"\n  want \"%s\"", i, got, cases[i].want);
		}
	}
}

static void test_routes_rejects_port_that_overflows_32_bits(void **state)
{
	static const struct rule_case cases[] = {
		/* 2^32 + 14550: libconfig 1.5 would read 14550. */
		{FLOW("name = \"m\"; proto = \"udp\"; port = 4294981846; members = [\"drone3\"];"),
		 "t.conf:3: integer 4294981846 is out of range (max 2147483647; write 4294981846L "
		 "for a 64-bit integer)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 0x1000038D6; members = [\"drone3\"];"),
		 "t.conf:3: integer 0x1000038D6 is out of range (max 2147483647; write "
		 "0x1000038D6L "
		 "for a 64-bit integer)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 4294981846L; members = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": port 4294981846 is out of range (1..65535)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 99999999999999999999L; members = "
		      "[\"drone3\"];"),
		 "t.conf:3: integer 99999999999999999999L is out of range (max "
		 "9223372036854775807)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = -2147483649; members = [\"drone3\"];"),
		 "t.conf:3: integer 2147483649 is out of range (max 2147483647; write 2147483649L "
		 "for a 64-bit integer)"},
		/* A seed in its range (0..2^63-1) but past 32 bits, as the client
		 * logs a drawn one: libconfig 1.5 would wrap it, so it needs L. */
		{FLOW(UDP_NN "impair = { seed = 3000000000; };"),
		 "t.conf:3: integer 3000000000 is out of range (max 2147483647; write 3000000000L "
		 "for a 64-bit integer)"},
		{FLOW(UDP_NN "impair = { seed = 9223372036854775808L; };"),
		 "t.conf:3: integer 9223372036854775808L is out of range (max "
		 "9223372036854775807)"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_rejects_raw_text_traps(void **state)
{
	static const struct rule_case cases[] = {
		{"@include \"/etc/passwd\"\n" FIX_SERVER, "t.conf:1: @include is not allowed"},
		{FIX_SERVER "  @include \"x.conf\"\n", "t.conf:2: @include is not allowed"},
		{"server: { listen = \"127.0.0.1:7400\";\n key_file = \"k\"; ((((((((((((((((((((("
		 "((((((((((((((((( };\n",
		 "t.conf:2: nesting too deep (max 32)"},
		{"server: {\n@foo\n};\n", "t.conf:2: syntax error: unexpected '@'"},
		{"server: {\nlisten = ;\n};\n", "t.conf:2: syntax error"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_ignores_include_inside_strings_and_comments(void **state)
{
	static const char text[] = "# @include \"x\"\n/* @include \"y\" */\n"
				   "server: { listen = \"127.0.0.1:7400\"; // @include\n"
				   "key_file = \"@include\"; };\n";
	struct diag d;
	struct routes *r;

	(void)state;
	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "t.conf", NULL, false, &d);
	assert_non_null(r);
	routes_free(r);
}

/* An editor may save a file whose last line is a comment with no newline
 * after it; libconfig alone calls that a syntax error. Each kind of
 * comment, and a last setting with no newline. */
static void test_routes_takes_a_last_line_without_newline(void **state)
{
	static const char *const texts[] = {
		FIX_HEAD "flows: ( );\n# the end",
		FIX_HEAD "flows: ( );\n// the end",
		FIX_HEAD "flows: ( );\n/* the end */",
		FIX_HEAD "flows: ( );",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		routes_free(parse_ok(texts[i]));
	}
}

static void test_routes_rejects_nul_bytes_and_huge_input(void **state)
{
	static const char with_nul[] = "server: {\n\0 };\n";
	char got[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct diag d;
	char *big;
	size_t n = 4 * (ROUTES_SETTINGS_MAX + 16);

	(void)state;
	diag_clear(&d);
	assert_null(routes_parse_text(with_nul, sizeof(with_nul) - 1, "t.conf", NULL, false, &d));
	assert_string_equal(diag_format(&d, got, sizeof(got)), "t.conf:2: contains a NUL byte");

	big = malloc(ROUTES_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', ROUTES_FILE_MAX + 1);
	diag_clear(&d);
	assert_null(routes_parse_text(big, ROUTES_FILE_MAX + 1, "t.conf", NULL, false, &d));
	assert_string_equal(diag_format(&d, got, sizeof(got)),
			    "t.conf:1: file too large (more than 1048576 bytes)");

	/* "a=1;" repeated: quadratic in libconfig 1.5 without the cap. */
	for (size_t i = 0; i + 4 <= n; i += 4) {
		memcpy(big + i, "a=1;", 4);
	}
	diag_clear(&d);
	assert_null(routes_parse_text(big, n, "t.conf", NULL, false, &d));
	assert_string_equal(diag_format(&d, got, sizeof(got)),
			    "t.conf:1: too many settings (max 10000)");
	free(big);
}

/* Found by fuzz_routes: the text is not NUL-terminated, and a '@' as the
 * last byte made the @include check read past its end. */
static void test_routes_reads_no_byte_past_unterminated_text(void **state)
{
	char got[DIAG_FILE_MAX + DIAG_MSG_MAX];
	char *text = malloc(3);
	struct diag d;

	(void)state;
	assert_non_null(text);
	memcpy(text, " e@", 3);
	diag_clear(&d);
	assert_null(routes_parse_text(text, 3, "t.conf", NULL, false, &d));
	assert_string_equal(diag_format(&d, got, sizeof(got)),
			    "t.conf:1: syntax error: unexpected '@'");
	free(text);
}

static void test_routes_rejects_unknown_keys_at_every_level(void **state)
{
	static const struct rule_case cases[] = {
		{FIX_SERVER "routes: { };\n", "t.conf:2: unknown top-level group \"routes\""},
		{SRV("lissten = 1;"), "t.conf:1: server: unknown key \"lissten\""},
		{SRV("api = { listen = \"127.0.0.1:7480\"; token = []; };"),
		 "t.conf:1: server.api: unknown key \"token\""},
		{FIX_SERVER "clients: { drone3 = { key = \"" FIX_KEY_DRONE3
			    "\"; name = \"x\"; }; };\n",
		 "t.conf:2: client \"drone3\": unknown key \"name\""},
		{FLOW(UDP_NN "prot = \"udp\";"), "t.conf:3: flow \"m\": unknown key \"prot\""},
		{FLOW(UDP_NN "impair = { los = 0.1; };"),
		 "t.conf:3: flow \"m\": impair: unknown key \"los\""},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_rejects_wrong_types(void **state)
{
	static const struct rule_case cases[] = {
		{"server = 1;\n", "t.conf:1: server must be a group { ... }"},
		{FIX_SERVER "flows: { };\n", "t.conf:2: flows must be a list ( { ... }, ... )"},
		{FIX_SERVER "clients: ( );\n", "t.conf:2: clients must be a group { ... }"},
		{SRV("alt_port = \"7401\";"), "t.conf:1: server.alt_port must be an integer"},
		{"server: { listen = \"127.0.0.1:7400\"; key_file = 5; };\n",
		 "t.conf:1: server.key_file must be a string"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 14550.0; members = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": port must be an integer"},
		{FLOW(UDP_NN "impair = { loss = \"1%\"; };"),
		 "t.conf:3: flow \"m\": impair.loss must be a number"},
		{FLOW(UDP_NN "joinable = \"yes\";"),
		 "t.conf:3: flow \"m\": joinable must be true, false or a list of client ids"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; members = \"drone3\";"),
		 "t.conf:3: flow \"m\": members must be a list [ ... ]"},
		{FLOW(UDP_NN "deliver = [\"x\"];"),
		 "t.conf:3: flow \"m\": deliver must be a group { ... }"},
		{FIX_HEAD "flows: ( 1 );\n", "t.conf:3: flow #1 must be a group { ... }"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_rejects_missing_required_keys(void **state)
{
	static const struct rule_case cases[] = {
		{FIX_CLIENTS, "t.conf:1: missing \"server\" group"},
		{"server: { key_file = \"k\"; };\n", "t.conf:1: server: missing \"listen\""},
		{"server: { listen = \"127.0.0.1:7400\"; };\n",
		 "t.conf:1: server: missing \"key_file\""},
		{FIX_SERVER "clients: { drone3 = { }; };\n",
		 "t.conf:2: client \"drone3\": missing \"key\""},
		{FLOW("proto = \"udp\"; port = 1; members = [\"drone3\"];"),
		 "t.conf:3: flow #1: missing \"name\""},
		{FLOW("name = \"m\"; port = 1; members = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": missing \"proto\""},
		{FLOW("name = \"m\"; proto = \"udp\"; members = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": missing \"port\""},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1;"),
		 "t.conf:3: flow \"m\": missing \"members\" (or \"from\" and \"to\")"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; from = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": missing \"to\""},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_rejects_out_of_range_values(void **state)
{
	static const struct rule_case cases[] = {
		{FLOW("name = \"m\"; proto = \"udp\"; port = 0; members = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": port 0 is out of range (1..65535)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 65536; members = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": port 65536 is out of range (1..65535)"},
		{FLOW(UDP_NN "impair = { loss = 1.5; };"),
		 "t.conf:3: flow \"m\": impair.loss 1.5 is out of range (0..1)"},
		{FLOW(UDP_NN "impair = { corrupt = -0.1; };"),
		 "t.conf:3: flow \"m\": impair.corrupt -0.1 is out of range (0..1)"},
		{FLOW(UDP_NN "impair = { delay_ms = 60001; };"),
		 "t.conf:3: flow \"m\": impair.delay_ms 60001 is out of range (0..60000)"},
		{FLOW(UDP_NN "impair = { jitter_ms = -1; };"),
		 "t.conf:3: flow \"m\": impair.jitter_ms -1 is out of range (0..60000)"},
		{FLOW(UDP_NN "mtu = 575;"),
		 "t.conf:3: flow \"m\": mtu 575 is out of range (576..9000)"},
		{FLOW(UDP_NN "listen = { drone3 = 70000; };"),
		 "t.conf:3: flow \"m\": listen.drone3 70000 is out of range (1..65535)"},
		{SRV("state_file = 3;"), "t.conf:1: server.state_file must be a string"},
		{SRV("keepalive_s = 0;"),
		 "t.conf:1: server.keepalive_s 0 is out of range (1..3600)"},
		{SRV("alt_port = 65536;"),
		 "t.conf:1: server.alt_port 65536 is out of range (1..65535)"},
		{FLOW(UDP_NN "multipath = \"fastest\";"),
		 "t.conf:3: flow \"m\": multipath must be \"failover\", \"redundant\" or "
		 "\"balance\" (got \"fastest\")"},
		{FLOW("name = \"m\"; proto = \"sctp\"; port = 1; members = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": proto must be \"udp\" or \"tcp\" (got \"sctp\")"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_rejects_bad_names_and_duplicates(void **state)
{
	static const struct rule_case cases[] = {
		{FIX_HEAD "flows: ( { " UDP_NN "},\n { " UDP_NN "} );\n",
		 "t.conf:4: duplicate flow name \"m\" (first at line 3)"},
		{FIX_SERVER "clients: { drone3 = { key = \"" FIX_KEY_DRONE3 "\"; };\n"
			    " drone3 = { key = \"" FIX_KEY_GCS4 "\"; }; };\n",
		 "t.conf:3: duplicate setting name"},
		{FIX_SERVER "clients: { a = { key = \"" FIX_KEY_DRONE3 "\"; };\n"
			    " b = { key = \"" FIX_KEY_DRONE3 "\"; }; };\n",
		 "t.conf:3: client \"b\": same key as client \"a\""},
		{FLOW("name = \"bad name\"; proto = \"udp\"; port = 1; members = [\"drone3\"];"),
		 "t.conf:3: flow #1: name: invalid name \"bad name\" (1-32 letters, digits, '_', "
		 "'.', '-'; starting with a letter or digit)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; members = [\"drone3\", "
		      "\"drone3\"];"),
		 "t.conf:3: flow \"m\": members: \"drone3\" is listed twice"},
		{SRV("api = { tokens = [\"short\"]; };"),
		 "t.conf:1: server.api.tokens: token #1 must be a string of 16 to 256 printable "
		 "characters without spaces"},
		{SRV("api = { tokens = [\"0123456789abcdef\"]; read_tokens = "
		     "[\"0123456789abcdef\"]; "
		     "};"),
		 "t.conf:1: server.api: the same token is listed twice"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_rejects_bad_membership(void **state)
{
	static const struct rule_case cases[] = {
		{FLOW("name = \"video\"; proto = \"udp\"; port = 1; from = [\"drone9\"]; to = "
		      "[\"gcs4\"];"),
		 "t.conf:3: flow \"video\": unknown member \"drone9\""},
		{FLOW(UDP_NN "from = [\"drone3\"];"),
		 "t.conf:3: flow \"m\": use either from/to or members, not both"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; from = []; to = [\"gcs4\"];"),
		 "t.conf:3: flow \"m\": from is empty"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; members = [];"),
		 "t.conf:3: flow \"m\": members is empty"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; from = [\"drone3\", \"gcs4\"]; to "
		      "= "
		      "[\"gcs4\"];"),
		 "t.conf:3: flow \"m\": \"gcs4\" is in both from and to (use members for N:N)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; from = [\"drone3\"]; to = "
		      "[\"gcs4\"]; deliver = { gcs5 = \"127.0.0.1:9\"; };"),
		 "t.conf:3: flow \"m\": deliver: \"gcs5\" is not a member"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; from = [\"drone3\"]; to = "
		      "[\"gcs4\"]; deliver = { drone3 = \"127.0.0.1:9\"; };"),
		 "t.conf:3: flow \"m\": deliver: \"drone3\" is not a sink (only sinks deliver)"},
		{FLOW("name = \"m\"; proto = \"udp\"; port = 1; from = [\"drone3\"]; to = "
		      "[\"gcs4\"]; listen = { gcs4 = 9; };"),
		 "t.conf:3: flow \"m\": listen: \"gcs4\" is not a source (only sources listen)"},
		{FLOW(UDP_NN "joinable = [\"nobody\"];"),
		 "t.conf:3: flow \"m\": joinable: unknown member \"nobody\""},
		{FLOW("name = \"s\"; proto = \"tcp\"; port = 22; from = [\"drone3\"]; to = "
		      "[\"gcs4\", \"gcs5\"];"),
		 "t.conf:3: flow \"s\": a tcp flow needs exactly 1 sink in \"to\" (has 2)"},
		{FLOW("name = \"s\"; proto = \"tcp\"; port = 22; members = [\"drone3\", \"gcs4\", "
		      "\"gcs5\"];"),
		 "t.conf:3: flow \"s\": a tcp flow with members needs exactly 2 members (has 3)"},
		{FLOW("name = \"s\"; proto = \"tcp\"; port = 22; from = [\"drone3\"]; to = "
		      "[\"gcs4\"]; impair = { loss = 0.1; };"),
		 "t.conf:3: flow \"s\": impair applies to udp flows only"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_rejects_two_flows_listening_on_one_port(void **state)
{
	static const struct rule_case cases[] = {
		{FIX_HEAD "flows: ( { name = \"a\"; proto = \"udp\"; port = 14550; members = "
			  "[\"drone3\", \"gcs4\"]; },\n"
			  "{ name = \"b\"; proto = \"udp\"; port = 14550; from = [\"gcs5\", "
			  "\"gcs4\"]; to = [\"drone3\"]; } );\n",
		 "t.conf:4: flow \"b\": \"gcs4\" would listen on udp port 14550, already used by "
		 "flow \"a\" (set listen = { gcs4 = PORT; })"},
		{FIX_HEAD "flows: ( { name = \"a\"; proto = \"udp\"; port = 5000; from = "
			  "[\"drone3\"]; to = [\"gcs4\"]; listen = { drone3 = 6000; }; },\n"
			  "{ name = \"b\"; proto = \"udp\"; port = 6000; from = [\"drone3\"]; to = "
			  "[\"gcs5\"]; } );\n",
		 "t.conf:4: flow \"b\": \"drone3\" would listen on udp port 6000, already used by "
		 "flow \"a\" (set listen = { drone3 = PORT; })"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_routes_allows_shared_ports_that_do_not_clash(void **state)
{
	/* Same port: other proto; sink-only member; listen override. */
	static const char text[] =
		FIX_HEAD "flows: ( { name = \"a\"; proto = \"udp\"; port = 14550; members = "
			 "[\"drone3\", \"gcs4\"]; },\n"
			 "{ name = \"b\"; proto = \"tcp\"; port = 14550; from = [\"drone3\"]; to = "
			 "[\"gcs4\"]; },\n"
			 "{ name = \"c\"; proto = \"udp\"; port = 14550; from = [\"gcs5\"]; to = "
			 "[\"drone3\", \"gcs4\"]; },\n"
			 "{ name = \"d\"; proto = \"udp\"; port = 14550; from = [\"gcs4\"]; to = "
			 "[\"gcs5\"]; listen = { gcs4 = 14551; }; } );\n";

	(void)state;
	routes_free(parse_ok(text));
}

/* `public`: one IP per listen address, kept in listen order. */
static void test_routes_reads_public_addresses(void **state)
{
	struct routes *r = parse_ok(
		"server: { listen = [\"10.0.0.1:7400\", \"[fd00::1]:7400\"]; key_file = \"k\";"
		" public = [\"203.0.113.10\", \"2001:db8::10\"]; };\n");
	char a[ADDR_TEXT_MAX];

	(void)state;
	assert_true(r->server.has_public);
	assert_string_equal(
		addr_format((const struct sockaddr *)&r->server.public_ip[0], a, sizeof(a)),
		"203.0.113.10:0");
	assert_string_equal(
		addr_format((const struct sockaddr *)&r->server.public_ip[1], a, sizeof(a)),
		"[2001:db8::10]:0");
	routes_free(r);
	r = parse_ok(SRV("public = \"203.0.113.10\";"));
	assert_true(r->server.has_public);
	routes_free(r);
	r = parse_ok(SRV(""));
	assert_false(r->server.has_public);
	routes_free(r);
}

static void test_routes_rejects_bad_keys_addresses_and_ranges(void **state)
{
	static const struct rule_case cases[] = {
		{FIX_SERVER "clients: { drone3 = { key = \"AAAA\"; }; };\n",
		 "t.conf:2: client \"drone3\": key: not a base64 X25519 key"},
		{"server: { listen = \"203.0.113.10\"; key_file = \"k\"; };\n",
		 "t.conf:1: server.listen: invalid address \"203.0.113.10\" (expected IP:PORT, or "
		 "[IPv6]:PORT, port 1..65535)"},
		{"server: { listen = []; key_file = \"k\"; };\n",
		 "t.conf:1: server.listen must have 1 to 8 addresses (has 0)"},
		{"server: { listen = [\"127.0.0.1:1\", \"127.0.0.1:1\"]; key_file = \"k\"; };\n",
		 "t.conf:1: server.listen: \"127.0.0.1:1\" is listed twice"},
		{SRV("api = { listen = \"localhost:7480\"; };"),
		 "t.conf:1: server.api.listen: invalid address \"localhost:7480\" (expected "
		 "IP:PORT, or [IPv6]:PORT, port 1..65535)"},
		{FLOW(UDP_NN "deliver = { gcs4 = \"127.0.0.1\"; };"),
		 "t.conf:3: flow \"m\": deliver.gcs4: invalid address \"127.0.0.1\" (expected "
		 "IP:PORT, or [IPv6]:PORT, port 1..65535)"},
		{SRV("relay_a = \"2999-2000\";"),
		 "t.conf:1: server.relay_a: invalid port range \"2999-2000\" (expected LO-HI, 1 "
		 "<= LO <= HI <= 65535)"},
		{SRV("relay_b = \"0-10\";"),
		 "t.conf:1: server.relay_b: invalid port range \"0-10\" (expected LO-HI, 1 <= LO "
		 "<= HI <= 65535)"},
		{SRV("relay_b = \"2500-3500\";"),
		 "t.conf:1: server.relay_a 2000-2999 overlaps relay_b 2500-3500"},
		{SRV("alt_port = 2500;"),
		 "t.conf:1: server.relay_a 2000-2999 contains alt_port 2500"},
		{SRV("relay_b = \"7400-7410\";"),
		 "t.conf:1: server.relay_b 7400-7410 contains listen port 7400"},
		{SRV("alt_port = 7400;"), "t.conf:1: server.alt_port 7400 is also a listen port"},
		{SRV("public = [\"203.0.113.10\", \"203.0.113.11\"];"),
		 "t.conf:1: server.public must give one address per listen address, in the same "
		 "order (listen has 1, public 2)"},
		{SRV("public = \"203.0.113.10:7400\";"),
		 "t.conf:1: server.public: invalid IP address \"203.0.113.10:7400\""},
		{SRV("public = \"2001:db8::10\";"),
		 "t.conf:1: server.public: \"2001:db8::10\" is IPv6 but listen address "
		 "127.0.0.1:7400 is IPv4"},
		{SRV("public = \"0.0.0.0\";"),
		 "t.conf:1: server.public: \"0.0.0.0\" is not an address clients can reach"},
		{SRV("public = 7;"), "t.conf:1: server.public must be a list [ ... ]"},
		{"server: { listen = [\"10.0.0.1:7400\", \"10.0.0.2:7400\"]; key_file = \"k\";\n"
		 "  public = [\"203.0.113.10\",\n \"203.0.113.10\"]; };\n",
		 "t.conf:3: server.public: \"203.0.113.10\" is listed twice"},
		{"server: { listen = \"127.0.0.1:65535\"; key_file = \"k\"; };\n",
		 "t.conf:1: server: listen port 65535 leaves no default alt_port; set alt_port"},
	};

	(void)state;
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_rejects_port_that_overflows_32_bits),
		cmocka_unit_test(test_routes_rejects_raw_text_traps),
		cmocka_unit_test(test_routes_ignores_include_inside_strings_and_comments),
		cmocka_unit_test(test_routes_takes_a_last_line_without_newline),
		cmocka_unit_test(test_routes_rejects_nul_bytes_and_huge_input),
		cmocka_unit_test(test_routes_reads_no_byte_past_unterminated_text),
		cmocka_unit_test(test_routes_rejects_unknown_keys_at_every_level),
		cmocka_unit_test(test_routes_rejects_wrong_types),
		cmocka_unit_test(test_routes_rejects_missing_required_keys),
		cmocka_unit_test(test_routes_rejects_out_of_range_values),
		cmocka_unit_test(test_routes_rejects_bad_names_and_duplicates),
		cmocka_unit_test(test_routes_rejects_bad_membership),
		cmocka_unit_test(test_routes_rejects_two_flows_listening_on_one_port),
		cmocka_unit_test(test_routes_allows_shared_ports_that_do_not_clash),
		cmocka_unit_test(test_routes_reads_public_addresses),
		cmocka_unit_test(test_routes_rejects_bad_keys_addresses_and_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
