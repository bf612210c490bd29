/* cfgfile: reading a config file with a size cap, and resolving paths
 * written in a config file against that file's folder (DESIGN §6). */
#ifndef WH_CFGFILE_H
#define WH_CFGFILE_H

#include <stddef.h>

struct diag;

/* Read all of path into a new NUL-terminated buffer (*out, caller frees)
 * of *len bytes. A file larger than max bytes is refused. Errors go to d as
 * "PATH: cannot read: ..." or "PATH: file too large (more than MAX bytes)".
 * Returns 0, -errno or -EFBIG. */
int cfgfile_read(const char *path, size_t max, char **out, size_t *len, struct diag *d);

/* The folder of path ("." when it has none) into out. Returns 0 or
 * -ENAMETOOLONG. */
int cfgfile_dirname(const char *path, char *out, size_t size);

/* rel itself when it is absolute or base_dir is NULL, "" or "."; otherwise
 * "base_dir/rel". Returns 0 or -ENAMETOOLONG. */
int cfgfile_resolve(const char *base_dir, const char *rel, char *out, size_t size);

#endif
