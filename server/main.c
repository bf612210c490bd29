/* wormhole-server: command line and startup of the rendezvous daemon
 * (DESIGN §1, §8). Everything it runs lives in server.c. */
#include "server/server.h"

#include "common/cliopt.h"
#include "common/diag.h"
#include "common/fdlimit.h"
#include "common/log.h"
#include "common/version.h"
#include "config/routes.h"
#include "server/routeset.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const prog = "wormhole-server";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"       %s --check-config [FILE]\n"
		"\n"
		"The wormhole rendezvous server: authenticates clients, classifies their NATs,\n"
		"relays and coordinates hole punching. It reloads routes.conf when it is saved\n"
		"and on SIGHUP.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE       routes.conf to run (default: routes.conf)\n"
		"      --check-config [FILE]  validate FILE (or -c FILE) and exit: 0 valid, 1 "
		"invalid\n"
		"      --log-level LEVEL   error|warn|info|debug|trace (default: info)\n"
		"      --log-format FMT    text|json (default: text)\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n",
		prog, prog);
}

static int check_config(const char *path)
{
	struct diag d;
	char line[1024];
	struct routes *r;

	diag_clear(&d);
	r = routes_load(path, &d);
	if (r && routeset_check_ids(r, &d) != 0) {
		routes_free(r);
		r = NULL;
	}
	if (!r) {
		fprintf(stderr, "%s\n", diag_format(&d, line, sizeof(line)));
		return CLIOPT_EXIT_FAILURE;
	}
	if (r->server.is_key_exposed) {
		fprintf(stderr, "%s: warning: key file %s can be read by other users\n", path,
			r->server.key_file);
	}
	printf("%s: ok (%zu clients, %zu flows)\n", path, r->n_clients, r->n_flows);
	routes_free(r);
	return CLIOPT_EXIT_OK;
}

static int run(const char *path)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct server srv;
	struct diag d;
	char line[1024];
	int err;

	if (!loop) {
		fprintf(stderr, "%s: cannot create the event loop (bad $LIBEV_FLAGS?)\n", prog);
		return CLIOPT_EXIT_FAILURE;
	}
	log_debug("server: open files limit %lu", fdlimit_raise());
	diag_clear(&d);
	err = server_init(&srv, loop, path, &d);
	if (err != 0) {
		/* A configuration that does not load is the operator's (2); one
		 * that loaded and could not be put to work (a port taken, an
		 * address not on this host) is a runtime failure (1). */
		int code = srv.routes ? CLIOPT_EXIT_FAILURE : CLIOPT_EXIT_USAGE;

		log_error("%s", diag_format(&d, line, sizeof(line)));
		server_fini(&srv);
		ev_loop_destroy(loop);
		return code;
	}
	server_run(&srv);
	server_fini(&srv);
	ev_loop_destroy(loop);
	log_info("server: stopped");
	return CLIOPT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cliopt opt;

	/* A peer that closes a socket must never kill the daemon (issue #2). */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to initialise\n", prog);
		return CLIOPT_EXIT_FAILURE;
	}
	if (cliopt_parse(prog, argc, argv, &opt) != 0) {
		return CLIOPT_EXIT_USAGE;
	}
	if (opt.want_help) {
		usage(stdout);
		return CLIOPT_EXIT_OK;
	}
	if (opt.want_version) {
		printf("%s %s\n", prog, WH_VERSION);
		return CLIOPT_EXIT_OK;
	}
	if (opt.first_arg < argc) {
		cliopt_usage_error(prog, "unexpected argument '%s'", argv[opt.first_arg]);
		return CLIOPT_EXIT_USAGE;
	}
	if (!opt.config_path) {
		opt.config_path = "routes.conf";
	}
	return opt.is_check ? check_config(opt.config_path) : run(opt.config_path);
}
