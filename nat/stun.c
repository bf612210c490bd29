/* stun: STUN Binding codec and the server's answer (RFC 8489 §5-§7, §14;
 * RFC 5780 §6-§7; RFC 3489 §11 for classic clients; test vectors RFC 5769).
 * Owns nothing and keeps no state: every parse goes through the bounded
 * reader of proto/wire.h, every write through its capacity-checked writer.
 * It must not open sockets, read clocks or log: the caller counts drops by
 * the returned enum stun_drop.
 * Policy choices, documented here and in stun.h:
 *  - unknown comprehension-required attributes in an RFC 8489 request get a
 *    420 Unknown Attribute (RFC 8489 §6.3.1); in responses they are kept in
 *    msg->unknown for the client to decide (natclass ignores such responses);
 *  - RESPONSE-PORT (RFC 5780 §7.5) and RESPONSE-ADDRESS (RFC 3489) would let
 *    anyone aim our replies at a third port or host, so they are refused
 *    with 420 like unknown attributes;
 *  - requests without the magic cookie are RFC 3489 requests; they are
 *    answered with MAPPED, SOURCE and CHANGED-ADDRESS (what RFC 3489 §11.2
 *    clients read to run their tests) and never with a 420. */
#include "nat/stun.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "proto/wire.h"
#include "proto/wire_const.h"

_Static_assert(STUN_MAGIC_COOKIE == WIRE_STUN_MAGIC_COOKIE, "one magic cookie");
_Static_assert(STUN_HEADER_LEN == WIRE_STUN_HEADER_LEN, "one STUN header size");
_Static_assert(STUN_RESPONSE_MAX <= WIRE_MAX_PACKET, "a STUN response fits one datagram");

#define FAMILY_IPV4 0x01
#define FAMILY_IPV6 0x02
#define ERROR_REASON_420 "Unknown Attribute"

static const char *const drop_names[STUN_DROP_COUNT] = {
	[STUN_DROP_NONE] = "none",
	[STUN_DROP_SHORT] = "short",
	[STUN_DROP_TOP_BITS] = "top_bits",
	[STUN_DROP_BAD_LENGTH] = "bad_length",
	[STUN_DROP_BAD_ATTRIBUTE] = "bad_attribute",
	[STUN_DROP_BAD_FINGERPRINT] = "bad_fingerprint",
	[STUN_DROP_NOT_REQUEST] = "not_request",
	[STUN_DROP_BAD_SOURCE] = "bad_source",
	[STUN_DROP_NO_SOCKET] = "no_socket",
	[STUN_DROP_CLASSIC_UNANSWERABLE] = "classic_unanswerable",
	[STUN_DROP_NO_ROOM] = "no_room",
	[STUN_DROP_RATE_LIMITED] = "rate_limited",
};

const char *stun_drop_name(enum stun_drop why)
{
	if ((unsigned)why >= WH_ARRAY_LEN(drop_names)) {
		return "invalid";
	}
	return drop_names[why];
}

/* CRC-32 (ISO HDLC, as zlib), bit by bit: messages are at most a few hundred
 * bytes and a table would be one more thing to get wrong. */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++) {
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
		}
	}
	return crc ^ 0xFFFFFFFFu;
}

/* RFC 8489 §14.7: FINGERPRINT = CRC-32 of the message up to (not including)
 * the attribute, XOR'ed with 0x5354554e. */
static uint32_t fingerprint_of(const uint8_t *p, size_t n)
{
	return crc32_of(p, n) ^ STUN_FINGERPRINT_XOR;
}

/* The XOR pad of XOR-MAPPED-ADDRESS: RFC 8489 §14.2, the magic cookie
 * followed by the 96-bit transaction id. */
static void xor_pad(const uint8_t *txid, uint8_t pad[16])
{
	wire_put_u32(pad, STUN_MAGIC_COOKIE);
	memcpy(pad + 4, txid, STUN_TXID_LEN);
}

/* ---- Reading ---- */

typedef int attr_fn(struct wire_reader *v, struct stun_msg *m);

