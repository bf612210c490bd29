/* test_flowjson: flows between JSON and routes.conf text (api/flowjson.c).
 * A flow read from a file, turned into JSON and back into text must parse
 * to the same flow; wrong types are refused naming the field; no JSON value
 * can add settings to the text around it; merge patches follow RFC 7396. */
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

#include "api/flowjson.h"
#include "api/jsonbody.h"
#include "common/diag.h"
#include "config/cfgedit.h"
#include "config/routes.h"

#define KEY_D3 "MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM="
#define KEY_G4 "PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8="
#define KEY_G5 "3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0="
#define HEAD                                                                                \
	"server: { listen = [\"203.0.113.10:7400\"]; key_file = \"server.key\"; };\n"       \
	"clients: { drone3 = { key = \"" KEY_D3 "\"; }; gcs4 = { key = \"" KEY_G4 "\"; }; " \
	"gcs5 = { key = \"" KEY_G5 "\"; }; };\n"

/* Parse HEAD + flows: ( group ); NULL with the diag in msg when invalid. */
static struct routes *parse_group(const char *group, char *msg, size_t msg_len)
{
	char text[8192];
	struct diag d;
	struct routes *r;

	snprintf(text, sizeof(text), HEAD "flows: ( %s );\n", group);
	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "t.conf", NULL, false, &d);
	if (!r && msg) {
		diag_format(&d, msg, msg_len);
	}
	return r;
}

static char *to_text_ok(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	char err[FLOWJSON_ERR_MAX] = "";
	char *text = NULL;

	assert_non_null(o);
	if (flowjson_to_text(o, &text, err, sizeof(err)) != 0) {
		fail_msg("to_text failed: %s", err);
	}
	cJSON_Delete(o);
	return text;
}

static void expect_refused(const char *json, const char *want)
{
	cJSON *o = cJSON_Parse(json);
	char err[FLOWJSON_ERR_MAX] = "";
	char *text = NULL;

	assert_non_null(o);
	assert_int_equal(flowjson_to_text(o, &text, err, sizeof(err)), -EINVAL);
	assert_null(text);
	if (!strstr(err, want)) {
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	}
	cJSON_Delete(o);
}

static void test_flowjson_round_trips_every_field(void **state)
{
	static const char *const groups[] = {
		"{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = [\"drone3\", "
		"\"gcs4\"]; }",
		"{ name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; to = "
		"[\"gcs4\", \"gcs5\"]; deliver = { gcs4 = \"127.0.0.1:5601\"; }; listen = { drone3 "
		"= 5700; }; impair = { loss = 0.02; delay_ms = 40; jitter_ms = 10; corrupt = "
		"0.001; "
		"seed = 4294967296L; }; multipath = \"redundant\"; joinable = [\"gcs5\"]; mtu = "
		"1200; "
		"}",
		"{ name = \"ssh\"; proto = \"tcp\"; port = 2222; from = [\"gcs4\"]; to = "
		"[\"drone3\"]; deliver = { drone3 = \"[::1]:22\"; }; joinable = true; }",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		char msg[512];
		struct routes *a = parse_group(groups[i], msg, sizeof(msg));
		struct routes *b;
		cJSON *j;
		char err[FLOWJSON_ERR_MAX];
		char *text = NULL;

		if (!a) {
			fail_msg("fixture %zu: %s", i, msg);
		}
		j = flowjson_from_flow(&a->flows[0]);
		assert_non_null(j);
		assert_int_equal(flowjson_to_text(j, &text, err, sizeof(err)), 0);
		b = parse_group(text, msg, sizeof(msg));
		if (!b) {
			fail_msg("round trip %zu: %s\n%s", i, msg, text);
		}
		assert_true(routes_flow_equal(&a->flows[0], &b->flows[0]));
		cJSON_Delete(j);
		free(text);
		routes_free(a);
		routes_free(b);
	}
}

/* Numbers are written as the shortest text that reads back the same. */
static void test_flowjson_numbers_are_short(void **state)
{
	char *text = to_text_ok(
		"{\"name\":\"v\",\"proto\":\"udp\",\"port\":5600,\"members\":[\"a\"],"
		"\"impair\":{\"loss\":0.1,\"corrupt\":0.001,\"duplicate\":0.3333333333333333}}");

	(void)state;
	assert_non_null(strstr(text, "loss = 0.1;"));
	assert_non_null(strstr(text, "corrupt = 0.001;"));
	assert_non_null(strstr(text, "duplicate = 0.3333333333333333;"));
	assert_null(strstr(text, "0000000"));
	free(text);
}

