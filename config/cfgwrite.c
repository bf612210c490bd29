/* cfgwrite: atomic replacement of routes.conf for API write-back.
 * Order matters for crash safety: the new content is durable in its own
 * inode (write + fsync) before any name changes; the name then changes in
 * one step; the folder fsync makes it durable. Never truncates or writes
 * into the live file. A hand edit saved meanwhile is never overwritten
 * (DESIGN §6): the file is compared with the version the new text was made
 * from, then exchanged with the new file in one step (renameat2
 * RENAME_EXCHANGE), and what the exchange took out is checked again: the
 * expected version, and nobody still writing into it. Only then does it
 * become PATH.bak (a rename: at every moment the older backup or the
 * complete previous file); otherwise it goes back. Without
 * RENAME_EXCHANGE (some filesystems) the backup is a link and the new file
 * is renamed over, right after the comparison. */
#include "config/cfgwrite.h"

#include "config/cfgfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exchanges that undo a refused one, at most (each follows a save made
 * at path meanwhile; more in that moment are not a human's). */
#define SWAP_BACK_TRIES 8

static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EIO;
		}
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0) {
		return -errno;
	}
	if (fsync(fd) != 0) {
		err = -errno;
	}
	close(fd);
	return err;
}

/* PATH.bak becomes the current file, never a partial copy of it. */
static int keep_backup(const char *path)
{
	char bak[PATH_MAX];
	char tmp[PATH_MAX];

	if (snprintf(bak, sizeof(bak), "%s%s", path, CFGWRITE_BACKUP_SUFFIX) >= (int)sizeof(bak) ||
	    snprintf(tmp, sizeof(tmp), "%s%s.%ld", path, CFGWRITE_BAK_TAG, (long)getpid()) >=
		    (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	(void)unlink(tmp);
	if (link(path, tmp) != 0) {
		return errno == ENOENT ? 0 : -errno;
	}
	if (rename(tmp, bak) != 0) {
		int err = -errno;
		(void)unlink(tmp);
		return err;
	}
	return 0;
}

void cfgwrite_hash(const char *text, size_t len, uint8_t out[CFGWRITE_HASH_SIZE])
{
	crypto_generichash(out, CFGWRITE_HASH_SIZE, (const unsigned char *)text, len, NULL, 0);
}

/* The cfgwrite_hash of fd's content (read from where it is): 0, or -errno
 * when it cannot be read. */
static int hash_fd(int fd, uint8_t out[CFGWRITE_HASH_SIZE])
{
	crypto_generichash_state st;
	char buf[16384];

	crypto_generichash_init(&st, NULL, 0, CFGWRITE_HASH_SIZE);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -errno;
		}
		if (n == 0) {
			break;
		}
		crypto_generichash_update(&st, (const unsigned char *)buf, (unsigned long long)n);
	}
	crypto_generichash_final(&st, out, CFGWRITE_HASH_SIZE);
	return 0;
}

/* 0 when fd's content (read from where it is) hashes to want, -ESTALE
 * when it does not, another -errno when it cannot be read. */
static int hash_matches(int fd, const uint8_t want[CFGWRITE_HASH_SIZE])
{
	uint8_t got[CFGWRITE_HASH_SIZE];
	int err = hash_fd(fd, got);

	if (err != 0) {
		return err;
	}
	return sodium_memcmp(got, want, sizeof(got)) == 0 ? 0 : -ESTALE;
}

/* 0 when path holds the content whose cfgwrite_hash is expect, -ESTALE
 * when it holds anything else or is gone, another -errno when it cannot
 * be read. Read through cfgfile_open: a FIFO put there is not waited on. */
static int check_unchanged(const char *path, const uint8_t expect[CFGWRITE_HASH_SIZE])
{
	int fd = cfgfile_open(path);
	int err;

	if (fd < 0) {
		return fd == -ENOENT ? -ESTALE : fd;
	}
	err = hash_matches(fd, expect);
	close(fd);
	return err;
}

