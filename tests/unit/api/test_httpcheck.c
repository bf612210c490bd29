/* test_httpcheck: what httpd refuses before any handler runs, and the
 * REST API's token check and ETag (api/httpcheck.c, api/restapi.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/httpcheck.h"
#include "api/httpd.h"
#include "api/restapi.h"
#include "common/addr.h"

static void test_httpcheck_target_refuses_empty_segments_long_paths_and_controls(void **state)
{
	char path[HTTPD_URI_MAX + 2];

	(void)state;
	assert_true(httpcheck_target("/api/v1/flows/video"));
	assert_true(httpcheck_target("/"));
	assert_false(httpcheck_target(NULL));
	assert_false(httpcheck_target(""));
	assert_false(httpcheck_target("api/v1"));
	assert_false(httpcheck_target("//"));
	assert_false(httpcheck_target("/api//v1"));
	assert_false(httpcheck_target("/api/v1/\x01"));
	assert_false(httpcheck_target("http://evil/api"));
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[HTTPD_URI_MAX] = '\0'; /* exactly HTTPD_URI_MAX characters */
	assert_true(httpcheck_target(path));
	path[HTTPD_URI_MAX] = 'a';
	path[HTTPD_URI_MAX + 1] = '\0';
	assert_false(httpcheck_target(path));
	memset(path, '/', HTTPD_URI_MAX);
	path[HTTPD_URI_MAX] = '\0';
	assert_false(httpcheck_target(path));
}

