/* cfgdiff: the difference between two validated routes (STYLE §8): flows
 * and clients added, removed or changed, found by sorting both sides by
 * name and walking them in one pass; and which server settings changed,
 * split into those applied live (API tokens, keepalive) and those that need
 * a restart. Reads both configs, modifies neither, never applies anything. */
#include "config/cfgdiff.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

typedef int diff_cmp_fn(const void *a, const void *b);
typedef bool diff_equal_fn(const void *a, const void *b);

/* One list of names in the diff. */
struct name_list {
	char (**names)[ROUTES_NAME_SIZE];
	size_t *n;
};

static int list_add(struct name_list l, const char *name)
{
	char(*more)[ROUTES_NAME_SIZE] = realloc(*l.names, (*l.n + 1) * sizeof(*more));

	if (!more) {
		return -ENOMEM;
	}
	*l.names = more;
	snprintf(more[*l.n], ROUTES_NAME_SIZE, "%s", name);
	(*l.n)++;
	return 0;
}

static int flow_ptr_cmp(const void *a, const void *b)
{
	const struct routes_flow *const *x = a;
	const struct routes_flow *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int client_ptr_cmp(const void *a, const void *b)
{
	const struct routes_client *const *x = a;
	const struct routes_client *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

static bool flow_same(const void *a, const void *b)
{
	return routes_flow_equal(a, b);
}

static bool client_same(const void *a, const void *b)
{
	const struct routes_client *x = a;
	const struct routes_client *y = b;

	return sodium_memcmp(x->key, y->key, sizeof(x->key)) == 0;
}

/* Pointers to n items of the given size, sorted by cmp; NULL when n is 0
 * (*err set to -ENOMEM on failure). */
static const void **sorted_ptrs(const void *items, size_t n, size_t size, diff_cmp_fn *cmp,
				int *err)
{
	const void **p;

	*err = 0;
	if (n == 0) {
		return NULL;
	}
	p = calloc(n, sizeof(*p));
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		p[i] = (const char *)items + i * size;
	}
	qsort(p, n, sizeof(*p), cmp);
	return p;
}

/* Merge walk over two sorted pointer arrays. The name is the first member
 * of both structs (a char array), so it is read through the pointer. */
static int walk(const void **a, size_t na, const void **b, size_t nb, diff_cmp_fn *cmp,
		diff_equal_fn *same, struct name_list added, struct name_list removed,
		struct name_list changed)
{
	size_t i = 0, j = 0;
	int err = 0;

	while (err == 0 && (i < na || j < nb)) {
		int c = i >= na ? 1 : (j >= nb ? -1 : cmp(&a[i], &b[j]));

		if (c < 0) {
			err = list_add(removed, a[i++]);
		} else if (c > 0) {
			err = list_add(added, b[j++]);
		} else {
			if (!same(a[i], b[j])) {
				err = list_add(changed, a[i]);
			}
			i++;
			j++;
		}
	}
	return err;
}

static int diff_set(const void *old_items, size_t n_old, const void *new_items, size_t n_new,
		    size_t size, diff_cmp_fn *cmp, diff_equal_fn *same, struct name_list lists[3])
{
	int err_a, err_b, err;
	const void **a = sorted_ptrs(old_items, n_old, size, cmp, &err_a);
	const void **b = sorted_ptrs(new_items, n_new, size, cmp, &err_b);

	err = err_a ? err_a : err_b;
	if (err == 0) {
		err = walk(a, n_old, b, n_new, cmp, same, lists[0], lists[1], lists[2]);
	}
	free(a);
	free(b);
	return err;
}

/* walk() reads an item's name through its pointer. */
_Static_assert(offsetof(struct routes_flow, name) == 0, "flow name must come first");
_Static_assert(offsetof(struct routes_client, id) == 0, "client id must come first");

static bool tokens_equal(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb) {
		return false;
	}
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]) != 0) {
			return false;
		}
	}
	return true;
}

