/* routes: loads routes.conf (libconfig) into one validated struct routes
 * (DESIGN §6, STYLE §8): raw-text checks (cfgscan), libconfig parse, the
 * server group (serverdef), clients, flows (flowdef), then the rules across
 * flows. Also the read-only helpers every user of a struct routes needs.
 * Owns the struct it returns until the caller takes it; never modifies a
 * validated struct; never touches the network. */
#include "config/routes.h"
#include "config/routespeers.h"

#include <errno.h>
#include <libconfig.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/diag.h"
#include "config/cfgfile.h"
#include "config/cfgread.h"
#include "config/cfgscan.h"
#include "config/flowdef.h"
#include "config/serverdef.h"

static const char *const top_keys[] = {"server", "clients", "flows", NULL};
static const char *const client_keys[] = {"key", NULL};

bool routes_name_is_valid(const char *name)
{
	size_t n = 0;

	for (; name[n] != '\0'; n++) {
		char c = name[n];
		bool is_alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (n >= ROUTES_NAME_MAX || !(is_alnum || (n > 0 && strchr("_.-", c)))) {
			return false;
		}
	}
	return n > 0;
}

static int parse_client(const struct cfgread *cr, const config_setting_t *s,
			struct routes_client *c)
{
	const char *id = config_setting_name(s);
	const config_setting_t *key;
	char what[ROUTES_NAME_SIZE + 16];

	c->line = cfgread_line(s);
	if (!id || !routes_name_is_valid(id)) {
		cfgread_fail(cr, s, "clients: invalid client id \"%.64s\"", id ? id : "");
		return -EINVAL;
	}
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(what, sizeof(what), "client \"%s\"", id);
	if (cfgread_group(cr, s, what) != 0 || cfgread_check_keys(cr, s, what, client_keys) != 0) {
		return -EINVAL;
	}
	key = config_setting_get_member(s, "key");
	if (!key) {
		cfgread_fail(cr, s, "%s: missing \"key\"", what);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "client \"%s\": key", id);
	return cfgread_key(cr, key, what, c->key);
}

static int parse_clients(const struct cfgread *cr, const config_setting_t *s, struct routes *r)
{
	int n;

	if (!s) {
		return 0;
	}
	if (cfgread_group(cr, s, "clients") != 0) {
		return -EINVAL;
	}
	n = config_setting_length(s);
	r->clients = n > 0 ? calloc((size_t)n, sizeof(*r->clients)) : NULL;
	if (n > 0 && !r->clients) {
		cfgread_fail(cr, s, "clients: out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct routes_client *c = &r->clients[i];

		if (parse_client(cr, e, c) != 0) {
			return -EINVAL;
		}
		/* One key, one identity: a shared key would let either client
		 * register as the other. */
		for (int j = 0; j < i; j++) {
			if (memcmp(r->clients[j].key, c->key, sizeof(c->key)) == 0) {
				cfgread_fail(cr, e, "client \"%s\": same key as client \"%s\"",
					     c->id, r->clients[j].id);
				return -EINVAL;
			}
		}
		r->n_clients = (size_t)i + 1;
	}
	return 0;
}

static int parse_flows(const struct cfgread *cr, const config_setting_t *s, struct routes *r)
{
	int n;

	if (!s) {
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfgread_fail(cr, s, "flows must be a list ( { ... }, ... )");
		return -EINVAL;
	}
	n = config_setting_length(s);
	r->flows = n > 0 ? calloc((size_t)n, sizeof(*r->flows)) : NULL;
	if (n > 0 && !r->flows) {
		cfgread_fail(cr, s, "flows: out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		/* Count the flow before parsing so routes_free frees a half-built one. */
		r->n_flows = (size_t)i + 1;
		if (flowdef_parse(cr, config_setting_get_elem(s, (unsigned)i), (size_t)i, r,
				  &r->flows[i]) != 0) {
			return -EINVAL;
		}
	}
	return 0;
}

/* One local listening socket: client id, proto, port, owning flow. */
struct listener {
	const char *id;
	int proto;
	uint16_t port;
	size_t flow;
};

static int listener_cmp(const void *a, const void *b)
{
	const struct listener *x = a;
	const struct listener *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0) {
		return c;
	}
	if (x->proto != y->proto) {
		return x->proto - y->proto;
	}
	if (x->port != y->port) {
		return (int)x->port - (int)y->port;
	}
	return x->flow < y->flow ? -1 : (x->flow > y->flow);
}

static size_t collect_listeners(const struct routes *r, struct listener *out)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_flows; i++) {
		const struct routes_flow *f = &r->flows[i];
		char(*src)[ROUTES_NAME_SIZE] = f->is_nn ? f->members : f->from;
		size_t n_src = f->is_nn ? f->n_members : f->n_from;

		for (size_t k = 0; k < n_src; k++) {
			out[n++] = (struct listener){src[k], (int)f->proto,
						     routes_flow_listen_port(f, src[k]), i};
		}
	}
	return n;
}

