/* reload: notice saves of routes.conf and hand the new text to the server.
 *
 * Editors save either in place (truncate + write: IN_MODIFY, IN_CLOSE_WRITE)
 * or by writing a new file and renaming it over the old one (IN_MOVED_TO,
 * a new inode). inotify on the folder sees both. A routes.conf that is a
 * symlink can change without an event naming it: a Kubernetes ConfigMap
 * swaps a "..data" link beside it, a deploy tool re-points a "current"
 * link, or the target is replaced in another folder. So while path is a
 * link every event in the folder counts, and a stat() poll (links
 * followed) catches what inotify cannot see. libev's ev_stat does not do
 * this: with inotify it watches the target inode and does not poll.
 * Every event re-arms one debounce timer; when it fires, the file is read
 * once, hashed, and handed over only if its content changed. Comparing
 * content rather than size and mtime is what catches two saves within the
 * same second that leave the file the same size. (DESIGN §6, STYLE §6.) */
#include "reload.h"

#include "common/compiler.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/cfgfile.h"
#include "config/cfgwrite.h"

#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

int reload_read_file(const char *path, size_t max, char **text, size_t *len)
{
	struct diag d;

	/* The one safe reader of config files: never waits on a FIFO, refuses
	 * what is not a regular file, caps the size. */
	diag_clear(&d);
	return cfgfile_read(path, max, text, len, &d);
}

static void content_hash(const char *text, size_t len, uint8_t out[32])
{
	cfgwrite_hash(text, len, out);
}

int reload_read_base(struct reload *rl, char **text, size_t *len)
{
	int err = reload_read_file(rl->path, RELOAD_READ_MAX, text, len);

	rl->has_base = err == 0;
	if (err == 0) {
		content_hash(*text, *len, rl->base_hash);
	}
	return err;
}

bool reload_take_base(struct reload *rl, uint8_t hash[32])
{
	bool has_base = rl->has_base;

	memcpy(hash, rl->base_hash, sizeof(rl->base_hash));
	rl->has_base = false;
	return has_base;
}

void reload_set_running(struct reload *rl, const char *text, size_t len)
{
	content_hash(text, len, rl->last_hash);
	rl->has_hash = true;
	rl->has_refused = false;
	rl->is_failing = false;
}

/* Fill id from stat(path) (all zero if it fails) and note whether path
 * itself is a symlink. */
static void stat_id(struct reload *rl, uint64_t id[6])
{
	struct stat st;

	memset(id, 0, 6 * sizeof(id[0]));
	rl->is_link = lstat(rl->path, &st) == 0 && S_ISLNK(st.st_mode);
	if (stat(rl->path, &st) != 0) {
		return;
	}
	id[0] = (uint64_t)st.st_dev;
	id[1] = (uint64_t)st.st_ino;
	id[2] = (uint64_t)st.st_size;
	id[3] = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	id[4] = (uint64_t)st.st_ctim.tv_sec * 1000000000u + (uint64_t)st.st_ctim.tv_nsec;
	id[5] = (uint64_t)st.st_mode;
}

static void record(struct reload *rl, bool is_ok, const char *message)
{
	rl->status.has_result = true;
	rl->status.is_ok = is_ok;
	rl->status.at_wall = time(NULL);
	snprintf(rl->status.message, sizeof(rl->status.message), "%s", message);
}

/* A read that fails as the last one did is not logged again for
 * RELOAD_ERROR_REPEAT_S: with routes.conf a link (every event in its
 * folder counts) and the log file in that folder, each line woke the
 * watcher for the next one, ten lines a second. */
static void read_failed(struct reload *rl, int err, bool is_forced)
{
	char msg[RELOAD_MESSAGE_MAX];
	uint64_t now_us = monotime_now_us();

	rl->is_failing = true;
	if (!is_forced && rl->read_err == err &&
	    now_us - rl->read_err_us < (uint64_t)RELOAD_ERROR_REPEAT_S * 1000000u) {
		return;
	}
	rl->read_err = err;
	rl->read_err_us = now_us;
	rl->status.attempts++;
	snprintf(msg, sizeof(msg), "%.600s: cannot read: %s", rl->path, cfgfile_strerror(err));
	log_error("reload: %s (running configuration kept)", msg);
	record(rl, false, msg);
}

/* Nothing new to hand over: the content running now (a touch, our own API
 * write; unless the last reload failed: going back to it is then a reload
 * that applies, with no changes), or the content refused last time
 * in the very same file (an event about something else in the folder). A
 * refused content saved again is tried again: what it was refused for may
 * lie outside it (a key file put back). */
static bool is_known(const struct reload *rl, const uint8_t hash[32], const uint64_t id[6])
{
	if (rl->has_hash && sodium_memcmp(hash, rl->last_hash, 32) == 0) {
		return !rl->is_failing;
	}
	return rl->has_refused && sodium_memcmp(hash, rl->refused_hash, 32) == 0 &&
	       memcmp(id, rl->refused_id, sizeof(rl->refused_id)) == 0;
}