static void test_httpcheck_decode_path_refuses_nul_slash_and_bad_escapes(void **state)
{
	char out[HTTPD_URI_MAX + 1];

	(void)state;
	assert_true(httpcheck_decode_path("/api/v1/flows/%74%31", out, sizeof(out)));
	assert_string_equal(out, "/api/v1/flows/t1");
	assert_true(httpcheck_decode_path("/a+b%2e%2E%7e", out, sizeof(out)));
	assert_string_equal(out, "/a+b..~");
	assert_false(httpcheck_decode_path("/api/v1/flows/t1%00x", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/api/v1/flows/t1%2Fx", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/api/v1/flows/t1%2fx", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/x%0a", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/x%7F", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/x%", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/x%4", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/x%g1", out, sizeof(out)));
	assert_false(httpcheck_decode_path("/abc", out, 4));
	assert_true(httpcheck_decode_path("/abc", out, 5));
	assert_string_equal(out, "/abc");
}

static void test_httpcheck_host_matches_only_the_listen_names(void **state)
{
	const char allowed[2][80] = {"127.0.0.1:7480", "localhost:7480"};

	(void)state;
	assert_true(httpcheck_host("127.0.0.1:7480", allowed, 2));
	assert_true(httpcheck_host("LOCALHOST:7480", allowed, 2));
	assert_false(httpcheck_host("localhost", allowed, 2));
	assert_false(httpcheck_host("127.0.0.1:7481", allowed, 2));
	assert_false(httpcheck_host("evil.example:7480", allowed, 2));
	assert_false(httpcheck_host("127.0.0.1:7480.evil.example", allowed, 2));
	assert_false(httpcheck_host(NULL, allowed, 2));
}

static void test_httpcheck_json_type_takes_parameters_only_after_the_type(void **state)
{
	(void)state;
	assert_true(httpcheck_json_type("application/json"));
	assert_true(httpcheck_json_type("application/json; charset=utf-8"));
	assert_true(httpcheck_json_type("Application/JSON"));
	assert_false(httpcheck_json_type("application/jsonp"));
	assert_false(httpcheck_json_type("text/plain"));
	assert_false(httpcheck_json_type("application/x-www-form-urlencoded"));
	assert_false(httpcheck_json_type(NULL));
}

/* If-Match by RFC 9110: "*", or any tag of a list by strong comparison. */
static void test_httpcheck_if_match_takes_a_list(void **state)
{
	static const char etag[] = "\"0123abcd\"";

	(void)state;
	assert_true(httpcheck_if_match("\"0123abcd\"", etag));
	assert_true(httpcheck_if_match("*", etag));
	assert_true(httpcheck_if_match("\"other\", \"0123abcd\"", etag));
	assert_true(httpcheck_if_match("\"x,y\",\"0123abcd\" ", etag));
	assert_true(httpcheck_if_match(" \t\"0123abcd\",\"other\"", etag));
	assert_false(httpcheck_if_match("\"other\"", etag));
	assert_false(httpcheck_if_match("W/\"0123abcd\"", etag));	      /* weak */
	assert_false(httpcheck_if_match("0123abcd", etag));		      /* unquoted */
	assert_false(httpcheck_if_match("\"0123abcd", etag));		      /* unclosed */
	assert_false(httpcheck_if_match("\"0123abc\", \"0123abcde\"", etag)); /* near */
	assert_false(httpcheck_if_match("\"other\", bogus \"0123abcd\"", etag));
	assert_false(httpcheck_if_match(",", etag));
	/* Malformed lists match nothing: "*" is alone or not at all, tags
	 * are separated by commas. */
	assert_true(httpcheck_if_match(" * ", etag));
	assert_false(httpcheck_if_match("\"stale\", *", etag));
	assert_false(httpcheck_if_match("*, \"0123abcd\"", etag));
	assert_false(httpcheck_if_match("*garbage", etag));
	assert_false(httpcheck_if_match("\"stale\"\"0123abcd\"", etag));
	assert_false(httpcheck_if_match("\"0123abcd\" x", etag));
	assert_true(httpcheck_if_match(", \"0123abcd\" ,", etag));
}

static void test_httpcheck_knows_loopback(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	assert_int_equal(addr_parse("127.1.0.1:7070", &ss, NULL), 0);
	assert_true(httpcheck_is_loopback((struct sockaddr *)&ss));
	assert_int_equal(addr_parse("[::1]:7070", &ss, NULL), 0);
	assert_true(httpcheck_is_loopback((struct sockaddr *)&ss));
	assert_int_equal(addr_parse("203.0.113.10:7480", &ss, NULL), 0);
	assert_false(httpcheck_is_loopback((struct sockaddr *)&ss));
}

static void test_restapi_token_must_match_one_token_exactly(void **state)
{
	char a[] = "write-token-0123456789";
	char b[] = "second-token-abcdefghij";
	char *tokens[] = {a, b};
	char longest[ROUTES_TOKEN_MAX + 2];

	(void)state;
	assert_true(restapi_token_ok("write-token-0123456789", tokens, 2));
	assert_true(restapi_token_ok("second-token-abcdefghij", tokens, 2));
	assert_false(restapi_token_ok("write-token-012345678", tokens, 2));
	assert_false(restapi_token_ok("write-token-01234567890", tokens, 2));
	assert_false(restapi_token_ok("", tokens, 2));
	assert_false(restapi_token_ok("write-token-0123456789", tokens, 0));
	memset(longest, 'x', sizeof(longest));
	longest[sizeof(longest) - 1] = '\0';
	assert_false(restapi_token_ok(longest, tokens, 2));
}

static void test_restapi_etag_follows_the_content(void **state)
{
	char e1[RESTAPI_ETAG_MAX], e2[RESTAPI_ETAG_MAX], e3[RESTAPI_ETAG_MAX];

	(void)state;
	restapi_etag("flows: ();", 10, e1);
	restapi_etag("flows: ();", 10, e2);
	restapi_etag("flows: ( );", 11, e3);
	assert_string_equal(e1, e2);
	assert_string_not_equal(e1, e3);
	assert_int_equal(e1[0], '"');
	assert_int_equal(strlen(e1), 34);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_httpcheck_target_refuses_empty_segments_long_paths_and_controls),
		cmocka_unit_test(test_httpcheck_decode_path_refuses_nul_slash_and_bad_escapes),
		cmocka_unit_test(test_httpcheck_host_matches_only_the_listen_names),
		cmocka_unit_test(test_httpcheck_json_type_takes_parameters_only_after_the_type),
		cmocka_unit_test(test_httpcheck_if_match_takes_a_list),
		cmocka_unit_test(test_httpcheck_knows_loopback),
		cmocka_unit_test(test_restapi_token_must_match_one_token_exactly),
		cmocka_unit_test(test_restapi_etag_follows_the_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
