/* server: the rendezvous daemon's state and main loop (DESIGN §1, §6).
 * All daemon state hangs off struct server; nothing is global. */
#ifndef WH_SERVER_H
#define WH_SERVER_H

#include "server/conn.h"
#include "server/listener.h"
#include "server/registry.h"
#include "server/relay.h"
#include "server/reload.h"

#include <ev.h>
#include <stdint.h>
#include <time.h>

struct routes;
struct diag;
struct restapi;

struct server {
	struct ev_loop *loop;  /* borrowed: main owns the default loop */
	struct routes *routes; /* owns: the running, validated configuration */
	struct reload reload;
	struct listener listener;
	struct registry registry; /* clients and their sessions */
	struct relay relay;	  /* relay port pairs */
	struct conn conn;	  /* the session layer on listener and relay */
	struct restapi *api;	  /* owns: the REST API (NULL until started) */
	ev_signal sigint_watch;
	ev_signal sigterm_watch;
	ev_signal sighup_watch;
	ev_timer state_timer;  /* saves the relay's state (relaystate) */
	bool is_state_failing; /* the last save failed (logged once) */
	bool has_state;	       /* a save had bindings: the next one writes too */
	/* The relay state file ("": none; state_file needs a restart), and for
	 * the API's health: addresses restored at start, the last write's wall
	 * clock, and the last error ("" when none). */
	char state_path[ROUTES_PATH_MAX];
	unsigned state_restored;
	time_t state_written_at;
	char state_error[ROUTES_PATH_MAX + 160];
	uint64_t started_us;
	unsigned generation; /* bumped by each applied configuration */
};

/* Load and validate config_path, then set up watchers (not started).
 * On error returns negative errno with d set; server_fini is still safe. */
int server_init(struct server *srv, struct ev_loop *loop, const char *config_path, struct diag *d);
/* Start watchers and run the loop until SIGINT/SIGTERM. */
void server_run(struct server *srv);
/* Stop watchers and free everything the server owns. Safe on a half-built server. */
void server_fini(struct server *srv);
/* Validate text as routes.conf and, if valid, apply the difference to the
 * running configuration: a reload (who "reload") or a REST API write or
 * join ("api"), which names the logs' lines. 0, or -EINVAL (invalid,
 * or flow ids collide), -EBUSY (needs a restart) or -ENOMEM: d says why,
 * and nothing changed. */
int server_apply_text(struct server *srv, const char *who, const char *text, size_t len,
		      struct diag *d);

/* server_apply_text in two steps, for a caller with something to do between
 * the check and the change (apiops: write routes.conf). */
struct server_next {
	struct routes *routes; /* owns: the checked configuration */
	char line[1024];       /* what changes (cfgdiff_format) */
};
/* Parse and check text against the running configuration, changing
 * nothing: 0 with out filled (hand it to server_commit_next or
 * server_drop_next), or server_apply_text's refusals (d says why). */
int server_prepare_text(struct server *srv, const char *who, const char *text, size_t len,
			struct server_next *out, struct diag *d);
/* Make next the running configuration: 0, or -ENOMEM (nothing changed).
 * next is consumed either way. */
int server_commit_next(struct server *srv, const char *who, struct server_next *next,
		       struct diag *d);
void server_drop_next(struct server_next *next);

#endif
