/* test_cfgwrite: routes.conf replaced atomically with a backup, and the
 * files a writer killed mid-replace left behind swept away (config/cfgwrite.c)
 * in a fresh temporary folder. A hand save landing in the moment between the
 * write's check of the file and its replacing the name is injected through
 * -Wl,--wrap of rename and renameat2 (Makefile). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* The hand save to make from inside the next rename or renameat2 onto
 * hand.conf: before it, or (renameat2) after it. One each, then none. */
enum save { SAVE_NONE, SAVE_RENAME, SAVE_IN_PLACE, SAVE_OPEN_ONLY };

struct hand {
	const char *conf;
	enum save before, after;
	const char *text; /* what the save writes */
	int held_fd;	  /* SAVE_OPEN_ONLY: opened for writing, not written yet */
	bool fail_exchange;
};

static struct hand hand = {.held_fd = -1};

int __real_rename(const char *from, const char *to);
int __real_renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags);
int __wrap_rename(const char *from, const char *to);
int __wrap_renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags);

static void hand_save(enum save how)
{
	char swp[160];
	FILE *f;

	switch (how) {
	case SAVE_RENAME: /* vim, emacs, sed -i: a new file renamed over */
		snprintf(swp, sizeof(swp), "%s.swp", hand.conf);
		f = fopen(swp, "w");
		assert_non_null(f);
		fputs(hand.text, f);
		fclose(f);
		assert_int_equal(__real_rename(swp, hand.conf), 0);
		break;
	case SAVE_IN_PLACE: /* truncated and written where it is */
		f = fopen(hand.conf, "w");
		assert_non_null(f);
		fputs(hand.text, f);
		fclose(f);
		break;
	case SAVE_OPEN_ONLY: /* opened for writing; the bytes come later */
		hand.held_fd = open(hand.conf, O_WRONLY | O_CLOEXEC);
		assert_true(hand.held_fd >= 0);
		break;
	case SAVE_NONE:
		break;
	}
}

static bool onto_conf(const char *to)
{
	return hand.conf && strcmp(to, hand.conf) == 0;
}

int __wrap_rename(const char *from, const char *to)
{
	if (onto_conf(to)) {
		enum save how = hand.before;

		hand.before = SAVE_NONE;
		hand_save(how);
	}
	return __real_rename(from, to);
}

int __wrap_renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
	enum save how = hand.before;
	int r;

	if (hand.fail_exchange) {
		errno = EINVAL; /* a filesystem without RENAME_EXCHANGE */
		return -1;
	}
	if (onto_conf(to)) {
		hand.before = SAVE_NONE;
		hand_save(how);
	}
	r = __real_renameat2(fromfd, from, tofd, to, flags);
	if (r == 0 && onto_conf(to)) {
		how = hand.after;
		hand.after = SAVE_NONE;
		hand_save(how);
	}
	return r;
}

static void dir_make(struct dir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/wh-cfgwrite-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->conf, sizeof(d->conf), "%s/routes.conf", d->path);
}

/* What cfgwrite_sweep kept, where a test only counts what it removed. */
static int kept_unused;

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
	assert_int_equal(cfgwrite_sweep(d.conf, &kept_unused), 0);
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
	assert_int_equal(cfgwrite_sweep(d.conf, &kept_unused), 0);
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
	assert_int_equal(cfgwrite_sweep(d.conf, &kept_unused), 0); /* no temporary file left */
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

/* A hand save that lands after the write's check but before the name is
 * replaced (by rename, or written in place, or opened by an editor that
 * writes its bytes only later) is not overwritten: the write is refused
 * and the file holds the hand edit, the backup untouched. */
static void test_cfgwrite_never_overwrites_a_hand_save_landing_after_the_check(void **state)
{
	static const enum save hows[] = {SAVE_RENAME, SAVE_IN_PLACE, SAVE_OPEN_ONLY};

	(void)state;
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		struct dir d;
		uint8_t base[CFGWRITE_HASH_SIZE];
		char buf[64];
		char bak[128];

		dir_make(&d);
		assert_int_equal(cfgwrite_replace(d.conf, "one\n", 4, NULL), 0);
		cfgwrite_hash("one\n", 4, base);
		hand = (struct hand){
			.conf = d.conf, .before = hows[i], .text = "hand\n", .held_fd = -1};
		assert_int_equal(cfgwrite_replace(d.conf, "api\n", 4, base), -ESTALE);
		if (hand.held_fd >= 0) { /* the editor's bytes, after the write */
			assert_int_equal(pwrite(hand.held_fd, "hand\n", 5, 0), 5);
			close(hand.held_fd);
		}
		hand.conf = NULL;
		slurp(d.conf, buf, sizeof(buf));
		assert_string_equal(buf, "hand\n");
		assert_false(exists(&d, "routes.conf.bak"));
		assert_int_equal(cfgwrite_sweep(d.conf, &kept_unused),
				 0); /* no temporary file left */
		snprintf(bak, sizeof(bak), "%s.swp", d.conf);
		unlink(bak);
		unlink(d.conf);
		assert_int_equal(rmdir(d.path), 0);
	}
}

