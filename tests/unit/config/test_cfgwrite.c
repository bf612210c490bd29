/* test_cfgwrite: routes.conf replaced atomically with a backup, and the
 * files a writer killed mid-replace left behind swept away (config/cfgwrite.c)
 * in a fresh temporary folder. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/cfgwrite.h"

struct dir {
	char path[64];
	char conf[96];
};

static void dir_make(struct dir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/wh-cfgwrite-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->conf, sizeof(d->conf), "%s/routes.conf", d->path);
}

static void touch(const struct dir *d, const char *name)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("partial", f);
	fclose(f);
}

static int exists(const struct dir *d, const char *name)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	return stat(p, &st) == 0;
}

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* A PID that surely belongs to no process: a child that has exited and been
 * reaped (PIDs are not reused that fast). */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		_exit(0);
	}
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void test_cfgwrite_replaces_and_keeps_the_previous_file_as_backup(void **state)
{
	struct dir d;
	char buf[64];
	char bak[128];

	(void)state;
	dir_make(&d);
	assert_int_equal(cfgwrite_replace(d.conf, "one\n", 4, NULL), 0);
	assert_false(exists(&d, "routes.conf.bak")); /* nothing to back up at first */
	assert_int_equal(cfgwrite_backup_path(d.conf, bak, sizeof(bak)), 0);
	assert_true(strlen(bak) > 4 && strcmp(bak + strlen(bak) - 4, ".bak") == 0);
	assert_int_equal(strncmp(bak, d.conf, strlen(d.conf)), 0);
	assert_int_equal(cfgwrite_replace(d.conf, "two\n", 4, NULL), 0);
	slurp(d.conf, buf, sizeof(buf));
	assert_string_equal(buf, "two\n");
	snprintf(bak, sizeof(bak), "%s.bak", d.conf);
	slurp(bak, buf, sizeof(buf));
	assert_string_equal(buf, "one\n");
	/* Nothing temporary stays behind. */
	assert_int_equal(cfgwrite_sweep(d.conf), 0);
	unlink(bak);
	unlink(d.conf);
	rmdir(d.path);
}

/* routes.conf -> ..data/routes.conf, ..data -> v1 (a ConfigMap's layout):
 * a write replaces v1/routes.conf and keeps both links links; the backup
 * is the previous file, not a link that would follow the new one. */