/* A new flow is written in the documented field order, not the body's. */
static void test_flowjson_writes_fields_in_the_documented_order(void **state)
{
	char *text =
		to_text_ok("{\"mtu\":1200,\"joinable\":true,\"multipath\":\"balance\",\"impair\":{"
			   "\"loss\":0.5},"
			   "\"listen\":{\"drone3\":5700},\"deliver\":{\"gcs4\":\"127.0.0.1:1\"},"
			   "\"to\":[\"gcs4\"],"
			   "\"from\":[\"drone3\"],\"port\":5600,\"proto\":\"udp\",\"name\":\"v\"}");

	(void)state;
	assert_string_equal(text, "{ name = \"v\"; proto = \"udp\"; port = 5600; from = "
				  "[\"drone3\"]; to = [\"gcs4\"]; deliver = { gcs4 = "
				  "\"127.0.0.1:1\"; }; listen = { drone3 = 5700; }; impair = { "
				  "loss = 0.5; }; multipath = \"balance\"; joinable = true; mtu = "
				  "1200; }");
	free(text);
	text = to_text_ok("{\"members\":[\"drone3\",\"gcs4\"],\"port\":1,\"name\":\"n\"}");
	assert_string_equal(text, "{ name = \"n\"; port = 1; members = [\"drone3\", \"gcs4\"]; }");
	free(text);
}

/* body as the API reads it (jsonbody keeps each number's own text). */
static cJSON *body_of(const char *json)
{
	char why[JSONBODY_WHY_MAX];
	cJSON *o = jsonbody_object(json, strlen(json), why);

	if (!o) {
		fail_msg("body %s: %s", json, why);
	}
	return o;
}

static int body_to_text(const char *json, char **text, char *err, size_t err_len)
{
	cJSON *o = body_of(json);
	int rc = flowjson_to_text(o, text, err, err_len);

	cJSON_Delete(o);
	return rc;
}

/* impair.seed goes to 2^63-1, past what a double holds exactly (2^53). */
static void test_flowjson_reads_and_writes_a_large_seed_exactly(void **state)
{
	static const struct {
		const char *seed; /* in the JSON body */
		const char *want; /* in the group text, or the error */
	} cases[] = {
		{"9007199254740993", "seed = 9007199254740993L;"},
		{"100000000000000000", "seed = 100000000000000000L;"},
		{"9223372036854775807", "seed = 9223372036854775807L;"},
		{"42", "seed = 42;"},
		{"4.2e1", "seed = 42;"},
		{"9223372036854775808", "impair.seed: out of range"},
		{"1e19", "impair.seed: cannot be read exactly"},
		{"9007199254740993.0", "impair.seed: cannot be read exactly"},
		{"4.5", "impair.seed: must be an integer"},
	};
	char json[256];
	char err[FLOWJSON_ERR_MAX];
	char *text;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		snprintf(json, sizeof(json),
			 "{\"name\":\"v\",\"members\":[\"a\"],\"impair\":{\"seed\":%s}}",
			 cases[i].seed);
		err[0] = '\0';
		text = NULL;
		rc = body_to_text(json, &text, err, sizeof(err));
		if (!strstr(rc == 0 ? text : err, cases[i].want)) {
			fail_msg("seed %s: got \"%s\", want \"%s\"", cases[i].seed,
				 rc == 0 ? text : err, cases[i].want);
		}
		free(text);
	}
}

/* A flow's JSON (GET) put back (PUT) writes the same flow: a seed past
 * 2^53 written by hand included. */
static void test_flowjson_get_body_put_back_is_the_same_flow(void **state)
{
	char msg[512];
	struct routes *a = parse_group("{ name = \"v\"; proto = \"udp\"; port = 5600; members = "
				       "[\"drone3\", \"gcs4\"]; impair = { loss = 0.1; seed = "
				       "1234567890123456789L; }; }",
				       msg, sizeof(msg));
	struct routes *b;
	cJSON *j;
	char *json;
	char err[FLOWJSON_ERR_MAX];
	char *text = NULL;

	(void)state;
	if (!a) {
		fail_msg("%s", msg);
	}
	j = flowjson_from_flow(&a->flows[0]);
	json = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(json, "\"seed\":1234567890123456789}"));
	if (body_to_text(json, &text, err, sizeof(err)) != 0) {
		fail_msg("%s", err);
	}
	b = parse_group(text, msg, sizeof(msg));
	if (!b) {
		fail_msg("%s\n%s", msg, text);
	}
	assert_true(b->flows[0].impair.seed == 1234567890123456789ULL);
	assert_true(routes_flow_equal(&a->flows[0], &b->flows[0]));
	/* And the JSON itself, merged with a patch, as PATCH does. */
	free(text);
	text = NULL;
	assert_int_equal(flowjson_to_text(j, &text, err, sizeof(err)), 0);
	assert_non_null(strstr(text, "seed = 1234567890123456789L;"));
	free(text);
	free(json);
	cJSON_Delete(j);
	routes_free(a);
	routes_free(b);
}

