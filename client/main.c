/* wormhole-client: command line and startup of the client daemon
 * (DESIGN §1, §8). Everything it runs lives in client.c. */
#include "client/client.h"
#include "client/joincmd.h"
#include "client/localapi.h"
#include "client/natcheck.h"

#include "common/cliopt.h"
#include "common/diag.h"
#include "common/fdlimit.h"
#include "common/log.h"
#include "common/version.h"
#include "config/client_ini.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const prog = "wormhole-client";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] [run]\n"
		"       %s [OPTIONS] natcheck [--json]\n"
		"       %s [OPTIONS] status [--json]\n"
		"       %s [OPTIONS] join FLOW [--as from|to|member]\n"
		"       %s --check-config [FILE]\n"
		"\n"
		"The wormhole client daemon: registers this machine with the server under its ID\n"
		"and exposes the flows it takes part in on 127.1.0.1.\n"
		"\n"
		"Commands:\n"
		"  run                     run the daemon (the default)\n"
		"  natcheck [--json]       classify this host's NAT (each uplink's) against the\n"
		"                          server and print it\n"
		"  status [--json]         ask the running daemon (its local API) for its state\n"
		"  join FLOW [--as ROLE]   ask the server to add this client to a joinable flow\n"
		"                          (see '%s join --help')\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE       client.ini to use (default: client.ini)\n"
		"      --check-config [FILE]  validate FILE (or -c FILE) and exit: 0 valid, 1 "
		"invalid\n"
		"      --log-level LEVEL   error|warn|info|debug|trace (default: client.ini's\n"
		"                          log_level, else info)\n"
		"      --log-format FMT    text|json (default: text)\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n",
		prog, prog, prog, prog, prog, prog);
}

/* A subcommand that needs client.ini: load it (a bad file is a usage
 * error, exit 2), run fn, free. */
typedef int ini_cmd_fn(const struct client_ini *ini, bool is_json);

/* The options a subcommand takes after its name: --json (natcheck and
 * status), and as before the command -c/--config FILE, --log-level,
 * --log-format, -h/--help, in every form getopt takes (--config=FILE,
 * -cFILE). */
struct sub_args {
	const char *config_path;
	bool is_json;
	bool want_help;
	bool has_log_level; /* --log-level given, before or after the command */
};

static int take_sub_option(const char *who, bool takes_json, int c, char **argv, int token,
			   struct sub_args *a)
{
	switch (c) {
	case 'c':
		a->config_path = optarg;
		return 0;
	case 'l':
		a->has_log_level = true;
		return cliopt_set_log_level(prog, optarg);
	case 'f':
		return cliopt_set_log_format(prog, optarg);
	case 'h':
		a->want_help = true;
		return 0;
	case 'j':
		if (takes_json) {
			a->is_json = true;
			return 0;
		}
		cliopt_usage_error(who, "unknown option '--json'");
		return -1;
	default:
		cliopt_option_error(who, c, argv, token);
		return -1;
	}
}

/* argv[0] is the command. Usage errors name "wormhole-client CMD", whose
 * --help explains the command. */
