/* noise: the Noise Protocol Framework handshake (rev 34): CipherState (§5.1),
 * SymmetricState (§5.2), HandshakeState (§5.3), the fundamental patterns (§7.4,
 * §7.5), psk modifiers (§9) and DH 25519 / cipher ChaChaPoly / hash BLAKE2b or
 * SHA256 (§12). Patterns are a const table; psk tokens are placed at run time
 * from the name's modifiers. Owns only the bytes inside struct noise_handshake;
 * no heap, no I/O, no clock. Once a message has started to be processed, any
 * failure kills the handshake and wipes its secrets, so a half-processed
 * message can never be retried; turn and size checks come first and do not. */
#include "proto/noise.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "common/b64key.h"
#include "proto/aead.h"

enum tok {
	TOK_END = 0,
	TOK_E,
	TOK_S,
	TOK_EE,
	TOK_ES,
	TOK_SE,
	TOK_SS,
	TOK_PSK,
};

#define PRE_S 1u /* pre-message "s" (the only pre-message token we support) */
#define PAT_MAX_MSGS 3
#define PAT_MAX_TOKENS 6

struct noise_pattern {
	const char *name;
	unsigned pre_init; /* initiator's pre-message, known to the responder */
	unsigned pre_resp; /* responder's pre-message, known to the initiator */
	unsigned n_msgs;
	uint8_t msgs[PAT_MAX_MSGS][PAT_MAX_TOKENS]; /* TOK_END-terminated */
};

#define E TOK_E
#define S TOK_S
#define EE TOK_EE
#define ES TOK_ES
#define SE TOK_SE
#define SS TOK_SS
/* Noise spec §7.4 (one-way) and §7.5 (interactive fundamental patterns). */
static const struct noise_pattern patterns[] = {
	{"N", 0, PRE_S, 1, {{E, ES}}},
	{"K", PRE_S, PRE_S, 1, {{E, ES, SS}}},
	{"X", 0, PRE_S, 1, {{E, ES, S, SS}}},
	{"NN", 0, 0, 2, {{E}, {E, EE}}},
	{"NK", 0, PRE_S, 2, {{E, ES}, {E, EE}}},
	{"NX", 0, 0, 2, {{E}, {E, EE, S, ES}}},
	{"XN", 0, 0, 3, {{E}, {E, EE}, {S, SE}}},
	{"XK", 0, PRE_S, 3, {{E, ES}, {E, EE}, {S, SE}}},
	{"XX", 0, 0, 3, {{E}, {E, EE, S, ES}, {S, SE}}},
	{"KN", PRE_S, 0, 2, {{E}, {E, EE, SE}}},
	{"KK", PRE_S, PRE_S, 2, {{E, ES, SS}, {E, EE, SE}}},
	{"KX", PRE_S, 0, 2, {{E}, {E, EE, SE, S, ES}}},
	{"IN", 0, 0, 2, {{E, S}, {E, EE, SE}}},
	{"IK", 0, PRE_S, 2, {{E, ES, S, SS}, {E, EE, SE}}},
	{"IX", 0, 0, 2, {{E, S}, {E, EE, SE, S, ES}}},
};
#undef E
#undef S
#undef EE
#undef ES
#undef SE
#undef SS

/* ---- name parsing (§8) ---- */

struct parsed_name {
	const struct noise_pattern *pattern;
	unsigned psk_mask;
	unsigned psk_count;
	enum nhash_kind hash_kind;
};

static const struct noise_pattern *find_pattern(const char *p, size_t len)
{
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		if (strlen(patterns[i].name) == len && memcmp(patterns[i].name, p, len) == 0) {
			return &patterns[i];
		}
	}
	return NULL;
}

