/* test_cfgmerge: a flow group rewritten setting by setting (config/cfgmerge.c).
 * What did not change keeps its bytes, its comments and its lines; what
 * changed says exactly what the fresh group says. */
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

#include "config/cfgmerge.h"

/* A hand-written flow: a setting per line, comments after some, a nested
 * group over several lines and one on a line. */
#define OLD                                                                  \
	"{ name = \"mavlink\";\n"                                            \
	"    proto = \"udp\";     # MAVLink v2; a \"}\" here is a comment\n" \
	"    port = 14550;\n"                                                \
	"    members = [\"drone3\", \"gcs4\"];   # the pair\n"               \
	"    impair = {\n"                                                   \
	"      loss = 0.01;   # 1 %\n"                                       \
	"      delay_ms = 20; # LTE-ish\n"                                   \
	"    };\n"                                                           \
	"    deliver = { gcs4 = \"127.0.0.1:14551\"; };  // the GCS app\n"   \
	"  }"

/* What flowjson renders for OLD: one line, its own order. */
#define FRESH_SAME                                                                                \
	"{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = [\"drone3\", \"gcs4\"]; " \
	"deliver = { gcs4 = \"127.0.0.1:14551\"; }; impair = { loss = 0.01; delay_ms = 20; }; }"

static char *merge_ok_d(const char *old, const char *fresh, const char *defaults)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(
		cfgmerge_group(old, (struct cfgspan){0, strlen(old)}, fresh, defaults, &out, &len),
		0);
	assert_non_null(out);
	assert_int_equal(len, strlen(out));
	return out;
}

static char *merge_ok(const char *old, const char *fresh)
{
	return merge_ok_d(old, fresh, NULL);
}

/* old with the first `from` replaced by `to`. */
static char *replaced(const char *old, const char *from, const char *to)
{
	const char *at = strstr(old, from);
	size_t n = strlen(old) - strlen(from) + strlen(to) + 1;
	char *buf = malloc(n);

	assert_non_null(at);
	snprintf(buf, n, "%.*s%s%s", (int)(at - old), old, to, at + strlen(from));
	return buf;
}

static void test_cfgmerge_same_settings_keep_every_byte(void **state)
{
	char *out;

	(void)state;
	out = merge_ok(OLD, FRESH_SAME);
	assert_string_equal(out, OLD);
	free(out);
	/* Spacing and order do not count; a value written otherwise does. */
	out = merge_ok("{ a = 1; b = [ \"x\" ,\"y\" ] }", "{ b = [\"x\", \"y\"]; a = 1; }");
	assert_string_equal(out, "{ a = 1; b = [ \"x\" ,\"y\" ] }");
	free(out);
	/* Numbers by value: the hand-written hex stays; another value does not. */
	out = merge_ok("{ a = 0x10; b = 0.50; }", "{ a = 16; b = 0.5; }");
	assert_string_equal(out, "{ a = 0x10; b = 0.50; }");
	free(out);
	out = merge_ok("{ a = 0x10; }", "{ a = 17; }");
	assert_string_equal(out, "{ a = 17; }");
	free(out);
	out = merge_ok("{ a = \"16\"; }", "{ a = 16; }");
	assert_string_equal(out, "{ a = 16; }");
	free(out);
}

static void test_cfgmerge_a_changed_value_keeps_its_line_and_comment(void **state)
{
	const char *fresh = "{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = "
			    "[\"drone3\", \"gcs4\", \"gcs5\"]; deliver = { gcs4 = "
			    "\"127.0.0.1:14551\"; }; impair = { loss = 0.01; delay_ms = 20; }; }";
	char *want = replaced(OLD, "[\"drone3\", \"gcs4\"]", "[\"drone3\", \"gcs4\", \"gcs5\"]");
	char *out;

	(void)state;
	out = merge_ok(OLD, fresh);
	assert_string_equal(out, want);
	free(out);
	free(want);
}