static void test_cfgwrite_follows_a_symlinked_file(void **state)
{
	struct dir d;
	char p[160], q[160];
	char buf[64];
	char buf2[PATH_MAX];
	struct stat st;

	(void)state;
	dir_make(&d);
	snprintf(p, sizeof(p), "%s/v1", d.path);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/v1/routes.conf", d.path);
	assert_int_equal(cfgwrite_replace(p, "one\n", 4, NULL), 0);
	snprintf(p, sizeof(p), "%s/..data", d.path);
	assert_int_equal(symlink("v1", p), 0);
	assert_int_equal(symlink("..data/routes.conf", d.conf), 0);
	assert_int_equal(cfgwrite_replace(d.conf, "two\n", 4, NULL), 0);
	assert_int_equal(lstat(d.conf, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	slurp(d.conf, buf, sizeof(buf));
	assert_string_equal(buf, "two\n");
	snprintf(q, sizeof(q), "%s/v1/routes.conf.bak", d.path);
	assert_int_equal(lstat(q, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	slurp(q, buf, sizeof(buf));
	assert_string_equal(buf, "one\n");
	assert_false(exists(&d, "routes.conf.bak"));
	/* What the API's log line names: the backup where it is. */
	assert_int_equal(cfgwrite_backup_path(d.conf, buf2, sizeof(buf2)), 0);
	assert_string_equal(buf2, q);
	assert_int_equal(cfgwrite_sweep(d.conf), 0);
	unlink(q);
	snprintf(q, sizeof(q), "%s/v1/routes.conf", d.path);
	unlink(q);
	unlink(p);
	unlink(d.conf);
	snprintf(q, sizeof(q), "%s/v1", d.path);
	assert_int_equal(rmdir(q), 0);
	assert_int_equal(rmdir(d.path), 0);
}

/* An API write makes its text from the file as read; a hand edit saved
 * before the write reaches the rename must stay (README "Write-back"): the
 * write is refused with -ESTALE and touches nothing, not even the backup. */
static void test_cfgwrite_leaves_a_file_changed_since_the_base_alone(void **state)
{
	struct dir d;
	uint8_t base[CFGWRITE_HASH_SIZE];
	char buf[64];
	char bak[128];
	FILE *f;

	(void)state;
	dir_make(&d);
	assert_int_equal(cfgwrite_replace(d.conf, "one\n", 4, NULL), 0);
	cfgwrite_hash("one\n", 4, base);
	f = fopen(d.conf, "w"); /* the hand edit, saved in place */
	assert_non_null(f);
	fputs("hand\n", f);
	fclose(f);
	assert_int_equal(cfgwrite_replace(d.conf, "api\n", 4, base), -ESTALE);
	slurp(d.conf, buf, sizeof(buf));
	assert_string_equal(buf, "hand\n");
	assert_false(exists(&d, "routes.conf.bak"));
	assert_int_equal(cfgwrite_sweep(d.conf), 0); /* no temporary file left */
	/* Made from the file as it is, the write goes through. */
	cfgwrite_hash("hand\n", 5, base);
	assert_int_equal(cfgwrite_replace(d.conf, "api\n", 4, base), 0);
	slurp(d.conf, buf, sizeof(buf));
	assert_string_equal(buf, "api\n");
	/* A file removed meanwhile is a change too. */
	unlink(d.conf);
	assert_int_equal(cfgwrite_replace(d.conf, "api\n", 4, base), -ESTALE);
	assert_false(exists(&d, "routes.conf"));
	snprintf(bak, sizeof(bak), "%s.bak", d.conf);
	unlink(bak);
	assert_int_equal(rmdir(d.path), 0);
}

static void test_cfgwrite_sweep_removes_what_a_killed_writer_left(void **state)
{
	struct dir d;
	char gone_tmp[64], gone_bak[64], mine[64], other[64];
	pid_t dead = dead_pid();

	(void)state;
	dir_make(&d);
	assert_int_equal(cfgwrite_replace(d.conf, "live\n", 5, NULL), 0);
	snprintf(gone_tmp, sizeof(gone_tmp), "routes.conf.tmp.%ld", (long)dead);
	snprintf(gone_bak, sizeof(gone_bak), "routes.conf.bak.%ld", (long)dead);
	snprintf(mine, sizeof(mine), "routes.conf.tmp.%ld", (long)getpid());
	snprintf(other, sizeof(other), "other.conf.tmp.%ld", (long)dead);
	touch(&d, gone_tmp);
	touch(&d, gone_bak);
	touch(&d, mine);		  /* this process may be writing it */
	touch(&d, "routes.conf.tmp.1");	  /* PID 1 lives */
	touch(&d, "routes.conf.tmp.12x"); /* not a PID */
	touch(&d, other);		  /* another file's */
	assert_int_equal(cfgwrite_sweep(d.conf), 2);
	assert_false(exists(&d, gone_tmp));
	assert_false(exists(&d, gone_bak));
	assert_true(exists(&d, mine));
	assert_true(exists(&d, "routes.conf.tmp.1"));
	assert_true(exists(&d, "routes.conf.tmp.12x"));
	assert_true(exists(&d, other));
	assert_true(exists(&d, "routes.conf"));
	/* A folder that cannot be read is an error, not a crash. */
	assert_int_equal(cfgwrite_sweep("/nonexistent-wh-dir/routes.conf"), -ENOENT);
	{
		const char *names[] = {mine, "routes.conf.tmp.1", "routes.conf.tmp.12x", other,
				       "routes.conf"};
		char p[160];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", d.path, names[i]);
			unlink(p);
		}
	}
	assert_int_equal(rmdir(d.path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfgwrite_replaces_and_keeps_the_previous_file_as_backup),
		cmocka_unit_test(test_cfgwrite_follows_a_symlinked_file),
		cmocka_unit_test(test_cfgwrite_leaves_a_file_changed_since_the_base_alone),
		cmocka_unit_test(test_cfgwrite_sweep_removes_what_a_killed_writer_left),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
