/* test_reload: the routes.conf watcher's side of a reload (server/reload.c):
 * how the file is read, and which saved versions are handed to apply.
 * The debounce timer's callback is invoked directly (ev_invoke), so no
 * test waits for a timer. Files live in a fresh folder under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "common/diag.h"
#include "config/cfgfile.h"
#include "config/cfgwrite.h"
#include "server/reload.h"

struct fixture {
	char dir[32];
	char path[64];
	struct ev_loop *loop;
	struct reload rl;
	unsigned calls; /* apply calls */
	int result;	/* what apply answers */
	char seen[256]; /* the text of the last call */
};

static int fake_apply(void *ctx, const char *text, size_t len, struct diag *d)
{
	struct fixture *f = ctx;

	f->calls++;
	snprintf(f->seen, sizeof(f->seen), "%.*s", (int)len, text);
	if (f->result != 0) {
		diag_set(d, "routes.conf", 0, "refused");
	}
	return f->result;
}

static void save(const struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Save by writing a new file and renaming it over routes.conf, as editors
 * do: a new inode, so a second save is a new version of the file even
 * within the same clock tick. */
static void save_by_rename(const struct fixture *f, const char *text)
{
	char tmp[sizeof(f->path) + 8];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, f->path), 0);
}

/* What the debounce timer does when it fires after a save. */
static void saved(struct fixture *f)
{
	ev_invoke(f->loop, &f->rl.debounce, EV_TIMER);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_reload.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/routes.conf", f->dir);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	save(f, "first");
	assert_int_equal(reload_init(&f->rl, f->loop, f->path, fake_apply, f), 0);
	reload_set_running(&f->rl, "first", 5);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char bak[sizeof(f->path) + 8];

	reload_fini(&f->rl);
	ev_loop_destroy(f->loop);
	unlink(f->path);
	snprintf(bak, sizeof(bak), "%s.real", f->path);
	unlink(bak);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A FIFO saved where routes.conf was blocked open() on the event loop until
 * a writer came: the server stopped answering STUN and the API. */
static void test_reload_read_file_refuses_a_fifo_without_waiting(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;

	unlink(f->path);
	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_equal(reload_read_file(f->path, RELOAD_READ_MAX, &text, &len),
			 CFGFILE_NOT_REGULAR);
	assert_null(text);
	assert_string_equal(cfgfile_strerror(CFGFILE_NOT_REGULAR), "not a regular file");
	/* The watcher keeps the running configuration and says why. */
	saved(f);
	assert_int_equal(f->calls, 0);
	assert_false(f->rl.status.is_ok);
	assert_non_null(strstr(f->rl.status.message, "cannot read: not a regular file"));
	/* A regular file saved later is picked up. */
	unlink(f->path);
	save(f, "second");
	saved(f);
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->seen, "second");
}

/* A save refused for something outside the file (the key file moved away)
 * and saved again unchanged once that is fixed must be tried again: it
 * used to be taken for the running content until a SIGHUP. */
static void test_reload_tries_a_refused_content_again_when_it_is_saved_again(void **state)
{
	struct fixture *f = *state;

	f->result = -EINVAL;
	save_by_rename(f, "edited");
	saved(f);
	assert_int_equal(f->calls, 1);
	assert_false(f->rl.status.is_ok);
	f->result = 0;
	save_by_rename(f, "edited");
	saved(f);
	assert_int_equal(f->calls, 2);
	assert_string_equal(f->seen, "edited");
	assert_true(f->rl.status.is_ok);
	assert_int_equal(f->rl.status.applied, 1);
}

/* An event that is not a save (another file in the folder, which counts
 * while routes.conf is a link) does not hand the refused content over
 * again. Going back to the running content is a reload that applies (the
 * last result is no longer the refusal); saved again, it is no change. */
