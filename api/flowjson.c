/* flowjson: flows between JSON and routes.conf text (DESIGN §6, §7).
 * JSON from the network becomes libconfig text here, so the security
 * rule of this file is: no JSON value can change the structure of the
 * text around it. Strings are escaped (and control characters refused),
 * group keys must be plain libconfig names, numbers are printed by us.
 * Everything else (known members, ranges, port clashes) is checked when
 * the new routes.conf text is parsed, exactly like a saved file. */
#include "api/flowjson.h"

#include "api/textbuf.h"

#include "common/addr.h"
#include "config/routes.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX (64 * 1024) /* one flow group; bodies are capped at 64 KiB too */

static void fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* A libconfig string literal: '"' and '\' escaped, control characters
 * refused (-EILSEQ, so the caller can say so rather than name the type). */
static int put_string(struct textbuf *b, const char *s)
{
	textbuf_put(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f) {
			return -EILSEQ;
		}
		textbuf_put(b, "%s%c", c == '"' || c == '\\' ? "\\" : "", c);
	}
	textbuf_put(b, "\"");
	return 0;
}

/* A libconfig setting name: [A-Za-z*][A-Za-z0-9_*-]*, at most 32 characters. */
static bool is_cfg_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ROUTES_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
		return false;
	}
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-')) {
			return false;
		}
	}
	return true;
}

/* A JSON number's text is a plain integer: -?[0-9]+ (no fraction, no exponent). */
static bool is_plain_int(const char *s)
{
	s += *s == '-';
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* An integer, read exactly: from the number's own text when it has one
 * (jsonbody keeps it: a double is exact only up to 2^53, and impair.seed
 * goes to 2^63-1), or from a raw value flowjson_from_flow wrote. Returns
 * 0; -EINVAL not an integer; -ERANGE past 64 bits; -EDOM past 2^53 and
 * not written in plain digits (it cannot be read exactly: never rounded). */
static int put_int(struct textbuf *b, const cJSON *v)
{
	long long n;
	double d;

	if (cJSON_IsRaw(v) ||
	    (cJSON_IsNumber(v) && v->valuestring && is_plain_int(v->valuestring))) {
		char *end;

		if (!v->valuestring || !is_plain_int(v->valuestring)) {
			return -EINVAL;
		}
		errno = 0;
		n = strtoll(v->valuestring, &end, 10);
		if (errno == ERANGE || *end) {
			return -ERANGE;
		}
	} else {
		if (!cJSON_IsNumber(v)) {
			return -EINVAL;
		}
		d = v->valuedouble;
		if (!isfinite(d) || d != floor(d)) {
			return -EINVAL;
		}
		if (fabs(d) >= 9007199254740992.0) {
			return -EDOM;
		}
		n = (long long)d;
	}
	/* libconfig: integers past 32 bits need the L suffix. */
	textbuf_put(b, "%lld%s", n, n > INT32_MAX || n < INT32_MIN ? "L" : "");
	return 0;
}

/* An integer field's put_int failure rc, for the message. */
static void fail_int(char *err, size_t err_len, const char *field, int rc, const char *want)
{
	if (rc == -ERANGE) {
		fail(err, err_len, "%s: out of range (64-bit integers only)", field);
	} else if (rc == -EDOM) {
		fail(err, err_len,
		     "%s: cannot be read exactly past 2^53 unless written as plain digits", field);
	} else {
		fail(err, err_len, "%s: must be %s", field, want);
	}
}

static int put_number(struct textbuf *b, const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
		return -EINVAL;
	}
	if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e9) {
		textbuf_put(b, "%lld", (long long)v->valuedouble);
	} else {
		/* The shortest text that reads back as the same double: 0.1, not
		 * 0.10000000000000001 (a hand-edited file stays readable). */
		char text[40];

		for (int prec = 1; prec <= 17; prec++) {
			snprintf(text, sizeof(text), "%.*g", prec, v->valuedouble);
			if (strtod(text, NULL) == v->valuedouble) {
				break;
			}
		}
		textbuf_put(b, "%s", text);
	}
	return 0;
}

/* What is wrong with field's value, for a put_* failure rc: a control
 * character (-EILSEQ), else not what the field takes (want). */
static void fail_value(char *err, size_t err_len, const char *field, int rc, const char *want)
{
	if (rc == -EILSEQ) {
		fail(err, err_len, "%s: must not contain control characters", field);
	} else {
		fail(err, err_len, "%s: must be %s", field, want);
	}
}

