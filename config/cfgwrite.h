/* cfgwrite: replace a config file atomically, keeping the previous version
 * as a backup (DESIGN §6 write-back, STYLE §8). After a crash at any point
 * the file holds either the old or the new content, never a mix. */
#ifndef WH_CFGWRITE_H
#define WH_CFGWRITE_H

#include <stddef.h>
#include <stdint.h>

#define CFGWRITE_BACKUP_SUFFIX ".bak"
/* The names of a writer's own files beside PATH: PATH.wh-tmp.PID (the new
 * text, then what an exchange took out) and PATH.wh-bak.PID (the backup's
 * link), named so that no file of the operator's (routes.conf.bak.2026...)
 * is taken for one. A leftover that holds what neither PATH nor PATH.bak
 * holds is kept as PATH.recovered.PID (cfgwrite_sweep). */
#define CFGWRITE_TMP_TAG ".wh-tmp"
#define CFGWRITE_BAK_TAG ".wh-bak"
#define CFGWRITE_KEPT_TAG ".recovered"
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
 * PATH.wh-tmp.PID) or another negative errno (path is then unchanged). */
int cfgwrite_replace(const char *path, const char *text, size_t len,
		     const uint8_t expect[CFGWRITE_HASH_SIZE]);

/* Where cfgwrite_replace(path) keeps the previous version: PATH.bak, or
 * beside the file a symlinked path names. Returns 0, -ENAMETOOLONG, or
 * -errno when the link cannot be followed. */
int cfgwrite_backup_path(const char *path, char *out, size_t size);

/* Tidy what a writer killed mid-replace left in path's folder (the folder
 * of the file it names, for a symlink): PATH.wh-tmp.PID and PATH.wh-bak.PID
 * files whose process is gone (kill(PID, 0) says ESRCH). One that is empty
 * or holds what PATH or PATH.bak holds is removed; any other (a hand edit
 * an exchange took out and could not put back before the kill, or the
 * previous version on its way to PATH.bak) is renamed PATH.recovered.PID,
 * never removed: *kept counts those. Files of this process and of live ones
 * are left alone. Returns how many were removed, or a negative errno when
 * the folder cannot be read. */
int cfgwrite_sweep(const char *path, int *kept);

#endif