/* While a refused write puts the file back, a second hand save lands on
 * the API's text (renamed over it or written into it): the newest save is
 * what stays. */
static void test_cfgwrite_putting_back_keeps_the_newest_hand_save(void **state)
{
	static const enum save hows[] = {SAVE_RENAME, SAVE_IN_PLACE};

	(void)state;
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		struct dir d;
		uint8_t base[CFGWRITE_HASH_SIZE];
		char buf[64];
		char swp[128];

		dir_make(&d);
		assert_int_equal(cfgwrite_replace(d.conf, "one\n", 4, NULL), 0);
		cfgwrite_hash("one\n", 4, base);
		hand = (struct hand){.conf = d.conf,
				     .before = SAVE_RENAME,
				     .after = hows[i],
				     .text = "hand\n",
				     .held_fd = -1};
		assert_int_equal(cfgwrite_replace(d.conf, "api\n", 4, base), -ESTALE);
		slurp(d.conf, buf, sizeof(buf));
		assert_string_equal(buf, "hand\n");
		hand.conf = NULL;
		assert_int_equal(cfgwrite_sweep(d.conf, &kept_unused), 0);
		snprintf(swp, sizeof(swp), "%s.swp", d.conf);
		unlink(swp);
		unlink(d.conf);
		assert_int_equal(rmdir(d.path), 0);
	}
}

/* A write that goes through swaps the file out whole: it becomes the
 * backup. A hand save after the swap lands on the new file and stays. And
 * where the filesystem cannot exchange names, the write still goes
 * through by rename. */
static void test_cfgwrite_backs_up_what_it_swapped_out_and_works_without_exchange(void **state)
{
	struct dir d;
	uint8_t base[CFGWRITE_HASH_SIZE];
	char buf[64];
	char bak[128];

	(void)state;
	dir_make(&d);
	snprintf(bak, sizeof(bak), "%s.bak", d.conf);
	assert_int_equal(cfgwrite_replace(d.conf, "one\n", 4, NULL), 0);
	cfgwrite_hash("one\n", 4, base);
	hand = (struct hand){
		.conf = d.conf, .after = SAVE_IN_PLACE, .text = "later\n", .held_fd = -1};
	assert_int_equal(cfgwrite_replace(d.conf, "two\n", 4, base), 0);
	slurp(d.conf, buf, sizeof(buf));
	assert_string_equal(buf, "later\n");
	slurp(bak, buf, sizeof(buf));
	assert_string_equal(buf, "one\n");
	cfgwrite_hash("later\n", 6, base);
	hand = (struct hand){.conf = d.conf, .fail_exchange = true, .held_fd = -1};
	assert_int_equal(cfgwrite_replace(d.conf, "three\n", 6, base), 0);
	hand.conf = NULL;
	hand.fail_exchange = false;
	slurp(d.conf, buf, sizeof(buf));
	assert_string_equal(buf, "three\n");
	slurp(bak, buf, sizeof(buf));
	assert_string_equal(buf, "later\n");
	assert_int_equal(cfgwrite_sweep(d.conf, &kept_unused), 0);
	unlink(bak);
	unlink(d.conf);
	assert_int_equal(rmdir(d.path), 0);
}

static void put(const struct dir *d, const char *name, const char *text)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A dead writer's files: copies of routes.conf or of its backup, and empty
 * ones, are removed; one holding anything else (a hand edit an exchange
 * took out, the version on its way to .bak) is kept as
 * routes.conf.recovered.PID. Files of this process, of live ones, of
 * another file, and names a writer never makes (an operator's
 * routes.conf.bak.20261129) are left alone. */
