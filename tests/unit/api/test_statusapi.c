/* test_statusapi: what `wormhole-client status` accepts as the local API's
 * answer (api/statusapi.c). The document statusapi_json writes is a status
 * for both the text and the --json output; whatever else answers on the
 * port (an HTML page, cut-off JSON, a JSON array, an object without the
 * status's parts, a status followed by more text) is refused by both, so
 * that --json never passes it through. A peer's `since` is written as a
 * number once its path began and null only before. */
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

#include "api/statusapi.h"

/* The text statusapi_json writes for a client with one peer on the relay. */
static char *status_text(void)
{
	struct statusapi_status *st = calloc(1, sizeof(*st));
	cJSON *o;
	char *text;

	assert_non_null(st);
	snprintf(st->id, sizeof(st->id), "drone1");
	st->server_state = "up";
	snprintf(st->server, sizeof(st->server), "127.0.0.1:7400");
	st->server_last_rx_ms_ago = 10;
	st->nat_class = "unknown";
	st->n_peers = 1;
	snprintf(st->peers[0].id, sizeof(st->peers[0].id), "gcs1");
	st->peers[0].path = "relay";
	st->peers[0].since = 1795635850.5;
	st->peers[0].is_up = true;
	st->peers[0].last_rx_ms_ago = UINT64_MAX;
	o = statusapi_json(st);
	assert_non_null(o);
	text = cJSON_PrintUnformatted(o);
	assert_non_null(text);
	cJSON_Delete(o);
	free(st);
	return text;
}

/* statusapi_print into a scratch file: its return value. */
static int print_quietly(const char *json)
{
	FILE *f = tmpfile();
	int rc;

	assert_non_null(f);
	rc = statusapi_print(f, json);
	fclose(f);
	return rc;
}

static void test_statusapi_own_document_is_a_status(void **state)
{
	char *text = status_text();
	char *spaced = malloc(strlen(text) + 3);

	(void)state;
	assert_int_equal(statusapi_validate(text), 0);
	assert_int_equal(print_quietly(text), 0);
	/* The line end and spaces a server may add around it. */
	assert_non_null(spaced);
	sprintf(spaced, "%s\r\n", text);
	assert_int_equal(statusapi_validate(spaced), 0);
	free(spaced);
	free(text);
}

static void test_statusapi_something_else_is_refused_by_json_and_text(void **state)
{
	static const char *const others[] = {
		"<html>hello</html>",
		"{\"pe",
		"[1,2,3]",
		"",
		"null",
		"\"status\"",
		"{}",
		"{\"server\":{},\"nat\":{},\"peers\":[]}",
		"{\"server\":[],\"nat\":{},\"peers\":[],\"flows\":[]}",
		"{\"server\":{},\"nat\":{},\"peers\":{},\"flows\":[]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		assert_int_equal(statusapi_validate(others[i]), -EINVAL);
		assert_int_equal(print_quietly(others[i]), -EINVAL);
	}
}

static void test_statusapi_status_followed_by_more_text_is_refused(void **state)
{
	char *text = status_text();
	char *more = malloc(strlen(text) + 32);

	(void)state;
	assert_non_null(more);
	sprintf(more, "%s<html>hello</html>", text);
	assert_int_equal(statusapi_validate(more), -EINVAL);
	assert_int_equal(print_quietly(more), -EINVAL);
	free(more);
	free(text);
}

/* A peer's `since`: a number once a path began, null only before. */
static void test_statusapi_since_is_null_only_when_no_path_began(void **state)
{
	struct statusapi_status *st = calloc(1, sizeof(*st));
	const cJSON *peers, *since;
	cJSON *o;

	(void)state;
	assert_non_null(st);
	st->server_state = "up";
	st->nat_class = "unknown";
	st->n_peers = 2;
	st->peers[0].path = "relay";
	st->peers[0].since = 1795635850.5;
	st->peers[1].path = "relay";
	o = statusapi_json(st);
	assert_non_null(o);
	peers = cJSON_GetObjectItemCaseSensitive(o, "peers");
	since = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(peers, 0), "since");
	assert_true(cJSON_IsNumber(since));
	assert_true(since->valuedouble == 1795635850.5);
	since = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(peers, 1), "since");
	assert_true(cJSON_IsNull(since));
	cJSON_Delete(o);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statusapi_own_document_is_a_status),
		cmocka_unit_test(test_statusapi_something_else_is_refused_by_json_and_text),
		cmocka_unit_test(test_statusapi_status_followed_by_more_text_is_refused),
		cmocka_unit_test(test_statusapi_since_is_null_only_when_no_path_began),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