static void test_cfgmerge_nested_groups_are_merged_too(void **state)
{
	const char *fresh =
		"{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = "
		"[\"drone3\", \"gcs4\"]; deliver = { gcs4 = \"127.0.0.1:14551\"; gcs5 = "
		"\"127.0.0.1:14552\"; }; impair = { loss = 0.02; delay_ms = 20; }; }";
	char *step = replaced(OLD, "loss = 0.01;", "loss = 0.02;");
	char *want = replaced(step, "\"127.0.0.1:14551\"; }",
			      "\"127.0.0.1:14551\"; gcs5 = "
			      "\"127.0.0.1:14552\"; }");
	char *out;

	(void)state;
	out = merge_ok(OLD, fresh);
	assert_string_equal(out, want);
	free(out);
	free(want);
	free(step);
}

static void test_cfgmerge_removes_settings_with_their_line_and_comment(void **state)
{
	/* delay_ms and deliver go: each was alone on its line with a comment. */
	const char *fresh = "{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = "
			    "[\"drone3\", \"gcs4\"]; impair = { loss = 0.01; }; }";
	char *step = replaced(OLD, "      delay_ms = 20; # LTE-ish\n", "");
	char *want = replaced(
		step, "    deliver = { gcs4 = \"127.0.0.1:14551\"; };  // the GCS app\n", "");
	char *out;

	(void)state;
	out = merge_ok(OLD, fresh);
	assert_string_equal(out, want);
	free(out);
	free(want);
	free(step);
	/* On one line: the setting and one of the spaces around it. */
	out = merge_ok("{ a = 1; b = 2; c = 3; }", "{ a = 1; c = 3; }");
	assert_string_equal(out, "{ a = 1; c = 3; }");
	free(out);
	out = merge_ok("{ a = 1; b = 2; c = 3; }", "{ a = 1; }");
	assert_string_equal(out, "{ a = 1; }");
	free(out);
}

static void test_cfgmerge_adds_settings_after_the_last_one_indented_like_it(void **state)
{
	const char *fresh = "{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = "
			    "[\"drone3\", \"gcs4\"]; deliver = { gcs4 = \"127.0.0.1:14551\"; }; "
			    "impair = { loss = 0.01; delay_ms = 20; }; mtu = 1200; multipath = "
			    "\"redundant\"; }";
	/* After the comment that ends the last setting's line. */
	char *want = replaced(OLD, "// the GCS app\n",
			      "// the GCS app\n    mtu = 1200;\n    multipath = \"redundant\";\n");
	char *out;

	(void)state;
	out = merge_ok(OLD, fresh);
	assert_string_equal(out, want);
	free(out);
	free(want);
	/* One line stays one line; a last setting without ';' gets one. */
	out = merge_ok("{ a = 1; b = 2 }", "{ a = 1; b = 2; c = \"x\"; }");
	assert_string_equal(out, "{ a = 1; b = 2; c = \"x\"; }");
	free(out);
	out = merge_ok("{\n  a = 1 # one\n}", "{ a = 1; b = 2; }");
	assert_string_equal(out, "{\n  a = 1; # one\n  b = 2;\n}");
	free(out);
	/* A setting removed at the end and one added: the new one follows the
	 * last setting that stays. */
	out = merge_ok("{\n  a = 1;\n  b = 2;\n}", "{ a = 1; c = 3; }");
	assert_string_equal(out, "{\n  a = 1;\n  c = 3;\n}");
	free(out);
}

static void test_cfgmerge_refuses_what_it_cannot_read(void **state)
{
	char *out = NULL;
	size_t len = 0;
	const char *old = "{ a = 1; }";
	struct cfgspan all = {0, strlen(old)};

	(void)state;
	assert_int_equal(cfgmerge_group(old, all, "a = 1;", NULL, &out, &len), -EPROTO);
	assert_int_equal(cfgmerge_group(old, all, "{ a = 1; } { b = 2; }", NULL, &out, &len),
			 -EPROTO);
	assert_int_equal(cfgmerge_group(old, all, "{ a = ; }", NULL, &out, &len), -EPROTO);
	assert_int_equal(
		cfgmerge_group("( 1 )", (struct cfgspan){0, 5}, "{ a = 1; }", NULL, &out, &len),
		-EPROTO);
	assert_int_equal(cfgmerge_group("{ a = \"x }", (struct cfgspan){0, 10}, "{ a = 1; }", NULL,
					&out, &len),
			 -EPROTO);
	assert_int_equal(cfgmerge_group(old, all, "{ a = 1; }", "mtu = 1;", &out, &len), -EPROTO);
	assert_null(out);
}