/* Address attribute value (RFC 8489 §14.1/§14.2): reserved u8, family u8,
 * port u16, 4 or 16 address bytes. An unknown family is ignored (the
 * attribute stays absent); a size that does not match the family is a drop. */
static int read_addr(struct wire_reader *v, const struct stun_msg *m, bool xored, bool *has,
		     struct sockaddr_storage *out)
{
	uint8_t family, ip[16], pad[16];
	uint16_t port;
	size_t ip_len;

	(void)wire_read_u8(v); /* RFC 8489 §14.1: the first 8 bits are ignored */
	family = wire_read_u8(v);
	port = wire_read_u16(v);
	if (family != FAMILY_IPV4 && family != FAMILY_IPV6) {
		wire_skip(v, wire_reader_left(v));
		return v->err ? -EPROTO : 0;
	}
	ip_len = family == FAMILY_IPV4 ? 4 : 16;
	wire_read_bytes(v, ip, ip_len);
	if (wire_reader_done(v) != 0) {
		return -EPROTO;
	}
	if (*has) {
		return 0; /* RFC 8489 §14: only the first occurrence counts */
	}
	if (xored) {
		/* RFC 8489 §14.2: X-Port is the port XOR the cookie's top 16 bits;
		 * X-Address is the address XOR the cookie (IPv4) or the cookie and
		 * the transaction id (IPv6). */
		xor_pad(m->txid, pad);
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		for (size_t i = 0; i < ip_len; i++) {
			ip[i] ^= pad[i];
		}
	}
	memset(out, 0, sizeof(*out));
	if (family == FAMILY_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, 16);
	}
	*has = true;
	return 0;
}

static int attr_mapped(struct wire_reader *v, struct stun_msg *m)
{
	return read_addr(v, m, false, &m->has_mapped, &m->mapped);
}

static int attr_xor_mapped(struct wire_reader *v, struct stun_msg *m)
{
	/* XOR-MAPPED-ADDRESS needs the cookie; an RFC 3489 message cannot carry
	 * a meaningful one, so it is ignored there. */
	if (m->is_classic) {
		wire_skip(v, wire_reader_left(v));
		return 0;
	}
	return read_addr(v, m, true, &m->has_xor_mapped, &m->xor_mapped);
}

static int attr_response_origin(struct wire_reader *v, struct stun_msg *m)
{
	return read_addr(v, m, false, &m->has_response_origin, &m->response_origin);
}

static int attr_other(struct wire_reader *v, struct stun_msg *m)
{
	return read_addr(v, m, false, &m->has_other, &m->other);
}

static int attr_source(struct wire_reader *v, struct stun_msg *m)
{
	return read_addr(v, m, false, &m->has_source, &m->source);
}

static int attr_changed(struct wire_reader *v, struct stun_msg *m)
{
	return read_addr(v, m, false, &m->has_changed, &m->changed);
}

/* RFC 5780 §7.2: CHANGE-REQUEST is 32 bits; only "change IP" (0x4) and
 * "change port" (0x2) mean anything, the other bits are ignored. */
static int attr_change_request(struct wire_reader *v, struct stun_msg *m)
{
	uint32_t flags = wire_read_u32(v);

	if (wire_reader_done(v) != 0) {
		return -EPROTO;
	}
	if (!m->has_change_request) {
		m->has_change_request = true;
		m->change_flags = flags & (STUN_CHANGE_IP | STUN_CHANGE_PORT);
	}
	return 0;
}

/* RFC 5780 §7.5: RESPONSE-PORT is a 16-bit port and 16 bits of padding. */
static int attr_response_port(struct wire_reader *v, struct stun_msg *m)
{
	uint16_t port = wire_read_u16(v);

	(void)wire_read_u16(v);
	if (wire_reader_done(v) != 0) {
		return -EPROTO;
	}
	if (!m->has_response_port) {
		m->has_response_port = true;
		m->response_port = port;
	}
	return 0;
}

