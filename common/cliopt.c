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

static int take_option(const char *prog, int c, int argc, char **argv, struct cliopt *out)
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
		return cliopt_set_log_level(prog, optarg);
	case 'f':
		return cliopt_set_log_format(prog, optarg);
	case 'h':
		out->want_help = true;
		return 0;
	case 'V':
		out->want_version = true;
		return 0;
	case ':':
		cliopt_usage_error(prog, "option '%s' needs a value", argv[optind - 1]);
		return -EINVAL;
	default:
		cliopt_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
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
	int c;

	memset(out, 0, sizeof(*out));
	opterr = 0;
	optind = 1;
	/* "+": stop at the first positional argument, so subcommands keep their own flags. */
	while ((c = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		if (take_option(prog, c, argc, argv, out) != 0) {
			return -EINVAL;
		}
	}
	out->first_arg = optind;
	return 0;
}
