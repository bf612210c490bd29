/* wormhole-keygen: make and print X25519 keys, written base64 like
 * WireGuard's (DESIGN §3). genkey prints a new private key; pubkey reads a
 * private key on stdin (or from FILE) and prints its public key. Its one
 * configuration is a key file: -c FILE names it, --check-config checks it
 * the way the daemons load it (DESIGN §8: every program has both). */
#include "common/b64key.h"
#include "common/cliopt.h"
#include "common/diag.h"
#include "common/version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const prog = "wormhole-keygen";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s genkey [-o FILE]   print a new private key (or write it to FILE, mode "
		"600)\n"
		"       %s pubkey [FILE]      read a private key on stdin (or FILE), print its "
		"public key\n"
		"       %s --check-config [FILE]  check a private key file as the daemons load it\n"
		"       %s --help | --version\n"
		"\n"
		"Options (before or after the command):\n"
		"  -o, --out FILE        genkey: write the key to FILE (a new file, mode 600)\n"
		"  -c, --config FILE     the private key file pubkey and --check-config read\n"
		"      --check-config [FILE]  check FILE (or -c FILE) and exit: 0 a usable "
		"private\n"
		"                        key (its public key printed), 1 not\n"
		"      --log-level LEVEL error|warn|info|debug|trace (default: info)\n"
		"      --log-format FMT  text|json (default: text)\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n",
		prog, prog, prog, prog);
}

/* Write all of buf to fd; 0, or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write the key line to a new file, mode 600. A file that could not be
 * written whole (a full disk, a file size limit) is removed: half a key,
 * or none, must not pass for one. */
static int write_key_file(const char *out_path, const char *line)
{
	int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int err;

	if (fd < 0) {
		fprintf(stderr, "%s: open %s: %s\n", prog, out_path, strerror(errno));
		return CLIOPT_EXIT_FAILURE;
	}
	err = write_all(fd, line, strlen(line));
	if (err == 0 && fsync(fd) != 0) {
		err = -errno;
	}
	if (close(fd) != 0 && err == 0) {
		err = -errno;
	}
	if (err != 0) {
		fprintf(stderr, "%s: write %s: %s (file removed)\n", prog, out_path,
			strerror(-err));
		(void)unlink(out_path);
		return CLIOPT_EXIT_FAILURE;
	}
	return CLIOPT_EXIT_OK;
}

static int genkey(const char *out_path)
{
	uint8_t priv[32];
	char text[B64KEY_TEXT_MAX];
	char line[B64KEY_TEXT_MAX + 1];
	int code = CLIOPT_EXIT_OK;

	randombytes_buf(priv, sizeof(priv));
	/* X25519 clamping (RFC 7748 §5), as wg genkey does. */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	b64key_encode(priv, text);
	sodium_memzero(priv, sizeof(priv));
	snprintf(line, sizeof(line), "%s\n", text);
	sodium_memzero(text, sizeof(text));
	if (out_path) {
		code = write_key_file(out_path, line);
	} else {
		/* Errors writing stdout are caught when main closes it. */
		fputs(line, stdout);
	}
	sodium_memzero(line, sizeof(line));
	return code;
}

static int pubkey(const char *in_path)
{
	char line[256];
	uint8_t priv[32], pub[32];
	char text[B64KEY_TEXT_MAX];
	FILE *in = stdin;
	struct stat st;
	const char *name = in_path ? in_path : "stdin";

	if (in_path && !(in = fopen(in_path, "r"))) {
		fprintf(stderr, "%s: open %s: %s\n", prog, in_path, strerror(errno));
		return CLIOPT_EXIT_FAILURE;
	}
	/* A private key in a file others can read is a key others have. */
	if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0077)) {
		fprintf(stderr, "%s: warning: %s can be read by other users (chmod 600 it)\n", prog,
			name);
	}
	if (!fgets(line, sizeof(line), in)) {
		fprintf(stderr, "%s: %s: no key to read\n", prog, name);
		if (in != stdin) {
			fclose(in);
		}
		return CLIOPT_EXIT_FAILURE;
	}
	if (in != stdin) {
		fclose(in);
	}
	if (b64key_decode(line, priv) != 0) {
		sodium_memzero(line, sizeof(line));
		fprintf(stderr, "%s: %s: not a base64 X25519 key (44 characters)\n", prog, name);
		return CLIOPT_EXIT_FAILURE;
	}
	sodium_memzero(line, sizeof(line));
	if (crypto_scalarmult_base(pub, priv) != 0) {
		sodium_memzero(priv, sizeof(priv));
		fprintf(stderr, "%s: %s: unusable private key\n", prog, name);
		return CLIOPT_EXIT_FAILURE;
	}
	sodium_memzero(priv, sizeof(priv));
	b64key_encode(pub, text);
	printf("%s\n", text);
	return CLIOPT_EXIT_OK;
}

/* --check-config: the key file loaded as the daemons load it (a regular
 * file, one base64 key, not readable by others), and a usable private
 * key. Prints "FILE: ok (public key KEY)"; errors are one line. */