/* RFC 5780 §7.6: PADDING's content does not matter; the reply is padded too. */
static int attr_padding(struct wire_reader *v, struct stun_msg *m)
{
	wire_skip(v, wire_reader_left(v));
	m->has_padding = true;
	return 0;
}

/* RFC 8489 §14.8: 21 reserved bits, class (3 bits, 3..6), number (0..99),
 * then a UTF-8 reason phrase we do not keep. */
static int attr_error_code(struct wire_reader *v, struct stun_msg *m)
{
	uint8_t cls, number;

	(void)wire_read_u16(v);
	cls = wire_read_u8(v) & 0x07;
	number = wire_read_u8(v);
	if (v->err || cls < 3 || cls > 6 || number > 99 ||
	    wire_reader_left(v) > STUN_SOFTWARE_MAX) {
		return -EPROTO;
	}
	wire_skip(v, wire_reader_left(v));
	if (!m->has_error) {
		m->has_error = true;
		m->error_code = (uint16_t)(cls * 100 + number);
	}
	return 0;
}

/* RFC 8489 §14.14: SOFTWARE is fewer than 128 characters, at most 763 bytes. */
static int attr_software(struct wire_reader *v, struct stun_msg *m)
{
	size_t n = wire_reader_left(v);

	if (n > STUN_SOFTWARE_MAX) {
		return -EPROTO;
	}
	if (!m->software) {
		m->software = wire_read_ptr(v, n);
		m->software_len = n;
	}
	return 0;
}

/* Known attributes we do not act on: the authentication ones (this server
 * does not authenticate Binding requests, RFC 8489 §9) and UNKNOWN-ATTRIBUTES. */
static int attr_ignore(struct wire_reader *v, struct stun_msg *m)
{
	(void)m;
	wire_skip(v, wire_reader_left(v));
	return 0;
}

struct attr_rule {
	uint16_t type;
	attr_fn *fn;
};

static const struct attr_rule attr_rules[] = {
	{STUN_ATTR_MAPPED_ADDRESS, attr_mapped},
	{STUN_ATTR_XOR_MAPPED_ADDRESS, attr_xor_mapped},
	{STUN_ATTR_RESPONSE_ORIGIN, attr_response_origin},
	{STUN_ATTR_OTHER_ADDRESS, attr_other},
	{STUN_ATTR_SOURCE_ADDRESS, attr_source},
	{STUN_ATTR_CHANGED_ADDRESS, attr_changed},
	{STUN_ATTR_CHANGE_REQUEST, attr_change_request},
	{STUN_ATTR_RESPONSE_PORT, attr_response_port},
	{STUN_ATTR_PADDING, attr_padding},
	{STUN_ATTR_ERROR_CODE, attr_error_code},
	{STUN_ATTR_SOFTWARE, attr_software},
	{STUN_ATTR_USERNAME, attr_ignore},
	{STUN_ATTR_MESSAGE_INTEGRITY, attr_ignore},
	{STUN_ATTR_MESSAGE_INTEGRITY_SHA256, attr_ignore},
	{STUN_ATTR_UNKNOWN_ATTRIBUTES, attr_ignore},
	{STUN_ATTR_REALM, attr_ignore},
	{STUN_ATTR_NONCE, attr_ignore},
	{STUN_ATTR_PASSWORD_ALGORITHM, attr_ignore},
	{STUN_ATTR_USERHASH, attr_ignore},
};

static attr_fn *find_rule(uint16_t type)
{
	for (size_t i = 0; i < WH_ARRAY_LEN(attr_rules); i++) {
		if (attr_rules[i].type == type) {
			return attr_rules[i].fn;
		}
	}
	return NULL;
}

static void note_unknown(struct stun_msg *m, uint16_t type)
{
	for (size_t i = 0; i < m->n_unknown && i < STUN_UNKNOWN_MAX; i++) {
		if (m->unknown[i] == type) {
			return;
		}
	}
	if (m->n_unknown < STUN_UNKNOWN_MAX) {
		m->unknown[m->n_unknown] = type;
	}
	m->n_unknown++;
}