/* A string value: -EINVAL when v is not one, else put_string's result. */
static int put_string_value(struct textbuf *b, const cJSON *v)
{
	return cJSON_IsString(v) ? put_string(b, v->valuestring) : -EINVAL;
}

static int put_string_list(struct textbuf *b, const cJSON *v)
{
	const cJSON *e;
	bool is_first = true;

	if (!cJSON_IsArray(v)) {
		return -EINVAL;
	}
	textbuf_put(b, "[");
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e)) {
			return -EINVAL;
		}
		textbuf_put(b, "%s", is_first ? "" : ", ");
		int rc = put_string(b, e->valuestring);
		if (rc != 0) {
			return rc;
		}
		is_first = false;
	}
	textbuf_put(b, "]");
	return 0;
}

/* deliver = { id = "ip:port"; } or listen = { id = PORT; }. */
static int put_member_map(struct textbuf *b, const cJSON *v, bool is_deliver, const char *key,
			  char *err, size_t err_len)
{
	const cJSON *e;

	if (!cJSON_IsObject(v)) {
		fail(err, err_len, "%s: must be an object of client id to %s", key,
		     is_deliver ? "\"ip:port\"" : "port");
		return -EINVAL;
	}
	textbuf_put(b, "{ ");
	cJSON_ArrayForEach(e, v)
	{
		int rc;

		if (!is_cfg_name(e->string)) {
			fail(err, err_len, "%s: \"%.40s\" cannot be a key here", key, e->string);
			return -EINVAL;
		}
		textbuf_put(b, "%s = ", e->string);
		rc = is_deliver ? put_string_value(b, e) : put_int(b, e);
		if (rc != 0) {
			char field[48];

			snprintf(field, sizeof(field), "%s.%s", key, e->string);
			if (is_deliver) {
				fail_value(err, err_len, field, rc, "a string \"ip:port\"");
			} else {
				fail_int(err, err_len, field, rc, "an integer port");
			}
			return -EINVAL;
		}
		textbuf_put(b, "; ");
	}
	textbuf_put(b, "}");
	return 0;
}

static const char *const impair_probs[] = {"loss",    "corrupt",    "duplicate",
					   "reorder", "loss_burst", NULL};
static const char *const impair_ints[] = {"delay_ms", "jitter_ms", "rate_kbps", "seed", NULL};

static bool in_names(const char *const *names, const char *s)
{
	for (size_t i = 0; names[i]; i++) {
		if (strcmp(names[i], s) == 0) {
			return true;
		}
	}
	return false;
}

/* Is e, a field at its default value, a change from was (the flow or its
 * impair group as it is now; NULL: a new flow)? Then it is written, so the
 * setting the file has is rewritten in place to the default (README
 * "Write-back"); otherwise it is left out, as a person would write it, and
 * one written out by hand at its default stays. */
static bool is_change(const cJSON *e, const cJSON *was)
{
	const cJSON *w = was ? cJSON_GetObjectItemCaseSensitive(was, e->string) : NULL;

	return w && !cJSON_IsNull(w) && !cJSON_Compare(w, e, true);
}

static int put_impair(struct textbuf *b, const cJSON *v, const cJSON *was, char *err,
		      size_t err_len)
{
	const cJSON *e;

	if (!cJSON_IsObject(v)) {
		fail(err, err_len, "impair: must be an object");
		return -EINVAL;
	}
	textbuf_put(b, "{ ");
	cJSON_ArrayForEach(e, v)
	{
		bool is_prob = in_names(impair_probs, e->string);

		/* 0 is every field's default (but the seed's, which has none). */
		if (cJSON_IsNumber(e) && e->valuedouble == 0 && strcmp(e->string, "seed") != 0 &&
		    !is_change(e, was)) {
			continue;
		}

		if (!is_prob && !in_names(impair_ints, e->string)) {
			fail(err, err_len, "impair: unknown field \"%.40s\"", e->string);
			return -EINVAL;
		}
		textbuf_put(b, "%s = ", e->string);
		int rc = is_prob ? put_number(b, e) : put_int(b, e);
		if (rc != 0) {
			char field[48];

			snprintf(field, sizeof(field), "impair.%s", e->string);
			fail_int(err, err_len, field, rc, is_prob ? "a number" : "an integer");
			return -EINVAL;
		}
		textbuf_put(b, "; ");
	}
	textbuf_put(b, "}");
	return 0;
}

/* A flow's fields, in the order a new flow is written (README
 * "Write-back"): name, proto, port, membership, deliver, listen, impair,
 * multipath, joinable, mtu. */
