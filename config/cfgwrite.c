/* cfgwrite: atomic replacement of routes.conf for API write-back.
 * Order matters for crash safety: the new content is durable in its own
 * inode (write + fsync) before any name changes; the backup is made by
 * link + rename, so PATH.bak is at every moment either the older backup or
 * the complete previous file; the final rename(2) swaps the name in one
 * step; the folder fsync makes the rename itself durable. Never truncates
 * or writes into the live file. Just before the backup and the rename the
 * file is compared with the version the new text was made from, so that
 * a hand edit saved meanwhile is not overwritten. */
#include "config/cfgwrite.h"

#include "config/cfgfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	    snprintf(tmp, sizeof(tmp), "%s%s.%ld", path, CFGWRITE_BACKUP_SUFFIX, (long)getpid()) >=
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

/* 0 when path holds the content whose cfgwrite_hash is expect, -ESTALE
 * when it holds anything else or is gone, another -errno when it cannot
 * be read. Read through cfgfile_open: a FIFO put there is not waited on. */
static int check_unchanged(const char *path, const uint8_t expect[CFGWRITE_HASH_SIZE])
{
	crypto_generichash_state st;
	uint8_t got[CFGWRITE_HASH_SIZE];
	char buf[16384];
	int fd = cfgfile_open(path);
	int err = 0;

	if (fd < 0) {
		return fd == -ENOENT ? -ESTALE : fd;
	}
	crypto_generichash_init(&st, NULL, 0, sizeof(got));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		crypto_generichash_update(&st, (const unsigned char *)buf, (unsigned long long)n);
	}
	close(fd);
	crypto_generichash_final(&st, got, sizeof(got));
	if (err == 0 && sodium_memcmp(got, expect, sizeof(got)) != 0) {
		err = -ESTALE;
	}
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

int cfgwrite_replace(const char *link_path, const char *text, size_t len,
		     const uint8_t expect[CFGWRITE_HASH_SIZE])
{
	char dir[PATH_MAX];
	char tmp[PATH_MAX];
	char real[PATH_MAX];
	const char *path;
	struct stat st;
	mode_t mode = 0600;
	int fd;
	int err = resolve(link_path, real, &path);

	if (err != 0) {
		return err;
	}
	if (cfgfile_dirname(path, dir, sizeof(dir)) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		return -errno;
	}
	err = write_all(fd, text, len);
	if (err == 0 && fchmod(fd, mode) != 0) {
		err = -errno;
	}
	if (err == 0 && fsync(fd) != 0) {
		err = -errno;
	}
	if (close(fd) != 0 && err == 0) {
		err = -errno;
	}
	/* As late as possible: a hand edit saved while the new text was
	 * made and written is never replaced. (One saved between this read
	 * and the rename below, a few system calls, still can be.) */
	if (err == 0 && expect) {
		err = check_unchanged(path, expect);
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

int cfgwrite_sweep(const char *link_path)
{
	char dir[PATH_MAX];
	char file[PATH_MAX];
	char real[PATH_MAX];
	const char *path;
	const char *base;
	struct dirent *e;
	DIR *d;
	int n = 0;

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
		pid_t pid = leftover_pid(e->d_name, base, ".tmp");

		pid = pid ? pid : leftover_pid(e->d_name, base, CFGWRITE_BACKUP_SUFFIX);
		if (pid == 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) {
			continue;
		}
		if (snprintf(file, sizeof(file), "%s/%s", dir, e->d_name) < (int)sizeof(file) &&
		    unlink(file) == 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}
