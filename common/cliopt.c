/* cliopt: shared handling of the options every program has (DESIGN §8). */
#include "cliopt.h"

#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cliopt_set_log_level(const char *prog, const char *value)
{
	enum log_level level;

	if (log_parse_level(value, &level) != 0) {
		fprintf(stderr,
			"%s: --log-level: unknown level \"%s\" (error|warn|info|debug|trace)\n",
			prog, value);
		return -EINVAL;
	}
	log_set_level(level);
	return 0;
}

int cliopt_set_log_format(const char *prog, const char *value)
{
	enum log_format format;

	if (log_parse_format(value, &format) != 0) {
		fprintf(stderr, "%s: --log-format: unknown format \"%s\" (text|json)\n", prog,
			value);
		return -EINVAL;
	}
	log_set_format(format);
	return 0;
}

void cliopt_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try '%s --help'\n", prog);
}

void cliopt_option_error(const char *prog, int c, char **argv, int token)
{
	const char *t = argv[token];

	/* A long option: name it as written, without any "=VALUE". */
	if (strncmp(t, "--", 2) == 0) {
		int n = (int)strcspn(t, "=");

		if (c == ':') {
			cliopt_usage_error(prog, "option '%.*s' needs a value", n, t);
		} else if (optopt != 0) {
			cliopt_usage_error(prog, "option '%.*s' takes no value", n, t);
		} else {
			cliopt_usage_error(prog, "unknown option '%.*s'", n, t);
		}
		return;
	}
	/* A short one, maybe inside a cluster ("-xh", "-hx"): getopt names it in optopt. */
	if (c == ':') {
		cliopt_usage_error(prog, "option '-%c' needs a value", optopt);
	} else if (optopt > ' ' && optopt < 0x7f) {
		cliopt_usage_error(prog, "unknown option '-%c'", optopt);
	} else {
		cliopt_usage_error(prog, "unknown option in '%s'", t);
	}
}

static int take_option(const char *prog, int c, int argc, char **argv, int token,
		       struct cliopt *out)
{
	switch (c) {
	case 'c':
		out->config_path = optarg;
		return 0;
	case 'k':
		out->is_check = true;
		/* --check-config FILE as well as --check-config=FILE */
		if (!optarg && optind < argc && argv[optind][0] != '-') {
			optarg = argv[optind++];
		}
		if (optarg) {
			out->config_path = optarg;
		}
		return 0;
	case 'l':
		out->has_log_level = true;
		return cliopt_set_log_level(prog, optarg);
	case 'f':
		return cliopt_set_log_format(prog, optarg);
	case 'h':
		out->want_help = true;
		return 0;
	case 'V':
		out->want_version = true;
		return 0;
	default:
		cliopt_option_error(prog, c, argv, token);
		return -EINVAL;
	}
}

int cliopt_parse(const char *prog, int argc, char **argv, struct cliopt *out)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", optional_argument, NULL, 'k'},
		{"log-level", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};

	memset(out, 0, sizeof(*out));
	opterr = 0;
	/* 0, not 1: glibc then starts afresh, also after a parse that
	 * stopped inside a cluster ("-xh"); it reads argv[1] first. */
	optind = 0;
	for (;;) {
		/* "+": stop at the first positional argument, so subcommands keep
		 * their own flags. With that ordering nothing is permuted, and
		 * argv[optind] before the call is the element getopt reads (or is
		 * inside of, for "-hx"): the one an error is about. */
		int token = optind > 0 ? optind : 1;
		int c = getopt_long(argc, argv, "+:c:hV", opts, NULL);

		if (c == -1) {
			break;
		}
		if (take_option(prog, c, argc, argv, token, out) != 0) {
			return -EINVAL;
		}
	}
	out->first_arg = optind;
	return 0;
}