/* DESIGN §4: sources listen on 127.1.0.1:<port>, sinks open no listening
 * socket. Two flows must not make one client listen twice on the same
 * proto and port. Sorted, so clashes are neighbours. */
static int check_listen_clashes(const struct cfgread *cr, const struct routes *r)
{
	struct listener *ls;
	size_t total = 0;
	size_t n;
	int err = 0;

	for (size_t i = 0; i < r->n_flows; i++) {
		total += r->flows[i].is_nn ? r->flows[i].n_members : r->flows[i].n_from;
	}
	if (total < 2) {
		return 0;
	}
	ls = calloc(total, sizeof(*ls));
	if (!ls) {
		diag_set(cr->d, cr->file, 0, "out of memory");
		return -ENOMEM;
	}
	n = collect_listeners(r, ls);
	qsort(ls, n, sizeof(*ls), listener_cmp);
	for (size_t i = 1; i < n && err == 0; i++) {
		const struct listener *a = &ls[i - 1];
		const struct listener *b = &ls[i];

		if (strcmp(a->id, b->id) == 0 && a->proto == b->proto && a->port == b->port) {
			diag_set(cr->d, cr->file, r->flows[b->flow].line,
				 "flow \"%s\": \"%s\" would listen on %s port %u, already used by "
				 "flow \"%s\" (set listen = { %s = PORT; })",
				 r->flows[b->flow].name, b->id,
				 routes_proto_name((enum routes_proto)b->proto), b->port,
				 r->flows[a->flow].name, b->id);
			err = -EINVAL;
		}
	}
	free(ls);
	return err;
}

static int parse_root(const struct cfgread *cr, const config_setting_t *root, bool load_keys,
		      struct routes *r)
{
	const config_setting_t *server = config_setting_get_member(root, "server");
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		bool is_known = false;

		for (size_t k = 0; top_keys[k] && name; k++) {
			is_known = is_known || strcmp(top_keys[k], name) == 0;
		}
		if (!is_known) {
			cfgread_fail(cr, s, "unknown top-level group \"%s\"", name ? name : "?");
			return -EINVAL;
		}
	}
	if (!server) {
		/* A whole-file error: line 1 keeps the FILE:LINE: form. */
		diag_set(cr->d, cr->file, 1, "missing \"server\" group");
		return -EINVAL;
	}
	if (serverdef_parse(cr, server, r->base_dir, load_keys, &r->server) != 0 ||
	    parse_clients(cr, config_setting_get_member(root, "clients"), r) != 0 ||
	    parse_flows(cr, config_setting_get_member(root, "flows"), r) != 0) {
		return -EINVAL;
	}
	return check_listen_clashes(cr, r);
}

/* libconfig step: text must be NUL-terminated and pre-checked. */
static int parse_libconfig(const struct cfgread *cr, const char *text, bool load_keys,
			   struct routes *r)
{
	config_t cfg;
	int err;

	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		const char *msg = config_error_text(&cfg);

		diag_set(cr->d, cr->file, config_error_line(&cfg), "%s",
			 msg ? msg : "syntax error");
		config_destroy(&cfg);
		return -EINVAL;
	}
	err = parse_root(cr, config_root_setting(&cfg), load_keys, r);
	config_destroy(&cfg);
	return err;
}

static struct routes *routes_new(const char *diag_name, const char *base_dir, struct diag *d)
{
	struct routes *r = calloc(1, sizeof(*r));
	int n;

	if (!r) {
		diag_set(d, diag_name, 0, "out of memory");
		return NULL;
	}
	n = snprintf(r->path, sizeof(r->path), "%s", diag_name);
	if (n < 0 || (size_t)n >= sizeof(r->path) ||
	    snprintf(r->base_dir, sizeof(r->base_dir), "%s",
		     base_dir && base_dir[0] ? base_dir : ".") >= (int)sizeof(r->base_dir)) {
		diag_set(d, diag_name, 0, "path too long");
		free(r);
		return NULL;
	}
	return r;
}

