/* test_flowjoin: the FLOW_JOIN decision (flowjoin_check) against routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/diag.h"
#include "config/routes.h"
#include "proto/frame.h"
#include "server/flowjoin.h"
#include "tests/unit/config/routes_fixture.h"

#define FLOWS                                                                                      \
	"flows: (\n"                                                                               \
	"{ name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; to = [\"gcs4\"]; " \
	"joinable = [\"gcs5\"]; },\n"                                                              \
	"{ name = \"secret\"; proto = \"udp\"; port = 5601; from = [\"drone3\"]; "                 \
	"to = [\"gcs4\"]; },\n"                                                                    \
	"{ name = \"chat\"; proto = \"udp\"; port = 7000; members = [\"gcs4\"]; "                  \
	"joinable = true; },\n"                                                                    \
	"{ name = \"ssh\"; proto = \"tcp\"; port = 2222; from = [\"gcs4\"]; to = [\"drone3\"]; "   \
	"joinable = true; },\n"                                                                    \
	"{ name = \"shell\"; proto = \"tcp\"; port = 2223; members = [\"gcs4\", \"drone3\"]; "     \
	"joinable = true; }\n"                                                                     \
	");\n"

static struct routes *routes;

static int setup(void **state)
{
	static const char text[] = FIX_HEAD FLOWS;
	struct diag d;

	(void)state;
	diag_clear(&d);
	routes = routes_parse_text(text, strlen(text), "routes.conf", NULL, false, &d);
	return routes ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	routes_free(routes);
	return 0;
}

struct join_case {
	const char *id;
	const char *flow;
	uint8_t role;
	enum frame_join_status want;
	const char *want_list; /* NULL: none */
	const char *want_msg;
};

static const struct join_case cases[] = {
	{"gcs5", "nosuch", FRAME_JOIN_ROLE_DEFAULT, FRAME_JOIN_NO_FLOW, NULL, "no flow \"nosuch\""},
	{"gcs5", "secret", FRAME_JOIN_ROLE_TO, FRAME_JOIN_NOT_JOINABLE, NULL,
	 "flow \"secret\" is not joinable by gcs5"},
	{"drone3", "video", FRAME_JOIN_ROLE_TO, FRAME_JOIN_NOT_JOINABLE, NULL,
	 "flow \"video\" is not joinable by drone3"},
	{"gcs5", "video", FRAME_JOIN_ROLE_DEFAULT, FRAME_JOIN_OK, "to", "joined video as to"},
	{"gcs5", "video", FRAME_JOIN_ROLE_FROM, FRAME_JOIN_OK, "from", "joined video as from"},
	{"gcs5", "video", FRAME_JOIN_ROLE_MEMBER, FRAME_JOIN_BAD_ROLE, NULL,
	 "flow \"video\" has from/to: join as from or to, not member"},
	{"gcs5", "chat", FRAME_JOIN_ROLE_DEFAULT, FRAME_JOIN_OK, "members",
	 "joined chat as member"},
	{"gcs5", "chat", FRAME_JOIN_ROLE_FROM, FRAME_JOIN_BAD_ROLE, NULL,
	 "flow \"chat\" has members (N:N): join as member, not from"},
	{"gcs4", "chat", FRAME_JOIN_ROLE_MEMBER, FRAME_JOIN_ALREADY, "members",
	 "already in chat as member"},
	{"gcs5", "ssh", FRAME_JOIN_ROLE_TO, FRAME_JOIN_BAD_ROLE, NULL,
	 "tcp flow \"ssh\" already has its sink (drone3)"},
	{"gcs5", "ssh", FRAME_JOIN_ROLE_FROM, FRAME_JOIN_OK, "from", "joined ssh as from"},
	{"gcs5", "shell", FRAME_JOIN_ROLE_DEFAULT, FRAME_JOIN_BAD_ROLE, NULL,
	 "tcp flow \"shell\" already has its two members"},
	{"drone3", "ssh", FRAME_JOIN_ROLE_DEFAULT, FRAME_JOIN_ALREADY, "to",
	 "already in ssh as to"},
};

static void test_flowjoin_check_follows_joinable_role_and_membership(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct join_case *c = &cases[i];
		struct frame_flow_join req;
		struct frame_flow_join_ack ack;
		const char *list = "unset";

		memset(&req, 0, sizeof(req));
		memset(&ack, 0, sizeof(ack));
		assert_int_equal(frame_name_set(&req.flow, c->flow), 0);
		req.role = c->role;
		print_message("case %zu: %s joins %s\n", i, c->id, c->flow);
		assert_int_equal(flowjoin_check(routes, c->id, &req, &list, &ack), c->want);
		assert_int_equal(ack.status, c->want);
		assert_string_equal(ack.msg, c->want_msg);
		if (c->want_list) {
			assert_non_null(list);
			assert_string_equal(list, c->want_list);
		} else {
			assert_null(list);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowjoin_check_follows_joinable_role_and_membership),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