/* Settings written by hand at their default stay through an edit that
 * leaves them out; one at another value goes. */
static void test_cfgmerge_keeps_settings_written_at_their_default(void **state)
{
	const char *defaults = "{ mtu = 1400; impair = { loss = 0; delay_ms = 0; }; }";
	const char *old = "{ a = 1;\n  mtu = 1400;  # the radio's\n"
			  "  impair = { loss = 0.0; delay_ms = 20; };\n}";
	char *out;

	(void)state;
	out = merge_ok_d(old, "{ a = 1; impair = { delay_ms = 20; }; }", defaults);
	assert_string_equal(out, old);
	free(out);
	out = merge_ok_d(old, "{ a = 2; impair = { delay_ms = 30; }; }", defaults);
	assert_string_equal(out, "{ a = 2;\n  mtu = 1400;  # the radio's\n"
				 "  impair = { loss = 0.0; delay_ms = 30; };\n}");
	free(out);
	/* A group is not a default: its presence can mean something. */
	out = merge_ok_d("{ a = 1; impair = { loss = 0; }; }", "{ a = 1; }", defaults);
	assert_string_equal(out, "{ a = 1; }");
	free(out);
	/* Not at its default: the edit that leaves it out removes it. */
	out = merge_ok_d("{ a = 1; mtu = 1200; }", "{ a = 1; }", defaults);
	assert_string_equal(out, "{ a = 1; }");
	free(out);
	/* Without defaults every setting the fresh group lacks goes. */
	out = merge_ok("{ a = 1; mtu = 1400; }", "{ a = 1; }");
	assert_string_equal(out, "{ a = 1; }");
	free(out);
}

/* A list written over several lines is merged element by element: the
 * comment beside each element stays, a removed element goes with its
 * comma, comment and line, and a new one gets a line of its own. A list
 * on one line is written anew (a comment after it stays with the setting). */
#define LISTED                                     \
	"{ name = \"video\";\n"                    \
	"    to = [\n"                             \
	"      \"gcs4\",   # the ground station\n" \
	"      \"gcs5\",   # the spare\n"          \
	"      \"gcs6\"    # the laptop\n"         \
	"    ];\n"                                 \
	"  }"