/* The same inode, not written since (size and modification time). */
static bool same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Like check_unchanged, for a file only this process names (the
 * temporary name after an exchange), and stricter: with id, it must also
 * be that inode, and nobody may have it open for writing while it is
 * read (want NULL: any content). The kernel grants a read lease (F_RDLCK) only on a file nobody
 * has open for writing, and breaks it when someone opens it for writing
 * while it is held; so an editor that opened the file before it left its
 * name and still writes into it is seen, even before it wrote a byte.
 * Where no lease can be had (a file of another owner without CAP_LEASE, a
 * filesystem without leases) the content alone decides. */
static int check_settled(const char *name, const uint8_t want[CFGWRITE_HASH_SIZE],
			 const struct stat *id)
{
	struct stat st;
	bool has_lease = false;
	int fd = cfgfile_open(name);
	int err = 0;

	if (fd < 0) {
		return fd == -ENOENT ? -ESTALE : fd;
	}
	if (id && (fstat(fd, &st) != 0 || !same_version(&st, id))) {
		err = -ESTALE;
	}
	/* A broken lease signals its holder, SIGIO by default, which would
	 * end the server: SIGURG instead, ignored unless handled. */
	if (err == 0 && fcntl(fd, F_SETSIG, SIGURG) == 0) {
		if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
			has_lease = true;
		} else if (errno == EAGAIN) {
			err = -ESTALE; /* open for writing: a save in progress */
		}
	}
	if (err == 0 && want) {
		err = hash_matches(fd, want);
	}
	if (has_lease) {
		if (err == 0 && fcntl(fd, F_GETLEASE) != F_RDLCK) {
			err = -ESTALE; /* opened for writing meanwhile */
		}
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	}
	close(fd);
	return err;
}

/* The file a symlinked path names (its links followed), so that a write
 * replaces the file and leaves the link alone (a deploy tool's "current"
 * link, a ConfigMap's "..data"); path itself otherwise. */
static int resolve(const char *path, char out[PATH_MAX], const char **use)
{
	struct stat st;

	*use = path;
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) {
		return 0;
	}
	if (!realpath(path, out)) {
		return -errno;
	}
	*use = out;
	return 0;
}

