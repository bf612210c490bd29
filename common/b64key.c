/* b64key: X25519 keys written as base64 the way WireGuard writes them (44
 * characters, standard alphabet, one '=' of padding), key files, and short
 * fingerprints for logs (STYLE §5: never log a key, show 8 characters).
 * Owns no state. Must not log: errors go to the caller's struct diag. */
#include "common/b64key.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/diag.h"

#define B64KEY_TEXT_LEN 44

static bool is_trailing_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int b64key_decode(const char *text, uint8_t out[B64KEY_LEN])
{
	size_t n;
	size_t bin_len = 0;
	const char *end = NULL;

	memset(out, 0, B64KEY_LEN);
	if (!text) {
		return -EINVAL;
	}
	n = strlen(text);
	while (n > 0 && is_trailing_space(text[n - 1])) {
		n--;
	}
	/* 32 bytes = 10 full groups + 2 bytes: 43 characters and one '='. */
	if (n != B64KEY_TEXT_LEN || text[42] == '=' || text[43] != '=') {
		return -EINVAL;
	}
	/* libsodium rejects non-zero unused bits in the last character, so
	 * every key has exactly one accepted spelling. */
	if (sodium_base642bin(out, B64KEY_LEN, text, n, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != B64KEY_LEN || end != text + n) {
		sodium_memzero(out, B64KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

bool b64key_is_low_order(const uint8_t key[B64KEY_LEN])
{
	/* Any clamped scalar is a multiple of the cofactor 8, so a low-order
	 * point gives the all-zero result, which crypto_scalarmult refuses. */
	static const uint8_t scalar[B64KEY_LEN] = {1};
	uint8_t out[B64KEY_LEN];
	bool bad = crypto_scalarmult(out, scalar, key) != 0;

	sodium_memzero(out, sizeof(out));
	return bad;
}

void b64key_encode(const uint8_t key[B64KEY_LEN], char out[B64KEY_TEXT_MAX])
{
	sodium_bin2base64(out, B64KEY_TEXT_MAX, key, B64KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

void b64key_fingerprint(const uint8_t key[B64KEY_LEN], char out[B64KEY_FINGERPRINT_MAX])
{
	char text[B64KEY_TEXT_MAX];

	b64key_encode(key, text);
	memcpy(out, text, B64KEY_FINGERPRINT_MAX - 1);
	out[B64KEY_FINGERPRINT_MAX - 1] = '\0';
}

/* Read at most B64KEY_FILE_MAX - 1 bytes of fd into buf (NUL-terminated).
 * Returns the length, -EFBIG when the file is larger, or -errno. */
static ssize_t read_small(int fd, char *buf, size_t cap)
{
	size_t used = 0;

	while (used < cap - 1) {
		ssize_t n = read(fd, buf + used, cap - 1 - used);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -errno;
		}
		if (n == 0) {
			buf[used] = '\0';
			return (ssize_t)used;
		}
		used += (size_t)n;
	}
	buf[used] = '\0';
	return -EFBIG;
}

int b64key_load_file(const char *path, uint8_t out[B64KEY_LEN], bool *is_exposed, struct diag *d)
{
	char buf[B64KEY_FILE_MAX];
	struct stat st;
	ssize_t n;
	int fd;
	int err = 0;

	memset(out, 0, B64KEY_LEN);
	/* Non-blocking: a FIFO named as a key file is refused below (not a
	 * regular file), never waited on. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		diag_set(d, path, 0, "cannot read: %s", strerror(-err));
		return err;
	}
	if (fstat(fd, &st) != 0) {
		err = -errno;
		diag_set(d, path, 0, "cannot read: %s", strerror(-err));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		diag_set(d, path, 0, "not a regular file");
		goto out_close;
	}
	n = read_small(fd, buf, sizeof(buf));
	if (n == -EFBIG) {
		err = -EINVAL;
		diag_set(d, path, 0, "not a base64 X25519 key (file too large)");
		goto out_wipe;
	}
	if (n < 0) {
		err = (int)n;
		diag_set(d, path, 0, "cannot read: %s", strerror(-err));
		goto out_wipe;
	}
	if (b64key_decode(buf, out) != 0) {
		err = -EINVAL;
		diag_set(d, path, 0, "not a base64 X25519 key");
		goto out_wipe;
	}
	if (is_exposed) {
		*is_exposed = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	}
out_wipe:
	sodium_memzero(buf, sizeof(buf));
out_close:
	close(fd);
	return err;
}