static void test_cfgmerge_lists_over_lines_keep_their_comments(void **state)
{
	char *out;

	(void)state;
	/* Appended after the last one's line, with a comma for it. */
	out = merge_ok(LISTED,
		       "{ name = \"video\"; to = [\"gcs4\", \"gcs5\", \"gcs6\", \"gcs7\"]; }");
	assert_string_equal(out, "{ name = \"video\";\n"
				 "    to = [\n"
				 "      \"gcs4\",   # the ground station\n"
				 "      \"gcs5\",   # the spare\n"
				 "      \"gcs6\",    # the laptop\n"
				 "      \"gcs7\"\n"
				 "    ];\n"
				 "  }");
	free(out);
	/* A middle one goes with its line. */
	out = merge_ok(LISTED, "{ name = \"video\"; to = [\"gcs4\", \"gcs6\"]; }");
	assert_string_equal(out, "{ name = \"video\";\n"
				 "    to = [\n"
				 "      \"gcs4\",   # the ground station\n"
				 "      \"gcs6\"    # the laptop\n"
				 "    ];\n"
				 "  }");
	free(out);
	/* The last ones go, and the comma before them. */
	out = merge_ok(LISTED, "{ name = \"video\"; to = [\"gcs4\"]; }");
	assert_string_equal(out, "{ name = \"video\";\n"
				 "    to = [\n"
				 "      \"gcs4\"   # the ground station\n"
				 "    ];\n"
				 "  }");
	free(out);
	/* One removed and one added: both at once. */
	out = merge_ok(LISTED, "{ name = \"video\"; to = [\"gcs4\", \"gcs6\", \"gcs8\"]; }");
	assert_string_equal(out, "{ name = \"video\";\n"
				 "    to = [\n"
				 "      \"gcs4\",   # the ground station\n"
				 "      \"gcs6\",    # the laptop\n"
				 "      \"gcs8\"\n"
				 "    ];\n"
				 "  }");
	free(out);
	/* Another order: what keeps its place keeps its line, the rest moves
	 * to the end. */
	out = merge_ok(LISTED, "{ name = \"video\"; to = [\"gcs6\", \"gcs4\"]; }");
	assert_string_equal(out, "{ name = \"video\";\n"
				 "    to = [\n"
				 "      \"gcs6\",    # the laptop\n"
				 "      \"gcs4\"\n"
				 "    ];\n"
				 "  }");
	free(out);
	/* Nothing kept: the list is written anew. */
	out = merge_ok(LISTED, "{ name = \"video\"; to = [\"gcs9\"]; }");
	assert_non_null(strstr(out, "to = [\"gcs9\"];"));
	free(out);
	/* On one line: written anew, the comment after it kept. */
	out = merge_ok(OLD, "{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = "
			    "[\"drone3\", \"gcs4\", \"gcs5\"]; deliver = { gcs4 = "
			    "\"127.0.0.1:14551\"; }; impair = { loss = 0.01; delay_ms = 20; }; }");
	assert_non_null(strstr(out, "members = [\"drone3\", \"gcs4\", \"gcs5\"];   # the pair\n"));
	free(out);
}

/* text with every "\n" written "\r\n" (caller frees). */
static char *crlf(const char *text)
{
	char *out = malloc(2 * strlen(text) + 1), *p = out;

	assert_non_null(out);
	for (; *text; text++) {
		if (*text == '\n') {
			*p++ = '\r';
		}
		*p++ = *text;
	}
	*p = '\0';
	return out;
}

/* In a file saved with "\r\n" line ends, what a merge adds on lines of its
 * own ends in "\r\n" too: a list element after a commented one, and a
 * setting after a group's last, commented or not. Each result is the LF
 * merge's result with CRLF line ends. */
static void test_cfgmerge_adds_lines_with_the_file_s_line_end(void **state)
{
	static const struct {
		const char *old, *fresh;
	} cases[] = {
		{LISTED, "{ name = \"video\"; to = [\"gcs4\", \"gcs5\", \"gcs6\", \"gcs7\"]; }"},
		{LISTED, "{ name = \"video\"; to = [\"gcs4\", \"gcs5\", \"gcs6\"]; mtu = 1200; }"},
		{"{ name = \"m\";\n    port = 5;   # the port\n  }",
		 "{ name = \"m\"; port = 5; mtu = 1200; }"},
		{"{ name = \"m\";\n    port = 5;\n  }", "{ name = \"m\"; port = 5; mtu = 1200; }"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *old = crlf(cases[i].old);
		char *lf = merge_ok(cases[i].old, cases[i].fresh);
		char *want = crlf(lf);
		char *out = merge_ok(old, cases[i].fresh);

		if (strcmp(out, want) != 0) {
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, want);
		}
		free(old);
		free(lf);
		free(want);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfgmerge_same_settings_keep_every_byte),
		cmocka_unit_test(test_cfgmerge_a_changed_value_keeps_its_line_and_comment),
		cmocka_unit_test(test_cfgmerge_nested_groups_are_merged_too),
		cmocka_unit_test(test_cfgmerge_removes_settings_with_their_line_and_comment),
		cmocka_unit_test(test_cfgmerge_adds_settings_after_the_last_one_indented_like_it),
		cmocka_unit_test(test_cfgmerge_refuses_what_it_cannot_read),
		cmocka_unit_test(test_cfgmerge_keeps_settings_written_at_their_default),
		cmocka_unit_test(test_cfgmerge_lists_over_lines_keep_their_comments),
		cmocka_unit_test(test_cfgmerge_adds_lines_with_the_file_s_line_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