/* Modifiers: "psk0+psk2" etc. (§9.2); anything else is unsupported. */
static int parse_modifiers(struct parsed_name *pn, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (len - i < 4 || memcmp(p + i, "psk", 3) != 0 || p[i + 3] < '0' ||
		    p[i + 3] > '3') {
			return -EPROTONOSUPPORT;
		}
		unsigned bit = 1u << (p[i + 3] - '0');
		if ((pn->psk_mask & bit) != 0 || (unsigned)(p[i + 3] - '0') > pn->pattern->n_msgs) {
			return -EPROTONOSUPPORT;
		}
		pn->psk_mask |= bit;
		pn->psk_count++;
		i += 4;
		if (i < len && (p[i] != '+' || i + 1 == len)) {
			return -EPROTONOSUPPORT;
		}
		if (i < len) {
			i++; /* the '+' before the next modifier */
		}
	}
	return 0;
}

static int parse_name(struct parsed_name *pn, const char *name)
{
	static const char prefix[] = "Noise_";
	static const char mid[] = "_25519_ChaChaPoly_";
	const char *pat, *end, *hash;
	size_t base = 0;

	memset(pn, 0, sizeof(*pn));
	if (name == NULL || strnlen(name, NOISE_PROTOCOL_NAME_MAX + 1) > NOISE_PROTOCOL_NAME_MAX ||
	    strncmp(name, prefix, sizeof(prefix) - 1) != 0) {
		return -EPROTONOSUPPORT;
	}
	pat = name + sizeof(prefix) - 1;
	end = strchr(pat, '_');
	if (end == NULL || strncmp(end, mid, sizeof(mid) - 1) != 0) {
		return -EPROTONOSUPPORT;
	}
	hash = end + sizeof(mid) - 1;
	if (strcmp(hash, "BLAKE2b") == 0) {
		pn->hash_kind = NHASH_BLAKE2B;
	} else if (strcmp(hash, "SHA256") == 0) {
		pn->hash_kind = NHASH_SHA256;
	} else {
		return -EPROTONOSUPPORT;
	}
	while (pat + base < end && pat[base] >= 'A' && pat[base] <= 'Z') {
		base++;
	}
	pn->pattern = find_pattern(pat, base);
	if (pn->pattern == NULL) {
		return -EPROTONOSUPPORT;
	}
	return parse_modifiers(pn, pat + base, (size_t)(end - pat) - base);
}

/* ---- SymmetricState / CipherState (§5.1, §5.2) ---- */

static int mix_hash(struct noise_handshake *hs, const uint8_t *data, size_t len)
{
	return nhash_hash(hs->hash_kind, hs->h, hs->h, hs->hash_len, data, len);
}

/* MixKey: ck, temp_k = HKDF(ck, ikm, 2); k = temp_k truncated to 32 bytes; n = 0. */
static int mix_key(struct noise_handshake *hs, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[NOISE_HASH_MAX];
	int rc = nhash_hkdf(hs->hash_kind, hs->ck, ikm, len, hs->ck, temp_k, NULL);

	if (rc == 0) {
		memcpy(hs->k, temp_k, NOISE_KEY_LEN);
		hs->has_k = true;
		hs->n = 0;
	}
	sodium_memzero(temp_k, sizeof(temp_k));
	return rc;
}

/* MixKeyAndHash: ck, temp_h, temp_k = HKDF(ck, psk, 3); MixHash(temp_h); k = temp_k. */
static int mix_key_and_hash(struct noise_handshake *hs, const uint8_t *psk)
{
	uint8_t temp_h[NOISE_HASH_MAX];
	uint8_t temp_k[NOISE_HASH_MAX];
	int rc = nhash_hkdf(hs->hash_kind, hs->ck, psk, NOISE_PSK_LEN, hs->ck, temp_h, temp_k);

	if (rc == 0) {
		rc = mix_hash(hs, temp_h, hs->hash_len);
	}
	if (rc == 0) {
		memcpy(hs->k, temp_k, NOISE_KEY_LEN);
		hs->has_k = true;
		hs->n = 0;
	}
	sodium_memzero(temp_h, sizeof(temp_h));
	sodium_memzero(temp_k, sizeof(temp_k));
	return rc;
}

