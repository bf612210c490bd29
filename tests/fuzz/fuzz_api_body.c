/* fuzz_api_body: libFuzzer target for the REST API's flow bodies. Runs the
 * production path: jsonbody_object -> flowjson_merge (PATCH) -> flowjson_to_text
 * -> the text spliced into a routes.conf and parsed like a save. Properties:
 * no crash or leak, and no body can smuggle settings into the file: when
 * the result parses, it has exactly the one flow and the three clients of
 * the template, and that flow survives a JSON round trip unchanged. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/flowjson.h"
#include "api/jsonbody.h"
#include "common/diag.h"
#include "config/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks a token on some syntax errors (see fuzz_routes.c). */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

#define HEAD                                                                                \
	"server: { listen = [\"203.0.113.10:7400\"]; key_file = \"server.key\"; };\n"       \
	"clients: { drone3 = { key = \"MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM=\"; }; " \
	"gcs4 = { key = \"PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8=\"; }; "              \
	"gcs5 = { key = \"3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0=\"; }; };\n"

static struct routes *parse_with(const char *group)
{
	size_t n = strlen(HEAD) + strlen(group) + 32;
	char *text = malloc(n);
	struct diag d;
	struct routes *r;

	if (!text) {
		return NULL;
	}
	snprintf(text, n, "%sflows: ( %s );\n", HEAD, group);
	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "fuzz.conf", NULL, false, &d);
	free(text);
	return r;
}

static void check_round_trip(const struct routes_flow *f)
{
	cJSON *j = flowjson_from_flow(f);
	char err[FLOWJSON_ERR_MAX];
	char *text = NULL;
	struct routes *again;

	if (!j) {
		return;
	}
	if (flowjson_to_text(j, &text, err, sizeof(err)) != 0) {
		__builtin_trap(); /* a valid flow always has a text */
	}
	again = parse_with(text);
	if (!again || again->n_flows != 1 || !routes_flow_equal(f, &again->flows[0])) {
		__builtin_trap();
	}
	routes_free(again);
	free(text);
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	char why[JSONBODY_WHY_MAX];
	cJSON *body = NULL;
	cJSON *base = cJSON_Parse("{\"name\":\"video\",\"proto\":\"udp\",\"port\":5600,"
				  "\"from\":[\"drone3\"],\"to\":[\"gcs4\"]}");
	char err[FLOWJSON_ERR_MAX];
	char *text = NULL;
	struct routes *r;

	if (!copy) {
		goto out;
	}
	memcpy(copy, data, size);
	copy[size] = '\0';
	body = jsonbody_object(copy, size, why);
	if (!body || !base) {
		goto out;
	}
	{
		(void)flowjson_merge(base, body);
		if (flowjson_to_text(base, &text, err, sizeof(err)) == 0) {
			r = parse_with(text);
			if (r && (r->n_flows != 1 || r->n_clients != 3)) {
				__builtin_trap();
			}
			routes_free(r);
			free(text);
			text = NULL;
		}
	}
	if (flowjson_to_text(body, &text, err, sizeof(err)) == 0) {
		r = parse_with(text);
		if (r && (r->n_flows != 1 || r->n_clients != 3)) {
			__builtin_trap();
		}
		if (r) {
			check_round_trip(&r->flows[0]);
		}
		routes_free(r);
	}
out:
	free(copy);
	free(text);
	cJSON_Delete(body);
	cJSON_Delete(base);
	return 0;
}