/* Each client's route set within what a client takes: a set over the limit
 * was sent, refused whole by the client, and the server said "applied". */
static int check_route_sets(const struct routes *r, const char *diag_name, struct diag *d)
{
	for (size_t i = 0; i < r->n_clients; i++) {
		const struct routes_client *c = &r->clients[i];
		size_t n_flows = r->flow_start[i + 1] - r->flow_start[i];
		size_t n_peers = r->peer_start[i + 1] - r->peer_start[i];

		if (n_flows > ROUTES_CLIENT_FLOWS_MAX) {
			const struct routes_flow *f =
				&r->flows[r->member_flows[r->flow_start[i] +
							  ROUTES_CLIENT_FLOWS_MAX]];

			diag_set(d, diag_name, f->line,
				 "flow \"%s\": client \"%s\" is in %zu flows (at most %d)", f->name,
				 c->id, n_flows, ROUTES_CLIENT_FLOWS_MAX);
			return -E2BIG;
		}
		if (n_peers > ROUTES_CLIENT_PEERS_MAX) {
			diag_set(d, diag_name, c->line,
				 "client \"%s\": shares flows with %zu clients (at most %d)", c->id,
				 n_peers, ROUTES_CLIENT_PEERS_MAX);
			return -E2BIG;
		}
	}
	return 0;
}

struct routes *routes_parse_text(const char *text, size_t len, const char *diag_name,
				 const char *base_dir, bool load_keys, struct diag *d)
{
	struct cfgread cr = {.file = diag_name, .d = d};
	struct routes *r;
	char *buf = NULL;

	if (len > ROUTES_FILE_MAX) {
		diag_set(d, diag_name, 1, "file too large (more than %d bytes)", ROUTES_FILE_MAX);
		return NULL;
	}
	r = routes_new(diag_name, base_dir, d);
	if (!r) {
		return NULL;
	}
	if (cfgscan_check(text, len, diag_name, ROUTES_SETTINGS_MAX, d) != 0) {
		goto fail;
	}
	buf = malloc(len + 2);
	if (!buf) {
		diag_set(d, diag_name, 0, "out of memory");
		goto fail;
	}
	memcpy(buf, text, len);
	/* libconfig refuses a last line that is a comment with no newline
	 * after it ("syntax error"): an editor may save one so. */
	if (len > 0 && text[len - 1] != '\n') {
		buf[len++] = '\n';
	}
	buf[len] = '\0';
	if (parse_libconfig(&cr, buf, load_keys, r) != 0) {
		goto fail;
	}
	if (routespeers_build(r) != 0) {
		diag_set(d, diag_name, 0, "out of memory");
		goto fail;
	}
	if (check_route_sets(r, diag_name, d) != 0) {
		goto fail;
	}
	free(buf);
	return r;

fail:
	free(buf);
	routes_free(r);
	return NULL;
}

struct routes *routes_load(const char *path, struct diag *d)
{
	char dir[ROUTES_PATH_MAX];
	struct routes *r;
	char *text;
	size_t len;

	if (cfgfile_dirname(path, dir, sizeof(dir)) != 0) {
		diag_set(d, path, 0, "path too long");
		return NULL;
	}
	if (cfgfile_read(path, ROUTES_FILE_MAX, &text, &len, d) != 0) {
		return NULL;
	}
	r = routes_parse_text(text, len, path, dir, true, d);
	free(text);
	return r;
}

void routes_free(struct routes *r)
{
	if (!r) {
		return;
	}
	for (size_t i = 0; i < r->n_flows; i++) {
		flowdef_fini(&r->flows[i]);
	}
	free(r->flows);
	free(r->clients);
	free(r->peer_start);
	free(r->peers);
	free(r->flow_start);
	free(r->member_flows);
	serverdef_fini(&r->server);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

const struct routes_flow *routes_find_flow(const struct routes *r, const char *name)
{
	for (size_t i = 0; i < r->n_flows; i++) {
		if (strcmp(r->flows[i].name, name) == 0) {
			return &r->flows[i];
		}
	}
	return NULL;
}

const struct routes_client *routes_find_client(const struct routes *r, const char *id)
{
	for (size_t i = 0; i < r->n_clients; i++) {
		if (strcmp(r->clients[i].id, id) == 0) {
			return &r->clients[i];
		}
	}
	return NULL;
}

static bool in_list(char (*ids)[ROUTES_NAME_SIZE], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0) {
			return true;
		}
	}
	return false;
}

