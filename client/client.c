/* client: owns the client's identity (client.ini) and its loop. The
 * registration, flows and paths of later issues hang off struct client. */
#include "client.h"

#include "common/b64key.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/client_ini.h"

#include <errno.h>
#include <sodium.h>
#include <signal.h>
#include <string.h>

static void stop_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("client: signal %d, stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

int client_init(struct client *cl, struct ev_loop *loop, const char *ini_path, struct diag *d)
{
	uint8_t pub[32];
	char fp[B64KEY_FINGERPRINT_MAX];

	memset(cl, 0, sizeof(*cl));
	cl->loop = loop;
	cl->started_us = monotime_now_us();
	cl->ini = client_ini_load(ini_path, d);
	if (!cl->ini) {
		return -EINVAL;
	}
	if (cl->ini->is_key_exposed) {
		log_warn("config %s: key file can be read by other users (chmod 600 it)", ini_path);
	}
	(void)crypto_scalarmult_base(pub, cl->ini->key);
	b64key_fingerprint(pub, fp);
	log_info("client %s: key %s…, %zu server address(es), %zu uplink(s)", cl->ini->id, fp,
		 cl->ini->n_servers, cl->ini->n_uplinks);
	ev_signal_init(&cl->sigint_watch, stop_signal_cb, SIGINT);
	ev_signal_init(&cl->sigterm_watch, stop_signal_cb, SIGTERM);
	return 0;
}

void client_run(struct client *cl)
{
	ev_signal_start(cl->loop, &cl->sigint_watch);
	ev_signal_start(cl->loop, &cl->sigterm_watch);
	log_info("client %s: running", cl->ini->id);
	ev_run(cl->loop, 0);
}

void client_fini(struct client *cl)
{
	if (cl->loop) {
		ev_signal_stop(cl->loop, &cl->sigint_watch);
		ev_signal_stop(cl->loop, &cl->sigterm_watch);
	}
	client_ini_free(cl->ini);
	cl->ini = NULL;
}
