/* server: owns the running configuration and the daemon's watchers.
 * Reload goes parse -> validate -> diff -> apply (STYLE §8): the new routes
 * are built whole by config/, compared with the running ones, and swapped
 * in with one pointer assignment, so a change lands whole or not at all. */
#include "server.h"

#include "apiops.h"

#include "common/b64key.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/wallclock.h"
#include "config/cfgdiff.h"
#include "config/cfgfile.h"
#include "config/cfgwrite.h"
#include "config/routes.h"
#include "flowjoin.h"
#include "relaystate.h"
#include "routeset.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void log_routes_summary(const struct server *srv)
{
	const struct routes *r = srv->routes;
	uint8_t pub[32];
	char fp[B64KEY_FINGERPRINT_MAX];

	/* crypto_scalarmult_base cannot fail on a loaded 32-byte key. */
	(void)crypto_scalarmult_base(pub, r->server.key);
	b64key_fingerprint(pub, fp);
	log_info("config %s: %zu clients, %zu flows, server key %s…", r->path, r->n_clients,
		 r->n_flows, fp);
	if (r->server.is_key_exposed) {
		log_warn("config %s: key file %s can be read by other users (chmod 600 it)",
			 r->path, r->server.key_file);
	}
}

/* The running routes changed: relay pairs follow, and every online client
 * whose route set changed gets the new one at once. */
static void apply_live(struct server *srv)
{
	uint64_t now_us = monotime_now_us();

	(void)relay_update(&srv->relay, srv->routes, now_us);
	conn_routes_changed(&srv->conn, srv->routes, now_us);
}

static void join_cb(void *ctx, const char *id, const struct frame_flow_join *req,
		    struct frame_flow_join_ack *ack, uint64_t now_us)
{
	flowjoin_handle(ctx, id, req, ack, now_us);
}

/* Pairs get the ports they had before a restart, and their clients'
 * addresses back, from the relay state file (relaystate.h). */
static void relay_start_from_state(struct server *srv)
{
	struct relaystate st;
	char path[ROUTES_PATH_MAX], msg[ROUTES_PATH_MAX + 128];
	uint64_t now_us = monotime_now_us();
	int n = -ENOENT;
	unsigned restored;

	if (relaystate_path(srv->routes, path, sizeof(path))) {
		snprintf(srv->state_path, sizeof(srv->state_path), "%s", path);
		n = relaystate_read(path, wallclock_now_us(), &st, msg, sizeof(msg));
	}
	if (n == -EINVAL) {
		log_warn("relay state %s (clients bind again)", msg);
		snprintf(srv->state_error, sizeof(srv->state_error), "%s", msg);
	} else if (n < 0 && n != -ENOENT) {
		log_warn("relay state %s: cannot read: %s (clients bind again)", path,
			 strerror(-n));
		snprintf(srv->state_error, sizeof(srv->state_error), "%s: cannot read: %s", path,
			 strerror(-n));
	}
	if (n <= 0) {
		(void)relay_update(&srv->relay, srv->routes, now_us);
		return;
	}
	restored = relaystate_start(&st, &srv->relay, srv->routes, now_us);
	srv->state_restored = restored;
	srv->has_state = true;
	log_info("relay state %s: restored %u client addresses of %d relay pairs; %u told that "
		 "the server restarted",
		 path, restored, n,
		 relaystate_announce(&srv->relay, srv->routes, wallclock_now_us()));
	relaystate_free(&st);
}

static void state_save(struct server *srv)
{
	const char *path = srv->state_path;
	uint64_t now_us = monotime_now_us();
	int n;

	if (path[0] == '\0') {
		return;
	}
	/* Nothing bound, now or at the last save: the file says so already
	 * (or there is none), and a server without clients writes nothing. */
	if (!srv->has_state && !relaystate_has_binds(&srv->relay, now_us)) {
		return;
	}
	n = relaystate_write(path, &srv->relay, now_us, wallclock_now_us());
	if (n >= 0) {
		srv->state_written_at = time(NULL);
		srv->state_error[0] = '\0';
	} else if (n == -EEXIST) {
		snprintf(srv->state_error, sizeof(srv->state_error),
			 "%s: not written: not a relay state file", path);
	} else {
		snprintf(srv->state_error, sizeof(srv->state_error), "%s: cannot write: %s", path,
			 strerror(-n));
	}
	if (n == -EEXIST && !srv->is_state_failing) {
		log_error("relay state %s: not written: that file is not a relay state file (does "
			  "server.state_file name another file?)",
			  path);
	} else if (n < 0 && !srv->is_state_failing) {
		log_warn("relay state %s: cannot write: %s (a restart makes clients bind again, "
			 "a few seconds without the relay)",
			 path, strerror(-n));
	} else if (n >= 0 && srv->is_state_failing) {
		log_info("relay state %s: written again", path);
	}
	srv->is_state_failing = n < 0;
	srv->has_state = n > 0;
}

