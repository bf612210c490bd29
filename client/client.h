/* client: the client daemon's state and main loop (DESIGN §1, §8).
 * All daemon state hangs off struct client; nothing is global. */
#ifndef WH_CLIENT_H
#define WH_CLIENT_H

#include <ev.h>
#include <stdint.h>

struct client_ini;
struct diag;

struct client {
	struct ev_loop *loop;   /* borrowed: main owns the default loop */
	struct client_ini *ini; /* owns: identity and reachability from client.ini */
	ev_signal sigint_watch;
	ev_signal sigterm_watch;
	uint64_t started_us;
};

/* Load and validate client.ini and set up watchers (not started). On error
 * returns negative errno with d set; client_fini is still safe. */
int client_init(struct client *cl, struct ev_loop *loop, const char *ini_path, struct diag *d);
/* Start watchers and run the loop until SIGINT/SIGTERM. */
void client_run(struct client *cl);
/* Stop watchers and free everything. Safe on a half-built client. */
void client_fini(struct client *cl);

#endif
