/* fuzz_cfgedit: libFuzzer target for the routes.conf text editor used by
 * API write-back. Any text must give an edit or an error, never a crash,
 * a leak or a read past the text. When the input is a valid routes.conf,
 * the edits must keep it valid where they can only be: removing a flow
 * leaves one flow fewer and every other flow equal, and replacing a flow
 * by its own canonical group (flowjson) changes no flow at all (and a second
 * time, not a byte). Halves of any input go through cfgmerge too. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/flowjson.h"
#include "common/diag.h"
#include "config/cfgedit.h"
#include "config/cfgmerge.h"
#include "config/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks a token on some syntax errors (see fuzz_routes.c). */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static struct routes *parse(const char *text, size_t len)
{
	struct diag d;

	diag_clear(&d);
	return routes_parse_text(text, len, "fuzz.conf", NULL, false, &d);
}

static void check_remove(const struct routes *r, const char *text, size_t len, size_t victim)
{
	char *out = NULL;
	size_t out_len = 0;
	struct routes *after;

	if (cfgedit_flow_remove(text, len, r->flows[victim].name, &out, &out_len) != 0) {
		return; /* e.g. a name written with escapes: refused, fine */
	}
	after = parse(out, out_len);
	if (!after || after->n_flows + 1 != r->n_flows) {
		__builtin_trap();
	}
	for (size_t i = 0, k = 0; i < r->n_flows; i++) {
		if (i == victim) {
			continue;
		}
		if (!routes_flow_equal(&r->flows[i], &after->flows[k++])) {
			__builtin_trap();
		}
	}
	routes_free(after);
	free(out);
}

static void check_replace_again(const char *text, size_t len, const char *name, const char *group)
{
	char *out = NULL;
	size_t out_len = 0;

	if (cfgedit_flow_replace(text, len, name, group, &out, &out_len) != 0) {
		__builtin_trap();
	}
	if (out_len != len || memcmp(out, text, len) != 0) {
		__builtin_trap();
	}
	free(out);
}

/* Arbitrary old and fresh groups (the input's halves): an error, or a
 * result cfgmerge checked itself. */
static void check_merge(const char *text, size_t size)
{
	size_t half = size / 2;
	char *fresh = strndup(text + half, size - half);
	char *out = NULL;
	size_t out_len = 0;

	for (int k = 0; fresh && k < 2; k++) {
		if (cfgmerge_group(text, (struct cfgspan){0, half}, fresh,
				   k ? cfgedit_flow_defaults : NULL, &out, &out_len) == 0) {
			if (strlen(out) != out_len) {
				__builtin_trap();
			}
			free(out);
		}
	}
	free(fresh);
}

static void check_replace_same(const struct routes *r, const char *text, size_t len, size_t i)
{
	cJSON *j = flowjson_from_flow(&r->flows[i]);
	char err[FLOWJSON_ERR_MAX];
	char *group = NULL;
	char *out = NULL;
	size_t out_len = 0;
	struct routes *after;

	if (!j || flowjson_to_text(j, &group, err, sizeof(err)) != 0) {
		cJSON_Delete(j);
		return;
	}
	if (cfgedit_flow_replace(text, len, r->flows[i].name, group, &out, &out_len) == 0) {
		after = parse(out, out_len);
		if (!after || after->n_flows != r->n_flows) {
			__builtin_trap();
		}
		for (size_t k = 0; k < r->n_flows; k++) {
			if (!routes_flow_equal(&r->flows[k], &after->flows[k])) {
				__builtin_trap();
			}
		}
		routes_free(after);
		/* Merged once, the group already says it all: again is a no-op. */
		check_replace_again(out, out_len, r->flows[i].name, group);
		free(out);
	}
	free(group);
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char *out = NULL;
	size_t out_len = 0;
	struct routes *r;

	/* Arbitrary text: every operation ends, and frees what it made. */
	if (cfgedit_flow_add(text, size, "{ name = \"z\"; }", &out, &out_len) == 0) {
		free(out);
	}
	if (cfgedit_client_set(text, size, "gcs9", "{ key = \"k\"; }", &out, &out_len) == 0) {
		free(out);
	}
	if (cfgedit_client_remove(text, size, "gcs4", &out, &out_len) == 0) {
		free(out);
	}
	if (cfgedit_flow_remove(text, size, "video", &out, &out_len) == 0) {
		free(out);
	}
	check_merge(text, size);
	r = parse(text, size);
	if (r && r->n_flows > 0) {
		size_t victim = size % r->n_flows;
		check_remove(r, text, size, victim);
		check_replace_same(r, text, size, victim);
	}
	routes_free(r);
	return 0;
}