static int check_key_file(const char *path)
{
	struct diag d;
	char msg[512];
	uint8_t priv[32], pub[32];
	char text[B64KEY_TEXT_MAX];
	bool is_exposed = false;
	int usable;

	diag_clear(&d);
	if (b64key_load_file(path, priv, &is_exposed, &d) != 0) {
		fprintf(stderr, "%s\n", diag_format(&d, msg, sizeof(msg)));
		return CLIOPT_EXIT_FAILURE;
	}
	usable = crypto_scalarmult_base(pub, priv) == 0;
	sodium_memzero(priv, sizeof(priv));
	if (!usable) {
		fprintf(stderr, "%s: unusable private key\n", path);
		return CLIOPT_EXIT_FAILURE;
	}
	if (is_exposed) {
		fprintf(stderr, "%s: warning: key file can be read by other users (chmod 600 it)\n",
			path);
	}
	b64key_encode(pub, text);
	printf("%s: ok (public key %s)\n", path, text);
	return CLIOPT_EXIT_OK;
}

/* The command line: options anywhere (as the other programs take them),
 * then the command and its file. */
struct keygen_args {
	const char *words[3]; /* the command and its arguments, in order */
	int n_words;
	const char *out_path; /* -o/--out */
	const char *key_path; /* -c/--config */
	bool want_check;      /* --check-config */
	bool want_help;
	bool want_version;
};

static int take_option(int c, char **argv, int token, struct keygen_args *a)
{
	switch (c) {
	case 'o':
		a->out_path = optarg;
		return 0;
	case 'c':
		a->key_path = optarg;
		return 0;
	case 'C':
		a->want_check = true;
		return 0;
	case 'l':
		return cliopt_set_log_level(prog, optarg);
	case 'f':
		return cliopt_set_log_format(prog, optarg);
	case 'h':
		a->want_help = true;
		return 0;
	case 'V':
		a->want_version = true;
		return 0;
	default:
		cliopt_option_error(prog, c, argv, token);
		return -EINVAL;
	}
}

/* getopt with "+" ordering stops at each word; it starts again after it,
 * over the rest of argv (the word is then that slice's argv[0]). Nothing
 * is permuted, so the element an error is about is argv[optind] before
 * the call (cliopt_option_error). */
static int parse_args(int argc, char **argv, struct keygen_args *a)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"log-level", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int base = 0;

	opterr = 0;
	while (base + 1 < argc) {
		char **rest = argv + base;
		int n = argc - base;

		optind = 0; /* start afresh over this slice */
		for (;;) {
			int token = optind > 0 ? optind : 1;
			int c = getopt_long(n, rest, "+:o:c:hV", opts, NULL);

			if (c == -1) {
				break;
			}
			if (take_option(c, rest, token, a) != 0) {
				return -EINVAL;
			}
		}
		if (optind >= n) {
			break;
		}
		if (a->n_words == (int)(sizeof(a->words) / sizeof(a->words[0]))) {
			cliopt_usage_error(prog, "unexpected argument '%s'", rest[optind]);
			return -EINVAL;
		}
		a->words[a->n_words++] = rest[optind];
		base += optind;
	}
	return 0;
}

static int dispatch(int argc, char **argv)
{
	struct keygen_args a = {0};
	const char *cmd;

	if (parse_args(argc, argv, &a) != 0) {
		return CLIOPT_EXIT_USAGE;
	}
	if (a.want_help) {
		usage(stdout);
		return CLIOPT_EXIT_OK;
	}
	if (a.want_version) {
		printf("%s %s\n", prog, WH_VERSION);
		return CLIOPT_EXIT_OK;
	}
	cmd = a.n_words > 0 ? a.words[0] : NULL;
	if (a.want_check) {
		/* --check-config [FILE]: the file is its word, or -c's */
		if (a.n_words > 1 || (a.n_words == 1 && a.key_path) || a.out_path) {
			cliopt_usage_error(prog,
					   "--check-config takes one key file (FILE or -c FILE)");
			return CLIOPT_EXIT_USAGE;
		}
		if (!cmd && !a.key_path) {
			cliopt_usage_error(prog,
					   "--check-config needs a key file (FILE or -c FILE)");
			return CLIOPT_EXIT_USAGE;
		}
		return check_key_file(cmd ? cmd : a.key_path);
	}
	if (!cmd) {
		cliopt_usage_error(prog, "missing command (genkey or pubkey)");
		return CLIOPT_EXIT_USAGE;
	}
	if (strcmp(cmd, "genkey") == 0 && a.n_words == 1 && !a.key_path) {
		return genkey(a.out_path);
	}
	if (strcmp(cmd, "pubkey") == 0 && a.n_words <= 2 && !a.out_path &&
	    !(a.n_words == 2 && a.key_path)) {
		return pubkey(a.n_words == 2 ? a.words[1] : a.key_path);
	}
	if (strcmp(cmd, "genkey") == 0 || strcmp(cmd, "pubkey") == 0) {
		cliopt_usage_error(prog, "unexpected arguments to '%s'", cmd);
	} else {
		cliopt_usage_error(prog, "unknown command '%s'", cmd);
	}
	return CLIOPT_EXIT_USAGE;
}

/* A key that did not reach stdout (a full disk, a closed pipe) is a
 * failure: flush and close it and say so, like the file case. */
static int close_stdout(int code)
{
	if (fclose(stdout) != 0) {
		fprintf(stderr, "%s: write stdout: %s\n", prog, strerror(errno));
		return code == CLIOPT_EXIT_OK ? CLIOPT_EXIT_FAILURE : code;
	}
	return code;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to initialise\n", prog);
		return CLIOPT_EXIT_FAILURE;
	}
	return close_stdout(dispatch(argc, argv));
}
