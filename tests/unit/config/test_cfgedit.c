/* test_cfgedit: surgical routes.conf edits (config/cfgedit.c). Each edit
 * must change exactly the flow group or client entry it names, keep every
 * other byte (comments, blank lines, layout), and give text that parses. */
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

#include "common/diag.h"
#include "config/cfgedit.h"
#include "config/routes.h"
#include "routes_fixture.h"

#define FILE_TEXT                                                                                  \
	"# wormhole routes, hand-written\n" FIX_HEAD "flows: (\n"                                  \
	"  # MAVLink both ways; the \"}\" and ( in this comment must not confuse anyone\n"         \
	"  { name = \"mavlink\"; proto = \"udp\"; port = 14550; members = [\"drone3\", "           \
	"\"gcs4\"]; },\n"                                                                          \
	"  /* video: one way,\n     { name = \"fake\" } */\n"                                      \
	"  { name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"];\n"               \
	"    to = [\"gcs4\"]; deliver = { gcs4 = \"127.0.0.1:5601\"; }; },  // trailing\n"         \
	"  { name = \"ssh\"; proto = \"tcp\"; port = 2222; from = [\"gcs4\"]; to = [\"drone3\"]; " \
	"}\n"                                                                                      \
	");\n"                                                                                     \
	"# the end\n"

#define NEW_VIDEO                                                                                  \
	"{ name = \"video\"; proto = \"udp\"; port = 5602; from = [\"drone3\"]; to = [\"gcs5\"]; " \
	"}"
#define TELEMETRY                                                                           \
	"{ name = \"telemetry\"; proto = \"udp\"; port = 14560; from = [\"drone3\"]; to = " \
	"[\"gcs5\"]; }"

static struct routes *parse_ok(const char *text, size_t len)
{
	struct diag d;
	char buf[DIAG_FILE_MAX + DIAG_MSG_MAX];
	struct routes *r;

	diag_clear(&d);
	r = routes_parse_text(text, len, "t.conf", NULL, false, &d);
	if (!r) {
		fail_msg("edited text does not parse: %s\n%s", diag_format(&d, buf, sizeof(buf)),
			 text);
	}
	return r;
}

/* text with [s, s + n_old) replaced by rep: what an exact edit must give. */
static char *expect_splice(const char *text, const char *old, const char *rep)
{
	const char *at = strstr(text, old);
	size_t n = strlen(text) - strlen(old) + strlen(rep) + 1;
	char *buf = malloc(n);

	assert_non_null(at);
	snprintf(buf, n, "%.*s%s%s", (int)(at - text), text, rep, at + strlen(old));
	return buf;
}

static void test_cfgedit_replaces_one_flow_and_keeps_every_other_byte(void **state)
{
	const char *old = "{ name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"];\n"
			  "    to = [\"gcs4\"]; deliver = { gcs4 = \"127.0.0.1:5601\"; }; }";
	/* Merged into the old group (cfgmerge): the two changed values are
	 * rewritten, deliver goes with one of the spaces around it, and the
	 * line break the hand-written group had stays. */
	const char *merged =
		"{ name = \"video\"; proto = \"udp\"; port = 5602; from = [\"drone3\"];\n"
		"    to = [\"gcs5\"]; }";
	char *want = expect_splice(FILE_TEXT, old, merged);
	char *out = NULL;
	size_t len = 0;
	struct routes *r;

	(void)state;
	assert_int_equal(
		cfgedit_flow_replace(FILE_TEXT, strlen(FILE_TEXT), "video", NEW_VIDEO, &out, &len),
		0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	r = parse_ok(out, len);
	assert_int_equal(routes_find_flow(r, "video")->port, 5602);
	assert_int_equal(r->n_flows, 3);
	routes_free(r);
	free(out);
	free(want);
}

/* cfgedit_flow_defaults must say what leaving those settings out says, or
 * an API edit would keep a hand-written setting that changes the flow.
 * (Its impair group holds defaults inside an impair group only: a group is
 * never taken for a default, see cfgmerge.) */
static void test_cfgedit_flow_defaults_say_what_leaving_them_out_says(void **state)
{
	const char *flow = "{ name = \"x\"; proto = \"udp\"; port = 14550; members = [\"drone3\", "
			   "\"gcs4\"]; ";
	size_t n = strlen(cfgedit_flow_defaults);
	char bare[512], full[1024];
	struct routes *a, *b;

	(void)state;
	assert_true(n > 3 && cfgedit_flow_defaults[0] == '{' &&
		    cfgedit_flow_defaults[n - 1] == '}');
	/* An impair group with nothing in it against one with every default. */
	snprintf(bare, sizeof(bare), FIX_HEAD "flows: ( %simpair = { }; } );\n", flow);
	snprintf(full, sizeof(full), FIX_HEAD "flows: ( %s%.*s} );\n", flow, (int)(n - 2),
		 cfgedit_flow_defaults + 1);
	a = parse_ok(bare, strlen(bare));
	b = parse_ok(full, strlen(full));
	assert_int_equal(a->n_flows, 1);
	assert_int_equal(b->n_flows, 1);
	assert_true(routes_flow_equal(&a->flows[0], &b->flows[0]));
	routes_free(a);
	routes_free(b);
}

static void test_cfgedit_ignores_names_inside_comments_and_strings(void **state)
{
	char *out = NULL;
	size_t len = 0;

	(void)state;
	/* "fake" appears only inside a block comment. */
	assert_int_equal(
		cfgedit_flow_replace(FILE_TEXT, strlen(FILE_TEXT), "fake", NEW_VIDEO, &out, &len),
		-ENOENT);
	assert_null(out);
	assert_int_equal(cfgedit_flow_remove(FILE_TEXT, strlen(FILE_TEXT), "drone3", &out, &len),
			 -ENOENT);
}

static void test_cfgedit_adds_a_flow_after_the_last_one_with_its_indent(void **state)
{
	const char *last = "to = [\"drone3\"]; }";
	char rep[512];
	char *want;
	char *out = NULL;
	size_t len = 0;
	struct routes *r;

	(void)state;
	snprintf(rep, sizeof(rep), "%s,\n  %s", last, TELEMETRY);
	want = expect_splice(FILE_TEXT, last, rep);
	assert_int_equal(cfgedit_flow_add(FILE_TEXT, strlen(FILE_TEXT), TELEMETRY, &out, &len), 0);
	assert_string_equal(out, want);
	r = parse_ok(out, len);
	assert_int_equal(r->n_flows, 4);
	assert_string_equal(r->flows[3].name, "telemetry");
	routes_free(r);
	free(out);
	free(want);
}

/* A new flow after one written a setting per line is written the same way:
 * each setting on its own line at that flow's indent, the braces as it has
 * them; after a one-line flow it stays one line (the test above). */
static void test_cfgedit_adds_a_flow_laid_out_like_the_one_before(void **state)
{
	static const struct {
		const char *last, *want;
	} cases[] = {
		{"  {\n"
		 "    name = \"video\";   # the camera\n"
		 "    proto = \"udp\";\n"
		 "    port = 5600;\n"
		 "    members = [\"drone3\", \"gcs4\"];\n"
		 "  }\n",
		 "  {\n"
		 "    name = \"video\";   # the camera\n"
		 "    proto = \"udp\";\n"
		 "    port = 5600;\n"
		 "    members = [\"drone3\", \"gcs4\"];\n"
		 "  },\n"
		 "  {\n"
		 "    name = \"telemetry\";\n"
		 "    proto = \"udp\";\n"
		 "    port = 14560;\n"
		 "    from = [\"drone3\"];\n"
		 "    to = [\"gcs5\"];\n"
		 "  }\n"},
		{"\t{ name = \"video\";\n"
		 "\t\tproto = \"udp\"; port = 5600;\n"
		 "\t\tmembers = [\"drone3\", \"gcs4\"]; }\n",
		 "\t{ name = \"video\";\n"
		 "\t\tproto = \"udp\"; port = 5600;\n"
		 "\t\tmembers = [\"drone3\", \"gcs4\"]; },\n"
		 "\t{ name = \"telemetry\";\n"
		 "\t\tproto = \"udp\";\n"
		 "\t\tport = 14560;\n"
		 "\t\tfrom = [\"drone3\"];\n"
		 "\t\tto = [\"gcs5\"]; }\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024], want[1024];
		char *out = NULL, *back = NULL;
		size_t len = 0, back_len = 0;
		struct routes *r;

		snprintf(text, sizeof(text), "%sflows: (\n%s);\n# end\n", FIX_HEAD, cases[i].last);
		snprintf(want, sizeof(want), "%sflows: (\n%s);\n# end\n", FIX_HEAD, cases[i].want);
		assert_int_equal(cfgedit_flow_add(text, strlen(text), TELEMETRY, &out, &len), 0);
		assert_string_equal(out, want);
		r = parse_ok(out, len);
		assert_int_equal(r->n_flows, 2);
		assert_int_equal(r->flows[1].port, 14560);
		routes_free(r);
		/* Removing it gives the file back, byte for byte. */
		assert_int_equal(cfgedit_flow_remove(out, len, "telemetry", &back, &back_len), 0);
		assert_string_equal(back, text);
		free(back);
		free(out);
	}
}

static void test_cfgedit_removes_a_middle_flow_with_its_comma_and_line(void **state)
{
	char *out = NULL;
	size_t len = 0;
	struct routes *r;

	(void)state;
	assert_int_equal(cfgedit_flow_remove(FILE_TEXT, strlen(FILE_TEXT), "mavlink", &out, &len),
			 0);
	assert_null(strstr(out, "mavlink\""));
	/* The comment above it stays: only the flow's own line goes. */
	assert_non_null(strstr(out, "  # MAVLink both ways;"));
	assert_non_null(strstr(out, "# MAVLink both ways; the \"}\" and ( in this comment must "
				    "not confuse anyone\n  /* video"));
	r = parse_ok(out, len);
	assert_int_equal(r->n_flows, 2);
	routes_free(r);
	free(out);
}

static void test_cfgedit_removes_the_last_flow_and_the_comma_before_it(void **state)
{
	char *out = NULL;
	size_t len = 0;
	struct routes *r;

	(void)state;
	assert_int_equal(cfgedit_flow_remove(FILE_TEXT, strlen(FILE_TEXT), "ssh", &out, &len), 0);
	assert_non_null(
		strstr(out, "deliver = { gcs4 = \"127.0.0.1:5601\"; }; }  // trailing\n);"));
	r = parse_ok(out, len);
	assert_int_equal(r->n_flows, 2);
	routes_free(r);
	free(out);
}

static void test_cfgedit_removing_every_flow_leaves_an_empty_list_then_adds_again(void **state)
{
	const char *text = FIX_HEAD "flows: (\n  { name = \"a\"; proto = \"udp\"; port = 1; "
				    "members = [\"drone3\", \"gcs4\"]; }\n);\n";
	char *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;
	struct routes *r;

	(void)state;
	assert_int_equal(cfgedit_flow_remove(text, strlen(text), "a", &out, &len), 0);
	assert_non_null(strstr(out, "flows: (\n);\n"));
	r = parse_ok(out, len);
	assert_int_equal(r->n_flows, 0);
	routes_free(r);
	assert_int_equal(cfgedit_flow_add(out, len, TELEMETRY, &out2, &len2), 0);
	r = parse_ok(out2, len2);
	assert_int_equal(r->n_flows, 1);
	routes_free(r);
	free(out);
	free(out2);
}

static void test_cfgedit_creates_flows_and_clients_when_missing(void **state)
{
	const char *text = FIX_SERVER "# no clients, no flows\n";
	char *a = NULL, *b = NULL, *c = NULL;
	size_t la = 0, lb = 0, lc = 0;
	struct routes *r;

	(void)state;
	assert_int_equal(cfgedit_client_set(text, strlen(text), "drone3",
					    "{ key = \"" FIX_KEY_DRONE3 "\"; }", &a, &la),
			 0);
	assert_int_equal(
		cfgedit_client_set(a, la, "gcs5", "{ key = \"" FIX_KEY_GCS5 "\"; }", &b, &lb), 0);
	assert_int_equal(cfgedit_flow_add(b, lb, TELEMETRY, &c, &lc), 0);
	assert_int_equal(strncmp(c, text, strlen(text)), 0);
	r = parse_ok(c, lc);
	assert_int_equal(r->n_clients, 2);
	assert_int_equal(r->n_flows, 1);
	routes_free(r);
	free(a);
	free(b);
	free(c);
}

static void test_cfgedit_sets_and_removes_clients_in_a_one_line_group(void **state)
{
	const char *text = FIX_HEAD;
	char *a = NULL, *b = NULL, *c = NULL;
	size_t la = 0, lb = 0, lc = 0;
	struct routes *r;

	(void)state;
	/* Replace gcs5's key with drone3's... no: give gcs4 gcs5's key after removing gcs5. */
	assert_int_equal(cfgedit_client_remove(text, strlen(text), "gcs5", &a, &la), 0);
	assert_null(strstr(a, "gcs5"));
	assert_int_equal(
		cfgedit_client_set(a, la, "gcs4", "{ key = \"" FIX_KEY_GCS5 "\"; }", &b, &lb), 0);
	r = parse_ok(b, lb);
	assert_int_equal(r->n_clients, 2);
	routes_free(r);
	assert_int_equal(
		cfgedit_client_set(b, lb, "gcs6", "{ key = \"" FIX_KEY_GCS4 "\"; }", &c, &lc), 0);
	assert_non_null(strstr(c, "; }; gcs6 = { key = \"" FIX_KEY_GCS4 "\"; }; };\n"));
	r = parse_ok(c, lc);
	assert_int_equal(r->n_clients, 3);
	routes_free(r);
	assert_int_equal(cfgedit_client_remove(text, strlen(text), "nobody", &a, &la), -ENOENT);
	free(a);
	free(b);
	free(c);
}

static void test_cfgedit_adds_a_client_on_its_own_line_in_a_multiline_group(void **state)
{
	const char *text =
		FIX_SERVER "clients: {\n\tdrone3 = { key = \"" FIX_KEY_DRONE3 "\"; } # first\n};\n";
	char *out = NULL;
	size_t len = 0;
	struct routes *r;

	(void)state;
	assert_int_equal(cfgedit_client_set(text, strlen(text), "gcs4",
					    "{ key = \"" FIX_KEY_GCS4 "\"; }", &out, &len),
			 0);
	assert_non_null(strstr(out, "\"; };\n\tgcs4 = { key = \"" FIX_KEY_GCS4 "\"; }; # first\n"));
	r = parse_ok(out, len);
	assert_int_equal(r->n_clients, 2);
	routes_free(r);
	free(out);
}

/* text with every "\n" written "\r\n" (caller frees). */
static char *crlf(const char *text)
{
	char *buf = malloc(2 * strlen(text) + 1);
	char *p = buf;

	assert_non_null(buf);
	for (; *text; text++) {
		if (*text == '\n') {
			*p++ = '\r';
		}
		*p++ = *text;
	}
	*p = '\0';
	return buf;
}

static bool has_bare_lf(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
			return true;
		}
	}
	return false;
}

