/* restarted: the notice a restarted server sends to each client address its
 * relay took back from its state file (server/relaystate.h), so that the
 * client renews its server session at once instead of at its next
 * keepalive (PROTOCOL.md "Relay"). It travels outside any session (the
 * server has lost them), so it is authenticated with a key only the two
 * hold: BLAKE2b of their static-static X25519 secret. Format:
 *   type 0xD5 | 3 reserved zero bytes | stamp u64 | mac[16]
 * stamp: the server's wall clock (µs) when it sent it; the client takes a
 * notice only with a stamp above the last it took, so a replayed one is
 * refused. mac: keyed BLAKE2b-128 of the first 12 bytes. */
#ifndef WH_RESTARTED_H
#define WH_RESTARTED_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/wire_const.h"

/* key from our private key and the other side's public key (either end
 * gets the same). Returns 0, or -EINVAL when the public key is a low-order
 * point (no shared secret). */
WH_MUST_CHECK int restarted_key(uint8_t key[WIRE_KEY_LEN], const uint8_t my_private[WIRE_KEY_LEN],
				const uint8_t their_public[WIRE_KEY_LEN]);
void restarted_write(uint8_t out[WIRE_RESTARTED_LEN], const uint8_t key[WIRE_KEY_LEN],
		     uint64_t stamp);
/* 0 with *stamp set, -EPROTO (size, type, reserved bytes) or -EBADMSG (the
 * mac is not ours). */
WH_MUST_CHECK int restarted_read(const uint8_t *buf, size_t len, const uint8_t key[WIRE_KEY_LEN],
				 uint64_t *stamp);

#endif
