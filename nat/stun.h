/* stun: STUN Binding messages (RFC 8489) with the RFC 5780 behaviour-discovery
 * attributes and the classic RFC 3489 ones, decoded into a plain value struct
 * through proto/wire.h, and the writers for requests and bounded responses.
 * Also the server's answer to a request: which of its four sockets sends it.
 * No sockets, no clocks: bytes and addresses in, bytes and a socket index out. */
#ifndef WH_STUN_H
#define WH_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"

/* ---- Protocol constants (RFC 8489 §5, §14, §18; RFC 5780 §7; RFC 3489 §11) ---- */
#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TXID_LEN 12	 /* RFC 8489 transaction id */
#define STUN_CLASSIC_TXID_LEN 16 /* RFC 3489: the cookie's 4 bytes are part of the id */
#define STUN_FINGERPRINT_XOR 0x5354554eu
#define STUN_SOFTWARE_MAX 763 /* RFC 8489 §14.14: at most 763 bytes */

#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_INDICATION 0x0011
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_BINDING_ERROR 0x0111

#define STUN_ATTR_MAPPED_ADDRESS 0x0001
#define STUN_ATTR_RESPONSE_ADDRESS 0x0002 /* RFC 3489, refused */
#define STUN_ATTR_CHANGE_REQUEST 0x0003
#define STUN_ATTR_SOURCE_ADDRESS 0x0004	 /* RFC 3489 */
#define STUN_ATTR_CHANGED_ADDRESS 0x0005 /* RFC 3489 */
#define STUN_ATTR_USERNAME 0x0006
#define STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define STUN_ATTR_ERROR_CODE 0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define STUN_ATTR_REALM 0x0014
#define STUN_ATTR_NONCE 0x0015
#define STUN_ATTR_MESSAGE_INTEGRITY_SHA256 0x001C
#define STUN_ATTR_PASSWORD_ALGORITHM 0x001D
#define STUN_ATTR_USERHASH 0x001E
#define STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define STUN_ATTR_PADDING 0x0026       /* RFC 5780 §7.6 */
#define STUN_ATTR_RESPONSE_PORT 0x0027 /* RFC 5780, refused */
#define STUN_ATTR_SOFTWARE 0x8022
#define STUN_ATTR_FINGERPRINT 0x8028
#define STUN_ATTR_RESPONSE_ORIGIN 0x802B
#define STUN_ATTR_OTHER_ADDRESS 0x802C

/* CHANGE-REQUEST flags (RFC 5780 §7.2, RFC 3489 §11.2.4). */
#define STUN_CHANGE_IP 0x04u
#define STUN_CHANGE_PORT 0x02u

#define STUN_ERROR_UNKNOWN_ATTRIBUTE 420
/* Unknown comprehension-required types we remember (and list in a 420). */
#define STUN_UNKNOWN_MAX 8

/* ---- Sizes of what we write ---- */
#define STUN_SOFTWARE_NAME "wormhole"
#define STUN_ATTR_HEADER_LEN 4
#define STUN_ADDR_ATTR_MAX (STUN_ATTR_HEADER_LEN + 4 + 16) /* IPv6 address attribute */
#define STUN_SOFTWARE_ATTR_LEN (STUN_ATTR_HEADER_LEN + ((sizeof(STUN_SOFTWARE_NAME) - 1 + 3) & ~3u))
#define STUN_FINGERPRINT_ATTR_LEN (STUN_ATTR_HEADER_LEN + 4)
#define STUN_CHANGE_ATTR_LEN (STUN_ATTR_HEADER_LEN + 4)
/* Success: XOR-MAPPED, MAPPED, RESPONSE-ORIGIN, OTHER, SOURCE, CHANGED (6
 * addresses) + SOFTWARE + FINGERPRINT, and an empty PADDING when the request
 * asked for it but is too short to pad to. */
#define STUN_SUCCESS_MAX                                                   \
	(STUN_HEADER_LEN + 6 * STUN_ADDR_ATTR_MAX + STUN_ATTR_HEADER_LEN + \
	 STUN_SOFTWARE_ATTR_LEN + STUN_FINGERPRINT_ATTR_LEN)
/* 420: ERROR-CODE (4 + "Unknown Attribute" padded to 20) + UNKNOWN-ATTRIBUTES
 * (up to STUN_UNKNOWN_MAX types) + SOFTWARE + FINGERPRINT. */
#define STUN_ERROR_MAX                                                            \
	(STUN_HEADER_LEN + STUN_ATTR_HEADER_LEN + 4 + 20 + STUN_ATTR_HEADER_LEN + \
	 2 * STUN_UNKNOWN_MAX + STUN_SOFTWARE_ATTR_LEN + STUN_FINGERPRINT_ATTR_LEN)