static bool api_is_on(const struct routes_api *api)
{
	return api->n_tokens + api->n_read_tokens > 0;
}

static bool listen_equal(const struct routes_server *a, const struct routes_server *b)
{
	if (a->n_listen != b->n_listen) {
		return false;
	}
	for (size_t i = 0; i < a->n_listen; i++) {
		if (!addr_equal((const struct sockaddr *)&a->listen[i],
				(const struct sockaddr *)&b->listen[i])) {
			return false;
		}
	}
	return true;
}

static bool public_equal(const struct routes_server *a, const struct routes_server *b)
{
	if (a->has_public != b->has_public) {
		return false;
	}
	for (size_t i = 0; a->has_public && i < a->n_listen && i < b->n_listen; i++) {
		if (!addr_equal((const struct sockaddr *)&a->public_ip[i],
				(const struct sockaddr *)&b->public_ip[i])) {
			return false;
		}
	}
	return true;
}

/* A restart-only setting changed: what names it, line is its line in the
 * new config (the first such line is the one diags give). */
static void add_restart(struct cfgdiff *out, const char *what, int line)
{
	size_t n = strlen(out->restart_what);

	snprintf(out->restart_what + n, sizeof(out->restart_what) - n, "%s%s", n ? "," : "", what);
	if (!out->needs_restart) {
		out->restart_line = line;
	}
	out->needs_restart = true;
}

/* The key itself when both were loaded: "server.key" and "./server.key"
 * name the same key, and a key file rewritten with another key is a
 * change. The paths only when the keys were not read (--check-config
 * style parsing without keys). */
static bool key_equal(const struct routes_server *a, const struct routes_server *b)
{
	if (a->has_key && b->has_key) {
		return sodium_memcmp(a->key, b->key, sizeof(a->key)) == 0;
	}
	return a->has_key == b->has_key && strcmp(a->key_file, b->key_file) == 0;
}

static void diff_server(const struct routes_server *a, const struct routes_server *b,
			struct cfgdiff *out)
{
	if (!listen_equal(a, b)) {
		add_restart(out, "listen", b->lines.listen);
	} else if (!public_equal(a, b)) {
		add_restart(out, "public", b->lines.public_ip);
	}
	if (a->alt_port != b->alt_port) {
		add_restart(out, "alt_port", b->lines.alt_port);
	}
	if (!key_equal(a, b)) {
		add_restart(out, "key", b->lines.key_file);
	}
	if (a->has_state_file != b->has_state_file || strcmp(a->state_file, b->state_file) != 0) {
		add_restart(out, "state_file", b->lines.state_file);
	}
	if (a->relay_a.lo != b->relay_a.lo || a->relay_a.hi != b->relay_a.hi) {
		add_restart(out, "relay_a", b->lines.relay_a);
	}
	if (a->relay_b.lo != b->relay_b.lo || a->relay_b.hi != b->relay_b.hi) {
		add_restart(out, "relay_b", b->lines.relay_b);
	}
	if (!addr_equal((const struct sockaddr *)&a->api.listen,
			(const struct sockaddr *)&b->api.listen)) {
		add_restart(out, "api.listen", b->lines.api);
	}
	/* The API is served only while it has a token (server/apiops.c), and
	 * it is started and stopped with the server: a first token added or
	 * the last one removed would be applied to an API that is not there,
	 * or leave one running that nobody can use. */
	if (api_is_on(&a->api) != api_is_on(&b->api)) {
		add_restart(out, "api (on/off)", b->lines.api);
	}
	out->api_tokens_changed =
		!tokens_equal(a->api.tokens, a->api.n_tokens, b->api.tokens, b->api.n_tokens) ||
		!tokens_equal(a->api.read_tokens, a->api.n_read_tokens, b->api.read_tokens,
			      b->api.n_read_tokens);
	out->keepalive_changed = a->keepalive_s != b->keepalive_s;
	out->punch_changed = a->punch_spray != b->punch_spray || a->punch != b->punch;
}