/* One attribute whose 4-byte header was read; v is its value. */
static int read_one(uint16_t type, struct wire_reader *v, struct stun_msg *m, bool after_integrity)
{
	attr_fn *fn;

	/* RFC 8489 §14.5: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256
	 * and FINGERPRINT count; everything else is ignored. */
	if (after_integrity && type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
		return 0;
	}
	fn = find_rule(type);
	if (fn) {
		return fn(v, m);
	}
	/* RFC 8489 §14: 0x0000-0x7FFF are comprehension-required, 0x8000-0xFFFF
	 * comprehension-optional (skipped). */
	if (type < 0x8000) {
		note_unknown(m, type);
	}
	return 0;
}

/* Check the FINGERPRINT whose header starts at offset pos. */
static enum stun_drop check_fingerprint(const uint8_t *buf, size_t pos, struct wire_reader *v,
					const struct wire_reader *r, struct stun_msg *m)
{
	uint32_t got = wire_read_u32(v);

	if (wire_reader_done(v) != 0) {
		return STUN_DROP_BAD_ATTRIBUTE;
	}
	/* RFC 8489 §14.7: when present, FINGERPRINT is the last attribute. */
	if (wire_reader_left(r) != 0 || got != fingerprint_of(buf, pos)) {
		return STUN_DROP_BAD_FINGERPRINT;
	}
	m->has_fingerprint = true;
	return STUN_DROP_NONE;
}

static enum stun_drop read_attrs(struct wire_reader *r, const uint8_t *buf, size_t len,
				 struct stun_msg *m)
{
	bool after_integrity = false;

	while (wire_reader_left(r) > 0) {
		size_t pos = len - wire_reader_left(r);
		uint16_t type = wire_read_u16(r);
		uint16_t alen = wire_read_u16(r);
		struct wire_reader v;

		wire_read_sub(r, alen, &v);
		/* RFC 8489 §14: values are padded to a multiple of 4 bytes; the
		 * padding's content is ignored (RFC 5769 pads with spaces). */
		wire_skip(r, (4u - (alen & 3u)) & 3u);
		if (r->err) {
			return STUN_DROP_BAD_ATTRIBUTE;
		}
		if (type == STUN_ATTR_FINGERPRINT) {
			return check_fingerprint(buf, pos, &v, r, m);
		}
		if (read_one(type, &v, m, after_integrity) != 0 || v.err) {
			return STUN_DROP_BAD_ATTRIBUTE;
		}
		if (type == STUN_ATTR_MESSAGE_INTEGRITY) {
			after_integrity = true;
		}
	}
	return STUN_DROP_NONE;
}

static int drop_with(enum stun_drop *why, enum stun_drop reason)
{
	if (why) {
		*why = reason;
	}
	return -EPROTO;
}

int stun_read(const uint8_t *buf, size_t len, struct stun_msg *msg, enum stun_drop *why)
{
	struct wire_reader r;
	uint16_t msg_len;
	uint32_t cookie;
	enum stun_drop d;

	memset(msg, 0, sizeof(*msg));
	if (!buf || len < STUN_HEADER_LEN) {
		return drop_with(why, STUN_DROP_SHORT);
	}
	msg->wire_len = len;
	wire_reader_init(&r, buf, len);
	msg->type = wire_read_u16(&r);
	msg_len = wire_read_u16(&r);
	cookie = wire_read_u32(&r);
	/* RFC 8489 §5: the two most significant bits of every message are 0. */
	if (msg->type & 0xC000) {
		return drop_with(why, STUN_DROP_TOP_BITS);
	}
	/* RFC 8489 §5: the length excludes the header and, attributes being
	 * padded to 4 bytes, is a multiple of 4. */
	if (msg_len % 4 != 0 || msg_len != len - STUN_HEADER_LEN) {
		return drop_with(why, STUN_DROP_BAD_LENGTH);
	}
	/* RFC 8489 §5 / RFC 3489 §11.1: without the cookie it is a classic
	 * message whose 128-bit transaction id includes those 4 bytes. */
	if (cookie == STUN_MAGIC_COOKIE) {
		wire_read_bytes(&r, msg->txid, STUN_TXID_LEN);
	} else {
		msg->is_classic = true;
		wire_put_u32(msg->txid, cookie);
		wire_read_bytes(&r, msg->txid + 4, STUN_CLASSIC_TXID_LEN - 4);
	}
	d = read_attrs(&r, buf, len, msg);
	if (d == STUN_DROP_NONE && wire_reader_done(&r) != 0) {
		d = STUN_DROP_BAD_ATTRIBUTE;
	}
	if (d != STUN_DROP_NONE) {
		return drop_with(why, d);
	}
	if (why) {
		*why = STUN_DROP_NONE;
	}
	return 0;
}