/* An edit that sets a field back to its default rewrites the file's line
 * in place, with its comment (README "Write-back"), where it used to
 * remove it; a default the file does not have is still not added. */
static void test_flowjson_edit_sets_a_default_in_place(void **state)
{
	static const char group[] = "{ name = \"v\"; proto = \"udp\"; port = 5600;\n"
				    "    members = [\"drone3\", \"gcs4\"];\n"
				    "    impair = { loss = 0.02;  # lossy\n"
				    "               delay_ms = 5; };\n"
				    "    multipath = \"balance\";  # both links\n"
				    "    mtu = 1300;   # tuned\n"
				    "  }";
	char text[4096];
	char msg[512];
	struct routes *a = parse_group(group, msg, sizeof(msg));
	struct routes *b;
	cJSON *was, *obj, *patch;
	char err[FLOWJSON_ERR_MAX];
	char *fresh = NULL;
	char *out = NULL;
	size_t out_len = 0;
	struct diag d;

	(void)state;
	if (!a) {
		fail_msg("%s", msg);
	}
	snprintf(text, sizeof(text), HEAD "flows: ( %s );\n", group);
	was = flowjson_from_flow(&a->flows[0]);
	obj = cJSON_Duplicate(was, true);
	patch = cJSON_Parse("{\"mtu\":1400,\"multipath\":\"failover\",\"impair\":{\"loss\":0},"
			    "\"joinable\":null}");
	assert_int_equal(flowjson_merge(obj, patch), 0);
	assert_int_equal(flowjson_edit_text(obj, was, &fresh, err, sizeof(err)), 0);
	assert_int_equal(cfgedit_flow_replace(text, strlen(text), "v", fresh, &out, &out_len), 0);
	assert_non_null(strstr(out, "    mtu = 1400;   # tuned\n"));
	assert_non_null(strstr(out, "    multipath = \"failover\";  # both links\n"));
	assert_non_null(strstr(out, "impair = { loss = 0;  # lossy\n"));
	assert_non_null(strstr(out, "delay_ms = 5;"));
	assert_null(strstr(out, "joinable")); /* a default the file lacks is not added */
	diag_clear(&d);
	b = routes_parse_text(out, out_len, "t.conf", NULL, false, &d);
	if (!b) {
		fail_msg("%s\n%s", diag_format(&d, msg, sizeof(msg)), out);
	}
	assert_int_equal(b->flows[0].mtu, 1400);
	assert_int_equal(b->flows[0].impair.delay_ms, 5);
	/* A new flow leaves every default out. */
	free(fresh);
	assert_int_equal(flowjson_to_text(obj, &fresh, err, sizeof(err)), 0);
	assert_null(strstr(fresh, "mtu"));
	assert_null(strstr(fresh, "multipath"));
	assert_null(strstr(fresh, "loss"));
	free(fresh);
	free(out);
	cJSON_Delete(patch);
	cJSON_Delete(obj);
	cJSON_Delete(was);
	routes_free(a);
	routes_free(b);
}

static void test_flowjson_refuses_wrong_types_naming_the_field(void **state)
{
	(void)state;
	expect_refused("{\"name\":\"a\",\"port\":\"22\"}", "port: must be an integer");
	expect_refused("{\"name\":\"a\",\"port\":22.5}", "port: must be an integer");
	expect_refused("{\"name\":7}", "name: must be a string");
	expect_refused("{\"name\":\"a\",\"members\":\"drone3\"}", "members: must be a list");
	expect_refused("{\"name\":\"a\",\"from\":[1]}", "from: must be a list");
	expect_refused("{\"name\":\"a\",\"colour\":\"red\"}", "unknown field \"colour\"");
	expect_refused("{\"name\":\"a\",\"impair\":{\"loss\":\"x\"}}",
		       "impair.loss: must be a number");
	expect_refused("{\"name\":\"a\",\"impair\":{\"wobble\":1}}", "impair: unknown field");
	expect_refused("{\"name\":\"a\",\"joinable\":\"yes\"}", "joinable: must be true");
	expect_refused("{\"name\":\"a\",\"listen\":{\"drone3\":\"x\"}}", "listen.drone3: must be");
	expect_refused("{\"name\":\"a\",\"name\":\"b\"}", "appears twice");
	expect_refused("[1,2]", "must be a JSON object");
}