bool routes_flow_is_source(const struct routes_flow *f, const char *id)
{
	return f->is_nn ? in_list(f->members, f->n_members, id) : in_list(f->from, f->n_from, id);
}

bool routes_flow_is_sink(const struct routes_flow *f, const char *id)
{
	return f->is_nn ? in_list(f->members, f->n_members, id) : in_list(f->to, f->n_to, id);
}

bool routes_flow_has_member(const struct routes_flow *f, const char *id)
{
	return routes_flow_is_source(f, id) || routes_flow_is_sink(f, id);
}

uint16_t routes_flow_listen_port(const struct routes_flow *f, const char *id)
{
	if (!routes_flow_is_source(f, id)) {
		return 0;
	}
	for (size_t i = 0; i < f->n_listen; i++) {
		if (strcmp(f->listen[i].id, id) == 0) {
			return f->listen[i].port;
		}
	}
	return f->port;
}

int routes_flow_deliver_addr(const struct routes_flow *f, const char *id,
			     struct sockaddr_storage *out, socklen_t *len)
{
	socklen_t dummy;

	if (!len) {
		len = &dummy;
	}
	if (!routes_flow_is_sink(f, id)) {
		return -ENOENT;
	}
	for (size_t i = 0; i < f->n_deliver; i++) {
		if (strcmp(f->deliver[i].id, id) == 0) {
			*out = f->deliver[i].addr;
			*len = f->deliver[i].addr_len;
			return 0;
		}
	}
	/* DESIGN §4: the default delivery target is 127.0.0.1:<port>. */
	if (addr_parse("127.0.0.1:1", out, len) != 0) {
		return -EINVAL;
	}
	addr_set_port(out, f->port);
	return 0;
}

static bool ids_equal(char (*a)[ROUTES_NAME_SIZE], size_t na, char (*b)[ROUTES_NAME_SIZE],
		      size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static bool impair_equal(const struct routes_impair *a, const struct routes_impair *b)
{
	return a->loss == b->loss && a->corrupt == b->corrupt && a->duplicate == b->duplicate &&
	       a->reorder == b->reorder && a->loss_burst == b->loss_burst &&
	       a->delay_ms == b->delay_ms && a->jitter_ms == b->jitter_ms &&
	       a->rate_kbps == b->rate_kbps && a->seed == b->seed && a->has_seed == b->has_seed;
}

static bool overrides_equal(const struct routes_flow *a, const struct routes_flow *b)
{
	if (a->n_deliver != b->n_deliver || a->n_listen != b->n_listen) {
		return false;
	}
	for (size_t i = 0; i < a->n_deliver; i++) {
		if (strcmp(a->deliver[i].id, b->deliver[i].id) != 0 ||
		    !addr_equal((const struct sockaddr *)&a->deliver[i].addr,
				(const struct sockaddr *)&b->deliver[i].addr)) {
			return false;
		}
	}
	for (size_t i = 0; i < a->n_listen; i++) {
		if (strcmp(a->listen[i].id, b->listen[i].id) != 0 ||
		    a->listen[i].port != b->listen[i].port) {
			return false;
		}
	}
	return true;
}

bool routes_flow_equal(const struct routes_flow *a, const struct routes_flow *b)
{
	/* Name arrays are zero-filled past the NUL (calloc + snprintf), so
	 * memcmp over whole entries is exact. */
	return strcmp(a->name, b->name) == 0 && a->proto == b->proto && a->port == b->port &&
	       a->is_nn == b->is_nn && ids_equal(a->from, a->n_from, b->from, b->n_from) &&
	       ids_equal(a->to, a->n_to, b->to, b->n_to) &&
	       ids_equal(a->members, a->n_members, b->members, b->n_members) &&
	       overrides_equal(a, b) && a->has_impair == b->has_impair &&
	       (!a->has_impair || impair_equal(&a->impair, &b->impair)) &&
	       a->multipath == b->multipath && a->is_joinable_all == b->is_joinable_all &&
	       ids_equal(a->joinable, a->n_joinable, b->joinable, b->n_joinable) &&
	       a->mtu == b->mtu;
}

const char *routes_proto_name(enum routes_proto p)
{
	return p == ROUTES_PROTO_TCP ? "tcp" : "udp";
}

const char *routes_multipath_name(enum routes_multipath m)
{
	switch (m) {
	case ROUTES_MULTIPATH_REDUNDANT:
		return "redundant";
	case ROUTES_MULTIPATH_BALANCE:
		return "balance";
	case ROUTES_MULTIPATH_FAILOVER:
		break;
	}
	return "failover";
}