const struct sockaddr *stun_msg_mapped(const struct stun_msg *msg)
{
	if (msg->has_xor_mapped) {
		return (const struct sockaddr *)&msg->xor_mapped;
	}
	if (msg->has_mapped) {
		return (const struct sockaddr *)&msg->mapped;
	}
	return NULL;
}

/* ---- Writing ---- */

/* Header with a zero length; returns where the length goes (NULL on overflow). */
static uint8_t *write_header(struct wire_writer *w, uint16_t type,
			     const struct stun_msg *req_or_null, const uint8_t *txid)
{
	uint8_t *len_at;

	wire_write_u16(w, type);
	len_at = wire_write_reserve(w, 2);
	if (req_or_null && req_or_null->is_classic) {
		wire_write_bytes(w, req_or_null->txid, STUN_CLASSIC_TXID_LEN);
	} else {
		wire_write_u32(w, STUN_MAGIC_COOKIE);
		wire_write_bytes(w, txid, STUN_TXID_LEN);
	}
	return len_at;
}

static void put_len(uint8_t *len_at, size_t msg_len)
{
	len_at[0] = (uint8_t)(msg_len >> 8);
	len_at[1] = (uint8_t)msg_len;
}

/* Address attribute; xored needs the 12-byte txid. Unknown family: -EINVAL. */
static int write_addr(struct wire_writer *w, uint16_t type, const struct sockaddr *sa, bool xored,
		      const uint8_t *txid)
{
	uint8_t ip[16], pad[16];
	uint16_t port;
	size_t ip_len;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		ip_len = 4;
		memcpy(ip, &sin->sin_addr, 4);
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		ip_len = 16;
		memcpy(ip, &sin6->sin6_addr, 16);
		port = ntohs(sin6->sin6_port);
	} else {
		return -EINVAL;
	}
	if (xored) {
		/* RFC 8489 §14.2 (see read_addr). */
		xor_pad(txid, pad);
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		for (size_t i = 0; i < ip_len; i++) {
			ip[i] ^= pad[i];
		}
	}
	wire_write_u16(w, type);
	wire_write_u16(w, (uint16_t)(4 + ip_len));
	wire_write_u8(w, 0);
	wire_write_u8(w, ip_len == 4 ? FAMILY_IPV4 : FAMILY_IPV6);
	wire_write_u16(w, port);
	wire_write_bytes(w, ip, ip_len);
	return 0;
}

/* RFC 8489 §14.14 SOFTWARE, padded with zeros to 4 bytes. */
static void write_software(struct wire_writer *w)
{
	size_t n = sizeof(STUN_SOFTWARE_NAME) - 1;

	wire_write_u16(w, STUN_ATTR_SOFTWARE);
	wire_write_u16(w, (uint16_t)n);
	wire_write_bytes(w, (const uint8_t *)STUN_SOFTWARE_NAME, n);
	wire_write_zeros(w, (4 - (n & 3)) & 3);
}

/* Finish a message: set the length (counting the FINGERPRINT that follows,
 * RFC 8489 §14.7), append FINGERPRINT, report the size. */
