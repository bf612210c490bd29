/* joincmd: the `join` subcommand (see joincmd.h). Blocking and short-lived:
 * one POST /api/v1/join to the daemon on client.ini's `api` address, whose
 * answer comes when the server has decided (api/joinapi.h, client/joinwait).
 * Must not: talk to the server itself (only the daemon holds the session). */
#include "client/joincmd.h"

#include "api/httpget.h"
#include "api/joinapi.h"
#include "client/joinwait.h"
#include "common/addr.h"
#include "common/cliopt.h"
#include "common/diag.h"
#include "config/client_ini.h"
#include "proto/frame.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prog = "wormhole-client";
static const char *const cmd = "wormhole-client join"; /* usage errors point to its --help */

/* The daemon answers within JOINWAIT_TIMEOUT_US; this covers the HTTP too. */
#define JOINCMD_TIMEOUT_MS ((unsigned)(JOINWAIT_TIMEOUT_US / 1000u) + 3000u)

static void usage(void)
{
	printf("Usage: %s [-c FILE] join FLOW [--as from|to|member]\n"
	       "\n"
	       "Ask the server, through the running client daemon's session, to add this\n"
	       "client to FLOW. The server allows it only where routes.conf says the flow is\n"
	       "joinable by this client (joinable = true, or a list naming it), and writes\n"
	       "the change back to routes.conf like a REST API member add.\n"
	       "\n"
	       "Options:\n"
	       "  --as ROLE          from (a source), to (a sink) or member (N:N flows).\n"
	       "                     Default: member for an N:N flow, to otherwise.\n"
	       "  -c, --config FILE  client.ini of the running daemon (default: client.ini)\n"
	       "  -h, --help         show this help and exit\n"
	       "\n"
	       "Exit status: 0 joined (or already in), 1 refused or failed, 2 usage error.\n",
	       prog);
}

struct joincmd_args {
	const char *config_path;
	const char *flow;
	const char *as; /* NULL: the server picks */
	bool want_help;
};

static int parse_args(int argc, char **argv, struct joincmd_args *a)
{
	static const struct option opts[] = {
		{"as", required_argument, NULL, 'a'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	/* 0, not 1: glibc then starts afresh (cliopt_parse used "+" ordering;
	 * here options may follow FLOW). */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		if (c == 'a') {
			a->as = optarg;
		} else if (c == 'c') {
			a->config_path = optarg;
		} else if (c == 'h') {
			a->want_help = true;
		} else {
			cliopt_usage_error(cmd, "%s '%s'",
					   c == ':' ? "option needs a value" : "unknown option",
					   argv[optind - 1]);
			return -1;
		}
	}
	if (a->want_help) {
		return 0;
	}
	if (optind >= argc) {
		cliopt_usage_error(cmd, "which flow? (join FLOW [--as from|to|member])");
		return -1;
	}
	a->flow = argv[optind];
	if (optind + 1 < argc) {
		cliopt_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
		return -1;
	}
	if (!frame_name_valid(a->flow, strlen(a->flow))) {
		cliopt_usage_error(cmd, "\"%.40s\" is not a flow name", a->flow);
		return -1;
	}
	if (a->as && strcmp(a->as, "from") != 0 && strcmp(a->as, "to") != 0 &&
	    strcmp(a->as, "member") != 0) {
		cliopt_usage_error(cmd, "--as \"%.20s\": use from, to or member", a->as);
		return -1;
	}
	return 0;
}

static const char *field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Print the daemon's answer; return the exit code. */
static int report(const char *flow, const char *where, int status, const char *body)
{
	cJSON *o = cJSON_Parse(body);
	const char *msg = field(o, "message");
	int code = CLIOPT_EXIT_FAILURE;

	if (!msg) {
		msg = field(o, "error");
	}
	if (status == 200 && msg) {
		printf("%s\n", msg);
		code = CLIOPT_EXIT_OK;
	} else if ((status == 409 || status == 429) && msg) {
		fprintf(stderr, "join %s refused: %s\n", flow, msg);
	} else if (msg) {
		fprintf(stderr, "%s join %s: %s\n", prog, flow, msg);
	} else {
		fprintf(stderr, "%s join %s: %s answered %d: %.200s\n", prog, flow, where, status,
			body);
	}
	cJSON_Delete(o);
	return code;
}

static int ask(const struct client_ini *ini, const struct joincmd_args *a)
{
	char where[ADDR_TEXT_MAX];
	char json[128];
	char *body = NULL;
	size_t len = 0;
	int status = 0;
	int code;
	int err;

	if (a->as) {
		snprintf(json, sizeof(json), "{\"flow\":\"%s\",\"as\":\"%s\"}", a->flow, a->as);
	} else {
		snprintf(json, sizeof(json), "{\"flow\":\"%s\"}", a->flow);
	}
	addr_format((const struct sockaddr *)&ini->api, where, sizeof(where));
	err = httpget_post(&ini->api, JOINAPI_PATH, json, JOINCMD_TIMEOUT_MS, &status, &body, &len);
	if (err != 0) {
		fprintf(stderr,
			"%s join %s: no client daemon answers on %s: %s (is it running with this "
			"client.ini?)\n",
			prog, a->flow, where, strerror(-err));
		return CLIOPT_EXIT_FAILURE;
	}
	code = report(a->flow, where, status, body);
	free(body);
	return code;
}

int joincmd_main(const char *config_path, int argc, char **argv)
{
	struct joincmd_args a = {.config_path = config_path};
	struct client_ini *ini;
	struct diag d;
	char line[1024];
	int code;

	if (parse_args(argc, argv, &a) != 0) {
		return CLIOPT_EXIT_USAGE;
	}
	if (a.want_help) {
		usage();
		return CLIOPT_EXIT_OK;
	}
	diag_clear(&d);
	ini = client_ini_load(a.config_path, &d);
	if (!ini) {
		fprintf(stderr, "%s\n", diag_format(&d, line, sizeof(line)));
		return CLIOPT_EXIT_USAGE;
	}
	code = ask(ini, &a);
	client_ini_free(ini);
	return code;
}
