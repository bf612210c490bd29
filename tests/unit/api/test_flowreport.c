/* test_flowreport: a flow's congestion state as the local API's JSON
 * (api/flowreport.c): every field of issue #9 with its JSON type, null for
 * what is not measured, impairment counters by their impair.h names or null
 * without impairment, and a loss that is always a number in 0..1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/flowreport.h"

static struct flowreport_flow saturated_video(void)
{
	struct flowreport_flow f = {
		.name = "video",
		.proto = "udp",
		.is_saturated = true,
		.capacity_kbps = 9850,
		.send_kbps = 10400,
		.loss = 0.043,
		.rtt_ms = 37,
		.has_impair = true,
		.impair = {.dropped = 1,
			   .corrupted = 2,
			   .duplicated = 3,
			   .reordered = 4,
			   .delayed = 5,
			   .rate_dropped = 6,
			   .pool_dropped = 7},
		.tx_packets = 100,
		.tx_bytes = 125000,
		.rx_packets = 9,
		.rx_bytes = 900,
		.drops = 3,
	};
	return f;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static void test_flowreport_renders_every_field_of_a_saturated_flow(void **state)
{
	struct flowreport_flow f = saturated_video();
	cJSON *o = flowreport_json(&f);
	const cJSON *imp;
	static const char *const counters[] = {"dropped",     "corrupted", "duplicated",
					       "reordered",   "delayed",   "rate_dropped",
					       "pool_dropped"};

	(void)state;
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "name")->valuestring, "video");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "proto")->valuestring, "udp");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "saturated")));
	assert_true(num(o, "capacity_kbps") == 9850);
	assert_true(num(o, "send_kbps") == 10400);
	assert_true(fabs(num(o, "loss") - 0.043) < 1e-9);
	assert_true(num(o, "rtt_ms") == 37);
	assert_true(num(o, "tx_packets") == 100);
	assert_true(num(o, "tx_bytes") == 125000);
	assert_true(num(o, "rx_packets") == 9);
	assert_true(num(o, "rx_bytes") == 900);
	assert_true(num(o, "drops") == 3);
	imp = cJSON_GetObjectItemCaseSensitive(o, "impair");
	assert_true(cJSON_IsObject(imp));
	assert_int_equal(cJSON_GetArraySize(imp), 7);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		assert_true(num(imp, counters[i]) == (double)(i + 1));
	}
	cJSON_Delete(o);
}

static void test_flowreport_gives_null_for_what_is_not_measured(void **state)
{
	struct flowreport_flow f = {.name = "bulk", .proto = "udp"};
	cJSON *o = flowreport_json(&f);

	(void)state;
	assert_non_null(o);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "saturated")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "capacity_kbps")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "rtt_ms")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "impair")));
	assert_true(num(o, "send_kbps") == 0);
	assert_true(num(o, "loss") == 0);
	cJSON_Delete(o);
}

static void test_flowreport_keeps_loss_a_number_between_0_and_1(void **state)
{
	static const struct {
		double in, out;
	} cases[] = {{-0.5, 0}, {0, 0}, {0.25, 0.25}, {1, 1}, {3, 1}, {NAN, 0}, {INFINITY, 1}};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flowreport_flow f = {.name = "x", .loss = cases[i].in};
		cJSON *o = flowreport_json(&f);

		assert_non_null(o);
		assert_true(num(o, "loss") == cases[i].out);
		cJSON_Delete(o);
	}
}

/* A TCP flow has the same fields plus "connections"; a UDP flow has no
 * "connections". */
static void test_flowreport_tcp_flows_add_their_connections(void **state)
{
	struct flowreport_flow f = {.name = "ssh", .proto = "tcp", .connections = 3, .rtt_ms = 21};
	struct flowreport_flow u = saturated_video();
	cJSON *o = flowreport_json(&f);
	cJSON *ou = flowreport_json(&u);

	(void)state;
	assert_non_null(o);
	assert_non_null(ou);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "proto")->valuestring, "tcp");
	assert_true(num(o, "connections") == 3);
	assert_true(num(o, "rtt_ms") == 21);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "saturated")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "impair")));
	assert_int_equal(cJSON_GetArraySize(o), cJSON_GetArraySize(ou) + 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(ou, "connections"));
	cJSON_Delete(o);
	cJSON_Delete(ou);
}

static void test_flowreport_text_is_one_line_that_parses_back(void **state)
{
	struct flowreport_flow f = saturated_video();
	char *text = flowreport_text(&f);
	cJSON *o;

	(void)state;
	assert_non_null(text);
	/* One "data:" line per event in the stream. */
	assert_null(strchr(text, '\n'));
	o = cJSON_Parse(text);
	assert_non_null(o);
	assert_true(num(o, "capacity_kbps") == 9850);
	cJSON_Delete(o);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowreport_renders_every_field_of_a_saturated_flow),
		cmocka_unit_test(test_flowreport_gives_null_for_what_is_not_measured),
		cmocka_unit_test(test_flowreport_keeps_loss_a_number_between_0_and_1),
		cmocka_unit_test(test_flowreport_tcp_flows_add_their_connections),
		cmocka_unit_test(test_flowreport_text_is_one_line_that_parses_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
