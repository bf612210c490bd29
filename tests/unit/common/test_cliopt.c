/* test_cliopt: the options every program shares (common/cliopt.c): what
 * is parsed, and that a usage error names the option that is wrong. The
 * one line cliopt prints goes to stderr, which each case captures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cliopt.h"
#include "common/log.h"

#define ARGS_MAX 8

/* cliopt_parse over a copy of args (NULL-terminated, argv[0] first) with
 * stderr captured into err; returns its result. */
static int parse_captured(const char *const *args, struct cliopt *out, char *err, size_t cap)
{
	char *argv[ARGS_MAX + 1];
	int argc = 0;
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;
	int rc;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	for (; args[argc]; argc++) {
		argv[argc] = (char *)args[argc];
	}
	argv[argc] = NULL;
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	rc = cliopt_parse("prog", argc, argv, out);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(err, 1, cap - 1, tmp);
	err[n] = '\0';
	fclose(tmp);
	return rc;
}

static void expect_usage_error(const char *const *args, const char *want)
{
	struct cliopt opt;
	char err[512];

	assert_int_equal(parse_captured(args, &opt, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
}

static void test_cliopt_parses_the_shared_options(void **state)
{
	const char *const args[] = {
		"prog", "-c",	  "a.ini", "--log-level=warn", "--log-format", "text",
		"run",	"--json", NULL};
	struct cliopt opt;
	char err[512];

	(void)state;
	assert_int_equal(parse_captured(args, &opt, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(opt.config_path, "a.ini");
	assert_true(opt.has_log_level);
	assert_int_equal(log_current_level, LOG_LEVEL_WARN);
	assert_false(opt.is_check);
	assert_int_equal(opt.first_arg, 6);
	log_set_level(LOG_LEVEL_INFO);
}

static void test_cliopt_takes_check_config_with_a_separate_file(void **state)
{
	const char *const args[] = {"prog", "--check-config", "a.ini", NULL};
	struct cliopt opt;
	char err[512];

	(void)state;
	assert_int_equal(parse_captured(args, &opt, err, sizeof(err)), 0);
	assert_true(opt.is_check);
	assert_string_equal(opt.config_path, "a.ini");
	assert_false(opt.has_log_level);
	assert_int_equal(opt.first_arg, 3);
}

static void test_cliopt_names_an_unknown_short_option_first_in_a_cluster(void **state)
{
	const char *const args[] = {"/usr/bin/prog", "-xh", NULL};

	(void)state;
	expect_usage_error(args, "prog: unknown option '-x'; try 'prog --help'\n");
}

static void test_cliopt_names_an_unknown_short_option_last_in_a_cluster(void **state)
{
	const char *const args[] = {"prog", "-hx", NULL};

	(void)state;
	expect_usage_error(args, "prog: unknown option '-x'; try 'prog --help'\n");
}

static void test_cliopt_names_an_unknown_short_option_after_others(void **state)
{
	const char *const args[] = {"prog", "--log-level=info", "-z", NULL};

	(void)state;
	expect_usage_error(args, "prog: unknown option '-z'; try 'prog --help'\n");
}

static void test_cliopt_names_an_unknown_long_option_without_its_value(void **state)
{
	const char *const args[] = {"prog", "-h", "--bogus=1", NULL};

	(void)state;
	expect_usage_error(args, "prog: unknown option '--bogus'; try 'prog --help'\n");
}

static void test_cliopt_names_an_option_that_needs_a_value(void **state)
{
	const char *const short_args[] = {"prog", "-hc", NULL};
	const char *const long_args[] = {"prog", "--config", NULL};

	(void)state;
	expect_usage_error(short_args, "prog: option '-c' needs a value; try 'prog --help'\n");
	expect_usage_error(long_args, "prog: option '--config' needs a value; try 'prog --help'\n");
}

static void test_cliopt_names_a_flag_given_a_value(void **state)
{
	const char *const args[] = {"prog", "--help=yes", NULL};

	(void)state;
	expect_usage_error(args, "prog: option '--help' takes no value; try 'prog --help'\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cliopt_parses_the_shared_options),
		cmocka_unit_test(test_cliopt_takes_check_config_with_a_separate_file),
		cmocka_unit_test(test_cliopt_names_an_unknown_short_option_first_in_a_cluster),
		cmocka_unit_test(test_cliopt_names_an_unknown_short_option_last_in_a_cluster),
		cmocka_unit_test(test_cliopt_names_an_unknown_short_option_after_others),
		cmocka_unit_test(test_cliopt_names_an_unknown_long_option_without_its_value),
		cmocka_unit_test(test_cliopt_names_an_option_that_needs_a_value),
		cmocka_unit_test(test_cliopt_names_a_flag_given_a_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