static void state_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	state_save(container_of(w, struct server, state_timer));
}

/* The session layer: clients, relay pairs, and their timers. */
static int sessions_init(struct server *srv, struct diag *d)
{
	int err = routeset_check_ids(srv->routes, d);

	if (err != 0) {
		return -EINVAL;
	}
	/* Route-set generations start from the wall clock so they keep growing
	 * across server restarts. */
	err = registry_init(&srv->registry, srv->routes, wallclock_now_us());
	if (err != 0) {
		diag_set(d, srv->routes->path, srv->routes->server.line,
			 "cannot set up the client registry: %s", strerror(-err));
		return err;
	}
	err = relay_init(&srv->relay, srv->loop, srv->routes, d);
	if (err == 0) {
		err = conn_init(&srv->conn, srv->loop, &srv->listener, &srv->registry, &srv->relay,
				srv->routes, d);
	}
	if (err != 0) {
		return err;
	}
	srv->conn.on_join = join_cb;
	srv->conn.join_ctx = srv;
	relay_start_from_state(srv);
	return 0;
}

/* A refused reload is the operator's file: an error. A refused API write
 * is its client's request, answered 400 with the same text: a warning. */
static enum log_level refused_level(const char *who)
{
	return strcmp(who, "api") == 0 ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR;
}

/* Diff next against the running routes and check what the parser cannot:
 * flow-id collisions and settings that need a restart. On success diff is
 * filled (the caller finishes it); on error it is already finished. */
static int check_next(struct server *srv, const char *who, const struct routes *next,
		      struct cfgdiff *diff, struct diag *d)
{
	char line[1024];
	int err = cfgdiff_routes(srv->routes, next, diff);

	if (err != 0) {
		diag_set(d, srv->reload.path, 0, "cannot compare configurations: %s",
			 strerror(-err));
		log_error("%s: %s: cannot compare configurations (running configuration kept)", who,
			  srv->reload.path);
		return err;
	}
	if (routeset_check_ids(next, d) != 0) {
		log_at(refused_level(who), "%s: %s (running configuration kept)", who,
		       diag_format(d, line, sizeof(line)));
		cfgdiff_fini(diff);
		return -EINVAL;
	}
	if (diff->needs_restart) {
		diag_set(d, srv->reload.path, diff->restart_line,
			 "%s changed: needs a restart; nothing applied", diff->restart_what);
		log_at(refused_level(who),
		       "%s: %s:%d: %s changed: needs a restart; nothing applied (running "
		       "configuration kept)",
		       who, srv->reload.path, diff->restart_line, diff->restart_what);
		cfgdiff_fini(diff);
		return -EBUSY;
	}
	return 0;
}

int server_prepare_text(struct server *srv, const char *who, const char *text, size_t len,
			struct server_next *out, struct diag *d)
{
	struct cfgdiff diff;
	struct routes *next;
	int err;

	out->routes = NULL;
	next = routes_parse_text(text, len, srv->reload.path, srv->reload.dir, true, d);
	if (!next) {
		log_at(refused_level(who), "%s: %s (running configuration kept)", who,
		       diag_format(d, out->line, sizeof(out->line)));
		return -EINVAL;
	}
	err = check_next(srv, who, next, &diff, d);
	if (err != 0) {
		routes_free(next);
		return err;
	}
	cfgdiff_format(&diff, out->line, sizeof(out->line));
	cfgdiff_fini(&diff);
	out->routes = next;
	return 0;
}

void server_drop_next(struct server_next *next)
{
	routes_free(next->routes);
	next->routes = NULL;
}

int server_commit_next(struct server *srv, const char *who, struct server_next *next,
		       struct diag *d)
{
	/* The registry allocates everything first and commits only on success. */
	int err = registry_update(&srv->registry, next->routes);

	if (err != 0) {
		server_drop_next(next);
		diag_set(d, srv->reload.path, 0, "out of memory for the client registry");
		log_error("%s: %s: out of memory for the client registry (running "
			  "configuration kept)",
			  who, srv->reload.path);
		return err;
	}
	/* Commit: nothing below can fail (a relay range running out is logged
	 * and retried, not a reason to refuse the configuration). */
	routes_free(srv->routes);
	srv->routes = next->routes;
	next->routes = NULL;
	srv->generation++;
	log_info("%s: applied %s generation=%u: %s", who, srv->reload.path, srv->generation,
		 next->line);
	apply_live(srv);
	return 0;
}