static const char *const field_order[] = {
	"name",	  "proto",  "port",	 "from",     "to",  "members", "deliver",
	"listen", "impair", "multipath", "joinable", "mtu", NULL,
};

/* One top-level field of the flow. */
static int put_field(struct textbuf *b, const cJSON *e, const cJSON *was, char *err, size_t err_len)
{
	const char *k = e->string;
	int rc;

	if (((strcmp(k, "multipath") == 0 && cJSON_IsString(e) &&
	      strcmp(e->valuestring, "failover") == 0) ||
	     (strcmp(k, "mtu") == 0 && cJSON_IsNumber(e) &&
	      e->valuedouble == ROUTES_DEFAULT_MTU)) &&
	    !is_change(e, was)) {
		return 0;
	}
	if (strcmp(k, "name") == 0 || strcmp(k, "proto") == 0 || strcmp(k, "multipath") == 0) {
		textbuf_put(b, "%s = ", k);
		rc = put_string_value(b, e);
		if (rc != 0) {
			fail_value(err, err_len, k, rc, "a string");
			return -EINVAL;
		}
	} else if (strcmp(k, "port") == 0 || strcmp(k, "mtu") == 0) {
		textbuf_put(b, "%s = ", k);
		rc = put_int(b, e);
		if (rc != 0) {
			fail_int(err, err_len, k, rc, "an integer");
			return -EINVAL;
		}
	} else if (strcmp(k, "from") == 0 || strcmp(k, "to") == 0 || strcmp(k, "members") == 0) {
		textbuf_put(b, "%s = ", k);
		rc = put_string_list(b, e);
		if (rc != 0) {
			fail_value(err, err_len, k, rc, "a list of client ids");
			return -EINVAL;
		}
	} else if (strcmp(k, "joinable") == 0) {
		textbuf_put(b, "%s = ", k);
		if (cJSON_IsBool(e)) {
			textbuf_put(b, "%s", cJSON_IsTrue(e) ? "true" : "false");
		} else if ((rc = put_string_list(b, e)) != 0) {
			fail_value(err, err_len, k, rc, "true, false or a list of client ids");
			return -EINVAL;
		}
	} else if (strcmp(k, "deliver") == 0 || strcmp(k, "listen") == 0) {
		textbuf_put(b, "%s = ", k);
		if (put_member_map(b, e, k[0] == 'd', k, err, err_len) != 0) {
			return -EINVAL;
		}
	} else if (strcmp(k, "impair") == 0) {
		textbuf_put(b, "%s = ", k);
		const cJSON *was_impair = was ? cJSON_GetObjectItemCaseSensitive(was, k) : NULL;

		if (put_impair(b, e, cJSON_IsObject(was_impair) ? was_impair : NULL, err,
			       err_len) != 0) {
			return -EINVAL;
		}
	} else {
		fail(err, err_len, "unknown field \"%.40s\"", k);
		return -EINVAL;
	}
	textbuf_put(b, "; ");
	return 0;
}

int flowjson_to_text(const cJSON *obj, char **text, char *err, size_t err_len)
{
	return flowjson_edit_text(obj, NULL, text, err, err_len);
}

int flowjson_edit_text(const cJSON *obj, const cJSON *was, char **text, char *err, size_t err_len)
{
	struct textbuf b = {.cap = TEXT_MAX};
	const cJSON *e;

	*text = NULL;
	if (!cJSON_IsObject(obj)) {
		fail(err, err_len, "the body must be a JSON object");
		return -EINVAL;
	}
	b.p = malloc(b.cap);
	if (!b.p) {
		fail(err, err_len, "out of memory");
		return -ENOMEM;
	}
	cJSON_ArrayForEach(e, obj)
	{
		if (cJSON_IsNull(e)) {
			continue; /* absent */
		}
		for (const cJSON *p = obj->child; p != e; p = p->next) {
			if (strcmp(p->string, e->string) == 0) {
				fail(err, err_len, "field \"%.40s\" appears twice", e->string);
				free(b.p);
				return -EINVAL;
			}
		}
		if (!in_names(field_order, e->string)) {
			fail(err, err_len, "unknown field \"%.40s\"", e->string);
			free(b.p);
			return -EINVAL;
		}
	}
	/* In the documented order, whatever the body's: a new flow reads
	 * like the others in the file. */
	textbuf_put(&b, "{ ");
	for (size_t i = 0; field_order[i]; i++) {
		e = cJSON_GetObjectItemCaseSensitive(obj, field_order[i]);
		if (e && !cJSON_IsNull(e) && put_field(&b, e, was, err, err_len) != 0) {
			free(b.p);
			return -EINVAL;
		}
	}
	textbuf_put(&b, "}");
	if (b.is_full) {
		fail(err, err_len, "flow too large");
		free(b.p);
		return -EINVAL;
	}
	*text = b.p;
	return 0;
}