/* EncryptAndHash: out = ENCRYPT(k, n++, h, pt) if a key is set, else pt;
 * then MixHash(out). out may equal pt. *len gets the output length. */
static int encrypt_and_hash(struct noise_handshake *hs, const uint8_t *pt, size_t pt_len,
			    uint8_t *out, size_t *len)
{
	int rc;

	*len = pt_len;
	if (hs->has_k) {
		/* §5.1: the nonce 2^64-1 is reserved. */
		if (hs->n == UINT64_MAX) {
			return -EOVERFLOW;
		}
		rc = aead_seal(hs->k, hs->n, hs->h, hs->hash_len, pt, pt_len, out);
		if (rc != 0) {
			return rc;
		}
		hs->n++;
		*len += NOISE_TAG_LEN;
	} else if (out != pt && pt_len > 0) {
		memcpy(out, pt, pt_len);
	}
	return mix_hash(hs, out, *len);
}

/* DecryptAndHash: out = DECRYPT(k, n++, h, ct) if a key is set, else ct; then
 * MixHash(ct). The new h is computed first so out may equal ct. */
static int decrypt_and_hash(struct noise_handshake *hs, const uint8_t *ct, size_t ct_len,
			    uint8_t *out)
{
	uint8_t new_h[NOISE_HASH_MAX];
	int rc = nhash_hash(hs->hash_kind, new_h, hs->h, hs->hash_len, ct, ct_len);

	if (rc != 0) {
		return rc;
	}
	if (hs->has_k) {
		if (hs->n == UINT64_MAX) {
			return -EOVERFLOW;
		}
		rc = aead_open(hs->k, hs->n, hs->h, hs->hash_len, ct, ct_len, out);
		if (rc != 0) {
			return rc == -EINVAL ? -EBADMSG : rc;
		}
		hs->n++;
	} else if (out != ct && ct_len > 0) {
		memcpy(out, ct, ct_len);
	}
	memcpy(hs->h, new_h, hs->hash_len);
	return 0;
}

/* ---- keys and DH (§12.1) ---- */

int noise_keypair_generate(struct noise_keypair *kp)
{
	randombytes_buf(kp->priv, sizeof(kp->priv));
	if (crypto_scalarmult_base(kp->pub, kp->priv) != 0) {
		sodium_memzero(kp, sizeof(*kp));
		return -EIO;
	}
	return 0;
}

int noise_keypair_from_private(struct noise_keypair *kp, const uint8_t priv[NOISE_KEY_LEN])
{
	memmove(kp->priv, priv, NOISE_KEY_LEN);
	if (crypto_scalarmult_base(kp->pub, kp->priv) != 0) {
		sodium_memzero(kp, sizeof(*kp));
		return -EINVAL;
	}
	return 0;
}

/* DH then MixKey. crypto_scalarmult fails on an all-zero result, which is what a
 * low-order public key gives: reject it rather than mix in a known value. */
static int dh_mix(struct noise_handshake *hs, bool has_priv, const uint8_t *priv, bool has_pub,
		  const uint8_t *pub)
{
	uint8_t shared[NOISE_DH_LEN];
	int rc;

	if (!has_priv || !has_pub) {
		return -EINVAL;
	}
	if (crypto_scalarmult(shared, priv, pub) != 0) {
		sodium_memzero(shared, sizeof(shared));
		return -EINVAL;
	}
	rc = mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return rc;
}

/* The DH tokens, seen from this side (§7.3: "es" is DH(e, rs) for the
 * initiator and DH(s, re) for the responder; "se" the other way round). */
