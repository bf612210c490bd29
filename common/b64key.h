/* b64key: X25519 keys as base64 text, the way WireGuard writes them
 * (44 characters with one '=' of padding), key files and fingerprints. */
#ifndef WH_B64KEY_H
#define WH_B64KEY_H

#include <stdbool.h>
#include <stdint.h>

struct diag;

#define B64KEY_LEN 32
#define B64KEY_TEXT_MAX 45	 /* 44 characters + NUL */
#define B64KEY_FINGERPRINT_MAX 9 /* 8 characters + NUL */
#define B64KEY_FILE_MAX 4096	 /* a key file larger than this is refused */

/* Decode exactly 32 bytes of standard base64 with padding. Trailing
 * whitespace (spaces, tabs, CR, LF) is ignored; anything else is not.
 * Returns 0, or -EINVAL (out is then zeroed). */
int b64key_decode(const char *text, uint8_t out[B64KEY_LEN]);

/* True if key is a low-order X25519 point (all zeros, one, the points of
 * order 2, 4 and 8 and their non-canonical spellings): a Diffie-Hellman
 * with it gives the all-zero result whatever the private key, so it can
 * be nobody's public key (RFC 7748 §6.1). */
bool b64key_is_low_order(const uint8_t key[B64KEY_LEN]);

/* Encode 32 bytes as 44 base64 characters + NUL. */
void b64key_encode(const uint8_t key[B64KEY_LEN], char out[B64KEY_TEXT_MAX]);

/* Read a key file holding one base64 key (and optional trailing newline).
 * *is_exposed is set when group or others may read the file (may be NULL).
 * Errors go to d as "PATH: message" (no line), e.g.
 * "drone3.key: cannot read: No such file or directory" or
 * "drone3.key: not a base64 X25519 key". Returns 0, -errno or -EINVAL.
 * The temporary text buffer is wiped before return. */
int b64key_load_file(const char *path, uint8_t out[B64KEY_LEN], bool *is_exposed, struct diag *d);

/* The first 8 base64 characters of the key, for logs (STYLE §5). */
void b64key_fingerprint(const uint8_t key[B64KEY_LEN], char out[B64KEY_FINGERPRINT_MAX]);

#endif