int cfgwrite_backup_path(const char *link_path, char *out, size_t size)
{
	char real[PATH_MAX];
	const char *path;
	int err = resolve(link_path, real, &path);
	int n;

	if (err != 0) {
		return err;
	}
	n = snprintf(out, size, "%s%s", path, CFGWRITE_BACKUP_SUFFIX);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int exchange(const char *a, const char *b)
{
	return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0 ? 0 : -errno;
}

/* Undo a refused exchange (tmp holds what it took from path): path goes
 * back to the newest save. Each exchange moves what path holds to tmp, and
 * that should be what the previous one put there: at first ours, as
 * written. Anything else (a file saved over path since, or bytes written
 * into ours) is newer than what tmp holds and goes back in turn. What tmp
 * holds at the end (ours, or a save a newer one replaced) is removed.
 * 0, or -EBUSY when path kept changing (tmp is then left as it is). */
static int swap_back(const char *path, const char *tmp, const struct stat *ours,
		     const uint8_t ours_hash[CFGWRITE_HASH_SIZE])
{
	struct stat expect_back = *ours;
	const uint8_t *want = ours_hash;

	for (int i = 0; i < SWAP_BACK_TRIES; i++) {
		struct stat put;

		if (stat(tmp, &put) != 0 || exchange(tmp, path) != 0) {
			return -EBUSY;
		}
		if (check_settled(tmp, want, &expect_back) == 0) {
			(void)unlink(tmp);
			return 0;
		}
		expect_back = put;
		want = NULL;
	}
	return -EBUSY;
}

/* Exchange the temporary file (ours) with path in one step, then check
 * what came out: the version text was made from (expect), that nobody is
 * still writing into. It then becomes PATH.bak; otherwise (a hand edit
 * saved in the moment since check_unchanged) it goes back: -ESTALE.
 * -EOPNOTSUPP (nothing done) where the filesystem cannot exchange. */
static int swap_in(const char *path, const char *tmp, const struct stat *ours,
		   const uint8_t expect[CFGWRITE_HASH_SIZE], const char *text, size_t len)
{
	uint8_t ours_hash[CFGWRITE_HASH_SIZE];
	char bak[PATH_MAX];
	int err = exchange(tmp, path);
	int undo;

	if (err == -EINVAL || err == -ENOSYS) {
		return -EOPNOTSUPP;
	}
	if (err != 0) {
		(void)unlink(tmp);
		return err == -ENOENT ? -ESTALE : err; /* gone since the check */
	}
	err = check_settled(tmp, expect, NULL);
	if (err == 0 &&
	    snprintf(bak, sizeof(bak), "%s%s", path, CFGWRITE_BACKUP_SUFFIX) >= (int)sizeof(bak)) {
		err = -ENAMETOOLONG;
	}
	if (err == 0 && rename(tmp, bak) != 0) {
		err = -errno;
	}
	if (err == 0) {
		return 0;
	}
	cfgwrite_hash(text, len, ours_hash);
	undo = swap_back(path, tmp, ours, ours_hash);
	return undo != 0 ? undo : err;
}

/* Write text to tmp, with path's permission bits, durable (fsync); *ours
 * is what it is then. */
static int write_temp(const char *path, const char *tmp, const char *text, size_t len,
		      struct stat *ours)
{
	struct stat old;
	bool has_old = stat(path, &old) == 0;
	mode_t mode = has_old ? old.st_mode & 07777 : 0600;
	int fd;
	int err;

	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		return -errno;
	}
	err = write_all(fd, text, len);
	/* The owner and group too, where this process may set them (root):
	 * an operator's routes.conf must not become root's after an edit.
	 * Elsewhere the file is this process's, as its folder allows. Before
	 * the mode, which a change of owner may clear bits of. */
	if (err == 0 && has_old && (old.st_uid != geteuid() || old.st_gid != getegid())) {
		(void)fchown(fd, old.st_uid, old.st_gid);
	}
	if (err == 0 && fchmod(fd, mode) != 0) {
		err = -errno;
	}
	if (err == 0 && fsync(fd) != 0) {
		err = -errno;
	}
	if (err == 0 && fstat(fd, ours) != 0) {
		err = -errno;
	}
	if (close(fd) != 0 && err == 0) {
		err = -errno;
	}
	if (err != 0) {
		(void)unlink(tmp);
	}
	return err;
}