int server_apply_text(struct server *srv, const char *who, const char *text, size_t len,
		      struct diag *d)
{
	struct server_next next;
	int err = server_prepare_text(srv, who, text, len, &next, d);

	return err != 0 ? err : server_commit_next(srv, who, &next, d);
}

static int reload_apply_cb(void *ctx, const char *text, size_t len, struct diag *d)
{
	return server_apply_text(ctx, "reload", text, len, d);
}

static void stop_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("server: signal %d, stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *srv = container_of(w, struct server, sighup_watch);

	(void)loop;
	(void)revents;
	log_info("reload: SIGHUP, reading %s", srv->reload.path);
	reload_now(&srv->reload);
}

int server_init(struct server *srv, struct ev_loop *loop, const char *config_path, struct diag *d)
{
	char *text = NULL;
	size_t len = 0;
	int err, kept;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->started_us = monotime_now_us();
	err = reload_init(&srv->reload, loop, config_path, reload_apply_cb, srv);
	if (err != 0) {
		diag_set(d, config_path, 0, "%s", strerror(-err));
		return err;
	}
	err = reload_read_file(config_path, RELOAD_READ_MAX, &text, &len);
	if (err != 0) {
		diag_set(d, config_path, 0, "cannot read: %s", cfgfile_strerror(err));
		return err;
	}
	srv->routes = routes_parse_text(text, len, config_path, srv->reload.dir, true, d);
	if (!srv->routes) {
		free(text);
		return -EINVAL;
	}
	reload_set_running(&srv->reload, text, len);
	free(text);
	/* An API write-back cut short by kill -9 leaves routes.conf.wh-tmp.PID. */
	err = cfgwrite_sweep(srv->reload.path, &kept);
	if (err > 0) {
		log_info("server: removed %d temporary file(s) a killed writer left next to %s",
			 err, srv->reload.path);
	}
	if (kept > 0) {
		log_warn("server: kept %d file(s) a killed writer left next to %s as %s%s.PID: "
			 "they hold neither it nor its %s (a hand edit saved as the server was "
			 "killed, or the version before): compare them with it",
			 kept, srv->reload.path, srv->reload.path, CFGWRITE_KEPT_TAG,
			 CFGWRITE_BACKUP_SUFFIX);
	}
	srv->generation = 1;
	log_routes_summary(srv);
	err = listener_init(&srv->listener, loop, srv->routes, d);
	if (err == 0) {
		err = sessions_init(srv, d);
	}
	if (err == 0) {
		err = apiops_start(srv, d);
	}
	if (err != 0) {
		return err;
	}

	ev_signal_init(&srv->sigint_watch, stop_signal_cb, SIGINT);
	ev_signal_init(&srv->sigterm_watch, stop_signal_cb, SIGTERM);
	ev_signal_init(&srv->sighup_watch, sighup_cb, SIGHUP);
	ev_timer_init(&srv->state_timer, state_timer_cb, RELAYSTATE_SAVE_S, RELAYSTATE_SAVE_S);
	return 0;
}

void server_run(struct server *srv)
{
	ev_signal_start(srv->loop, &srv->sigint_watch);
	ev_signal_start(srv->loop, &srv->sigterm_watch);
	ev_signal_start(srv->loop, &srv->sighup_watch);
	ev_timer_start(srv->loop, &srv->state_timer);
	listener_start(&srv->listener);
	relay_start(&srv->relay);
	conn_start(&srv->conn);
	reload_start(&srv->reload);
	log_info("server: running, watching %s", srv->reload.path);
	ev_run(srv->loop, 0);
	/* Stopping: what a restart needs to forward again at once. */
	state_save(srv);
}

void server_fini(struct server *srv)
{
	if (srv->loop) {
		ev_signal_stop(srv->loop, &srv->sigint_watch);
		ev_signal_stop(srv->loop, &srv->sigterm_watch);
		ev_signal_stop(srv->loop, &srv->sighup_watch);
		ev_timer_stop(srv->loop, &srv->state_timer);
	}
	/* The API first: its threads end before what it reads goes away. */
	apiops_stop(srv);
	conn_fini(&srv->conn);
	relay_fini(&srv->relay);
	listener_fini(&srv->listener);
	registry_fini(&srv->registry);
	reload_fini(&srv->reload);
	routes_free(srv->routes);
	srv->routes = NULL;
}
