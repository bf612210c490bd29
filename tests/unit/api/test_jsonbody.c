/* test_jsonbody: request bodies as JSON objects (api/jsonbody.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/jsonbody.h"

/* body as the HTTP layer hands it over: len bytes, a NUL after them. */
static cJSON *parse(const char *body, size_t len, char why[JSONBODY_WHY_MAX])
{
	why[0] = '\0';
	return jsonbody_object(body, len, why);
}

static void expect_refused_n(const char *body, size_t len, const char *want)
{
	char why[JSONBODY_WHY_MAX];
	cJSON *o = parse(body, len, why);

	if (o || strcmp(why, want) != 0) {
		fail_msg("body \"%s\": got \"%s\", want \"%s\"", body, o ? "(accepted)" : why,
			 want);
	}
}

static void expect_refused(const char *body, const char *want)
{
	expect_refused_n(body, strlen(body), want);
}

static void test_jsonbody_takes_an_object(void **state)
{
	static const char body[] =
		"{\"name\": \"caf\xc3\xa9\", \"port\": 5600, \"x\": \"a\\\\u0000\"}";
	char why[JSONBODY_WHY_MAX];
	cJSON *o;

	(void)state;
	o = parse(body, sizeof(body) - 1, why);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, "caf\xc3\xa9");
	/* An escaped backslash followed by the text u0000 is no NUL. */
	assert_string_equal(cJSON_GetObjectItem(o, "x")->valuestring, "a\\u0000");
	cJSON_Delete(o);
}

/* Each number keeps its own text, wherever it is: not fooled by a string
 * that looks like a key, by blanks or by a byte-order mark. */
static void test_jsonbody_keeps_each_numbers_text(void **state)
{
	static const char body[] =
		"\xef\xbb\xbf {\"x\": \"\\\"seed\\\": 1\", \"seed\" :\t9007199254740993 ,"
		"\"a\":[1.50, -0, {\"b\": 2e3}, [], {}, true, null], \"c\": 1E+2}";
	char why[JSONBODY_WHY_MAX];
	cJSON *o;
	const cJSON *a;

	(void)state;
	o = parse(body, sizeof(body) - 1, why);
	if (!o) {
		fail_msg("%s", why);
	}
	assert_string_equal(cJSON_GetObjectItem(o, "seed")->valuestring, "9007199254740993");
	a = cJSON_GetObjectItem(o, "a");
	assert_string_equal(cJSON_GetArrayItem(a, 0)->valuestring, "1.50");
	assert_string_equal(cJSON_GetArrayItem(a, 1)->valuestring, "-0");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 2), "b")->valuestring, "2e3");
	assert_string_equal(cJSON_GetObjectItem(o, "c")->valuestring, "1E+2");
	assert_string_equal(cJSON_GetObjectItem(o, "x")->valuestring, "\"seed\": 1");
	cJSON_Delete(o);
}

static void test_jsonbody_refuses_what_cjson_would_cut_or_pass(void **state)
{
	static const char nul[] = "{\"a\": 1}\0{\"b\": 2}";

	(void)state;
	expect_refused("", "a JSON body is required");
	expect_refused_n(nul, sizeof(nul) - 1, "bad JSON: NUL byte at byte 8");
	/* cJSON would return "t1" for this name: DELETE-by-body of another flow. */
	expect_refused("{\"name\": \"t1\\u0000x\"}", "bad JSON: \\u0000 in a string at byte 12");
	expect_refused("{\"n\\u0000\": 1}", "bad JSON: \\u0000 in a string at byte 3");
	expect_refused("{\"name\": \"t\xff\"}", "bad JSON: not UTF-8 at byte 11");
	expect_refused("{\"n\": \"\xc0\xaf\"}", "bad JSON: not UTF-8 at byte 7");
	expect_refused("{\"n\": \"\xed\xa0\x80\"}", "bad JSON: not UTF-8 at byte 7");
	expect_refused("{\"n\": \"\xf4\x90\x80\x80\"}", "bad JSON: not UTF-8 at byte 7");
	expect_refused("{\"n\": \"\xe2\x82\"}", "bad JSON: not UTF-8 at byte 7");
	expect_refused("{\"name\": ", "bad JSON at byte 9");
	expect_refused("{} {}", "bad JSON at byte 3");
	expect_refused("[1]", "the body must be a JSON object");
	expect_refused("null", "the body must be a JSON object");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonbody_takes_an_object),
		cmocka_unit_test(test_jsonbody_keeps_each_numbers_text),
		cmocka_unit_test(test_jsonbody_refuses_what_cjson_would_cut_or_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