static int parse_sub(const char *cmd, bool takes_json, int argc, char **argv, struct sub_args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	char who[64];

	snprintf(who, sizeof(who), "%s %s", prog, cmd);
	opterr = 0;
	optind = 0; /* start afresh: cliopt_parse used getopt before */
	for (;;) {
		/* "+" ordering, as in cliopt_parse: nothing is permuted, so the
		 * element an error is about is argv[optind] before the call. */
		int token = optind > 0 ? optind : 1;
		int c = getopt_long(argc, argv, "+:c:h", opts, NULL);

		if (c == -1) {
			break;
		}
		if (take_sub_option(who, takes_json, c, argv, token, a) != 0) {
			return -1;
		}
	}
	if (optind < argc) {
		cliopt_usage_error(who, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static void sub_usage(const char *cmd, const char *what)
{
	printf("Usage: %s [-c FILE] %s%s\n"
	       "\n"
	       "%s\n"
	       "\n"
	       "Options:\n"
	       "%s"
	       "  -c, --config FILE  client.ini to use (default: client.ini)\n"
	       "  --log-level LEVEL  error|warn|info|debug|trace (default: client.ini's\n"
	       "                     log_level, else info)\n"
	       "  --log-format FMT   text|json (default: text)\n"
	       "  -h, --help         show this help and exit\n",
	       prog, cmd, strcmp(cmd, "run") == 0 ? "" : " [--json]", what,
	       strcmp(cmd, "run") == 0 ? "" : "  --json             print JSON instead of text\n");
}

/* client.ini's log_level is the client's level, unless --log-level was
 * given on the command line (README "client.ini"). */
static void apply_log_level(const struct client_ini *ini, bool has_cli_level)
{
	enum log_level level;

	if (!has_cli_level && ini->has_log_level && log_parse_level(ini->log_level, &level) == 0) {
		log_set_level(level);
	}
}

static int with_ini(const char *path, ini_cmd_fn *fn, const struct sub_args *a)
{
	struct diag d;
	char line[1024];
	struct client_ini *ini;
	int code;

	diag_clear(&d);
	ini = client_ini_load(path, &d);
	if (!ini) {
		fprintf(stderr, "%s\n", diag_format(&d, line, sizeof(line)));
		return CLIOPT_EXIT_USAGE;
	}
	apply_log_level(ini, a->has_log_level);
	code = fn(ini, a->is_json);
	client_ini_free(ini);
	return code;
}

static int check_config(const char *path)
{
	struct diag d;
	char line[1024];
	struct client_ini *ini;

	diag_clear(&d);
	ini = client_ini_load(path, &d);
	if (!ini) {
		fprintf(stderr, "%s\n", diag_format(&d, line, sizeof(line)));
		return CLIOPT_EXIT_FAILURE;
	}
	if (ini->is_key_exposed) {
		fprintf(stderr, "%s: warning: %s can be read by other users\n", path,
			ini->has_key_file ? "key file" : "this file holding the private key");
	}
	printf("%s: ok (client %s)\n", path, ini->id);
	client_ini_free(ini);
	return CLIOPT_EXIT_OK;
}

/* The log level, before the daemon logs its first line: client_init
 * reads client.ini again (a bad file is refused there, the same way). */
static int set_run_log_level(const char *path, bool has_cli_level)
{
	struct diag d;
	char line[1024];
	struct client_ini *ini;

	if (has_cli_level) {
		return 0;
	}
	diag_clear(&d);
	ini = client_ini_load(path, &d);
	if (!ini) {
		log_error("%s", diag_format(&d, line, sizeof(line)));
		return -EINVAL;
	}
	apply_log_level(ini, false);
	client_ini_free(ini);
	return 0;
}

static int run(const char *path, bool has_cli_level)
{
	struct ev_loop *loop;
	struct client cl;
	struct diag d;
	char line[1024];

	if (set_run_log_level(path, has_cli_level) != 0) {
		return CLIOPT_EXIT_USAGE;
	}
	loop = ev_default_loop(EVFLAG_AUTO);
	if (!loop) {
		fprintf(stderr, "%s: cannot create the event loop (bad $LIBEV_FLAGS?)\n", prog);
		return CLIOPT_EXIT_FAILURE;
	}
	log_debug("client: open files limit %lu", fdlimit_raise());
	diag_clear(&d);
	if (client_init(&cl, loop, path, &d) != 0) {
		log_error("%s", diag_format(&d, line, sizeof(line)));
		client_fini(&cl);
		ev_loop_destroy(loop);
		return CLIOPT_EXIT_USAGE;
	}
	client_run(&cl);
	client_fini(&cl);
	ev_loop_destroy(loop);
	log_info("client: stopped");
	return CLIOPT_EXIT_OK;
}

/* The commands that take client.ini; fn NULL: run the daemon. */
struct sub {
	const char *name;
	ini_cmd_fn *fn;
	const char *what;
};

static const struct sub subs[] = {
	{"run", NULL, "Run the client daemon (the default command)."},
	{"natcheck", natcheck_main,
	 "Classify this host's NAT against the server named in client.ini, print the\n"
	 "result and exit. With several [uplink] sections, each uplink's in turn: a\n"
	 "block per uplink (--json: the first's fields and an \"uplinks\" array);\n"
	 "exit 1 when any uplink's check fails. Needs no running daemon."},
	{"status", localapi_status_main,
	 "Ask the running client daemon (its local API, client.ini's api) for its\n"
	 "state: the server session, uplinks, peers, paths and flows."},
};

/* The command at argv[opt->first_arg] (default: run) with its own options. */
static int run_command(const struct cliopt *opt, int argc, char **argv)
{
	const char *cmd = opt->first_arg < argc ? argv[opt->first_arg] : "run";

	if (strcmp(cmd, "join") == 0) {
		return joincmd_main(opt->config_path, argc - opt->first_arg, argv + opt->first_arg);
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		const struct sub *sc = &subs[i];
		struct sub_args a = {.config_path = opt->config_path,
				     .has_log_level = opt->has_log_level};

		if (strcmp(cmd, sc->name) != 0) {
			continue;
		}
		if (opt->first_arg < argc && parse_sub(cmd, sc->fn != NULL, argc - opt->first_arg,
						       argv + opt->first_arg, &a) != 0) {
			return CLIOPT_EXIT_USAGE;
		}
		if (a.want_help) {
			sub_usage(cmd, sc->what);
			return CLIOPT_EXIT_OK;
		}
		return sc->fn ? with_ini(a.config_path, sc->fn, &a)
			      : run(a.config_path, a.has_log_level);
	}
	cliopt_usage_error(prog, "unknown command '%s'", cmd);
	return CLIOPT_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cliopt opt;

	/* A peer that closes a socket must never kill the daemon (issue #2). */
	signal(SIGPIPE, SIG_IGN);
	/* Stream buffers (256 KiB each way) and the receive slots are mapped
	 * on their own and go back to the system when freed. glibc would
	 * otherwise raise its mmap threshold after the first free and keep
	 * later buffers on the heap, which does not shrink: after 50
	 * connections the client held ~100 MB it no longer used. */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
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
	if (!opt.config_path) {
		opt.config_path = "client.ini";
	}
	if (opt.is_check) {
		/* Like the server: nothing may follow the file. */
		if (opt.first_arg < argc) {
			cliopt_usage_error(prog, "unexpected argument '%s'", argv[opt.first_arg]);
			return CLIOPT_EXIT_USAGE;
		}
		return check_config(opt.config_path);
	}
	return run_command(&opt, argc, argv);
}