static void reload_run(struct reload *rl, bool is_forced)
{
	char *text = NULL;
	size_t len = 0;
	uint8_t hash[32];
	uint64_t id[6];
	struct diag d;
	char msg[RELOAD_MESSAGE_MAX];
	int err;

	/* Before the read: a save after it changes the file's identity again
	 * and brings its own event. */
	stat_id(rl, id);
	err = reload_read_file(rl->path, RELOAD_READ_MAX, &text, &len);
	if (err == -ENOENT && !is_forced) {
		/* Between an editor's unlink and its rename: the next event brings the file. */
		return;
	}
	if (err != 0) {
		read_failed(rl, err, is_forced);
		return;
	}
	rl->read_err = 0;
	content_hash(text, len, hash);
	if (!is_forced && is_known(rl, hash, id)) {
		free(text);
		return;
	}
	rl->status.attempts++;
	diag_clear(&d);
	err = rl->apply(rl->apply_ctx, text, len, &d);
	free(text);
	if (err != 0) {
		memcpy(rl->refused_hash, hash, sizeof(hash));
		memcpy(rl->refused_id, id, sizeof(id));
		rl->has_refused = true;
		rl->is_failing = true;
		diag_format(&d, msg, sizeof(msg));
		record(rl, false, msg);
		return;
	}
	/* Only content that runs is skipped when saved again unchanged. */
	memcpy(rl->last_hash, hash, sizeof(hash));
	rl->has_hash = true;
	rl->has_refused = false;
	rl->is_failing = false;
	rl->status.applied++;
	record(rl, true, "applied");
}

static void debounce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct reload *rl = container_of(w, struct reload, debounce);

	(void)loop;
	(void)revents;
	ev_timer_stop(rl->loop, &rl->debounce);
	reload_run(rl, false);
}

static void poke(struct reload *rl)
{
	ev_timer_stop(rl->loop, &rl->debounce);
	ev_timer_set(&rl->debounce, RELOAD_DEBOUNCE_S, 0.);
	ev_timer_start(rl->loop, &rl->debounce);
}

static void inotify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct reload *rl = container_of(w, struct reload, inotify_io);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool is_ours = false;
	ssize_t n;

	(void)loop;
	(void)revents;
	/* Drain a bounded number of reads per callback. */
	for (int round = 0; round < 16; round++) {
		n = read(rl->inotify_fd, buf, sizeof(buf));
		if (n <= 0) {
			break;
		}
		for (char *p = buf; p < buf + n;) {
			struct inotify_event ev;
			memcpy(&ev, p, sizeof(ev));
			if (ev.len > 0 && strcmp(p + sizeof(ev), rl->base) == 0) {
				is_ours = true;
			}
			p += sizeof(ev) + ev.len;
		}
	}
	if (is_ours || rl->is_link) {
		poke(rl);
	}
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct reload *rl = container_of(w, struct reload, poll);
	uint64_t id[6];

	(void)loop;
	(void)revents;
	stat_id(rl, id);
	if (memcmp(id, rl->seen, sizeof(id)) != 0) {
		memcpy(rl->seen, id, sizeof(id));
		poke(rl);
	}
}

int reload_init(struct reload *rl, struct ev_loop *loop, const char *path, reload_apply_fn *apply,
		void *apply_ctx)
{
	char tmp[PATH_MAX];

	memset(rl, 0, sizeof(*rl));
	rl->inotify_fd = -1;
	if (strlen(path) >= sizeof(rl->path)) {
		return -ENAMETOOLONG;
	}
	rl->loop = loop;
	rl->apply = apply;
	rl->apply_ctx = apply_ctx;
	snprintf(rl->path, sizeof(rl->path), "%s", path);
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(rl->dir, sizeof(rl->dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(rl->base, sizeof(rl->base), "%s", basename(tmp));

	rl->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (rl->inotify_fd >= 0 && inotify_add_watch(rl->inotify_fd, rl->dir,
						     IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO |
							     IN_CREATE | IN_ATTRIB) < 0) {
		log_warn("reload: inotify on %s: %s (polling every %.1f s instead)", rl->dir,
			 strerror(errno), RELOAD_POLL_S);
		close(rl->inotify_fd);
		rl->inotify_fd = -1;
	}
	ev_io_init(&rl->inotify_io, inotify_cb, rl->inotify_fd, EV_READ);
	ev_timer_init(&rl->poll, poll_cb, RELOAD_POLL_S, RELOAD_POLL_S);
	stat_id(rl, rl->seen);
	ev_timer_init(&rl->debounce, debounce_cb, RELOAD_DEBOUNCE_S, 0.);
	return 0;
}

void reload_start(struct reload *rl)
{
	if (rl->inotify_fd >= 0) {
		ev_io_start(rl->loop, &rl->inotify_io);
	}
	ev_timer_start(rl->loop, &rl->poll);
}

void reload_stop(struct reload *rl)
{
	ev_io_stop(rl->loop, &rl->inotify_io);
	ev_timer_stop(rl->loop, &rl->poll);
	ev_timer_stop(rl->loop, &rl->debounce);
}

void reload_fini(struct reload *rl)
{
	if (rl->loop) {
		reload_stop(rl);
	}
	if (rl->inotify_fd >= 0) {
		close(rl->inotify_fd);
		rl->inotify_fd = -1;
	}
}

void reload_now(struct reload *rl)
{
	ev_timer_stop(rl->loop, &rl->debounce);
	reload_run(rl, true);
}
