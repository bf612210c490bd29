/* flowdef: parses and validates one flow of routes.conf (DESIGN §4, §6):
 * name, proto, port, membership (from/to or members), per-member deliver
 * and listen overrides, impairment, multipath, joinable and mtu. Checks the
 * rules that concern one flow; rules across flows (listen port clashes) are
 * checked by routes.c once every flow is read. No I/O. */
#include "config/flowdef.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/diag.h"

#define WHAT_MAX 64 /* `flow "NAME"`, NAME at most 32 characters */
#define SUB_MAX 160 /* WHAT_MAX + ": " + a key path */

static const char *const flow_keys[] = {
	"name",	  "proto",  "port",	 "from",     "to",  "members", "deliver",
	"listen", "impair", "multipath", "joinable", "mtu", NULL,
};
static const char *const impair_keys[] = {
	"loss",	   "delay_ms",	 "jitter_ms", "corrupt", "duplicate",
	"reorder", "loss_burst", "rate_kbps", "seed",	 NULL,
};

/* Every id in the list setting s must be a known client. */
static int check_known(const struct cfgread *cr, const config_setting_t *s, const char *what,
		       char (*ids)[ROUTES_NAME_SIZE], size_t n, const struct routes *r)
{
	for (size_t i = 0; i < n; i++) {
		if (!routes_find_client(r, ids[i])) {
			cfgread_fail(cr, config_setting_get_elem(s, (unsigned)i),
				     "%s: unknown member \"%s\"", what, ids[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Read list member `key` of s (must exist) as known, non-empty client ids. */
static int read_ids(const struct cfgread *cr, const config_setting_t *s, const char *key,
		    const char *what, const struct routes *r, char (**out)[ROUTES_NAME_SIZE],
		    size_t *n)
{
	const config_setting_t *m = config_setting_get_member(s, key);
	char list_what[SUB_MAX];
	int err;

	snprintf(list_what, sizeof(list_what), "%s: %s", what, key);
	err = cfgread_name_list(cr, m, list_what, out, n);
	if (err != 0) {
		return err;
	}
	if (*n == 0) {
		cfgread_fail(cr, m, "%s: %s is empty", what, key);
		return -EINVAL;
	}
	return check_known(cr, m, what, *out, *n, r);
}

static int check_tcp_sinks(const struct cfgread *cr, const config_setting_t *s, const char *what,
			   const struct routes_flow *f)
{
	if (f->proto != ROUTES_PROTO_TCP) {
		return 0;
	}
	/* A TCP connection is a stream to one sink (DESIGN §4). */
	if (f->is_nn && f->n_members != 2) {
		cfgread_fail(cr, config_setting_get_member(s, "members"),
			     "%s: a tcp flow with members needs exactly 2 members (has %zu)", what,
			     f->n_members);
		return -EINVAL;
	}
	if (!f->is_nn && f->n_to != 1) {
		cfgread_fail(cr, config_setting_get_member(s, "to"),
			     "%s: a tcp flow needs exactly 1 sink in \"to\" (has %zu)", what,
			     f->n_to);
		return -EINVAL;
	}
	return 0;
}

static int check_member_count(const struct cfgread *cr, const config_setting_t *at,
			      const char *what, size_t n)
{
	if (n > ROUTES_MEMBERS_MAX) {
		cfgread_fail(cr, at, "%s: %zu members (at most %d)", what, n, ROUTES_MEMBERS_MAX);
		return -EINVAL;
	}
	return 0;
}

static int parse_membership(const struct cfgread *cr, const config_setting_t *s, const char *what,
			    const struct routes *r, struct routes_flow *f)
{
	const config_setting_t *members = config_setting_get_member(s, "members");
	const config_setting_t *from = config_setting_get_member(s, "from");
	const config_setting_t *to = config_setting_get_member(s, "to");
	int err;

	if (members && (from || to)) {
		cfgread_fail(cr, members, "%s: use either from/to or members, not both", what);
		return -EINVAL;
	}
	if (!members && !from && !to) {
		cfgread_fail(cr, s, "%s: missing \"members\" (or \"from\" and \"to\")", what);
		return -EINVAL;
	}
	if (members) {
		f->is_nn = true;
		err = read_ids(cr, s, "members", what, r, &f->members, &f->n_members);
		err = err ? err : check_member_count(cr, members, what, f->n_members);
		return err ? err : check_tcp_sinks(cr, s, what, f);
	}
	if (!from || !to) {
		cfgread_fail(cr, s, "%s: missing \"%s\"", what, from ? "to" : "from");
		return -EINVAL;
	}
	err = read_ids(cr, s, "from", what, r, &f->from, &f->n_from);
	if (err == 0) {
		err = read_ids(cr, s, "to", what, r, &f->to, &f->n_to);
	}
	if (err == 0) {
		err = check_member_count(cr, to, what, f->n_from + f->n_to);
	}
	for (size_t i = 0; err == 0 && i < f->n_to; i++) {
		if (routes_flow_is_source(f, f->to[i])) {
			cfgread_fail(cr, config_setting_get_elem(to, (unsigned)i),
				     "%s: \"%s\" is in both from and to (use members for N:N)",
				     what, f->to[i]);
			err = -EINVAL;
		}
	}
	return err ? err : check_tcp_sinks(cr, s, what, f);
}

/* Common checks on one member of a deliver/listen group. */
static int check_override(const struct cfgread *cr, const config_setting_t *e, const char *what,
			  const char *key, const struct routes_flow *f, bool want_sink)
{
	const char *id = config_setting_name(e);

	if (!id || !routes_flow_has_member(f, id)) {
		cfgread_fail(cr, e, "%s: %s: \"%s\" is not a member", what, key, id ? id : "?");
		return -EINVAL;
	}
	if (want_sink && !routes_flow_is_sink(f, id)) {
		cfgread_fail(cr, e, "%s: deliver: \"%s\" is not a sink (only sinks deliver)", what,
			     id);
		return -EINVAL;
	}
	if (!want_sink && !routes_flow_is_source(f, id)) {
		cfgread_fail(cr, e, "%s: listen: \"%s\" is not a source (only sources listen)",
			     what, id);
		return -EINVAL;
	}
	return 0;
}

static int parse_deliver(const struct cfgread *cr, const config_setting_t *s, const char *what,
			 struct routes_flow *f)
{
	char sub[SUB_MAX];
	int n;

	snprintf(sub, sizeof(sub), "%s: deliver", what);
	if (cfgread_group(cr, s, sub) != 0) {
		return -EINVAL;
	}
	n = config_setting_length(s);
	f->deliver = n > 0 ? calloc((size_t)n, sizeof(*f->deliver)) : NULL;
	if (n > 0 && !f->deliver) {
		cfgread_fail(cr, s, "%s: out of memory", sub);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct routes_deliver *dl = &f->deliver[i];

		if (check_override(cr, e, what, "deliver", f, true) != 0) {
			return -EINVAL;
		}
		snprintf(dl->id, sizeof(dl->id), "%s", config_setting_name(e));
		snprintf(sub, sizeof(sub), "%s: deliver.%s", what, dl->id);
		if (cfgread_addr(cr, e, sub, &dl->addr, &dl->addr_len) != 0) {
			return -EINVAL;
		}
		f->n_deliver = (size_t)i + 1;
	}
	return 0;
}

static int parse_listen(const struct cfgread *cr, const config_setting_t *s, const char *what,
			struct routes_flow *f)
{
	char sub[SUB_MAX];
	int n;

	snprintf(sub, sizeof(sub), "%s: listen", what);
	if (cfgread_group(cr, s, sub) != 0) {
		return -EINVAL;
	}
	n = config_setting_length(s);
	f->listen = n > 0 ? calloc((size_t)n, sizeof(*f->listen)) : NULL;
	if (n > 0 && !f->listen) {
		cfgread_fail(cr, s, "%s: out of memory", sub);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct routes_listen *ls = &f->listen[i];
		int64_t port;

		if (check_override(cr, e, what, "listen", f, false) != 0) {
			return -EINVAL;
		}
		snprintf(ls->id, sizeof(ls->id), "%s", config_setting_name(e));
		snprintf(sub, sizeof(sub), "%s: listen.%s", what, ls->id);
		if (cfgread_int(cr, e, sub, 1, 65535, &port) != 0) {
			return -EINVAL;
		}
		ls->port = (uint16_t)port;
		f->n_listen = (size_t)i + 1;
	}
	return 0;
}

/* One optional impair member: a probability or an integer in lo..hi. */
static int impair_field(const struct cfgread *cr, const config_setting_t *s, const char *what,
			const char *key, double *prob, int64_t hi, int64_t *v)
{
	const config_setting_t *m = config_setting_get_member(s, key);
	char sub[SUB_MAX];

	if (!m) {
		return 0;
	}
	snprintf(sub, sizeof(sub), "%s: impair.%s", what, key);
	return prob ? cfgread_prob(cr, m, sub, prob) : cfgread_int(cr, m, sub, 0, hi, v);
}

static int parse_impair(const struct cfgread *cr, const config_setting_t *s, const char *what,
			struct routes_flow *f)
{
	struct routes_impair *im = &f->impair;
	char sub[SUB_MAX];
	int64_t delay = 0, jitter = 0, rate = 0, seed = -1;

	snprintf(sub, sizeof(sub), "%s: impair", what);
	if (cfgread_group(cr, s, sub) != 0 || cfgread_check_keys(cr, s, sub, impair_keys) != 0) {
		return -EINVAL;
	}
	/* DESIGN §9: impairment is for UDP flows; TCP has its own transport. */
	if (f->proto != ROUTES_PROTO_UDP) {
		cfgread_fail(cr, s, "%s: impair applies to udp flows only", what);
		return -EINVAL;
	}
	if (impair_field(cr, s, what, "loss", &im->loss, 0, NULL) != 0 ||
	    impair_field(cr, s, what, "corrupt", &im->corrupt, 0, NULL) != 0 ||
	    impair_field(cr, s, what, "duplicate", &im->duplicate, 0, NULL) != 0 ||
	    impair_field(cr, s, what, "reorder", &im->reorder, 0, NULL) != 0 ||
	    impair_field(cr, s, what, "loss_burst", &im->loss_burst, 0, NULL) != 0 ||
	    impair_field(cr, s, what, "delay_ms", NULL, ROUTES_DELAY_MAX_MS, &delay) != 0 ||
	    impair_field(cr, s, what, "jitter_ms", NULL, ROUTES_DELAY_MAX_MS, &jitter) != 0 ||
	    impair_field(cr, s, what, "rate_kbps", NULL, ROUTES_RATE_MAX_KBPS, &rate) != 0 ||
	    impair_field(cr, s, what, "seed", NULL, INT64_MAX, &seed) != 0) {
		return -EINVAL;
	}
	im->delay_ms = (uint32_t)delay;
	im->jitter_ms = (uint32_t)jitter;
	im->rate_kbps = (uint32_t)rate;
	im->has_seed = seed >= 0;
	im->seed = im->has_seed ? (uint64_t)seed : 0;
	f->has_impair = true;
	return 0;
}

static int parse_joinable(const struct cfgread *cr, const config_setting_t *s, const char *what,
			  const struct routes *r, struct routes_flow *f)
{
	char sub[SUB_MAX];
	int err;

	snprintf(sub, sizeof(sub), "%s: joinable", what);
	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		f->is_joinable_all = config_setting_get_bool(s) != 0;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		cfgread_fail(cr, s, "%s must be true, false or a list of client ids", sub);
		return -EINVAL;
	}
	err = cfgread_name_list(cr, s, sub, &f->joinable, &f->n_joinable);
	if (err != 0) {
		return err;
	}
	return check_known(cr, s, sub, f->joinable, f->n_joinable, r);
}

static int parse_enum(const struct cfgread *cr, const config_setting_t *s, const char *what,
		      const char *key, const char *const *names, int *out)
{
	char sub[SUB_MAX];
	const char *v;

	snprintf(sub, sizeof(sub), "%s: %s", what, key);
	if (cfgread_string(cr, s, sub, &v) != 0) {
		return -EINVAL;
	}
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], v) == 0) {
			*out = i;
			return 0;
		}
	}
	if (names[2]) {
		cfgread_fail(cr, s, "%s must be \"%s\", \"%s\" or \"%s\" (got \"%.32s\")", sub,
			     names[0], names[1], names[2], v);
	} else {
		cfgread_fail(cr, s, "%s must be \"%s\" or \"%s\" (got \"%.32s\")", sub, names[0],
			     names[1], v);
	}
	return -EINVAL;
}

