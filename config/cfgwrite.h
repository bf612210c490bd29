/* cfgwrite: replace a config file atomically, keeping the previous version
 * as a backup (DESIGN §6 write-back, STYLE §8). After a crash at any point
 * the file holds either the old or the new content, never a mix. */
#ifndef WH_CFGWRITE_H
#define WH_CFGWRITE_H

#include <stddef.h>
#include <stdint.h>

#define CFGWRITE_BACKUP_SUFFIX ".bak"
#define CFGWRITE_HASH_SIZE 32

/* The content hash cfgwrite_replace compares with (BLAKE2b-256 of text). */
void cfgwrite_hash(const char *text, size_t len, uint8_t out[CFGWRITE_HASH_SIZE]);

/* Write text to a temporary file in path's folder, fsync it, put it at
 * path in one step keeping the previous file as PATH.bak (skipped when
 * path does not exist yet), and fsync the folder. The new file keeps the
 * old one's permission bits. A path that is a symlink is followed: the
 * file it names is replaced (its backup and temporary file beside it) and
 * the link stays a link. With expect (NULL: no check), the file replaced
 * must hold the content of that cfgwrite_hash, the version text was made
 * from: it is compared before, and (where the filesystem can exchange two
 * names) what the exchange took out is compared again, with nobody
 * writing into it; otherwise it is put back. Returns 0, -ESTALE (it
 * changed or is gone: nothing written), -EBUSY (it kept changing while
 * being put back: its newest save is at path, one more may be left at
 * PATH.tmp.PID) or another negative errno (path is then unchanged). */
int cfgwrite_replace(const char *path, const char *text, size_t len,
		     const uint8_t expect[CFGWRITE_HASH_SIZE]);

/* Where cfgwrite_replace(path) keeps the previous version: PATH.bak, or
 * beside the file a symlinked path names. Returns 0, -ENAMETOOLONG, or
 * -errno when the link cannot be followed. */
int cfgwrite_backup_path(const char *path, char *out, size_t size);

/* Remove what a writer killed mid-replace left in path's folder (the
 * folder of the file it names, for a symlink): PATH.tmp.PID
 * and PATH.bak.PID files whose process is gone (kill(PID, 0) says ESRCH).
 * Files of this process and of live ones are kept. Returns how many were
 * removed, or a negative errno when the folder cannot be read. */
int cfgwrite_sweep(const char *path);

#endif
