/* cfgread: typed reads of libconfig settings with one-line diags at the
 * setting's line (STYLE §4). Integers are read as 64-bit and range-checked
 * here; literals that libconfig 1.5 would wrap are refused earlier, by
 * cfgscan. Knows the value syntaxes (names, addresses, keys, port ranges)
 * but not routes.conf's structure. */
#include "config/cfgread.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/b64key.h"
#include "common/diag.h"

int cfgread_line(const config_setting_t *s)
{
	return s ? (int)config_setting_source_line(s) : 0;
}

void cfgread_fail(const struct cfgread *cr, const config_setting_t *s, const char *fmt, ...)
{
	char msg[DIAG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_set(cr->d, cr->file, cfgread_line(s), "%s", msg);
}

int cfgread_check_keys(const struct cfgread *cr, const config_setting_t *group, const char *what,
		       const char *const *allowed)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		bool is_known = false;

		for (size_t k = 0; allowed[k] && name; k++) {
			is_known = is_known || strcmp(allowed[k], name) == 0;
		}
		if (!is_known) {
			cfgread_fail(cr, s, "%s: unknown key \"%s\"", what, name ? name : "?");
			return -EINVAL;
		}
	}
	return 0;
}

int cfgread_group(const struct cfgread *cr, const config_setting_t *s, const char *what)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		cfgread_fail(cr, s, "%s must be a group { ... }", what);
		return -EINVAL;
	}
	return 0;
}

int cfgread_is_list(const struct cfgread *cr, const config_setting_t *s, const char *what)
{
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		cfgread_fail(cr, s, "%s must be a list [ ... ]", what);
		return -EINVAL;
	}
	return 0;
}

int cfgread_int(const struct cfgread *cr, const config_setting_t *s, const char *what, int64_t lo,
		int64_t hi, int64_t *out)
{
	int type = config_setting_type(s);
	long long v;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		cfgread_fail(cr, s, "%s must be an integer", what);
		return -EINVAL;
	}
	/* Both types read through the 64-bit getter: never truncated here. */
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		cfgread_fail(cr, s, "%s %lld is out of range (%lld..%lld)", what, v, (long long)lo,
			     (long long)hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int cfgread_prob(const struct cfgread *cr, const config_setting_t *s, const char *what, double *out)
{
	int type = config_setting_type(s);
	double v;

	if (type == CONFIG_TYPE_FLOAT) {
		v = config_setting_get_float(s);
	} else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
		v = (double)config_setting_get_int64(s);
	} else {
		cfgread_fail(cr, s, "%s must be a number", what);
		return -EINVAL;
	}
	if (!isfinite(v) || v < 0.0 || v > 1.0) {
		cfgread_fail(cr, s, "%s %g is out of range (0..1)", what, v);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int cfgread_bool(const struct cfgread *cr, const config_setting_t *s, const char *what, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfgread_fail(cr, s, "%s must be true or false", what);
		return -EINVAL;
	}
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

int cfgread_string(const struct cfgread *cr, const config_setting_t *s, const char *what,
		   const char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfgread_fail(cr, s, "%s must be a string", what);
		return -EINVAL;
	}
	v = config_setting_get_string(s);
	if (!v || v[0] == '\0') {
		cfgread_fail(cr, s, "%s must not be empty", what);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int cfgread_name(const struct cfgread *cr, const config_setting_t *s, const char *what,
		 char out[ROUTES_NAME_SIZE])
{
	const char *v;

	if (cfgread_string(cr, s, what, &v) != 0) {
		return -EINVAL;
	}
	if (!routes_name_is_valid(v)) {
		cfgread_fail(cr, s,
			     "%s: invalid name \"%.64s\" (1-32 letters, digits, '_', '.', '-'; "
			     "starting with a letter or digit)",
			     what, v);
		return -EINVAL;
	}
	snprintf(out, ROUTES_NAME_SIZE, "%s", v);
	return 0;
}

int cfgread_name_list(const struct cfgread *cr, const config_setting_t *s, const char *what,
		      char (**out)[ROUTES_NAME_SIZE], size_t *n)
{
	char(*names)[ROUTES_NAME_SIZE] = NULL;
	int count;

	*out = NULL;
	*n = 0;
	if (cfgread_is_list(cr, s, what) != 0) {
		return -EINVAL;
	}
	count = config_setting_length(s);
	if (count > 0) {
		names = calloc((size_t)count, sizeof(*names));
		if (!names) {
			cfgread_fail(cr, s, "%s: out of memory", what);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (cfgread_name(cr, e, what, names[i]) != 0) {
			goto fail;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(names[j], names[i]) == 0) {
				cfgread_fail(cr, e, "%s: \"%s\" is listed twice", what, names[i]);
				goto fail;
			}
		}
	}
	*out = names;
	*n = (size_t)count;
	return 0;

fail:
	free(names);
	return -EINVAL;
}

int cfgread_addr(const struct cfgread *cr, const config_setting_t *s, const char *what,
		 struct sockaddr_storage *out, socklen_t *len)
{
	const char *v;

	if (cfgread_string(cr, s, what, &v) != 0) {
		return -EINVAL;
	}
	if (addr_parse(v, out, len) != 0) {
		cfgread_fail(cr, s,
			     "%s: invalid address \"%.64s\" (expected IP:PORT, or [IPv6]:PORT, "
			     "port 1..65535)",
			     what, v);
		return -EINVAL;
	}
	return 0;
}

int cfgread_key(const struct cfgread *cr, const config_setting_t *s, const char *what,
		uint8_t out[32])
{
	const char *v;

	if (cfgread_string(cr, s, what, &v) != 0) {
		return -EINVAL;
	}
	if (b64key_decode(v, out) != 0) {
		cfgread_fail(cr, s, "%s: not a base64 X25519 key", what);
		return -EINVAL;
	}
	if (b64key_is_low_order(out)) {
		cfgread_fail(cr, s, "%s: a low-order point, not a usable X25519 public key", what);
		return -EINVAL;
	}
	return 0;
}

/* Parse a port 1..65535 from s[0..n), digits only. */
static int parse_port_n(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5) {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

int cfgread_port_range(const struct cfgread *cr, const config_setting_t *s, const char *what,
		       struct routes_port_range *out)
{
	const char *v;
	const char *dash;

	if (cfgread_string(cr, s, what, &v) != 0) {
		return -EINVAL;
	}
	dash = strchr(v, '-');
	if (!dash || parse_port_n(v, (size_t)(dash - v), &out->lo) != 0 ||
	    parse_port_n(dash + 1, strlen(dash + 1), &out->hi) != 0 || out->lo > out->hi) {
		cfgread_fail(cr, s,
			     "%s: invalid port range \"%.64s\" (expected LO-HI, 1 <= LO <= HI <= "
			     "65535)",
			     what, v);
		return -EINVAL;
	}
	return 0;
}