static int do_dh_token(struct noise_handshake *hs, enum tok t)
{
	bool e_first = (t == TOK_ES) == hs->is_initiator;

	switch (t) {
	case TOK_EE:
		return dh_mix(hs, hs->has_e, hs->e.priv, hs->has_re, hs->re);
	case TOK_SS:
		return dh_mix(hs, hs->has_s, hs->s.priv, hs->has_rs, hs->rs);
	case TOK_ES:
	case TOK_SE:
		if (e_first) {
			return dh_mix(hs, hs->has_e, hs->e.priv, hs->has_rs, hs->rs);
		}
		return dh_mix(hs, hs->has_s, hs->s.priv, hs->has_re, hs->re);
	default:
		return -EINVAL;
	}
}

static int do_psk_token(struct noise_handshake *hs)
{
	if (hs->psk_used >= hs->psk_count) {
		return -EINVAL;
	}
	return mix_key_and_hash(hs, hs->psks[hs->psk_used++]);
}

/* ---- HandshakeState (§5.3) ---- */

/* The tokens of message i with the psk tokens placed (§9.2: "psk0" goes at the
 * start of the first message, "pskN" at the end of message N). */
static unsigned message_tokens(const struct noise_handshake *hs, unsigned i,
			       uint8_t toks[PAT_MAX_TOKENS + 2])
{
	unsigned n = 0;
	const uint8_t *m = hs->pattern->msgs[i];

	if (i == 0 && (hs->psk_mask & 1u) != 0) {
		toks[n++] = TOK_PSK;
	}
	for (unsigned j = 0; j < PAT_MAX_TOKENS && m[j] != TOK_END; j++) {
		toks[n++] = m[j];
	}
	if ((hs->psk_mask & (1u << (i + 1))) != 0) {
		toks[n++] = TOK_PSK;
	}
	return n;
}

/* Size of message i with an empty payload, and whether its payload is encrypted. */
static size_t message_overhead(const struct noise_handshake *hs, unsigned i, bool *payload_has_k)
{
	uint8_t toks[PAT_MAX_TOKENS + 2];
	unsigned n = message_tokens(hs, i, toks);
	bool has_k = hs->has_k;
	size_t len = 0;

	for (unsigned j = 0; j < n; j++) {
		if (toks[j] == TOK_E) {
			len += NOISE_DH_LEN;
			has_k = has_k || hs->psk_mask != 0; /* §9.2: e also does MixKey */
		} else if (toks[j] == TOK_S) {
			len += NOISE_DH_LEN + (has_k ? NOISE_TAG_LEN : 0);
		} else {
			has_k = true; /* DH tokens and psk do MixKey */
		}
	}
	*payload_has_k = has_k;
	return len + (has_k ? NOISE_TAG_LEN : 0);
}

static bool writes_token(const struct noise_pattern *p, bool is_initiator, enum tok t)
{
	for (unsigned i = is_initiator ? 0 : 1; i < p->n_msgs; i += 2) {
		if (memchr(p->msgs[i], (int)t, PAT_MAX_TOKENS) != NULL) {
			return true;
		}
	}
	return false;
}

/* Check which keys were given against what the pattern needs. */
static int check_keys(const struct parsed_name *pn, bool is_initiator,
		      const struct noise_keypair *s, const uint8_t *rs, size_t psk_count)
{
	const struct noise_pattern *p = pn->pattern;
	unsigned own_pre = is_initiator ? p->pre_init : p->pre_resp;
	unsigned remote_pre = is_initiator ? p->pre_resp : p->pre_init;

	if (psk_count != pn->psk_count) {
		return -EINVAL;
	}
	if (s == NULL && ((own_pre & PRE_S) != 0 || writes_token(p, is_initiator, TOK_S))) {
		return -EINVAL;
	}
	/* A remote static that the pattern transmits cannot be pinned here: refuse it
	 * rather than silently not checking it. */
	if ((rs != NULL) != ((remote_pre & PRE_S) != 0)) {
		return -EINVAL;
	}
	if (rs != NULL && b64key_is_low_order(rs)) {
		return -EINVAL;
	}
	return 0;
}

/* InitializeSymmetric(name), MixHash(prologue), then the pre-message keys,
 * initiator's first (§5.3 Initialize). */