/* Every reply the server builds fits here (DESIGN §3: the one bounded exception
 * to "no reply larger than the request"), except a padded one (RFC 5780 §7.6
 * PADDING), which is padded up to the request's own size, never beyond: a
 * reply is at most max(STUN_RESPONSE_MAX, request size), and
 * STUN_PADDED_MAX bytes of room let it reach the largest request we take. */
#define STUN_RESPONSE_MAX 188
#define STUN_PADDED_MAX 2048
/* A request we build: header + CHANGE-REQUEST + FINGERPRINT. */
#define STUN_REQUEST_MAX (STUN_HEADER_LEN + STUN_CHANGE_ATTR_LEN + STUN_FINGERPRINT_ATTR_LEN)

_Static_assert(STUN_SUCCESS_MAX == STUN_RESPONSE_MAX, "success response bound");
_Static_assert(STUN_ERROR_MAX <= STUN_RESPONSE_MAX, "error response bound");
_Static_assert(STUN_UNKNOWN_MAX % 2 == 0, "UNKNOWN-ATTRIBUTES list stays 4-byte aligned");
_Static_assert(STUN_RESPONSE_MAX <= 548, "a response fits the smallest IPv4 datagram we count on");

/* Why a datagram was dropped instead of answered or accepted (STYLE §4: one
 * counter per reason). */
enum stun_drop {
	STUN_DROP_NONE = 0,
	STUN_DROP_SHORT,		/* shorter than the 20-byte header */
	STUN_DROP_TOP_BITS,		/* first two bits not zero */
	STUN_DROP_BAD_LENGTH,		/* length field != size - 20, or not a multiple of 4 */
	STUN_DROP_BAD_ATTRIBUTE,	/* truncated attribute, missing padding, bad value size */
	STUN_DROP_BAD_FINGERPRINT,	/* FINGERPRINT wrong, or not the last attribute */
	STUN_DROP_NOT_REQUEST,		/* server: a response, an indication or another method */
	STUN_DROP_BAD_SOURCE,		/* server: sender address family unknown */
	STUN_DROP_NO_SOCKET,		/* server: sockets table lacks the receiving socket */
	STUN_DROP_CLASSIC_UNANSWERABLE, /* server: RFC 3489 request we cannot serve */
	STUN_DROP_NO_ROOM,		/* server: output buffer smaller than STUN_RESPONSE_MAX */
	STUN_DROP_RATE_LIMITED,		/* server: its source address asked more than its share */
	STUN_DROP_COUNT
};

/* A decoded message. Addresses are sockaddr_in / sockaddr_in6 in
 * sockaddr_storage (ss_family 0 when absent). Only the first occurrence of an
 * attribute counts (RFC 8489 §14). */
struct stun_msg {
	uint16_t type;
	bool is_classic;		     /* RFC 3489: no magic cookie; txid is 16 bytes */
	uint8_t txid[STUN_CLASSIC_TXID_LEN]; /* first STUN_TXID_LEN bytes unless is_classic */
	bool has_mapped, has_xor_mapped, has_response_origin, has_other, has_source, has_changed;
	struct sockaddr_storage mapped, xor_mapped, response_origin, other, source, changed;
	bool has_change_request;
	uint32_t change_flags; /* STUN_CHANGE_IP | STUN_CHANGE_PORT */
	bool has_response_port;
	uint16_t response_port;
	bool has_padding; /* RFC 5780 §7.6: the reply is padded too */
	size_t wire_len;  /* the whole message's size, header included */
	bool has_error;
	uint16_t error_code;	 /* 300..699 */
	bool has_fingerprint;	 /* present and verified (a wrong one is a drop) */
	const uint8_t *software; /* borrowed: valid while the packet buffer lives */
	size_t software_len;
	size_t n_unknown;		    /* unknown comprehension-required attributes seen */
	uint16_t unknown[STUN_UNKNOWN_MAX]; /* the first STUN_UNKNOWN_MAX of them */
};

/* Decode one STUN message. buf is borrowed (msg->software points into it).
 * Returns 0, or -EPROTO with *why (may be NULL) set to the drop reason. A
 * message without the magic cookie is decoded as RFC 3489 (is_classic). */
WH_MUST_CHECK int stun_read(const uint8_t *buf, size_t len, struct stun_msg *msg,
			    enum stun_drop *why);

/* The mapped address of a response: XOR-MAPPED-ADDRESS if present, else
 * MAPPED-ADDRESS; NULL if neither. Borrowed from msg. */
const struct sockaddr *stun_msg_mapped(const struct stun_msg *msg);

