/* test_corpus: every file in tests/config/invalid/ fails with exactly the
 * diag named on its first line ("# expect: LINE: message", or "# expect:
 * message" for errors without a line), and every file in tests/config/valid/
 * and the shipped examples in config/examples/ loads. *.conf files go
 * through routes_load, *.ini files through client_ini_load. Paths are
 * relative to the repo root, the working directory of `make test`. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/diag.h"
#include "config/client_ini.h"
#include "config/routes.h"

#define CORPUS_FILES_MAX 256
#define CORPUS_PATH_MAX 512

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.conf and *.ini names in dir; returns the count. */
static size_t list_dir(const char *dir, char **names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d) {
		fail_msg("cannot open %s (run from the repo root)", dir);
	}
	while ((e = readdir(d)) != NULL && n < CORPUS_FILES_MAX) {
		if (has_suffix(e->d_name, ".conf") || has_suffix(e->d_name, ".ini")) {
			names[n] = strdup(e->d_name);
			assert_non_null(names[n]);
			n++;
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	return n;
}

/* Load path by extension; true when it loaded. */
static bool load(const char *path, struct diag *d)
{
	diag_clear(d);
	if (has_suffix(path, ".conf")) {
		struct routes *r = routes_load(path, d);

		routes_free(r);
		return r != NULL;
	}
	struct client_ini *c = client_ini_load(path, d);

	client_ini_free(c);
	return c != NULL;
}

/* The expected diag from the first line of path. */
static void read_expect(const char *path, char *want, size_t len)
{
	static const char prefix[] = "# expect: ";
	char first[400];
	FILE *f = fopen(path, "r");
	char *line = first;
	char *rest;

	assert_non_null(f);
	if (!fgets(first, sizeof(first), f)) {
		first[0] = '\0';
	}
	fclose(f);
	first[strcspn(first, "\n")] = '\0';
	/* byte_order_mark.conf: the mark comes before the comment. */
	if (strncmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
	}
	if (strncmp(line, prefix, sizeof(prefix) - 1) != 0) {
		fail_msg("%s: first line must be \"%s...\"", path, prefix);
	}
	rest = line + sizeof(prefix) - 1;
	if (rest[0] >= '0' && rest[0] <= '9') {
		snprintf(want, len, "%s:%s", path, rest);
	} else {
		snprintf(want, len, "%s: %s", path, rest);
	}
}

static void test_corpus_invalid_files_fail_with_the_expected_line(void **state)
{
	char *names[CORPUS_FILES_MAX];
	size_t n = list_dir("tests/config/invalid", names);
	size_t n_ini = 0;

	(void)state;
	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		char path[CORPUS_PATH_MAX], want[1024], got[DIAG_FILE_MAX + DIAG_MSG_MAX];
		struct diag d;

		snprintf(path, sizeof(path), "tests/config/invalid/%s", names[i]);
		n_ini += has_suffix(path, ".ini");
		read_expect(path, want, sizeof(want));
		if (load(path, &d)) {
			fail_msg("%s loaded; want \"%s\"", path, want);
		}
		diag_format(&d, got, sizeof(got));
		if (strcmp(got, want) != 0) {
			fail_msg("\n  got  \"%s\"\n  want \"%s\"", got, want);
		}
		free(names[i]);
	}
	assert_true(n_ini >= 10);
}

static void load_all(const char *dir, size_t at_least)
{
	char *names[CORPUS_FILES_MAX];
	size_t n = list_dir(dir, names);

	assert_true(n >= at_least);
	for (size_t i = 0; i < n; i++) {
		char path[CORPUS_PATH_MAX], got[DIAG_FILE_MAX + DIAG_MSG_MAX];
		struct diag d;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!load(path, &d)) {
			fail_msg("%s: %s", path, diag_format(&d, got, sizeof(got)));
		}
		free(names[i]);
	}
}

static void test_corpus_valid_files_load(void **state)
{
	(void)state;
	load_all("tests/config/valid", 5);
}

static void test_corpus_shipped_examples_load(void **state)
{
	(void)state;
	load_all("config/examples", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_invalid_files_fail_with_the_expected_line),
		cmocka_unit_test(test_corpus_valid_files_load),
		cmocka_unit_test(test_corpus_shipped_examples_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
