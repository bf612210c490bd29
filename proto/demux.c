/* demux: first-byte demultiplexing of STUN and wormhole datagrams on one
 * socket (RFC 7983 §7; RFC 8489 §5 for the STUN header). Owns nothing and
 * keeps no state. It only decides which parser gets the datagram; the
 * parsers still check everything themselves. */
#include "proto/demux.h"

#include "common/compiler.h"
#include "proto/wire.h"
#include "proto/wire_const.h"

static const char *const reason_names[DEMUX_REASON_COUNT] = {
	[DEMUX_OK] = "ok",
	[DEMUX_EMPTY] = "empty",
	[DEMUX_UNKNOWN_TYPE] = "unknown_type",
	[DEMUX_STUN_SHORT] = "stun_short",
	[DEMUX_STUN_BAD_LENGTH] = "stun_bad_length",
	[DEMUX_BAD_SIZE] = "bad_size",
	[DEMUX_BAD_RESERVED] = "bad_reserved",
};

/* Size rule per wormhole type: exact size, or a range for transport. */
struct type_rule {
	enum demux_kind kind;
	size_t min_len;
	size_t max_len;
};

static const struct type_rule type_rules[WIRE_MSG_LAST - WIRE_MSG_FIRST + 1] = {
	[WIRE_MSG_INITIATION - WIRE_MSG_FIRST] = {DEMUX_INITIATION, WIRE_INIT_LEN, WIRE_INIT_LEN},
	[WIRE_MSG_RESPONSE - WIRE_MSG_FIRST] = {DEMUX_RESPONSE, WIRE_RESP_LEN, WIRE_RESP_LEN},
	[WIRE_MSG_COOKIE_REPLY - WIRE_MSG_FIRST] = {DEMUX_COOKIE_REPLY, WIRE_COOKIE_REPLY_LEN,
						    WIRE_COOKIE_REPLY_LEN},
	[WIRE_MSG_TRANSPORT -
		WIRE_MSG_FIRST] = {DEMUX_TRANSPORT, WIRE_TRANSPORT_MIN_LEN, WIRE_MAX_PACKET},
	[WIRE_MSG_RESTARTED -
		WIRE_MSG_FIRST] = {DEMUX_RESTARTED, WIRE_RESTARTED_LEN, WIRE_RESTARTED_LEN},
};

static enum demux_kind drop(enum demux_reason *reason, enum demux_reason why)
{
	if (reason) {
		*reason = why;
	}
	return DEMUX_DROP;
}

static enum demux_kind classify_stun(const uint8_t *buf, size_t len, enum demux_reason *reason)
{
	size_t msg_len;

	if (len < WIRE_STUN_HEADER_LEN) {
		return drop(reason, DEMUX_STUN_SHORT);
	}
	/* No magic-cookie check here: classic RFC 3489 clients (stock tools that
	 * still classify NATs) send a 16-byte transaction id where RFC 8489 has
	 * the cookie. Wormhole types start at 0xD1, so the first byte alone keeps
	 * the two apart; nat/stun tells modern from classic and checks the rest. */
	/* RFC 8489 §5: the length excludes the 20-byte header and, since all
	 * attributes are padded to 4 bytes, its last two bits are zero. */
	msg_len = (size_t)buf[2] << 8 | buf[3];
	if (msg_len % 4 != 0 || msg_len != len - WIRE_STUN_HEADER_LEN) {
		return drop(reason, DEMUX_STUN_BAD_LENGTH);
	}
	if (reason) {
		*reason = DEMUX_OK;
	}
	return DEMUX_STUN;
}

enum demux_kind demux_classify(const uint8_t *buf, size_t len, enum demux_reason *reason)
{
	const struct type_rule *rule;

	if (!buf || len == 0) {
		return drop(reason, DEMUX_EMPTY);
	}
	/* RFC 7983 §7 / RFC 8489 §5: the top two bits of every STUN message are
	 * zero, so a first byte of 0..3 means STUN. */
	if (buf[0] <= 3) {
		return classify_stun(buf, len, reason);
	}
	if (buf[0] < WIRE_MSG_FIRST || buf[0] > WIRE_MSG_LAST) {
		return drop(reason, DEMUX_UNKNOWN_TYPE);
	}
	rule = &type_rules[buf[0] - WIRE_MSG_FIRST];
	if (len < rule->min_len || len > rule->max_len) {
		return drop(reason, DEMUX_BAD_SIZE);
	}
	if (buf[1] != 0 || buf[2] != 0 || buf[3] != 0) {
		return drop(reason, DEMUX_BAD_RESERVED);
	}
	if (reason) {
		*reason = DEMUX_OK;
	}
	return rule->kind;
}

const char *demux_reason_name(enum demux_reason reason)
{
	if ((unsigned)reason >= WH_ARRAY_LEN(reason_names)) {
		return "invalid";
	}
	return reason_names[reason];
}