static int init_symmetric(struct noise_handshake *hs, const char *name, const uint8_t *prologue,
			  size_t prologue_len)
{
	size_t name_len = strlen(name);
	int rc = 0;

	if (name_len <= hs->hash_len) {
		memcpy(hs->h, name, name_len); /* zero-padded: hs was cleared */
	} else {
		rc = nhash_hash(hs->hash_kind, hs->h, (const uint8_t *)name, name_len, NULL, 0);
	}
	memcpy(hs->ck, hs->h, hs->hash_len);
	if (rc == 0) {
		rc = mix_hash(hs, prologue, prologue_len);
	}
	if (rc == 0 && (hs->pattern->pre_init & PRE_S) != 0) {
		rc = mix_hash(hs, hs->is_initiator ? hs->s.pub : hs->rs, NOISE_KEY_LEN);
	}
	if (rc == 0 && (hs->pattern->pre_resp & PRE_S) != 0) {
		rc = mix_hash(hs, hs->is_initiator ? hs->rs : hs->s.pub, NOISE_KEY_LEN);
	}
	return rc;
}

int noise_handshake_init_psks(struct noise_handshake *hs, const char *protocol_name,
			      bool is_initiator, const uint8_t *prologue, size_t prologue_len,
			      const struct noise_keypair *s, const struct noise_keypair *e_fixed,
			      const uint8_t *rs, const uint8_t *psks, size_t psk_count)
{
	struct parsed_name pn;
	int rc;

	sodium_memzero(hs, sizeof(*hs));
	hs->is_dead = true; /* until initialised */
	rc = parse_name(&pn, protocol_name);
	if (rc == 0) {
		rc = check_keys(&pn, is_initiator, s, rs, psk_count);
	}
	if (rc == 0 &&
	    ((prologue == NULL && prologue_len > 0) || (psks == NULL && psk_count > 0))) {
		rc = -EINVAL;
	}
	if (rc != 0) {
		return rc;
	}
	hs->pattern = pn.pattern;
	hs->hash_kind = pn.hash_kind;
	hs->hash_len = nhash_len(pn.hash_kind);
	hs->psk_mask = pn.psk_mask;
	hs->psk_count = (unsigned)psk_count;
	hs->is_initiator = is_initiator;
	if (psk_count > 0) {
		memcpy(hs->psks, psks, psk_count * NOISE_PSK_LEN);
	}
	if (s != NULL) {
		hs->s = *s;
		hs->has_s = true;
	}
	if (e_fixed != NULL) {
		hs->e = *e_fixed;
		hs->has_e = true;
	}
	if (rs != NULL) {
		memcpy(hs->rs, rs, NOISE_KEY_LEN);
		hs->has_rs = true;
	}
	rc = init_symmetric(hs, protocol_name, prologue, prologue_len);
	if (rc != 0) {
		noise_handshake_wipe(hs);
		hs->is_dead = true;
		return rc;
	}
	hs->is_dead = false;
	return 0;
}

int noise_handshake_init(struct noise_handshake *hs, const char *protocol_name, bool is_initiator,
			 const uint8_t *prologue, size_t prologue_len,
			 const struct noise_keypair *s, const struct noise_keypair *e_fixed,
			 const uint8_t *rs, const uint8_t *psk)
{
	uint8_t psks[NOISE_MAX_PSKS][NOISE_PSK_LEN];
	struct parsed_name pn;
	size_t count = 0;
	int rc;

	rc = parse_name(&pn, protocol_name);
	if (rc != 0) {
		sodium_memzero(hs, sizeof(*hs));
		hs->is_dead = true;
		return rc;
	}
	/* One psk serves every psk token; none given means no psk modifier allowed. */
	if (psk != NULL) {
		count = pn.psk_count > 0 ? pn.psk_count : 1;
		for (size_t i = 0; i < count && i < NOISE_MAX_PSKS; i++) {
			memcpy(psks[i], psk, NOISE_PSK_LEN);
		}
	}
	rc = noise_handshake_init_psks(hs, protocol_name, is_initiator, prologue, prologue_len, s,
				       e_fixed, rs, psk != NULL ? psks[0] : NULL, count);
	sodium_memzero(psks, sizeof(psks));
	return rc;
}

