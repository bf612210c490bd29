/* cfgfile: read a whole config file with a size cap (so a huge or endless
 * file cannot stall the daemon), and resolve relative paths against the
 * config file's folder, not the working directory (DESIGN §6).
 * Knows nothing about the file formats. */
#include "config/cfgfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/diag.h"

/* Read up to max + 1 bytes so a file just over the cap is caught even when
 * st_size lies (pipes, /proc). */
static int read_capped(int fd, char *buf, size_t max, size_t *len)
{
	size_t used = 0;

	while (used <= max) {
		ssize_t n = read(fd, buf + used, max + 1 - used);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -errno;
		}
		if (n == 0) {
			break;
		}
		used += (size_t)n;
	}
	if (used > max) {
		return -EFBIG;
	}
	buf[used] = '\0';
	*len = used;
	return 0;
}

int cfgfile_open(const char *path)
{
	struct stat st;
	int fd;
	int err;

	/* O_NONBLOCK: opening a FIFO for reading blocks until a writer comes,
	 * and the daemons read their files on the event loop; O_NOCTTY: a
	 * terminal named by mistake must not become ours. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto fail_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : CFGFILE_NOT_REGULAR;
		goto fail_close;
	}
	/* A regular file never blocks; clear the flag so that reads stay
	 * plain reads whatever the filesystem makes of it. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		err = -errno;
		goto fail_close;
	}
	return fd;

fail_close:
	close(fd);
	return err;
}

const char *cfgfile_strerror(int err)
{
	if (err == CFGFILE_NOT_REGULAR) {
		return "not a regular file";
	}
	if (err == -EFBIG) {
		return "file too large";
	}
	return strerror(-err);
}

int cfgfile_read(const char *path, size_t max, char **out, size_t *len, struct diag *d)
{
	char *buf = NULL;
	int fd;
	int err;

	*out = NULL;
	*len = 0;
	fd = cfgfile_open(path);
	if (fd < 0) {
		diag_set(d, path, 0, "cannot read: %s", cfgfile_strerror(fd));
		return fd;
	}
	buf = malloc(max + 2);
	if (!buf) {
		err = -ENOMEM;
		diag_set(d, path, 0, "cannot read: %s", strerror(-err));
		goto fail_close;
	}
	err = read_capped(fd, buf, max, len);
	if (err == -EFBIG) {
		diag_set(d, path, 1, "file too large (more than %zu bytes)", max);
		goto fail_free;
	}
	if (err < 0) {
		diag_set(d, path, 0, "cannot read: %s", strerror(-err));
		goto fail_free;
	}
	close(fd);
	*out = buf;
	return 0;

fail_free:
	free(buf);
fail_close:
	close(fd);
	return err;
}

int cfgfile_dirname(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (!slash) {
		n = snprintf(out, size, ".");
	} else if (slash == path) {
		n = snprintf(out, size, "/");
	} else {
		n = snprintf(out, size, "%.*s", (int)(slash - path), path);
	}
	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

int cfgfile_resolve(const char *base_dir, const char *rel, char *out, size_t size)
{
	int n;

	if (rel[0] == '/' || !base_dir || base_dir[0] == '\0' || strcmp(base_dir, ".") == 0) {
		n = snprintf(out, size, "%s", rel);
	} else if (base_dir[strlen(base_dir) - 1] == '/') {
		n = snprintf(out, size, "%s%s", base_dir, rel);
	} else {
		n = snprintf(out, size, "%s/%s", base_dir, rel);
	}
	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}
