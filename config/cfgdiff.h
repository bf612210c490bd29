/* cfgdiff: what changed between two validated routes (STYLE §8: parse ->
 * validate -> diff -> apply). Flows are compared by name, clients by id.
 * The diff only reads both configs and never modifies them. */
#ifndef WH_CFGDIFF_H
#define WH_CFGDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "config/routes.h"

#define CFGDIFF_RESTART_MAX 128

struct cfgdiff {
	/* Names, each list sorted by name. All arrays owned by the diff. */
	char (*flows_added)[ROUTES_NAME_SIZE];
	size_t n_flows_added;
	char (*flows_removed)[ROUTES_NAME_SIZE];
	size_t n_flows_removed;
	char (*flows_changed)[ROUTES_NAME_SIZE]; /* any field differs */
	size_t n_flows_changed;
	char (*clients_added)[ROUTES_NAME_SIZE];
	size_t n_clients_added;
	char (*clients_removed)[ROUTES_NAME_SIZE];
	size_t n_clients_removed;
	char (*clients_changed)[ROUTES_NAME_SIZE]; /* public key changed */
	size_t n_clients_changed;
	/* Server settings that cannot change live: listen, alt_port,
	 * key_file/key, relay_a/relay_b, api.listen, and the API going on or
	 * off (its first token added, its last removed). restart_what names
	 * them, e.g. "listen,relay_a" (empty when needs_restart is false). */
	bool needs_restart;
	char restart_what[CFGDIFF_RESTART_MAX];
	int restart_line;	 /* the first of them's line in the new config */
	bool api_tokens_changed; /* tokens or read_tokens; applied live */
	bool keepalive_changed;	 /* applied live */
	bool punch_changed;	 /* server.punch, punch_spray; applied live */
};

/* Fill *out (zeroed first) with the changes from old to new. Returns 0, or
 * -ENOMEM (out is then empty and safe to cfgdiff_fini). */
int cfgdiff_routes(const struct routes *old, const struct routes *new, struct cfgdiff *out);

/* Free the lists; the struct may be reused. NULL is a no-op. */
void cfgdiff_fini(struct cfgdiff *d);

/* True when nothing at all changed. */
bool cfgdiff_is_empty(const struct cfgdiff *d);

/* One log-friendly line, e.g. "flows +video -ssh ~mavlink clients +gcs5
 * ~drone3 api_tokens restart(listen)" or "no changes". Returns the length
 * it needed (like snprintf); buf is always NUL-terminated when len > 0. */
size_t cfgdiff_format(const struct cfgdiff *d, char *buf, size_t len);

#endif