/* Wipe the secrets and mark the handshake dead; public parts stay for debugging. */
static void mark_dead(struct noise_handshake *hs)
{
	sodium_memzero(hs->ck, sizeof(hs->ck));
	sodium_memzero(hs->k, sizeof(hs->k));
	sodium_memzero(hs->s.priv, sizeof(hs->s.priv));
	sodium_memzero(hs->e.priv, sizeof(hs->e.priv));
	sodium_memzero(hs->psks, sizeof(hs->psks));
	hs->has_k = false;
	hs->is_dead = true;
}

static int check_turn(const struct noise_handshake *hs, bool writing)
{
	if (hs->is_dead || hs->is_split || hs->pattern == NULL) {
		return -EPIPE;
	}
	if (hs->msg_index >= hs->pattern->n_msgs ||
	    ((hs->msg_index % 2 == 0) == hs->is_initiator) != writing) {
		return -EAGAIN;
	}
	return 0;
}

static int write_token(struct noise_handshake *hs, enum tok t, uint8_t *out, size_t *pos)
{
	size_t len;
	int rc;

	switch (t) {
	case TOK_E:
		/* §5.3: e = GENERATE_KEYPAIR() unless fixed for test vectors. */
		if (!hs->has_e && noise_keypair_generate(&hs->e) != 0) {
			return -EIO;
		}
		hs->has_e = true;
		memcpy(out + *pos, hs->e.pub, NOISE_KEY_LEN);
		*pos += NOISE_KEY_LEN;
		rc = mix_hash(hs, hs->e.pub, NOISE_KEY_LEN);
		/* §9.2: with psk modifiers, "e" also calls MixKey(e.public_key). */
		if (rc == 0 && hs->psk_mask != 0) {
			rc = mix_key(hs, hs->e.pub, NOISE_KEY_LEN);
		}
		return rc;
	case TOK_S:
		rc = encrypt_and_hash(hs, hs->s.pub, NOISE_KEY_LEN, out + *pos, &len);
		*pos += len;
		return rc;
	case TOK_PSK:
		return do_psk_token(hs);
	default:
		return do_dh_token(hs, t);
	}
}

int noise_write_message(struct noise_handshake *hs, const uint8_t *payload, size_t payload_len,
			uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const uint8_t empty[1];
	uint8_t toks[PAT_MAX_TOKENS + 2];
	unsigned n;
	size_t pos = 0, len, need;
	bool has_k;
	int rc = check_turn(hs, true);

	if (rc != 0) {
		return rc;
	}
	if (payload == NULL && payload_len > 0) {
		return -EINVAL;
	}
	/* Sizes are checked before anything is encrypted; this does not kill hs. */
	need = message_overhead(hs, hs->msg_index, &has_k);
	if (payload_len > NOISE_MAX_MSG - need || need + payload_len > out_cap) {
		return -EMSGSIZE;
	}
	n = message_tokens(hs, hs->msg_index, toks);
	for (unsigned j = 0; j < n && rc == 0; j++) {
		rc = write_token(hs, toks[j], out, &pos);
	}
	if (rc == 0) {
		rc = encrypt_and_hash(hs, payload != NULL ? payload : empty, payload_len, out + pos,
				      &len);
	}
	if (rc != 0) {
		mark_dead(hs);
		return rc;
	}
	*out_len = pos + len;
	hs->msg_index++;
	return 0;
}