int cfgwrite_replace(const char *link_path, const char *text, size_t len,
		     const uint8_t expect[CFGWRITE_HASH_SIZE])
{
	char dir[PATH_MAX];
	char tmp[PATH_MAX];
	char real[PATH_MAX];
	const char *path;
	struct stat ours;
	int err = resolve(link_path, real, &path);

	if (err != 0) {
		return err;
	}
	if (cfgfile_dirname(path, dir, sizeof(dir)) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s%s.%ld", path, CFGWRITE_TMP_TAG, (long)getpid()) >=
		    (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	err = write_temp(path, tmp, text, len, &ours);
	if (err != 0) {
		return err;
	}
	/* First as a plain read: a hand edit saved while the new text was
	 * made and written is refused before any name changes. */
	if (expect) {
		err = check_unchanged(path, expect);
	}
	if (err == 0 && expect) {
		err = swap_in(path, tmp, &ours, expect, text, len);
		if (err != -EOPNOTSUPP) {
			return err == 0 ? fsync_dir(dir) : err;
		}
		/* No RENAME_EXCHANGE here: backup and rename right after the
		 * check above, with its window of a few system calls. */
		err = 0;
	}
	if (err == 0) {
		err = keep_backup(path);
	}
	if (err == 0 && rename(tmp, path) != 0) {
		err = -errno;
	}
	if (err != 0) {
		(void)unlink(tmp);
		return err;
	}
	return fsync_dir(dir);
}

/* The PID of name when it is base + suffix + "." + digits, else 0. */
static pid_t leftover_pid(const char *name, const char *base, const char *suffix)
{
	size_t bl = strlen(base), sl = strlen(suffix);
	const char *digits = name + bl + sl + 1;
	char *end;
	long pid;

	if (strncmp(name, base, bl) != 0 || strncmp(name + bl, suffix, sl) != 0 ||
	    name[bl + sl] != '.' || *digits < '1' || *digits > '9') {
		return 0;
	}
	errno = 0;
	pid = strtol(digits, &end, 10);
	return *end == '\0' && errno == 0 && pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

/* The cfgwrite_hash of the file at name into out: true, or false when it
 * cannot be read (gone, say). Through cfgfile_open: a FIFO is not waited
 * on. */
static bool hash_file(const char *name, uint8_t out[CFGWRITE_HASH_SIZE])
{
	int fd = cfgfile_open(name);
	bool ok = fd >= 0 && hash_fd(fd, out) == 0;

	if (fd >= 0) {
		close(fd);
	}
	return ok;
}

/* A dead writer's file `file` (of PID pid) beside path: removed when it is
 * empty or a copy of path or of its backup (1), else renamed
 * PATH.recovered.PID (0; -1 when it cannot be). */
static int sweep_one(const char *path, const char *file, pid_t pid)
{
	uint8_t h[CFGWRITE_HASH_SIZE], other[CFGWRITE_HASH_SIZE];
	char name[PATH_MAX];
	struct stat st;
	bool is_copy = stat(file, &st) == 0 && st.st_size == 0;

	if (!is_copy && hash_file(file, h)) {
		is_copy = hash_file(path, other) && sodium_memcmp(h, other, sizeof(h)) == 0;
		if (!is_copy && snprintf(name, sizeof(name), "%s%s", path, CFGWRITE_BACKUP_SUFFIX) <
					(int)sizeof(name)) {
			is_copy = hash_file(name, other) && sodium_memcmp(h, other, sizeof(h)) == 0;
		}
	}
	if (is_copy) {
		return unlink(file) == 0 ? 1 : -1;
	}
	if (snprintf(name, sizeof(name), "%s%s.%ld", path, CFGWRITE_KEPT_TAG, (long)pid) >=
	    (int)sizeof(name)) {
		return -1;
	}
	/* Never over another: the newer of two would take the older's name. */
	return renameat2(AT_FDCWD, file, AT_FDCWD, name, RENAME_NOREPLACE) == 0 ? 0 : -1;
}

int cfgwrite_sweep(const char *link_path, int *kept)
{
	char dir[PATH_MAX];
	char file[PATH_MAX];
	char real[PATH_MAX];
	const char *path;
	const char *base;
	struct dirent *e;
	DIR *d;
	int n = 0;

	*kept = 0;
	if (resolve(link_path, real, &path) != 0) {
		path = link_path;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (cfgfile_dirname(path, dir, sizeof(dir)) != 0) {
		return -ENAMETOOLONG;
	}
	d = opendir(dir);
	if (!d) {
		return -errno;
	}
	while ((e = readdir(d)) != NULL) {
		pid_t pid = leftover_pid(e->d_name, base, CFGWRITE_TMP_TAG);
		int rc;

		pid = pid ? pid : leftover_pid(e->d_name, base, CFGWRITE_BAK_TAG);
		if (pid == 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH ||
		    snprintf(file, sizeof(file), "%s/%s", dir, e->d_name) >= (int)sizeof(file)) {
			continue;
		}
		rc = sweep_one(path, file, pid);
		n += rc == 1;
		*kept += rc == 0;
	}
	closedir(d);
	return n;
}
