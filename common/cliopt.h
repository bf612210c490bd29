/* cliopt: the command-line options every wormhole program shares
 * (DESIGN §8: --help, --version, -c FILE, --check-config, --log-level,
 * --log-format). Each program keeps its own option table and calls these. */
#ifndef WH_CLIOPT_H
#define WH_CLIOPT_H

#include <stdbool.h>

/* Exit codes (STYLE §4). --check-config uses 1 for an invalid file, as issue #2 says. */
enum cliopt_exit {
	CLIOPT_EXIT_OK = 0,
	CLIOPT_EXIT_FAILURE = 1,
	CLIOPT_EXIT_USAGE = 2,
};

/* The options every daemon takes. Positional arguments (subcommands) are
 * left in argv[first_arg..argc-1]. */
struct cliopt {
	const char *config_path; /* -c/--config or --check-config FILE; NULL if not given */
	bool is_check;		 /* --check-config */
	bool want_help;		 /* -h/--help */
	bool want_version;	 /* -V/--version */
	bool has_log_level;	 /* --log-level was given (it wins over a config file's) */
	int first_arg;
};

/* Parse argv; on bad usage prints one line and returns -EINVAL (exit with
 * CLIOPT_EXIT_USAGE). --log-level/--log-format are applied as they are read. */
int cliopt_parse(const char *prog, int argc, char **argv, struct cliopt *out);

/* Apply --log-level / --log-format values; on a bad value print
 * "PROG: --log-level: unknown level "x" (error|warn|info|debug|trace)" and return -EINVAL. */
int cliopt_set_log_level(const char *prog, const char *value);
int cliopt_set_log_format(const char *prog, const char *value);

/* For getopt_long's '?' or ':' (with opterr 0 and ':' first in its
 * optstring): print the usage error about argv[token], the element getopt
 * was reading, naming the option as "-x" (also inside "-hx") or "--name". */
void cliopt_option_error(const char *prog, int c, char **argv, int token);

/* Print "PROG: MESSAGE; try 'PROG --help'" to stderr. */
void cliopt_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