static void test_cfgwrite_sweep_tidies_what_a_killed_writer_left(void **state)
{
	static const char *const left[] = {
		"routes.conf.wh-tmp.1",	     /* PID 1 lives */
		"routes.conf.wh-tmp.12x",    /* not a PID */
		"routes.conf.bak.20261129",  /* the operator's */
		"routes.conf.tmp.99999999",  /* not a writer's name */
		"routes.conf.bak.99999999",  /* nor this */
		"routes.conf.recovered.1234" /* kept before: stays */
	};
	char copy[64], bak_copy[64], empty[64], hand_left[64], mine[64], other[64], kept_as[64];
	char got[64], p[160];
	pid_t dead[4];
	struct dir d;
	int kept = -1;

	(void)state;
	for (int i = 0; i < 4; i++) {
		dead[i] = dead_pid();
	}
	dir_make(&d);
	assert_int_equal(cfgwrite_replace(d.conf, "old\n", 4, NULL), 0);
	assert_int_equal(cfgwrite_replace(d.conf, "live\n", 5, NULL), 0);
	snprintf(copy, sizeof(copy), "routes.conf.wh-tmp.%ld", (long)dead[0]);
	snprintf(bak_copy, sizeof(bak_copy), "routes.conf.wh-bak.%ld", (long)dead[1]);
	snprintf(empty, sizeof(empty), "routes.conf.wh-tmp.%ld", (long)dead[2]);
	snprintf(hand_left, sizeof(hand_left), "routes.conf.wh-tmp.%ld", (long)dead[3]);
	snprintf(kept_as, sizeof(kept_as), "routes.conf.recovered.%ld", (long)dead[3]);
	snprintf(mine, sizeof(mine), "routes.conf.wh-tmp.%ld", (long)getpid());
	snprintf(other, sizeof(other), "other.conf.wh-tmp.%ld", (long)dead[0]);
	put(&d, copy, "live\n");
	put(&d, bak_copy, "old\n");
	put(&d, empty, "");
	put(&d, hand_left, "hand edit\n");
	put(&d, mine, "live\n"); /* this process may be writing it */
	put(&d, other, "x");
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		put(&d, left[i], "x");
	}
	assert_int_equal(cfgwrite_sweep(d.conf, &kept), 3);
	assert_int_equal(kept, 1);
	assert_false(exists(&d, copy) || exists(&d, bak_copy) || exists(&d, empty) ||
		     exists(&d, hand_left));
	snprintf(p, sizeof(p), "%s/%s", d.path, kept_as);
	slurp(p, got, sizeof(got));
	assert_string_equal(got, "hand edit\n");
	assert_true(exists(&d, mine) && exists(&d, other) && exists(&d, "routes.conf"));
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		assert_true(exists(&d, left[i]));
	}
	/* Nothing more the next time. */
	assert_int_equal(cfgwrite_sweep(d.conf, &kept), 0);
	assert_int_equal(kept, 0);
	/* A folder that cannot be read is an error, not a crash. */
	assert_int_equal(cfgwrite_sweep("/nonexistent-wh-dir/routes.conf", &kept), -ENOENT);
	{
		const char *names[] = {mine, other, kept_as, "routes.conf", "routes.conf.bak"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", d.path, names[i]);
			unlink(p);
		}
		for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", d.path, left[i]);
			unlink(p);
		}
	}
	assert_int_equal(rmdir(d.path), 0);
}

/* The new file keeps the owner and group of the one it replaces (as root,
 * which may set them; a server run as the file's owner keeps them anyway):
 * an operator's routes.conf does not become root's after an API edit. */
static void test_cfgwrite_keeps_the_owner(void **state)
{
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();
	gid_t gid = geteuid() == 0 ? 65534 : getegid();
	struct stat st;
	struct dir d;

	(void)state;
	dir_make(&d);
	assert_int_equal(cfgwrite_replace(d.conf, "one\n", 4, NULL), 0);
	assert_int_equal(chown(d.conf, uid, gid), 0);
	assert_int_equal(cfgwrite_replace(d.conf, "two\n", 4, NULL), 0);
	assert_int_equal(stat(d.conf, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, 0600);
	unlink(d.conf);
	strncat(d.conf, ".bak", sizeof(d.conf) - strlen(d.conf) - 1);
	unlink(d.conf);
	assert_int_equal(rmdir(d.path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfgwrite_replaces_and_keeps_the_previous_file_as_backup),
		cmocka_unit_test(test_cfgwrite_follows_a_symlinked_file),
		cmocka_unit_test(test_cfgwrite_leaves_a_file_changed_since_the_base_alone),
		cmocka_unit_test(
			test_cfgwrite_never_overwrites_a_hand_save_landing_after_the_check),
		cmocka_unit_test(test_cfgwrite_putting_back_keeps_the_newest_hand_save),
		cmocka_unit_test(
			test_cfgwrite_backs_up_what_it_swapped_out_and_works_without_exchange),
		cmocka_unit_test(test_cfgwrite_sweep_tidies_what_a_killed_writer_left),
		cmocka_unit_test(test_cfgwrite_keeps_the_owner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
