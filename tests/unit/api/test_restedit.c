/* test_restedit: the member-add edit shared by the REST API and FLOW_JOIN
 * (restedit_member_text). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/restedit.h"
#include "common/diag.h"
#include "config/routes.h"
#include "tests/unit/config/routes_fixture.h"

static const char text[] = FIX_HEAD
	"# flows, by hand\n"
	"flows: (\n"
	"  # the drone's video\n"
	"  { name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; to = "
	"[\"gcs4\"];\n"
	"    joinable = [\"gcs5\"]; },\n"
	"  { name = \"chat\"; proto = \"udp\"; port = 7000; members = [\"gcs4\"]; } // N:N\n"
	");\n"
	"# end\n";

static struct routes *parse(const char *t)
{
	struct diag d;

	diag_clear(&d);
	return routes_parse_text(t, strlen(t), "routes.conf", NULL, false, &d);
}

static void test_restedit_member_text_adds_to_the_list_and_keeps_the_rest(void **state)
{
	struct routes *r = parse(text);
	struct routes *after;
	char err[160];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(r);
	assert_int_equal(restedit_member_text(text, strlen(text), routes_find_flow(r, "video"),
					      "gcs5", "to", &out, &len, err, sizeof(err)),
			 0);
	assert_int_equal(strlen(out), len);
	assert_non_null(strstr(out, "to = [\"gcs4\", \"gcs5\"]"));
	assert_non_null(strstr(out, "# flows, by hand\n"));
	assert_non_null(strstr(out, "  # the drone's video\n"));
	assert_non_null(strstr(out, "members = [\"gcs4\"]; } // N:N\n);\n# end\n"));
	after = parse(out);
	assert_non_null(after);
	assert_int_equal(routes_find_flow(after, "video")->n_to, 2);
	assert_true(
		routes_flow_equal(routes_find_flow(after, "chat"), routes_find_flow(r, "chat")));
	routes_free(after);
	free(out);
	routes_free(r);
}

static void test_restedit_member_text_says_already_for_a_member(void **state)
{
	struct routes *r = parse(text);
	char err[160];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(restedit_member_text(text, strlen(text), routes_find_flow(r, "chat"),
					      "gcs4", "members", &out, &len, err, sizeof(err)),
			 -EALREADY);
	assert_null(out);
	routes_free(r);
}

static void test_restedit_member_text_needs_the_flow_in_the_text(void **state)
{
	static const char other[] = FIX_HEAD "flows: ( );\n";
	struct routes *r = parse(text);
	char err[160];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(restedit_member_text(other, strlen(other), routes_find_flow(r, "video"),
					      "gcs5", "to", &out, &len, err, sizeof(err)),
			 -ENOENT);
	assert_null(out);
	routes_free(r);
}

/* The flow as the file has it is edited, not the running one: a hand
 * edit saved but not applied yet (or refused) is not undone. */
static void test_restedit_member_text_keeps_a_hand_edit_not_yet_applied(void **state)
{
	static const char saved[] = FIX_HEAD "flows: (\n"
					     "  { name = \"video\"; proto = \"udp\"; port = 5600; "
					     "from = [\"drone3\"]; to = [\"gcs4\"];\n"
					     "    mtu = 1200;   # tuned\n"
					     "  }\n"
					     ");\n";
	struct routes *running = parse(text); /* video without an mtu */
	struct routes *after;
	char err[160];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(running);
	assert_int_equal(restedit_member_text(saved, strlen(saved),
					      routes_find_flow(running, "video"), "gcs5", "to",
					      &out, &len, err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "    mtu = 1200;   # tuned\n"));
	assert_null(strstr(out, "joinable"));
	after = parse(out);
	assert_non_null(after);
	assert_int_equal(routes_find_flow(after, "video")->mtu, 1200);
	assert_int_equal(routes_find_flow(after, "video")->n_to, 2);
	routes_free(after);
	free(out);
	routes_free(running);
}

/* A file that does not load is not edited: the error says why. */
static void test_restedit_member_text_refuses_a_file_that_does_not_load(void **state)
{
	static const char bad[] = FIX_HEAD "flows: ( { name = \"video\"; proto = \"udp\"; port = "
					   "5600; from = [\"drone3\"]; to = [\"drone9\"]; } );\n";
	struct routes *running = parse(text);
	char err[160] = "";
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(restedit_member_text(bad, strlen(bad), routes_find_flow(running, "video"),
					      "gcs5", "to", &out, &len, err, sizeof(err)),
			 -EINVAL);
	assert_null(out);
	assert_non_null(strstr(err, "does not load"));
	assert_non_null(strstr(err, "drone9"));
	routes_free(running);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restedit_member_text_adds_to_the_list_and_keeps_the_rest),
		cmocka_unit_test(test_restedit_member_text_says_already_for_a_member),
		cmocka_unit_test(test_restedit_member_text_needs_the_flow_in_the_text),
		cmocka_unit_test(test_restedit_member_text_keeps_a_hand_edit_not_yet_applied),
		cmocka_unit_test(test_restedit_member_text_refuses_a_file_that_does_not_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
