/* test_httpgate: the gate's verdict on a request's framing
 * (api/httpgate.c, httpgate_check): whole, refused with its own JSON error,
 * or more to come. A refusal here is what keeps a request the gate cannot
 * be sure of from holding a civetweb worker until its timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/httpd.h"
#include "api/httpgate.h"

static struct httpgate_verdict verdict(const char *text)
{
	struct httpgate_verdict v;

	httpgate_check(text, strlen(text), &v);
	return v;
}

static int status_of(const char *text)
{
	return verdict(text).status;
}

static void test_httpgate_whole_requests_with_and_without_a_body(void **state)
{
	const char *get = "GET /api/v1/health HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *lf = "GET / HTTP/1.0\nHost: a\n\n";
	const char *post = "POST /api/v1/flows HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
	const char *ows = "PATCH /x HTTP/1.1\r\ncontent-length:\t2 \r\n\r\n{}";
	struct httpgate_verdict v;

	(void)state;
	v = verdict(get);
	assert_int_equal(v.status, 0);
	assert_int_equal(v.end, strlen(get));
	assert_int_equal(verdict(lf).end, strlen(lf));
	assert_int_equal(verdict(post).end, strlen(post));
	assert_int_equal(verdict(ows).end, strlen(ows));
	for (const char *m = "GET\0HEAD\0POST\0PUT\0PATCH\0DELETE\0OPTIONS\0"; *m;
	     m += strlen(m) + 1) {
		char req[64];

		snprintf(req, sizeof(req), "%s / HTTP/1.1\r\n\r\n", m);
		assert_int_equal(verdict(req).end, strlen(req));
	}
}

static void test_httpgate_waits_for_the_head_and_the_body(void **state)
{
	struct httpgate_verdict v;

	(void)state;
	v = verdict("GET / HTTP/1.1\r\nHost: a\r\n");
	assert_int_equal(v.status, 0);
	assert_int_equal(v.end, 0);
	v = verdict("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\":");
	assert_int_equal(v.status, 0);
	assert_int_equal(v.end, 0);
	/* An HTTP/0.9 line has no head end: it waits (the read timeout's 408). */
	assert_int_equal(status_of("GET /\r\n"), 0);
}

static void test_httpgate_refuses_body_framing_it_cannot_be_sure_of(void **state)
{
	char req[128];

	(void)state;
	assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
	assert_int_equal(
		status_of("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"),
		400);
	assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: +10\r\n\r\n"), 400);
	assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
	assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: 10abc\r\n\r\n"), 400);
	assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n"), 400);
	assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length : 10\r\n\r\n"), 400);
	snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 HTTPD_BODY_MAX + 1);
	assert_int_equal(status_of(req), 413);
	assert_int_equal(
		status_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"), 413);
	snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", HTTPD_BODY_MAX);
	assert_int_equal(status_of(req), 0); /* the largest body allowed: waits for it */
}

static void test_httpgate_refuses_malformed_lines_methods_and_versions(void **state)
{
	(void)state;
	assert_int_equal(status_of("TRACE / HTTP/1.1\r\n\r\n"), 501);
	assert_int_equal(status_of("FOO / HTTP/1.1\r\n\r\n"), 501);
	assert_int_equal(status_of("get / HTTP/1.1\r\n\r\n"), 501);
	assert_int_equal(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
	assert_int_equal(status_of("GET / HTTP/1.10\r\n\r\n"), 505);
	assert_int_equal(status_of("GET /\r\n\r\n"), 400);
	assert_int_equal(status_of("GET  / HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET /a b HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / FTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("\r\nGET / HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"), 400);
	assert_int_equal(status_of("GET / HTTP/1.1\r\n: empty-name\r\n\r\n"), 400);
	assert_non_null(verdict("FOO / HTTP/1.1\r\n\r\n").message);
}

static void test_httpgate_refuses_a_head_that_does_not_end_in_bounds(void **state)
{
	char *buf = malloc(HTTPGATE_HEAD_MAX + 1);
	struct httpgate_verdict v;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', HTTPGATE_HEAD_MAX + 1);
	memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
	httpgate_check(buf, HTTPGATE_HEAD_MAX - 1, &v);
	assert_int_equal(v.status, 0); /* still within the bound: waits */
	httpgate_check(buf, HTTPGATE_HEAD_MAX, &v);
	assert_int_equal(v.status, 431);
	assert_int_equal(v.end, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_httpgate_whole_requests_with_and_without_a_body),
		cmocka_unit_test(test_httpgate_waits_for_the_head_and_the_body),
		cmocka_unit_test(test_httpgate_refuses_body_framing_it_cannot_be_sure_of),
		cmocka_unit_test(test_httpgate_refuses_malformed_lines_methods_and_versions),
		cmocka_unit_test(test_httpgate_refuses_a_head_that_does_not_end_in_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