static cJSON *id_list(char (*ids)[ROUTES_NAME_SIZE], size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++) {
		cJSON *s = cJSON_CreateString(ids[i]);
		if (!s || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static bool add_overrides(cJSON *o, const struct routes_flow *f)
{
	char addr[ADDR_TEXT_MAX];
	cJSON *dl = f->n_deliver ? cJSON_AddObjectToObject(o, "deliver") : NULL;
	cJSON *ls = f->n_listen ? cJSON_AddObjectToObject(o, "listen") : NULL;

	for (size_t i = 0; i < f->n_deliver; i++) {
		addr_format((const struct sockaddr *)&f->deliver[i].addr, addr, sizeof(addr));
		if (!dl || !cJSON_AddStringToObject(dl, f->deliver[i].id, addr)) {
			return false;
		}
	}
	for (size_t i = 0; i < f->n_listen; i++) {
		if (!ls || !cJSON_AddNumberToObject(ls, f->listen[i].id, f->listen[i].port)) {
			return false;
		}
	}
	return true;
}

/* The seed as its exact digits (a raw value: valid JSON, never through a
 * double, which would round 1234567890123456789 to 1.2345678901234568e+18). */
static bool add_seed(cJSON *o, uint64_t seed)
{
	char digits[24];

	snprintf(digits, sizeof(digits), "%" PRIu64, seed);
	return cJSON_AddRawToObject(o, "seed", digits) != NULL;
}

static bool add_impair(cJSON *o, const struct routes_impair *im)
{
	cJSON *i = cJSON_AddObjectToObject(o, "impair");

	return i && cJSON_AddNumberToObject(i, "loss", im->loss) &&
	       cJSON_AddNumberToObject(i, "corrupt", im->corrupt) &&
	       cJSON_AddNumberToObject(i, "duplicate", im->duplicate) &&
	       cJSON_AddNumberToObject(i, "reorder", im->reorder) &&
	       cJSON_AddNumberToObject(i, "loss_burst", im->loss_burst) &&
	       cJSON_AddNumberToObject(i, "delay_ms", im->delay_ms) &&
	       cJSON_AddNumberToObject(i, "jitter_ms", im->jitter_ms) &&
	       cJSON_AddNumberToObject(i, "rate_kbps", im->rate_kbps) &&
	       (!im->has_seed || add_seed(i, im->seed));
}

cJSON *flowjson_from_flow(const struct routes_flow *f)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "name", f->name) &&
		  cJSON_AddStringToObject(o, "proto", routes_proto_name(f->proto)) &&
		  cJSON_AddNumberToObject(o, "port", f->port);

	if (ok && f->is_nn) {
		cJSON *m = id_list(f->members, f->n_members);
		ok = m && cJSON_AddItemToObject(o, "members", m);
	} else if (ok) {
		cJSON *from = id_list(f->from, f->n_from);
		ok = from && cJSON_AddItemToObject(o, "from", from);
		cJSON *to = ok ? id_list(f->to, f->n_to) : NULL;
		ok = ok && to && cJSON_AddItemToObject(o, "to", to);
	}
	ok = ok && add_overrides(o, f) && (!f->has_impair || add_impair(o, &f->impair)) &&
	     cJSON_AddStringToObject(o, "multipath", routes_multipath_name(f->multipath));
	if (ok && f->is_joinable_all) {
		ok = cJSON_AddTrueToObject(o, "joinable") != NULL;
	} else if (ok && f->n_joinable > 0) {
		cJSON *j = id_list(f->joinable, f->n_joinable);
		ok = j && cJSON_AddItemToObject(o, "joinable", j);
	}
	ok = ok && cJSON_AddNumberToObject(o, "mtu", f->mtu);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int flowjson_merge(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, patch)
	{
		cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
		cJSON *copy;

		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
			if (flowjson_merge(t, p) != 0) {
				return -ENOMEM;
			}
			continue;
		}
		copy = cJSON_Duplicate(p, true);
		if (!copy) {
			return -ENOMEM;
		}
		if (t) {
			cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, copy);
		} else if (!cJSON_AddItemToObject(target, p->string, copy)) {
			cJSON_Delete(copy);
			return -ENOMEM;
		}
	}
	return 0;
}
