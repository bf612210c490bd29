/* flowjson: a flow as JSON (the REST API's body, with routes.conf's field
 * names) <-> a validated struct routes_flow, and JSON -> the libconfig group
 * text that write-back splices into routes.conf. The text is then parsed and
 * validated like any saved file, so this file checks only JSON types and the
 * characters that could break out of the group; membership, ranges and
 * cross-flow rules stay with config/. */
#ifndef WH_FLOWJSON_H
#define WH_FLOWJSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct routes_flow;

#define FLOWJSON_ERR_MAX 160

/* A new JSON object for f (caller frees with cJSON_Delete), NULL when out of memory. */
cJSON *flowjson_from_flow(const struct routes_flow *f);

/* The libconfig group "{ name = ...; }" for obj, in a new string (caller
 * frees), in a fixed field order, defaults left out: a new flow. Returns
 * 0; -EINVAL with err naming the field and the problem ("port: must be an
 * integer", "unknown field \"colour\""); -ENOMEM. */
int flowjson_to_text(const cJSON *obj, char **text, char *err, size_t err_len);
/* The same for an edit of a flow that is was now (its JSON, borrowed; NULL
 * for a new flow): a field at its default (mtu 1400, multipath "failover",
 * a zero impairment) is written too when was has another value, so that
 * the file's setting is rewritten in place rather than removed. */
int flowjson_edit_text(const cJSON *obj, const cJSON *was, char **text, char *err, size_t err_len);

/* RFC 7396 JSON merge patch: apply patch to target in place (null removes a
 * field). Returns 0 or -ENOMEM. */
int flowjson_merge(cJSON *target, const cJSON *patch);

#endif
