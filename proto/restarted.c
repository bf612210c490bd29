/* restarted: the restart notice (restarted.h). No state; libsodium for the
 * X25519 and BLAKE2b. */
#include "proto/restarted.h"

#include "proto/wire.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define LABEL "wormhole/1 restarted"
#define SIGNED_LEN (WIRE_MSG_TYPE_LEN + 8)

int restarted_key(uint8_t key[WIRE_KEY_LEN], const uint8_t my_private[WIRE_KEY_LEN],
		  const uint8_t their_public[WIRE_KEY_LEN])
{
	uint8_t dh[crypto_scalarmult_BYTES];
	int rc = 0;

	if (crypto_scalarmult(dh, my_private, their_public) != 0 ||
	    crypto_generichash(key, WIRE_KEY_LEN, (const uint8_t *)LABEL, sizeof(LABEL) - 1, dh,
			       sizeof(dh)) != 0) {
		sodium_memzero(key, WIRE_KEY_LEN);
		rc = -EINVAL;
	}
	sodium_memzero(dh, sizeof(dh));
	return rc;
}

static void mac(uint8_t out[WIRE_MAC_LEN], const uint8_t *msg, const uint8_t key[WIRE_KEY_LEN])
{
	/* Cannot fail with these sizes (16-byte output, 32-byte key). */
	(void)crypto_generichash(out, WIRE_MAC_LEN, msg, SIGNED_LEN, key, WIRE_KEY_LEN);
}

void restarted_write(uint8_t out[WIRE_RESTARTED_LEN], const uint8_t key[WIRE_KEY_LEN],
		     uint64_t stamp)
{
	memset(out, 0, WIRE_MSG_TYPE_LEN);
	out[0] = WIRE_MSG_RESTARTED;
	wire_put_u64(out + WIRE_MSG_TYPE_LEN, stamp);
	mac(out + SIGNED_LEN, out, key);
}

int restarted_read(const uint8_t *buf, size_t len, const uint8_t key[WIRE_KEY_LEN], uint64_t *stamp)
{
	uint8_t want[WIRE_MAC_LEN];

	if (!buf || len != WIRE_RESTARTED_LEN || buf[0] != WIRE_MSG_RESTARTED || buf[1] != 0 ||
	    buf[2] != 0 || buf[3] != 0) {
		return -EPROTO;
	}
	mac(want, buf, key);
	if (sodium_memcmp(want, buf + SIGNED_LEN, WIRE_MAC_LEN) != 0) {
		return -EBADMSG;
	}
	*stamp = wire_get_u64(buf + WIRE_MSG_TYPE_LEN);
	return 0;
}