/* Build a Binding request with transaction id txid, a CHANGE-REQUEST when
 * change_flags is not 0, and a FINGERPRINT. Returns 0 and *out_len, or
 * -EINVAL (unknown flag bits) / -ENOSPC (cap too small). */
WH_MUST_CHECK int stun_write_request(const uint8_t txid[STUN_TXID_LEN], uint32_t change_flags,
				     uint8_t *out, size_t cap, size_t *out_len);

/* What a Binding success response reports. mapped is required; the others
 * may be NULL (the attribute is then left out). */
struct stun_response_addrs {
	const struct sockaddr *mapped; /* where the request came from */
	const struct sockaddr *origin; /* the socket that sends the response */
	const struct sockaddr *other;  /* the alternate IP and port (OTHER/CHANGED-ADDRESS) */
};

/* Build the success response to req (decoded by stun_read). RFC 8489
 * requests get XOR-MAPPED, MAPPED, RESPONSE-ORIGIN, OTHER, SOURCE and
 * CHANGED-ADDRESS, SOFTWARE and FINGERPRINT, plus PADDING when they carried
 * it (RFC 5780 §7.6: as much as brings the response to the request's size,
 * and cap allows; none when the request is too short); classic RFC 3489
 * requests get MAPPED, SOURCE and CHANGED-ADDRESS only, as RFC 3489 clients
 * expect. Never writes more than max(STUN_RESPONSE_MAX, req->wire_len)
 * bytes. Returns 0 and *out_len, -EINVAL (address family) or -ENOSPC. */
WH_MUST_CHECK int stun_write_success(const struct stun_msg *req,
				     const struct stun_response_addrs *a, uint8_t *out, size_t cap,
				     size_t *out_len);

/* Build a 420 Unknown Attribute error response to req listing types[0..n)
 * (at most STUN_UNKNOWN_MAX are listed). Returns 0 and *out_len, -EINVAL
 * (classic request) or -ENOSPC. */
WH_MUST_CHECK int stun_write_unknown(const struct stun_msg *req, const uint16_t *types, size_t n,
				     uint8_t *out, size_t cap, size_t *out_len);

/* The server's four sockets. Index bit 0 = alternate port, bit 1 = alternate
 * IP, so CHANGE-REQUEST flips bits: change port ^1, change IP ^2. */
enum stun_sock {
	STUN_SOCK_PRIMARY_MAIN = 0, /* primary IP, main port */
	STUN_SOCK_PRIMARY_ALT = 1,  /* primary IP, alternate port */
	STUN_SOCK_ALT_MAIN = 2,	    /* alternate IP, main port */
	STUN_SOCK_ALT_ALT = 3,	    /* alternate IP, alternate port */
	STUN_SOCK_COUNT
};

struct stun_server_addrs {
	/* Each socket's address as clients reach it (the public one when the
	 * host sits behind a 1:1 NAT): reported in RESPONSE-ORIGIN and
	 * OTHER-ADDRESS. ss_family 0 (AF_UNSPEC) = no such socket. */
	struct sockaddr_storage local[STUN_SOCK_COUNT];
	int received_on; /* enum stun_sock: the socket the request arrived on */
};

/* Answer one datagram that arrived on addrs->received_on from `from`.
 * Returns STUN_DROP_NONE with the reply in out[0..*out_len) and the socket
 * that must send it in *send_from_index, or a drop reason (nothing to send).
 *  - RFC 8489/5780 Binding requests: success response, sent from the socket
 *    CHANGE-REQUEST selects. An unknown comprehension-required attribute,
 *    RESPONSE-PORT, RESPONSE-ADDRESS or a CHANGE-REQUEST for a socket we do
 *    not have gets 420 Unknown Attribute from the receiving socket (RFC 8489
 *    §6.3.1, RFC 5780 §7.2/§7.5).
 *  - RFC 3489 requests (no cookie): MAPPED/SOURCE/CHANGED-ADDRESS, following
 *    CHANGE-REQUEST; ones we cannot serve are dropped (no 420: RFC 3489 error
 *    formatting differs and old clients only time out anyway).
 *  - Anything else (malformed, responses, indications): dropped.
 * The reply is never larger than max(STUN_RESPONSE_MAX, len) (a request with
 * PADDING gets a padded reply of its own size at most); cap must be at least
 * STUN_RESPONSE_MAX, and STUN_PADDED_MAX leaves room for any padding. */
enum stun_drop stun_server_answer(const uint8_t *req, size_t len, const struct sockaddr *from,
				  const struct stun_server_addrs *addrs, uint8_t *out, size_t cap,
				  size_t *out_len, int *send_from_index);

/* A short, stable name for a drop reason ("bad_fingerprint"), for metrics. */
const char *stun_drop_name(enum stun_drop why);

#endif