/* name first (for messages and uniqueness), then the other required keys. */
static int parse_head(const struct cfgread *cr, const config_setting_t *s, size_t index,
		      const struct routes *r, struct routes_flow *f, char *what, size_t what_len)
{
	static const char *const protos[] = {"udp", "tcp", NULL};
	const config_setting_t *m = config_setting_get_member(s, "name");
	int64_t port;
	int proto;

	if (!m) {
		cfgread_fail(cr, s, "flow #%zu: missing \"name\"", index + 1);
		return -EINVAL;
	}
	snprintf(what, what_len, "flow #%zu: name", index + 1);
	if (cfgread_name(cr, m, what, f->name) != 0) {
		return -EINVAL;
	}
	for (size_t j = 0; j < index; j++) {
		if (strcmp(r->flows[j].name, f->name) == 0) {
			cfgread_fail(cr, m, "duplicate flow name \"%s\" (first at line %d)",
				     f->name, r->flows[j].line);
			return -EINVAL;
		}
	}
	snprintf(what, what_len, "flow \"%s\"", f->name);
	if (cfgread_check_keys(cr, s, what, flow_keys) != 0) {
		return -EINVAL;
	}
	if (!(m = config_setting_get_member(s, "proto"))) {
		cfgread_fail(cr, s, "%s: missing \"proto\"", what);
		return -EINVAL;
	}
	if (parse_enum(cr, m, what, "proto", protos, &proto) != 0) {
		return -EINVAL;
	}
	f->proto = (enum routes_proto)proto;
	if (!(m = config_setting_get_member(s, "port"))) {
		cfgread_fail(cr, s, "%s: missing \"port\"", what);
		return -EINVAL;
	}
	snprintf(what, what_len, "flow \"%s\": port", f->name);
	if (cfgread_int(cr, m, what, 1, 65535, &port) != 0) {
		return -EINVAL;
	}
	f->port = (uint16_t)port;
	snprintf(what, what_len, "flow \"%s\"", f->name);
	return 0;
}