static void test_reload_skips_unsaved_refused_content_and_the_running_content(void **state)
{
	struct fixture *f = *state;

	f->result = -EINVAL;
	save_by_rename(f, "broken");
	saved(f);
	assert_int_equal(f->calls, 1);
	saved(f);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->rl.status.attempts, 1);
	f->result = 0;
	save_by_rename(f, "first");
	saved(f);
	assert_int_equal(f->calls, 2);
	assert_true(f->rl.status.is_ok);
	save_by_rename(f, "first");
	saved(f);
	assert_int_equal(f->calls, 2);
	/* SIGHUP always tries. */
	reload_now(&f->rl);
	assert_int_equal(f->calls, 3);
	assert_string_equal(f->seen, "first");
}

/* A write-back checks routes.conf against the version its edit was made
 * from: reload_read_base remembers it, and each write takes it once. */
static void test_reload_read_base_remembers_the_version_an_edit_starts_from(void **state)
{
	struct fixture *f = *state;
	uint8_t got[32], want[CFGWRITE_HASH_SIZE];
	char *text = NULL;
	size_t len = 0;

	assert_false(reload_take_base(&f->rl, got));
	assert_int_equal(reload_read_base(&f->rl, &text, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(text, "first", 5);
	free(text);
	cfgwrite_hash("first", 5, want);
	assert_true(reload_take_base(&f->rl, got));
	assert_memory_equal(got, want, sizeof(want));
	assert_false(reload_take_base(&f->rl, got));
	/* A read that fails leaves no base behind. */
	assert_int_equal(reload_read_base(&f->rl, &text, &len), 0);
	free(text);
	unlink(f->path);
	assert_int_equal(reload_read_base(&f->rl, &text, &len), -ENOENT);
	assert_false(reload_take_base(&f->rl, got));
}

/* Lines reload logged while fn ran: stderr goes to a file meanwhile. */
static unsigned count_logged(struct fixture *f, void (*fn)(struct fixture *), const char *what)
{
	char log_path[sizeof(f->dir) + 8];
	char line[1024];
	unsigned n = 0;
	FILE *fp;
	int saved_fd = dup(STDERR_FILENO);
	int fd;

	snprintf(log_path, sizeof(log_path), "%s/log", f->dir);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved_fd >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	fn(f);
	assert_int_equal(dup2(saved_fd, STDERR_FILENO), STDERR_FILENO);
	close(saved_fd);
	fp = fopen(log_path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		n += strstr(line, what) != NULL;
	}
	fclose(fp);
	unlink(log_path);
	return n;
}

static void three_events(struct fixture *f)
{
	saved(f);
	saved(f);
	saved(f);
}

static void sighup(struct fixture *f)
{
	reload_now(&f->rl);
}

/* routes.conf a link to itself (ELOOP) with the log file in its folder:
 * each logged line was an event in the folder, so the same error was
 * logged every 100 ms forever. It is logged once; a different error, a
 * SIGHUP, or the same error after a read that worked are logged again. */
static void test_reload_logs_a_repeated_read_error_once(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	assert_int_equal(symlink("routes.conf", f->path), 0);
	assert_int_equal(count_logged(f, three_events, "Too many levels of symbolic links"), 1);
	assert_int_equal(f->rl.status.attempts, 1);
	assert_false(f->rl.status.is_ok);
	assert_int_equal(count_logged(f, sighup, "Too many levels of symbolic links"), 1);
	unlink(f->path);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(count_logged(f, three_events, "Is a directory"), 1);
	rmdir(f->path);
	save(f, "first");
	saved(f);
	assert_true(f->rl.status.is_ok);
	unlink(f->path);
	assert_int_equal(symlink("routes.conf", f->path), 0);
	assert_int_equal(count_logged(f, three_events, "Too many levels of symbolic links"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_reload_read_file_refuses_a_fifo_without_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_tries_a_refused_content_again_when_it_is_saved_again, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_skips_unsaved_refused_content_and_the_running_content, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_reload_logs_a_repeated_read_error_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_read_base_remembers_the_version_an_edit_starts_from, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