/* A file saved with CRLF line ends gets CRLF in every line an edit adds
 * (a flow after a one-line or a multiline flow, into an empty list, the
 * flows and clients groups when missing, a client in a multiline group),
 * and deleting a flow it added gives it back byte for byte (README
 * "Write-back"). */
static void test_cfgedit_writes_crlf_in_a_crlf_file_and_a_delete_undoes_an_add(void **state)
{
	static const char *const texts[] = {
		FIX_HEAD "flows: (\n  { name = \"video\"; proto = \"udp\"; port = 5600; members = "
			 "[\"drone3\", \"gcs4\"]; }\n);\n# end\n",
		FIX_HEAD
		"flows: (\n  {\n    name = \"video\";\n    proto = \"udp\";\n    port = 5600;\n"
		"    members = [\"drone3\", \"gcs4\"];\n  }\n);\n# end\n",
		FIX_HEAD "flows: (\n);\n",
		FIX_SERVER "# no clients, no flows\n",
	};
	struct routes *r;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *text = crlf(texts[i]);
		char *out = NULL, *back = NULL;
		size_t len = 0, back_len = 0;

		assert_int_equal(cfgedit_flow_add(text, strlen(text), TELEMETRY, &out, &len), 0);
		if (has_bare_lf(out, len)) {
			fail_msg("case %zu: a line without CR after the add:\n%s", i, out);
		}
		assert_int_equal(cfgedit_flow_remove(out, len, "telemetry", &back, &back_len), 0);
		if (i < 3) {
			assert_string_equal(back, text);
		}
		assert_false(has_bare_lf(back, back_len));
		free(out);
		free(back);
		free(text);
	}
	{
		char *text = crlf(FIX_SERVER "clients: {\n\tdrone3 = { key = \"" FIX_KEY_DRONE3
					     "\"; };\n};\n");
		char *out = NULL, *out2 = NULL;
		size_t len = 0, len2 = 0;

		assert_int_equal(cfgedit_client_set(text, strlen(text), "gcs4",
						    "{ key = \"" FIX_KEY_GCS4 "\"; }", &out, &len),
				 0);
		assert_false(has_bare_lf(out, len));
		assert_int_equal(cfgedit_client_set(out, len, "gcs5",
						    "{ key = \"" FIX_KEY_GCS5 "\"; }", &out2,
						    &len2),
				 0);
		assert_false(has_bare_lf(out2, len2));
		r = parse_ok(out2, len2);
		assert_int_equal(r->n_clients, 3);
		routes_free(r);
		free(out);
		free(out2);
		free(text);
	}
}