int cfgdiff_routes(const struct routes *old, const struct routes *new, struct cfgdiff *out)
{
	struct name_list flows[3] = {
		{&out->flows_added, &out->n_flows_added},
		{&out->flows_removed, &out->n_flows_removed},
		{&out->flows_changed, &out->n_flows_changed},
	};
	struct name_list clients[3] = {
		{&out->clients_added, &out->n_clients_added},
		{&out->clients_removed, &out->n_clients_removed},
		{&out->clients_changed, &out->n_clients_changed},
	};
	int err;

	memset(out, 0, sizeof(*out));
	err = diff_set(old->flows, old->n_flows, new->flows, new->n_flows, sizeof(*old->flows),
		       flow_ptr_cmp, flow_same, flows);
	if (err == 0) {
		err = diff_set(old->clients, old->n_clients, new->clients, new->n_clients,
			       sizeof(*old->clients), client_ptr_cmp, client_same, clients);
	}
	if (err != 0) {
		cfgdiff_fini(out);
		return err;
	}
	diff_server(&old->server, &new->server, out);
	return 0;
}

void cfgdiff_fini(struct cfgdiff *d)
{
	if (!d) {
		return;
	}
	free(d->flows_added);
	free(d->flows_removed);
	free(d->flows_changed);
	free(d->clients_added);
	free(d->clients_removed);
	free(d->clients_changed);
	memset(d, 0, sizeof(*d));
}

bool cfgdiff_is_empty(const struct cfgdiff *d)
{
	return d->n_flows_added == 0 && d->n_flows_removed == 0 && d->n_flows_changed == 0 &&
	       d->n_clients_added == 0 && d->n_clients_removed == 0 && d->n_clients_changed == 0 &&
	       !d->needs_restart && !d->api_tokens_changed && !d->keepalive_changed &&
	       !d->punch_changed;
}

/* snprintf-style appender: counts what it would write even when full. */
struct out_buf {
	char *buf;
	size_t len;
	size_t used;
};

static void put(struct out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out_buf *o, const char *fmt, ...)
{
	size_t room = o->used < o->len ? o->len - o->used : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0) {
		o->used += (size_t)n;
	}
}

static void put_group(struct out_buf *o, const char *title, char (*added)[ROUTES_NAME_SIZE],
		      size_t n_added, char (*removed)[ROUTES_NAME_SIZE], size_t n_removed,
		      char (*changed)[ROUTES_NAME_SIZE], size_t n_changed)
{
	if (n_added + n_removed + n_changed == 0) {
		return;
	}
	put(o, "%s%s", o->used ? " " : "", title);
	for (size_t i = 0; i < n_added; i++) {
		put(o, " +%s", added[i]);
	}
	for (size_t i = 0; i < n_removed; i++) {
		put(o, " -%s", removed[i]);
	}
	for (size_t i = 0; i < n_changed; i++) {
		put(o, " ~%s", changed[i]);
	}
}

size_t cfgdiff_format(const struct cfgdiff *d, char *buf, size_t len)
{
	struct out_buf o = {buf, len, 0};

	if (len > 0) {
		buf[0] = '\0';
	}
	if (cfgdiff_is_empty(d)) {
		put(&o, "no changes");
		return o.used;
	}
	put_group(&o, "flows", d->flows_added, d->n_flows_added, d->flows_removed,
		  d->n_flows_removed, d->flows_changed, d->n_flows_changed);
	put_group(&o, "clients", d->clients_added, d->n_clients_added, d->clients_removed,
		  d->n_clients_removed, d->clients_changed, d->n_clients_changed);
	if (d->api_tokens_changed) {
		put(&o, "%sapi_tokens", o.used ? " " : "");
	}
	if (d->keepalive_changed) {
		put(&o, "%skeepalive", o.used ? " " : "");
	}
	if (d->punch_changed) {
		put(&o, "%spunch", o.used ? " " : "");
	}
	if (d->needs_restart) {
		put(&o, "%srestart(%s)", o.used ? " " : "", d->restart_what);
	}
	return o.used;
}