static int read_token(struct noise_handshake *hs, enum tok t, const uint8_t *msg, size_t *pos)
{
	size_t len;
	int rc;

	switch (t) {
	case TOK_E:
		memcpy(hs->re, msg + *pos, NOISE_KEY_LEN);
		hs->has_re = true;
		*pos += NOISE_KEY_LEN;
		rc = mix_hash(hs, hs->re, NOISE_KEY_LEN);
		if (rc == 0 && hs->psk_mask != 0) {
			rc = mix_key(hs, hs->re, NOISE_KEY_LEN);
		}
		return rc;
	case TOK_S:
		len = NOISE_KEY_LEN + (hs->has_k ? NOISE_TAG_LEN : 0);
		rc = decrypt_and_hash(hs, msg + *pos, len, hs->rs);
		*pos += len;
		hs->has_rs = rc == 0;
		return rc;
	case TOK_PSK:
		return do_psk_token(hs);
	default:
		return do_dh_token(hs, t);
	}
}

int noise_read_message(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
		       uint8_t *payload_out, size_t payload_cap, size_t *payload_len)
{
	uint8_t toks[PAT_MAX_TOKENS + 2];
	uint8_t empty[1];
	unsigned n;
	size_t pos = 0, min_len, plain_len;
	bool has_k;
	int rc = check_turn(hs, false);

	if (rc != 0) {
		return rc;
	}
	/* The token sizes are fixed, so one length check up front covers every
	 * read below; the rest of the message is the encrypted payload. */
	min_len = message_overhead(hs, hs->msg_index, &has_k);
	if (msg_len > NOISE_MAX_MSG) {
		rc = -EMSGSIZE;
	} else if (msg == NULL || msg_len < min_len) {
		rc = -EBADMSG;
	} else if (msg_len - min_len > payload_cap || (payload_out == NULL && msg_len > min_len)) {
		rc = -EMSGSIZE;
	}
	plain_len = msg_len - min_len;
	n = message_tokens(hs, hs->msg_index, toks);
	for (unsigned j = 0; j < n && rc == 0; j++) {
		rc = read_token(hs, toks[j], msg, &pos);
	}
	if (rc == 0) {
		rc = decrypt_and_hash(hs, msg + pos, msg_len - pos,
				      payload_out != NULL ? payload_out : empty);
	}
	if (rc != 0) {
		mark_dead(hs);
		return rc;
	}
	*payload_len = plain_len;
	hs->msg_index++;
	return 0;
}

bool noise_handshake_is_complete(const struct noise_handshake *hs)
{
	return !hs->is_dead && hs->pattern != NULL && hs->msg_index >= hs->pattern->n_msgs;
}

/* §5.2 Split: temp_k1, temp_k2 = HKDF(ck, zerolen, 2); c1 carries initiator ->
 * responder, c2 responder -> initiator. */
int noise_split(struct noise_handshake *hs, uint8_t send_key[NOISE_KEY_LEN],
		uint8_t recv_key[NOISE_KEY_LEN])
{
	uint8_t k1[NOISE_HASH_MAX];
	uint8_t k2[NOISE_HASH_MAX];
	int rc;

	if (hs->is_dead || hs->is_split || hs->pattern == NULL) {
		return -EPIPE;
	}
	if (!noise_handshake_is_complete(hs)) {
		return -EAGAIN;
	}
	rc = nhash_hkdf(hs->hash_kind, hs->ck, NULL, 0, k1, k2, NULL);
	if (rc == 0) {
		memcpy(send_key, hs->is_initiator ? k1 : k2, NOISE_KEY_LEN);
		memcpy(recv_key, hs->is_initiator ? k2 : k1, NOISE_KEY_LEN);
	}
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	mark_dead(hs);
	hs->is_dead = rc != 0;
	hs->is_split = true;
	return rc;
}

const uint8_t *noise_remote_static(const struct noise_handshake *hs)
{
	return hs->has_rs ? hs->rs : NULL;
}

void noise_handshake_hash(const struct noise_handshake *hs, uint8_t out[NOISE_HASH_MAX],
			  size_t *len)
{
	memcpy(out, hs->h, NOISE_HASH_MAX);
	*len = hs->hash_len;
}

void noise_handshake_wipe(struct noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}