static int finish(struct wire_writer *w, uint8_t *len_at, size_t *out_len)
{
	size_t body;

	if (w->err || !len_at) {
		return -ENOSPC;
	}
	body = w->len + STUN_FINGERPRINT_ATTR_LEN - STUN_HEADER_LEN;
	put_len(len_at, body);
	wire_write_u16(w, STUN_ATTR_FINGERPRINT);
	wire_write_u16(w, 4);
	if (!w->err) {
		wire_write_u32(w, fingerprint_of(w->buf, w->len - STUN_ATTR_HEADER_LEN));
	}
	return wire_writer_done(w, out_len);
}

int stun_write_request(const uint8_t txid[STUN_TXID_LEN], uint32_t change_flags, uint8_t *out,
		       size_t cap, size_t *out_len)
{
	struct wire_writer w;
	uint8_t *len_at;

	if (change_flags & ~(STUN_CHANGE_IP | STUN_CHANGE_PORT)) {
		return -EINVAL;
	}
	wire_writer_init(&w, out, cap);
	len_at = write_header(&w, STUN_BINDING_REQUEST, NULL, txid);
	/* RFC 5780 §7.2: CHANGE-REQUEST with no flag set means the same as none,
	 * so it is only sent when a flag is. */
	if (change_flags) {
		wire_write_u16(&w, STUN_ATTR_CHANGE_REQUEST);
		wire_write_u16(&w, 4);
		wire_write_u32(&w, change_flags);
	}
	return finish(&w, len_at, out_len);
}

/* RFC 3489 §11.2: a classic response carries MAPPED, SOURCE and CHANGED-
 * ADDRESS, and no FINGERPRINT (old parsers reject what they do not know). */
static int write_classic_success(struct wire_writer *w, uint8_t *len_at,
				 const struct stun_response_addrs *a, size_t *out_len)
{
	int rc = write_addr(w, STUN_ATTR_MAPPED_ADDRESS, a->mapped, false, NULL);

	if (rc == 0 && a->origin) {
		rc = write_addr(w, STUN_ATTR_SOURCE_ADDRESS, a->origin, false, NULL);
	}
	if (rc == 0 && a->other) {
		rc = write_addr(w, STUN_ATTR_CHANGED_ADDRESS, a->other, false, NULL);
	}
	if (rc != 0) {
		return rc;
	}
	if (w->err || !len_at) {
		return -ENOSPC;
	}
	put_len(len_at, w->len - STUN_HEADER_LEN);
	return wire_writer_done(w, out_len);
}

/* RFC 5780 §7.6: a PADDING of zeros that brings the response (with the
 * SOFTWARE and FINGERPRINT still to come) to size bytes (the request's). None
 * when the response is already that large: even an empty one would make
 * it larger than the request. */
static void write_padding(struct wire_writer *w, size_t size)
{
	size_t tail = STUN_ATTR_HEADER_LEN + STUN_SOFTWARE_ATTR_LEN + STUN_FINGERPRINT_ATTR_LEN;
	size_t pad;

	if (size < w->len + tail) {
		return;
	}
	pad = (size - w->len - tail) & ~(size_t)3;
	wire_write_u16(w, STUN_ATTR_PADDING);
	wire_write_u16(w, (uint16_t)pad);
	wire_write_zeros(w, pad);
}