static int parse_options(const struct cfgread *cr, const config_setting_t *s, const char *what,
			 const struct routes *r, struct routes_flow *f)
{
	static const char *const modes[] = {"failover", "redundant", "balance", NULL};
	const config_setting_t *m;
	char sub[SUB_MAX];
	int64_t mtu = ROUTES_DEFAULT_MTU;
	int mode = ROUTES_MULTIPATH_FAILOVER;
	int err = 0;

	if ((m = config_setting_get_member(s, "deliver")) &&
	    (err = parse_deliver(cr, m, what, f))) {
		return err;
	}
	if ((m = config_setting_get_member(s, "listen")) && (err = parse_listen(cr, m, what, f))) {
		return err;
	}
	if ((m = config_setting_get_member(s, "impair")) && (err = parse_impair(cr, m, what, f))) {
		return err;
	}
	if ((m = config_setting_get_member(s, "multipath")) &&
	    parse_enum(cr, m, what, "multipath", modes, &mode) != 0) {
		return -EINVAL;
	}
	f->multipath = (enum routes_multipath)mode;
	if ((m = config_setting_get_member(s, "joinable")) &&
	    (err = parse_joinable(cr, m, what, r, f))) {
		return err;
	}
	snprintf(sub, sizeof(sub), "%s: mtu", what);
	if ((m = config_setting_get_member(s, "mtu")) &&
	    cfgread_int(cr, m, sub, ROUTES_MTU_MIN, ROUTES_MTU_MAX, &mtu) != 0) {
		return -EINVAL;
	}
	f->mtu = (uint32_t)mtu;
	return 0;
}

int flowdef_parse(const struct cfgread *cr, const config_setting_t *s, size_t index,
		  const struct routes *r, struct routes_flow *f)
{
	char what[WHAT_MAX];
	int err;

	f->line = cfgread_line(s);
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		cfgread_fail(cr, s, "flow #%zu must be a group { ... }", index + 1);
		return -EINVAL;
	}
	err = parse_head(cr, s, index, r, f, what, sizeof(what));
	if (err == 0) {
		err = parse_membership(cr, s, what, r, f);
	}
	if (err == 0) {
		err = parse_options(cr, s, what, r, f);
	}
	return err;
}

void flowdef_fini(struct routes_flow *f)
{
	free(f->from);
	free(f->to);
	free(f->members);
	free(f->deliver);
	free(f->listen);
	free(f->joinable);
	f->from = f->to = f->members = f->joinable = NULL;
	f->deliver = NULL;
	f->listen = NULL;
	f->n_from = f->n_to = f->n_members = f->n_joinable = f->n_deliver = f->n_listen = 0;
}