static void test_cfgedit_refuses_text_it_does_not_understand(void **state)
{
	static const char *const bad[] = {
		"flows: ( { name = \"a\" ",
		"flows = ( { name = \"a\"; } } );",
		"clients: { a = ; };",
		"\"unterminated",
		"flows: ((((((((((((((((((((((((((((((((((((((((((((((((((((((( ",
	};
	char *out = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cfgedit_flow_add(bad[i], strlen(bad[i]), TELEMETRY, &out, &len),
				 -EPROTO);
		assert_null(out);
	}
}

/* A flow's name as libconfig reads it: adjacent literals joined and escapes
 * decoded, so the names GET shows are the names an edit finds. */
static void test_cfgedit_finds_a_name_written_in_pieces_or_with_escapes(void **state)
{
	static const char text[] = FIX_HEAD
		"flows: (\n"
		"  { name = \"vi\" /* joined */ \"deo\"; proto = \"udp\"; port = 5600; "
		"from = [\"drone3\"]; to = [\"gcs4\"]; },\n"
		"  { name = \"te\\x6Cemetry\"; proto = \"udp\"; port = 14560; from = [\"drone3\"]; "
		"to = [\"gcs4\"]; },\n"
		"  { name = \"vid\"; proto = \"udp\"; port = 5700; from = [\"drone3\"]; to = "
		"[\"gcs4\"]; "
		"}\n"
		");\n";
	char *out = NULL;
	size_t len = 0;
	struct routes *r;

	(void)state;
	r = parse_ok(text, strlen(text));
	assert_non_null(routes_find_flow(r, "video"));
	assert_non_null(routes_find_flow(r, "telemetry"));
	routes_free(r);
	assert_int_equal(cfgedit_flow_remove(text, strlen(text), "video", &out, &len), 0);
	r = parse_ok(out, len);
	assert_null(routes_find_flow(r, "video"));
	assert_int_equal(r->n_flows, 2);
	routes_free(r);
	free(out);
	assert_int_equal(cfgedit_flow_remove(text, strlen(text), "telemetry", &out, &len), 0);
	r = parse_ok(out, len);
	assert_null(routes_find_flow(r, "telemetry"));
	assert_non_null(routes_find_flow(r, "vid"));
	routes_free(r);
	free(out);
	/* a prefix, or more than the name, is another name */
	assert_int_equal(cfgedit_flow_remove(text, strlen(text), "vi", &out, &len), -ENOENT);
	assert_int_equal(cfgedit_flow_remove(text, strlen(text), "videos", &out, &len), -ENOENT);
	assert_int_equal(cfgedit_flow_remove(text, strlen(text), "te\\x6Cemetry", &out, &len),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfgedit_replaces_one_flow_and_keeps_every_other_byte),
		cmocka_unit_test(test_cfgedit_flow_defaults_say_what_leaving_them_out_says),
		cmocka_unit_test(test_cfgedit_ignores_names_inside_comments_and_strings),
		cmocka_unit_test(test_cfgedit_adds_a_flow_after_the_last_one_with_its_indent),
		cmocka_unit_test(test_cfgedit_adds_a_flow_laid_out_like_the_one_before),
		cmocka_unit_test(test_cfgedit_removes_a_middle_flow_with_its_comma_and_line),
		cmocka_unit_test(test_cfgedit_removes_the_last_flow_and_the_comma_before_it),
		cmocka_unit_test(
			test_cfgedit_removing_every_flow_leaves_an_empty_list_then_adds_again),
		cmocka_unit_test(test_cfgedit_creates_flows_and_clients_when_missing),
		cmocka_unit_test(test_cfgedit_sets_and_removes_clients_in_a_one_line_group),
		cmocka_unit_test(test_cfgedit_adds_a_client_on_its_own_line_in_a_multiline_group),
		cmocka_unit_test(
			test_cfgedit_writes_crlf_in_a_crlf_file_and_a_delete_undoes_an_add),
		cmocka_unit_test(test_cfgedit_refuses_text_it_does_not_understand),
		cmocka_unit_test(test_cfgedit_finds_a_name_written_in_pieces_or_with_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