static void test_flowjson_values_cannot_break_out_of_the_group(void **state)
{
	char *text;
	char msg[512];
	struct routes *r;

	(void)state;
	/* A quote in a string stays inside the string: the name is invalid, and
	 * nothing after it becomes a setting. */
	text = to_text_ok("{\"name\":\"a\\\"; port = 9; x = \\\"\",\"proto\":\"udp\",\"port\":1,"
			  "\"members\":[\"drone3\",\"gcs4\"]}");
	r = parse_group(text, msg, sizeof(msg));
	assert_null(r);
	assert_non_null(strstr(msg, "name"));
	free(text);
	/* Newlines and other control characters are refused outright. */
	expect_refused("{\"name\":\"a\\n}\"}", "name: must not contain control characters");
	/* Keys of deliver/listen must be plain names. */
	expect_refused("{\"name\":\"a\",\"deliver\":{\"gcs4 = \\\"x\\\"; }; evil\":\"1.2.3.4:5\"}}",
		       "cannot be a key here");
	/* A number is printed by us, never copied. */
	text = to_text_ok("{\"name\":\"a\",\"proto\":\"udp\",\"port\":1e3,\"members\":[\"drone3\","
			  "\"gcs4\"]}");
	r = parse_group(text, msg, sizeof(msg));
	assert_non_null(r);
	assert_int_equal(r->flows[0].port, 1000);
	routes_free(r);
	free(text);
}

/* A control character is named as the problem, not the field's type: the
 * value is a string, just not one routes.conf can hold. */
static void test_flowjson_says_control_characters_are_the_problem(void **state)
{
	(void)state;
	expect_refused("{\"name\":\"x\\ty\"}", "name: must not contain control characters");
	expect_refused("{\"name\":\"a\",\"proto\":\"udp\\u007f\"}",
		       "proto: must not contain control characters");
	expect_refused("{\"name\":\"a\",\"to\":[\"gcs4\",\"g\\r5\"]}",
		       "to: must not contain control characters");
	expect_refused("{\"name\":\"a\",\"joinable\":[\"g\\n5\"]}",
		       "joinable: must not contain control characters");
	expect_refused("{\"name\":\"a\",\"deliver\":{\"gcs4\":\"1.2.3.4:5\\t\"}}",
		       "deliver.gcs4: must not contain control characters");
	/* The type is still what is wrong when it is. */
	expect_refused("{\"name\":\"a\",\"deliver\":{\"gcs4\":5}}",
		       "deliver.gcs4: must be a string");
	expect_refused("{\"name\":\"a\",\"to\":[\"gcs4\",5]}", "to: must be a list");
}

static void test_flowjson_merge_patch_sets_replaces_and_removes(void **state)
{
	cJSON *t =
		cJSON_Parse("{\"name\":\"v\",\"port\":1,\"impair\":{\"loss\":0.1,\"delay_ms\":5},"
			    "\"mtu\":1200}");
	cJSON *p =
		cJSON_Parse("{\"port\":2,\"impair\":{\"loss\":null,\"jitter_ms\":3},\"mtu\":null,"
			    "\"multipath\":\"balance\"}");
	char *out;

	(void)state;
	assert_int_equal(flowjson_merge(t, p), 0);
	out = cJSON_PrintUnformatted(t);
	assert_string_equal(out, "{\"name\":\"v\",\"port\":2,\"impair\":{\"delay_ms\":5,"
				 "\"jitter_ms\":3},\"multipath\":\"balance\"}");
	free(out);
	cJSON_Delete(t);
	cJSON_Delete(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowjson_round_trips_every_field),
		cmocka_unit_test(test_flowjson_numbers_are_short),
		cmocka_unit_test(test_flowjson_writes_fields_in_the_documented_order),
		cmocka_unit_test(test_flowjson_reads_and_writes_a_large_seed_exactly),
		cmocka_unit_test(test_flowjson_get_body_put_back_is_the_same_flow),
		cmocka_unit_test(test_flowjson_edit_sets_a_default_in_place),
		cmocka_unit_test(test_flowjson_refuses_wrong_types_naming_the_field),
		cmocka_unit_test(test_flowjson_values_cannot_break_out_of_the_group),
		cmocka_unit_test(test_flowjson_says_control_characters_are_the_problem),
		cmocka_unit_test(test_flowjson_merge_patch_sets_replaces_and_removes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