int stun_write_success(const struct stun_msg *req, const struct stun_response_addrs *a,
		       uint8_t *out, size_t cap, size_t *out_len)
{
	/* Never more than the bound, whatever cap the caller offers: a padded
	 * reply may grow to the request's size (no amplification). */
	size_t bound = STUN_RESPONSE_MAX;
	struct wire_writer w;
	uint8_t *len_at;
	int rc;

	if (!a->mapped) {
		return -EINVAL;
	}
	if (req->has_padding && !req->is_classic && req->wire_len > bound) {
		bound = req->wire_len < STUN_PADDED_MAX ? req->wire_len : STUN_PADDED_MAX;
	}
	wire_writer_init(&w, out, cap < bound ? cap : bound);
	len_at = write_header(&w, STUN_BINDING_SUCCESS, req, req->txid);
	if (req->is_classic) {
		return write_classic_success(&w, len_at, a, out_len);
	}
	/* RFC 8489 §14.2 XOR-MAPPED-ADDRESS, and MAPPED-ADDRESS for RFC 3489
	 * era clients that send the cookie (RFC 8489 §14.1). */
	rc = write_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, a->mapped, true, req->txid);
	if (rc == 0) {
		rc = write_addr(&w, STUN_ATTR_MAPPED_ADDRESS, a->mapped, false, NULL);
	}
	/* RFC 5780 §7.3 RESPONSE-ORIGIN and §7.4 OTHER-ADDRESS; RFC 3489 §11.2.3
	 * SOURCE-ADDRESS and §11.2.5 CHANGED-ADDRESS carry the same values. */
	if (rc == 0 && a->origin) {
		rc = write_addr(&w, STUN_ATTR_RESPONSE_ORIGIN, a->origin, false, NULL);
	}
	if (rc == 0 && a->other) {
		rc = write_addr(&w, STUN_ATTR_OTHER_ADDRESS, a->other, false, NULL);
	}
	if (rc == 0 && a->origin) {
		rc = write_addr(&w, STUN_ATTR_SOURCE_ADDRESS, a->origin, false, NULL);
	}
	if (rc == 0 && a->other) {
		rc = write_addr(&w, STUN_ATTR_CHANGED_ADDRESS, a->other, false, NULL);
	}
	if (rc != 0) {
		return rc;
	}
	if (req->has_padding) {
		write_padding(&w, req->wire_len < w.cap ? req->wire_len : w.cap);
	}
	write_software(&w);
	return finish(&w, len_at, out_len);
}

