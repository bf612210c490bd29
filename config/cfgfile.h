/* cfgfile: reading a config file with a size cap, and resolving paths
 * written in a config file against that file's folder (DESIGN §6). */
#ifndef WH_CFGFILE_H
#define WH_CFGFILE_H

#include <errno.h>
#include <stddef.h>

struct diag;

/* What cfgfile_open returns for a path that is neither a regular file nor
 * a folder (a FIFO, a socket, a device). */
#define CFGFILE_NOT_REGULAR (-ENODEV)

/* Open path for reading without ever blocking: a FIFO or a device named
 * as a config file is refused rather than waited on. Returns the file
 * descriptor (caller closes), -EISDIR for a folder, CFGFILE_NOT_REGULAR
 * for anything else that is not a regular file, or -errno from open. */
int cfgfile_open(const char *path);

/* Text for a negative errno from cfgfile_open or cfgfile_read: "not a
 * regular file", "file too large", or strerror. */
const char *cfgfile_strerror(int err);

/* Read all of path into a new NUL-terminated buffer (*out, caller frees)
 * of *len bytes. A file larger than max bytes is refused. Errors go to d as
 * "PATH: cannot read: ..." (FIFOs and devices: "not a regular file", never
 * waited on) or "PATH: file too large (more than MAX bytes)". Returns 0,
 * -errno (CFGFILE_NOT_REGULAR included) or -EFBIG. */
int cfgfile_read(const char *path, size_t max, char **out, size_t *len, struct diag *d);

/* The folder of path ("." when it has none) into out. Returns 0 or
 * -ENAMETOOLONG. */
int cfgfile_dirname(const char *path, char *out, size_t size);

/* rel itself when it is absolute or base_dir is NULL, "" or "."; otherwise
 * "base_dir/rel". Returns 0 or -ENAMETOOLONG. */
int cfgfile_resolve(const char *base_dir, const char *rel, char *out, size_t size);

#endif
