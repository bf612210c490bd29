/* noise: a generic Noise handshake engine (Noise spec rev 34, §5 and §7-§9) for
 *   Noise_<pattern>[psk0..psk3]_25519_ChaChaPoly_<BLAKE2b|SHA256>
 * with the fundamental patterns N K X NN NK NX XN XK XX KN KK KX IN IK IX.
 * X25519 is crypto_scalarmult; an all-zero DH result (low-order remote key) is
 * an error. No heap inside: struct noise_handshake is a plain value the caller
 * embeds (place it in sodium_malloc memory when practical, STYLE §3). No I/O and
 * no clocks. Transport encryption after noise_split() is proto/aead. The owner
 * calls sodium_init() once at startup, before any function here. */
#ifndef WH_NOISE_H
#define WH_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/nhash.h"

#define NOISE_KEY_LEN 32
#define NOISE_DH_LEN 32
#define NOISE_HASH_MAX NHASH_MAX_LEN
#define NOISE_TAG_LEN 16
#define NOISE_PSK_LEN 32
#define NOISE_MAX_PSKS 4 /* psk0..psk3 */
/* Noise spec §3: every handshake and transport message is at most 65535 bytes. */
#define NOISE_MAX_MSG 65535
#define NOISE_PROTOCOL_NAME_MAX 255

struct noise_keypair {
	uint8_t pub[NOISE_KEY_LEN];
	uint8_t priv[NOISE_KEY_LEN];
};

/* Opaque const pattern table entry, defined in noise.c. */
struct noise_pattern;

struct noise_handshake {
	const struct noise_pattern *pattern; /* borrowed: static const table */
	enum nhash_kind hash_kind;
	size_t hash_len;
	/* SymmetricState (spec §5.2) */
	uint8_t ck[NOISE_HASH_MAX]; /* secret */
	uint8_t h[NOISE_HASH_MAX];
	/* CipherState (spec §5.1) */
	uint8_t k[NOISE_KEY_LEN]; /* secret */
	uint64_t n;
	bool has_k;
	/* HandshakeState (spec §5.3) */
	struct noise_keypair s; /* secret priv */
	struct noise_keypair e; /* secret priv */
	uint8_t rs[NOISE_KEY_LEN];
	uint8_t re[NOISE_KEY_LEN];
	bool has_s, has_e, has_rs, has_re;
	uint8_t psks[NOISE_MAX_PSKS][NOISE_PSK_LEN]; /* secret */
	unsigned psk_mask;			     /* bit i set: modifier psk<i> */
	unsigned psk_count;			     /* psks given */
	unsigned psk_used;			     /* psk tokens processed so far */
	unsigned msg_index;			     /* next handshake message */
	bool is_initiator;
	bool is_dead;  /* a failure happened: every later call fails */
	bool is_split; /* noise_split() done: secrets are gone */
};

/* Generate a random X25519 key pair. Returns 0 or -EIO. */
WH_MUST_CHECK int noise_keypair_generate(struct noise_keypair *kp);

/* Derive the public key for priv (clamped by X25519). Returns 0, or -EINVAL if
 * the public key would be all-zero. */
WH_MUST_CHECK int noise_keypair_from_private(struct noise_keypair *kp,
					     const uint8_t priv[NOISE_KEY_LEN]);

/* Start a handshake (spec §5.3 Initialize). protocol_name is the full name.
 * s: our static key pair (copied) or NULL if the pattern needs none.
 * e_fixed: a fixed ephemeral (test vectors only) or NULL for a random one.
 * rs: the remote static public key (32 bytes) if it is pre-known, else NULL.
 * psk: 32 bytes, used for every psk token, or NULL if the name has none.
 * All inputs are copied; the caller keeps ownership.
 * Returns 0; -EPROTONOSUPPORT for an unsupported name; -EINVAL if a key the
 * pattern needs is missing (or given where it cannot be used), or if rs is a
 * low-order point that the pre-message would need; -EIO on libsodium failure. */
WH_MUST_CHECK int noise_handshake_init(struct noise_handshake *hs, const char *protocol_name,
				       bool is_initiator, const uint8_t *prologue,
				       size_t prologue_len, const struct noise_keypair *s,
				       const struct noise_keypair *e_fixed, const uint8_t *rs,
				       const uint8_t *psk);

/* Same as noise_handshake_init, with one psk per psk modifier, in the order the
 * psk tokens are processed (psks is psk_count * 32 bytes). psk_count must equal
 * the number of psk modifiers in the name. */
WH_MUST_CHECK int noise_handshake_init_psks(struct noise_handshake *hs, const char *protocol_name,
					    bool is_initiator, const uint8_t *prologue,
					    size_t prologue_len, const struct noise_keypair *s,
					    const struct noise_keypair *e_fixed, const uint8_t *rs,
					    const uint8_t *psks, size_t psk_count);

/* Write the next handshake message (spec §5.3 WriteMessage) with payload into
 * out (out_cap bytes; payload must not overlap out); *out_len gets its length. Returns 0; -EAGAIN
 * if it is not our turn or the handshake is complete; -EMSGSIZE if the message would exceed out_cap
 * or NOISE_MAX_MSG (checked first; hs stays usable); -EINVAL on a low-order DH result; -EPIPE if
 * the handshake is dead. Any other failure kills the handshake. */
WH_MUST_CHECK int noise_write_message(struct noise_handshake *hs, const uint8_t *payload,
				      size_t payload_len, uint8_t *out, size_t out_cap,
				      size_t *out_len);

/* Read the next handshake message (spec §5.3 ReadMessage); the decrypted payload
 * goes to payload_out (payload_cap bytes; it must not overlap msg), *payload_len
 * gets its length. Returns 0;
 * -EBADMSG if the message is short or fails authentication; -EINVAL on a
 * low-order remote key; -EMSGSIZE if the payload does not fit or msg_len exceeds
 * NOISE_MAX_MSG; -EAGAIN if it is not our turn; -EPIPE if the handshake is dead.
 * Any failure other than -EAGAIN kills the handshake: later calls return -EPIPE. */
WH_MUST_CHECK int noise_read_message(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
				     uint8_t *payload_out, size_t payload_cap, size_t *payload_len);

/* True once every handshake message has been written or read. */
bool noise_handshake_is_complete(const struct noise_handshake *hs);

/* Spec §5.2 Split: derive the transport keys. The initiator's send key is the
 * first output (initiator -> responder). Afterwards ck, k, psks and the private
 * keys are wiped; h and rs stay readable. Returns 0; -EAGAIN if the handshake
 * is not complete; -EPIPE if it is dead or already split; -EIO on failure. */
WH_MUST_CHECK int noise_split(struct noise_handshake *hs, uint8_t send_key[NOISE_KEY_LEN],
			      uint8_t recv_key[NOISE_KEY_LEN]);

/* The remote static public key (borrowed, valid while hs lives), or NULL until
 * it is known (pre-message or received and authenticated in a message). */
const uint8_t *noise_remote_static(const struct noise_handshake *hs);

/* Copy the handshake hash h (spec §5.2 GetHandshakeHash) to out; *len gets
 * its length (64 for BLAKE2b, 32 for SHA256). Meaningful once complete. */
void noise_handshake_hash(const struct noise_handshake *hs, uint8_t out[NOISE_HASH_MAX],
			  size_t *len);

/* Wipe every byte of hs (sodium_memzero). hs must be re-initialised to be used. */
void noise_handshake_wipe(struct noise_handshake *hs);

#endif
