/* reload: watch routes.conf and hand each saved version to the server
 * (DESIGN §6 "Hot reload"). Owns the watchers and the last reload result;
 * parsing, validation and applying belong to the callback. */
#ifndef WH_RELOAD_H
#define WH_RELOAD_H

#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct diag;

/* Apply one saved version of the file. text is valid during the call only.
 * Returns 0 when applied (or nothing changed), negative errno with d set otherwise. */
typedef int reload_apply_fn(void *ctx, const char *text, size_t len, struct diag *d);

#define RELOAD_MESSAGE_MAX 768
/* Quiet time after the last change event before the file is read. Editors
 * write in several steps (truncate, write, rename); reading after a short
 * pause sees the final content, and any later event re-arms the timer. */
#define RELOAD_DEBOUNCE_S 0.1
/* stat() poll interval: the fallback where inotify is missing or misses
 * (a symlinked routes.conf whose target is replaced elsewhere). */
#define RELOAD_POLL_S 0.5
/* A read error that repeats unchanged is logged again after this long. */
#define RELOAD_ERROR_REPEAT_S 600u
/* Largest file read; the parser reports files over its own cap. */
#define RELOAD_READ_MAX (2u << 20)

struct reload_status {
	unsigned attempts; /* reloads tried since start (the first load is not counted) */
	unsigned applied;  /* of which applied */
	bool has_result;   /* false until the first reload attempt */
	bool is_ok;	   /* result of the last attempt */
	time_t at_wall;	   /* wall time of the last attempt, for people (API, logs) */
	char message[RELOAD_MESSAGE_MAX]; /* "applied: ..." or "FILE:LINE: error" */
};

struct reload {
	struct ev_loop *loop; /* borrowed */
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char base[NAME_MAX + 1];
	int inotify_fd;
	ev_io inotify_io;
	ev_timer poll;
	ev_timer debounce;
	/* What stat() said of path (symlinks followed) at the last poll:
	 * device, inode, size, mtime and ctime; all zero while it is missing. */
	uint64_t seen[6];
	bool is_link;	       /* path itself is a symlink: any change in dir may swap it */
	uint8_t last_hash[32]; /* content running now (applied, or written by the API) */
	bool has_hash;
	/* The content refused last, and the file's identity (as seen[]) when
	 * it was read: skipped until the file is saved again. */
	uint8_t refused_hash[32];
	uint64_t refused_id[6];
	bool has_refused;
	bool is_failing;      /* the last reload failed (read or refused) and nothing ran since */
	int read_err;	      /* the last read's error, 0 after a read that worked */
	uint64_t read_err_us; /* monotonic time that error was last logged */

	/* The version the next write-back edits (reload_read_base), so that
	 * the write can check routes.conf still holds it. */
	uint8_t base_hash[32];
	bool has_base;
	reload_apply_fn *apply;
	void *apply_ctx;
	struct reload_status status;
};

/* Set up watchers for path (not started). Returns 0 or negative errno. */
int reload_init(struct reload *rl, struct ev_loop *loop, const char *path, reload_apply_fn *apply,
		void *apply_ctx);
/* Remember the content that is running now, so an unchanged save is a no-op. */
void reload_set_running(struct reload *rl, const char *text, size_t len);
void reload_start(struct reload *rl);
void reload_stop(struct reload *rl);
void reload_fini(struct reload *rl);
/* Read and apply the file now (SIGHUP): always tries, even if unchanged. */
void reload_now(struct reload *rl);
/* Read a whole file of at most max bytes into a new NUL-terminated buffer
 * (caller frees), through cfgfile_read: a FIFO or device is refused, never
 * waited on. Returns 0, -EFBIG, -EISDIR, CFGFILE_NOT_REGULAR, or a negative
 * errno from open/read (cfgfile_strerror gives the text). */
int reload_read_file(const char *path, size_t max, char **text, size_t *len);
/* reload_read_file of rl's path, for an edit that will be written back:
 * also remembers the content's hash as the edit's base. */
int reload_read_base(struct reload *rl, char **text, size_t *len);
/* The base the last reload_read_base remembered, into hash (32 bytes),
 * forgotten as it is taken (each write reads its own). False when there
 * is none. */
bool reload_take_base(struct reload *rl, uint8_t hash[32]);

#endif