int stun_write_unknown(const struct stun_msg *req, const uint16_t *types, size_t n, uint8_t *out,
		       size_t cap, size_t *out_len)
{
	struct wire_writer w;
	uint8_t *len_at;
	size_t reason_len = sizeof(ERROR_REASON_420) - 1;

	if (req->is_classic || n == 0) {
		return -EINVAL;
	}
	if (n > STUN_UNKNOWN_MAX) {
		n = STUN_UNKNOWN_MAX;
	}
	wire_writer_init(&w, out, cap < STUN_RESPONSE_MAX ? cap : STUN_RESPONSE_MAX);
	len_at = write_header(&w, STUN_BINDING_ERROR, req, req->txid);
	/* RFC 8489 §14.8 ERROR-CODE: class 4, number 20, reason phrase. */
	wire_write_u16(&w, STUN_ATTR_ERROR_CODE);
	wire_write_u16(&w, (uint16_t)(4 + reason_len));
	wire_write_u16(&w, 0);
	wire_write_u8(&w, STUN_ERROR_UNKNOWN_ATTRIBUTE / 100);
	wire_write_u8(&w, STUN_ERROR_UNKNOWN_ATTRIBUTE % 100);
	wire_write_bytes(&w, (const uint8_t *)ERROR_REASON_420, reason_len);
	wire_write_zeros(&w, (4 - (reason_len & 3)) & 3);
	/* RFC 8489 §14.9 UNKNOWN-ATTRIBUTES: a list of 16-bit types, padded. */
	wire_write_u16(&w, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	wire_write_u16(&w, (uint16_t)(2 * n));
	for (size_t i = 0; i < n; i++) {
		wire_write_u16(&w, types[i]);
	}
	wire_write_zeros(&w, (n & 1) ? 2 : 0);
	write_software(&w);
	return finish(&w, len_at, out_len);
}

/* ---- Server ---- */

static bool family_ok(const struct sockaddr_storage *ss, sa_family_t family)
{
	return ss->ss_family != AF_UNSPEC && ss->ss_family == family;
}

/* The attributes of req we refuse: unknown comprehension-required ones,
 * RESPONSE-PORT, and a CHANGE-REQUEST for a socket we lack. Returns how many
 * were put in types[]. */
static size_t refused_of(const struct stun_msg *req, bool change_ok, uint16_t *types)
{
	size_t n = req->n_unknown < STUN_UNKNOWN_MAX ? req->n_unknown : STUN_UNKNOWN_MAX;

	memcpy(types, req->unknown, n * sizeof(types[0]));
	/* RFC 5780 §7.5: a server that does not support RESPONSE-PORT answers 420. */
	if (req->has_response_port && n < STUN_UNKNOWN_MAX) {
		types[n++] = STUN_ATTR_RESPONSE_PORT;
	}
	/* RFC 5780 §7.2: a server without the alternate address CHANGE-REQUEST
	 * asks for treats the attribute as unknown: 420. */
	if (!change_ok && n < STUN_UNKNOWN_MAX) {
		types[n++] = STUN_ATTR_CHANGE_REQUEST;
	}
	return n;
}

static enum stun_drop answer_request(const struct stun_msg *req, const struct sockaddr *from,
				     const struct stun_server_addrs *addrs, uint8_t *out,
				     size_t cap, size_t *out_len, int *send_from_index)
{
	uint16_t refused[STUN_UNKNOWN_MAX];
	struct stun_response_addrs a = {.mapped = from};
	int at = addrs->received_on;
	int other = addrs->received_on ^ STUN_SOCK_ALT_ALT;
	size_t n;

	/* RFC 5780 §7.2 / RFC 3489 §11.2.4: change IP flips the IP, change
	 * port flips the port, of the socket the request arrived on. */
	if (req->change_flags & STUN_CHANGE_IP) {
		at ^= STUN_SOCK_ALT_MAIN;
	}
	if (req->change_flags & STUN_CHANGE_PORT) {
		at ^= STUN_SOCK_PRIMARY_ALT;
	}
	n = refused_of(req, req->change_flags == 0 || family_ok(&addrs->local[at], from->sa_family),
		       refused);
	if (n > 0) {
		if (req->is_classic) {
			return STUN_DROP_CLASSIC_UNANSWERABLE;
		}
		*send_from_index = addrs->received_on;
		return stun_write_unknown(req, refused, n, out, cap, out_len) == 0
			       ? STUN_DROP_NONE
			       : STUN_DROP_NO_ROOM;
	}
	a.origin = (const struct sockaddr *)&addrs->local[at];
	/* RFC 5780 §7.4: OTHER-ADDRESS is the socket differing in both IP and
	 * port from the one that received the request. */
	if (family_ok(&addrs->local[other], from->sa_family)) {
		a.other = (const struct sockaddr *)&addrs->local[other];
	}
	*send_from_index = at;
	return stun_write_success(req, &a, out, cap, out_len) == 0 ? STUN_DROP_NONE
								   : STUN_DROP_NO_ROOM;
}

enum stun_drop stun_server_answer(const uint8_t *req, size_t len, const struct sockaddr *from,
				  const struct stun_server_addrs *addrs, uint8_t *out, size_t cap,
				  size_t *out_len, int *send_from_index)
{
	struct stun_msg msg;
	enum stun_drop why;

	*out_len = 0;
	*send_from_index = -1;
	if (!out || cap < STUN_RESPONSE_MAX) {
		return STUN_DROP_NO_ROOM;
	}
	if (addrs->received_on < 0 || addrs->received_on >= STUN_SOCK_COUNT ||
	    addrs->local[addrs->received_on].ss_family == AF_UNSPEC) {
		return STUN_DROP_NO_SOCKET;
	}
	if (!from || (from->sa_family != AF_INET && from->sa_family != AF_INET6)) {
		return STUN_DROP_BAD_SOURCE;
	}
	if (stun_read(req, len, &msg, &why) != 0) {
		return why;
	}
	/* RFC 8489 §6.3: only requests are answered; indications and
	 * responses never get a reply. */
	if (msg.type != STUN_BINDING_REQUEST) {
		return STUN_DROP_NOT_REQUEST;
	}
	why = answer_request(&msg, from, addrs, out, cap, out_len, send_from_index);
	if (why != STUN_DROP_NONE) {
		*out_len = 0;
		*send_from_index = -1;
	}
	return why;
}
