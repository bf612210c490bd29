/* test_stun: nat/stun — the RFC 5769 test vectors (§2.1 request, §2.2 IPv4
 * response, §2.3 IPv6 response; MESSAGE-INTEGRITY is skipped, FINGERPRINT is
 * verified), round trips, malformed input dropped with the right reason,
 * CHANGE-REQUEST routing to the server's four sockets, 420 refusals, RFC 3489
 * classic requests, and the response size bound (also under random
 * mutation, fixed seed printed on failure). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "nat/stun.h"
#include "tests/rfc5769.h"

static const uint8_t rfc_txid[STUN_TXID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
						0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static const uint8_t txid_a[STUN_TXID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static struct sockaddr_storage ss(const char *text)
{
	struct sockaddr_storage out;

	assert_int_equal(addr_parse(text, &out, NULL), 0);
	return out;
}

static void assert_addr(const struct sockaddr_storage *got, const char *want)
{
	char buf[ADDR_TEXT_MAX];

	assert_string_equal(addr_format((const struct sockaddr *)got, buf, sizeof(buf)), want);
}

/* The server of the tests: primary 192.0.2.1, alternate 192.0.2.2, ports
 * 3478 (main) and 3479 (alternate). */
static struct stun_server_addrs server_v4(int received_on)
{
	struct stun_server_addrs a = {.received_on = received_on};

	a.local[STUN_SOCK_PRIMARY_MAIN] = ss("192.0.2.1:3478");
	a.local[STUN_SOCK_PRIMARY_ALT] = ss("192.0.2.1:3479");
	a.local[STUN_SOCK_ALT_MAIN] = ss("192.0.2.2:3478");
	a.local[STUN_SOCK_ALT_ALT] = ss("192.0.2.2:3479");
	return a;
}

static void test_stun_reads_rfc5769_sample_request(void **state)
{
	struct stun_msg m;
	enum stun_drop why;

	(void)state;
	assert_int_equal(stun_read(rfc5769_request, sizeof(rfc5769_request), &m, &why), 0);
	assert_int_equal(why, STUN_DROP_NONE);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_false(m.is_classic);
	assert_memory_equal(m.txid, rfc_txid, STUN_TXID_LEN);
	assert_true(m.has_fingerprint);
	assert_int_equal(m.software_len, 16);
	assert_memory_equal(m.software, "STUN test client", 16);
	/* PRIORITY (ICE) is comprehension-required and unknown to us. */
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(m.unknown[0], 0x0024);
}

static void test_stun_reads_rfc5769_ipv4_response(void **state)
{
	struct stun_msg m;

	(void)state;
	assert_int_equal(stun_read(rfc5769_response_v4, sizeof(rfc5769_response_v4), &m, NULL), 0);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_memory_equal(m.txid, rfc_txid, STUN_TXID_LEN);
	assert_true(m.has_fingerprint);
	assert_true(m.has_xor_mapped);
	assert_addr(&m.xor_mapped, "192.0.2.1:32853");
	assert_ptr_equal(stun_msg_mapped(&m), (const struct sockaddr *)&m.xor_mapped);
	assert_int_equal(m.software_len, 11);
	assert_memory_equal(m.software, "test vector", 11);
	assert_int_equal(m.n_unknown, 0);
}

static void test_stun_reads_rfc5769_ipv6_response(void **state)
{
	struct stun_msg m;

	(void)state;
	assert_int_equal(stun_read(rfc5769_response_v6, sizeof(rfc5769_response_v6), &m, NULL), 0);
	assert_true(m.has_fingerprint);
	assert_true(m.has_xor_mapped);
	assert_addr(&m.xor_mapped, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

static void assert_drop(const uint8_t *buf, size_t len, enum stun_drop want)
{
	struct stun_msg m;
	enum stun_drop why = STUN_DROP_NONE;

	assert_int_equal(stun_read(buf, len, &m, &why), -EPROTO);
	assert_int_equal(why, want);
}

static void test_stun_drops_every_truncation_of_the_samples(void **state)
{
	const uint8_t *samples[] = {rfc5769_request, rfc5769_response_v4, rfc5769_response_v6};
	const size_t sizes[] = {sizeof(rfc5769_request), sizeof(rfc5769_response_v4),
				sizeof(rfc5769_response_v6)};

	(void)state;
	for (size_t s = 0; s < 3; s++) {
		for (size_t n = 0; n < sizes[s]; n++) {
			struct stun_msg m;

			assert_int_equal(stun_read(samples[s], n, &m, NULL), -EPROTO);
		}
	}
	assert_drop(rfc5769_request, 19, STUN_DROP_SHORT);
	assert_drop(rfc5769_request, 24, STUN_DROP_BAD_LENGTH);
}

static void test_stun_drops_a_flipped_byte_as_bad_fingerprint(void **state)
{
	uint8_t buf[sizeof(rfc5769_response_v4)];

	(void)state;
	memcpy(buf, rfc5769_response_v4, sizeof(buf));
	buf[25] ^= 0x01; /* inside SOFTWARE */
	assert_drop(buf, sizeof(buf), STUN_DROP_BAD_FINGERPRINT);
	memcpy(buf, rfc5769_response_v4, sizeof(buf));
	buf[sizeof(buf) - 1] ^= 0x80; /* the CRC itself */
	assert_drop(buf, sizeof(buf), STUN_DROP_BAD_FINGERPRINT);
}

static void test_stun_drops_bad_length_and_top_bits(void **state)
{
	uint8_t buf[sizeof(rfc5769_response_v4) + 4];

	(void)state;
	memcpy(buf, rfc5769_response_v4, sizeof(rfc5769_response_v4));
	buf[3] += 4; /* claims 4 more bytes than there are */
	assert_drop(buf, sizeof(rfc5769_response_v4), STUN_DROP_BAD_LENGTH);
	memset(buf + sizeof(rfc5769_response_v4), 0, 4);
	buf[3] -= 2; /* not a multiple of 4 */
	assert_drop(buf, sizeof(rfc5769_response_v4) + 2, STUN_DROP_BAD_LENGTH);
	memcpy(buf, rfc5769_response_v4, sizeof(rfc5769_response_v4));
	buf[0] |= 0x80;
	assert_drop(buf, sizeof(rfc5769_response_v4), STUN_DROP_TOP_BITS);
	buf[0] = 0x41;
	assert_drop(buf, sizeof(rfc5769_response_v4), STUN_DROP_TOP_BITS);
}

static void test_stun_drops_an_attribute_running_past_the_end(void **state)
{
	/* Header + one attribute header claiming 8 bytes with only 4 there. */
	uint8_t buf[] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1,  2,
			 3,    4,    5,	   6,	 7,    8,    9,	   10,	 11, 12,
			 0x80, 0x22, 0x00, 0x08, 'a',  'b',  'c',  'd'};

	(void)state;
	assert_drop(buf, sizeof(buf), STUN_DROP_BAD_ATTRIBUTE);
	/* Length 5 needs 3 bytes of padding that are not there (misaligned). */
	buf[23] = 5;
	assert_drop(buf, sizeof(buf), STUN_DROP_BAD_ATTRIBUTE);
	/* Length 4: fits exactly. */
	buf[23] = 4;
	assert_int_equal(stun_read(buf, sizeof(buf), &(struct stun_msg){0}, NULL), 0);
}

static void test_stun_drops_address_attributes_of_the_wrong_size(void **state)
{
	/* MAPPED-ADDRESS, IPv4 family with a 20-byte value. */
	uint8_t buf[20 + 24] = {0x01, 0x01, 0x00, 24, 0x21, 0x12, 0xa4, 0x42, 1,  2,
				3,    4,    5,	  6,  7,    8,	  9,	10,   11, 12,
				0x00, 0x01, 0,	  20, 0,    0x01, 0x12, 0x34};

	(void)state;
	assert_drop(buf, sizeof(buf), STUN_DROP_BAD_ATTRIBUTE);
	/* Family 3 is unknown: the attribute is ignored, not a drop. */
	buf[25] = 3;
	{
		struct stun_msg m;

		assert_int_equal(stun_read(buf, sizeof(buf), &m, NULL), 0);
		assert_false(m.has_mapped);
		assert_null(stun_msg_mapped(&m));
	}
}

static void test_stun_drops_attributes_after_fingerprint(void **state)
{
	uint8_t buf[STUN_REQUEST_MAX + 8];
	size_t n;

	(void)state;
	assert_int_equal(stun_write_request(txid_a, 0, buf, sizeof(buf), &n), 0);
	/* Append SOFTWARE "abcd" after FINGERPRINT and fix the length. */
	memcpy(buf + n,
	       "\x80\x22\x00\x04"
	       "abcd",
	       8);
	buf[3] = (uint8_t)(n + 8 - STUN_HEADER_LEN);
	assert_drop(buf, n + 8, STUN_DROP_BAD_FINGERPRINT);
}

static void test_stun_request_round_trips_with_change_flags(void **state)
{
	const uint32_t flags[] = {0, STUN_CHANGE_PORT, STUN_CHANGE_IP,
				  STUN_CHANGE_IP | STUN_CHANGE_PORT};
	uint8_t buf[STUN_REQUEST_MAX];
	struct stun_msg m;
	size_t n;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(stun_write_request(txid_a, flags[i], buf, sizeof(buf), &n), 0);
		assert_true(n <= STUN_REQUEST_MAX);
		assert_int_equal(stun_read(buf, n, &m, NULL), 0);
		assert_int_equal(m.type, STUN_BINDING_REQUEST);
		assert_memory_equal(m.txid, txid_a, STUN_TXID_LEN);
		assert_true(m.has_fingerprint);
		assert_int_equal(m.has_change_request, flags[i] != 0);
		assert_int_equal(m.change_flags, flags[i]);
	}
	assert_int_equal(stun_write_request(txid_a, 0x1, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(stun_write_request(txid_a, STUN_CHANGE_IP, buf, 27, &n), -ENOSPC);
}

static void test_stun_success_round_trips_ipv4_and_ipv6(void **state)
{
	const char *sets[][3] = {
		{"203.0.113.7:40000", "192.0.2.1:3478", "192.0.2.2:3479"},
		{"[2001:db8::7]:40000", "[2001:db8::1]:3478", "[2001:db8::2]:3479"},
	};
	uint8_t req[STUN_REQUEST_MAX], out[STUN_RESPONSE_MAX];
	struct stun_msg q, m;
	size_t n;

	(void)state;
	assert_int_equal(stun_write_request(txid_a, 0, req, sizeof(req), &n), 0);
	assert_int_equal(stun_read(req, n, &q, NULL), 0);
	for (size_t i = 0; i < 2; i++) {
		struct sockaddr_storage mapped = ss(sets[i][0]), origin = ss(sets[i][1]);
		struct sockaddr_storage other = ss(sets[i][2]);
		struct stun_response_addrs a = {(struct sockaddr *)&mapped,
						(struct sockaddr *)&origin,
						(struct sockaddr *)&other};

		assert_int_equal(stun_write_success(&q, &a, out, sizeof(out), &n), 0);
		assert_true(n <= STUN_RESPONSE_MAX);
		assert_int_equal(stun_read(out, n, &m, NULL), 0);
		assert_int_equal(m.type, STUN_BINDING_SUCCESS);
		assert_memory_equal(m.txid, txid_a, STUN_TXID_LEN);
		assert_true(m.has_fingerprint);
		assert_addr(&m.xor_mapped, sets[i][0]);
		assert_addr(&m.mapped, sets[i][0]);
		assert_addr(&m.response_origin, sets[i][1]);
		assert_addr(&m.source, sets[i][1]);
		assert_addr(&m.other, sets[i][2]);
		assert_addr(&m.changed, sets[i][2]);
		assert_int_equal(m.software_len, strlen(STUN_SOFTWARE_NAME));
		assert_memory_equal(m.software, STUN_SOFTWARE_NAME, m.software_len);
		if (i == 1) {
			/* All six IPv6 addresses: the bound, but for the empty
			 * PADDING a padded request's answer may add. */
			assert_int_equal(n, STUN_RESPONSE_MAX - STUN_ATTR_HEADER_LEN);
		}
	}
}

static void test_stun_server_routes_change_request_to_the_right_socket(void **state)
{
	const uint32_t flags[] = {0, STUN_CHANGE_PORT, STUN_CHANGE_IP,
				  STUN_CHANGE_IP | STUN_CHANGE_PORT};
	struct sockaddr_storage from = ss("203.0.113.7:40000");
	uint8_t req[STUN_REQUEST_MAX], out[STUN_RESPONSE_MAX];
	size_t n, out_len;

	(void)state;
	for (int on = 0; on < STUN_SOCK_COUNT; on++) {
		struct stun_server_addrs a = server_v4(on);

		for (int f = 0; f < 4; f++) {
			struct stun_msg m;
			int idx;
			/* Bit 0 of the index is the port, bit 1 the IP. */
			int want = on ^ ((flags[f] & STUN_CHANGE_PORT) ? 1 : 0) ^
				   ((flags[f] & STUN_CHANGE_IP) ? 2 : 0);

			assert_int_equal(stun_write_request(txid_a, flags[f], req, sizeof(req), &n),
					 0);
			assert_int_equal(stun_server_answer(req, n, (struct sockaddr *)&from, &a,
							    out, sizeof(out), &out_len, &idx),
					 STUN_DROP_NONE);
			assert_int_equal(idx, want);
			assert_int_equal(stun_read(out, out_len, &m, NULL), 0);
			assert_int_equal(m.type, STUN_BINDING_SUCCESS);
			assert_addr(&m.xor_mapped, "203.0.113.7:40000");
			assert_true(m.has_response_origin);
			assert_memory_equal(&m.response_origin, &a.local[want],
					    sizeof(struct sockaddr_in));
			/* OTHER-ADDRESS differs in IP and port from the receiving socket. */
			assert_memory_equal(&m.other, &a.local[on ^ 3], sizeof(struct sockaddr_in));
		}
	}
}

/* The UNKNOWN-ATTRIBUTES of a 420 response, read by hand. */
static void assert_420_lists(const uint8_t *out, size_t len, uint16_t type)
{
	struct stun_msg m;
	bool found = false;

	assert_int_equal(stun_read(out, len, &m, NULL), 0);
	assert_int_equal(m.type, STUN_BINDING_ERROR);
	assert_true(m.has_error);
	assert_int_equal(m.error_code, 420);
	for (size_t i = STUN_HEADER_LEN; i + 4 <= len; i += 2) {
		if (out[i] == 0x00 && out[i + 1] == 0x0A) {
			size_t alen = (size_t)out[i + 2] << 8 | out[i + 3];

			for (size_t k = 0; k < alen; k += 2) {
				found = found ||
					((uint16_t)(out[i + 4 + k] << 8 | out[i + 5 + k]) == type);
			}
			break;
		}
	}
	assert_true(found);
}

static void test_stun_server_refuses_change_request_it_cannot_honour(void **state)
{
	struct stun_server_addrs a = server_v4(STUN_SOCK_PRIMARY_MAIN);
	struct sockaddr_storage from = ss("203.0.113.7:40000");
	uint8_t req[STUN_REQUEST_MAX], out[STUN_RESPONSE_MAX];
	size_t n, out_len;
	int idx;

	(void)state;
	/* A server with one IP: change IP has no socket to send from. */
	memset(&a.local[STUN_SOCK_ALT_MAIN], 0, sizeof(a.local[0]));
	memset(&a.local[STUN_SOCK_ALT_ALT], 0, sizeof(a.local[0]));
	assert_int_equal(stun_write_request(txid_a, STUN_CHANGE_IP, req, sizeof(req), &n), 0);
	assert_int_equal(stun_server_answer(req, n, (struct sockaddr *)&from, &a, out, sizeof(out),
					    &out_len, &idx),
			 STUN_DROP_NONE);
	assert_int_equal(idx, STUN_SOCK_PRIMARY_MAIN);
	assert_true(out_len <= STUN_RESPONSE_MAX);
	assert_420_lists(out, out_len, STUN_ATTR_CHANGE_REQUEST);
	/* Change port still works, and no OTHER-ADDRESS is claimed. */
	assert_int_equal(stun_write_request(txid_a, STUN_CHANGE_PORT, req, sizeof(req), &n), 0);
	assert_int_equal(stun_server_answer(req, n, (struct sockaddr *)&from, &a, out, sizeof(out),
					    &out_len, &idx),
			 STUN_DROP_NONE);
	assert_int_equal(idx, STUN_SOCK_PRIMARY_ALT);
	{
		struct stun_msg m;

		assert_int_equal(stun_read(out, out_len, &m, NULL), 0);
		assert_false(m.has_other);
		assert_false(m.has_changed);
	}
}

static void test_stun_server_answers_unknown_required_attribute_with_420(void **state)
{
	struct stun_server_addrs a = server_v4(STUN_SOCK_ALT_MAIN);
	struct sockaddr_storage from = ss("203.0.113.7:40000");
	uint8_t out[STUN_RESPONSE_MAX];
	size_t out_len;
	int idx;

	(void)state;
	/* RFC 5769 request: PRIORITY is comprehension-required and unknown. */
	assert_int_equal(stun_server_answer(rfc5769_request, sizeof(rfc5769_request),
					    (struct sockaddr *)&from, &a, out, sizeof(out),
					    &out_len, &idx),
			 STUN_DROP_NONE);
	assert_int_equal(idx, STUN_SOCK_ALT_MAIN);
	assert_420_lists(out, out_len, 0x0024);
}

static void test_stun_server_refuses_response_port(void **state)
{
	/* Binding request with RESPONSE-PORT 9999, no FINGERPRINT. */
	const uint8_t req[] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1,  2,
			       3,    4,	   5,	 6,    7,    8,	   9,	 10,   11, 12,
			       0x00, 0x27, 0x00, 0x04, 0x27, 0x0f, 0x00, 0x00};
	struct stun_server_addrs a = server_v4(STUN_SOCK_PRIMARY_MAIN);
	struct sockaddr_storage from = ss("203.0.113.7:40000");
	uint8_t out[STUN_RESPONSE_MAX];
	size_t out_len;
	int idx;

	(void)state;
	assert_int_equal(stun_server_answer(req, sizeof(req), (struct sockaddr *)&from, &a, out,
					    sizeof(out), &out_len, &idx),
			 STUN_DROP_NONE);
	assert_420_lists(out, out_len, STUN_ATTR_RESPONSE_PORT);
}

/* A Binding request with a PADDING of pad_len zero bytes and a FINGERPRINT
 * (RFC 5780 §7.6, as turnutils_natdiscovery -P sends). Returns its size. */
static size_t padded_request(uint8_t *buf, size_t cap, size_t pad_len)
{
	size_t n;

	assert_int_equal(stun_write_request(txid_a, 0, buf, cap, &n), 0);
	n -= STUN_FINGERPRINT_ATTR_LEN;
	assert_true(n + STUN_ATTR_HEADER_LEN + pad_len + STUN_FINGERPRINT_ATTR_LEN <= cap);
	buf[n] = 0x00;
	buf[n + 1] = 0x26;
	buf[n + 2] = (uint8_t)(pad_len >> 8);
	buf[n + 3] = (uint8_t)pad_len;
	memset(buf + n + 4, 0, (pad_len + 3) & ~(size_t)3);
	n += STUN_ATTR_HEADER_LEN + ((pad_len + 3) & ~(size_t)3);
	/* Length with the FINGERPRINT, then the FINGERPRINT over all before. */
	buf[2] = (uint8_t)((n + STUN_FINGERPRINT_ATTR_LEN - STUN_HEADER_LEN) >> 8);
	buf[3] = (uint8_t)(n + STUN_FINGERPRINT_ATTR_LEN - STUN_HEADER_LEN);
	{
		uint32_t crc = 0xFFFFFFFFu;

		for (size_t i = 0; i < n; i++) {
			crc ^= buf[i];
			for (int k = 0; k < 8; k++) {
				crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
			}
		}
		crc = ~crc ^ 0x5354554Eu;
		buf[n] = 0x80;
		buf[n + 1] = 0x28;
		buf[n + 2] = 0;
		buf[n + 3] = 4;
		buf[n + 4] = (uint8_t)(crc >> 24);
		buf[n + 5] = (uint8_t)(crc >> 16);
		buf[n + 6] = (uint8_t)(crc >> 8);
		buf[n + 7] = (uint8_t)crc;
	}
	return n + STUN_FINGERPRINT_ATTR_LEN;
}

static void test_stun_server_pads_a_padded_request_up_to_its_size(void **state)
{
	struct stun_server_addrs a = server_v4(STUN_SOCK_PRIMARY_MAIN);
	struct sockaddr_storage from = ss("203.0.113.7:40000");
	uint8_t req[1600], out[STUN_PADDED_MAX];
	const size_t pads[] = {1400, 0, 200, 1401, 100, 60};
	struct stun_msg m;
	size_t n, out_len;
	int idx;

	(void)state;
	for (size_t i = 0; i < WH_ARRAY_LEN(pads); i++) {
		enum stun_drop why = STUN_DROP_NONE;

		n = padded_request(req, sizeof(req), pads[i]);
		if (stun_read(req, n, &m, &why) != 0) {
			fail_msg("padding %zu: %s", pads[i], stun_drop_name(why));
		}
		assert_true(m.has_padding && m.has_fingerprint);
		assert_int_equal(stun_server_answer(req, n, (struct sockaddr *)&from, &a, out,
						    sizeof(out), &out_len, &idx),
				 STUN_DROP_NONE);
		assert_int_equal(stun_read(out, out_len, &m, NULL), 0);
		assert_int_equal(m.type, STUN_BINDING_SUCCESS);
		assert_true(m.has_xor_mapped && m.has_fingerprint);
		if (pads[i] >= 100) {
			/* As large as the request (to 4 bytes), never larger
			 * (a 132-byte request: 132, where the plain answer
			 * takes 112). */
			assert_true(m.has_padding && out_len <= n && out_len + 4 > n);
		} else {
			/* 32 and 92 bytes, less than the plain answer: that
			 * answer, with no PADDING to make it larger still. */
			assert_false(m.has_padding);
			assert_true(out_len > n && out_len <= STUN_RESPONSE_MAX);
		}
	}
	/* A caller's smaller buffer limits the padding, not the answer. */
	n = padded_request(req, sizeof(req), 1400);
	assert_int_equal(
		stun_server_answer(req, n, (struct sockaddr *)&from, &a, out, 600, &out_len, &idx),
		STUN_DROP_NONE);
	assert_true(out_len <= 600 && out_len > 590);
	assert_int_equal(stun_read(out, out_len, &m, NULL), 0);
	assert_true(m.has_padding);
}

static void test_stun_server_answers_classic_rfc3489_request(void **state)
{
	/* RFC 3489: 16-byte random transaction id, no cookie, CHANGE-REQUEST port. */
	const uint8_t req[] = {0x00, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 1,  2,
			       3,    4,	   5,	 6,    7,    8,	   9,	 10,   11, 12,
			       0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02};
	struct stun_server_addrs a = server_v4(STUN_SOCK_PRIMARY_MAIN);
	struct sockaddr_storage from = ss("203.0.113.7:40000");
	uint8_t out[STUN_RESPONSE_MAX];
	struct stun_msg m;
	size_t out_len;
	int idx;

	(void)state;
	assert_int_equal(stun_server_answer(req, sizeof(req), (struct sockaddr *)&from, &a, out,
					    sizeof(out), &out_len, &idx),
			 STUN_DROP_NONE);
	assert_int_equal(idx, STUN_SOCK_PRIMARY_ALT);
	/* The whole 16-byte id comes back right after type and length. */
	assert_memory_equal(out + 4, req + 4, STUN_CLASSIC_TXID_LEN);
	assert_int_equal(stun_read(out, out_len, &m, NULL), 0);
	assert_true(m.is_classic);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_false(m.has_xor_mapped);
	assert_false(m.has_fingerprint);
	assert_addr(&m.mapped, "203.0.113.7:40000");
	assert_addr(&m.source, "192.0.2.1:3479");
	assert_addr(&m.changed, "192.0.2.2:3479");
}

static void test_stun_server_drops_responses_indications_and_malformed(void **state)
{
	struct stun_server_addrs a = server_v4(STUN_SOCK_PRIMARY_MAIN);
	struct sockaddr_storage from = ss("203.0.113.7:40000");
	uint8_t req[STUN_REQUEST_MAX], out[STUN_RESPONSE_MAX];
	size_t n, out_len = 99;
	int idx = 99;

	(void)state;
	assert_int_equal(stun_server_answer(rfc5769_response_v4, sizeof(rfc5769_response_v4),
					    (struct sockaddr *)&from, &a, out, sizeof(out),
					    &out_len, &idx),
			 STUN_DROP_NOT_REQUEST);
	assert_int_equal(out_len, 0);
	assert_int_equal(idx, -1);
	/* A Binding indication (no attributes) is never answered. */
	memcpy(req,
	       "\x00\x11\x00\x00\x21\x12\xa4\x42"
	       "abcdefghijkl",
	       STUN_HEADER_LEN);
	assert_int_equal(stun_server_answer(req, STUN_HEADER_LEN, (struct sockaddr *)&from, &a, out,
					    sizeof(out), &out_len, &idx),
			 STUN_DROP_NOT_REQUEST);
	assert_int_equal(stun_write_request(txid_a, 0, req, sizeof(req), &n), 0);
	req[5] ^= 0xff; /* bad cookie: read as RFC 3489, but the FINGERPRINT no longer matches */
	assert_int_equal(stun_server_answer(req, n, (struct sockaddr *)&from, &a, out, sizeof(out),
					    &out_len, &idx),
			 STUN_DROP_BAD_FINGERPRINT);
	assert_int_equal(stun_server_answer(req, 10, (struct sockaddr *)&from, &a, out, sizeof(out),
					    &out_len, &idx),
			 STUN_DROP_SHORT);
	assert_int_equal(stun_write_request(txid_a, 0, req, sizeof(req), &n), 0);
	assert_int_equal(stun_server_answer(req, n, (struct sockaddr *)&from, &a, out,
					    STUN_RESPONSE_MAX - 1, &out_len, &idx),
			 STUN_DROP_NO_ROOM);
	a.received_on = 7;
	assert_int_equal(stun_server_answer(req, n, (struct sockaddr *)&from, &a, out, sizeof(out),
					    &out_len, &idx),
			 STUN_DROP_NO_SOCKET);
}

static void test_stun_server_never_replies_above_the_bound_under_mutation(void **state)
{
	unsigned seed = 0x5eed5u;
	struct stun_server_addrs a;
	struct sockaddr_storage from = ss("[2001:db8::7]:40000");
	uint8_t req[STUN_REQUEST_MAX], buf[256], out[512];

	(void)state;
	if (getenv("WH_TEST_SEED")) {
		seed = (unsigned)strtoul(getenv("WH_TEST_SEED"), NULL, 0);
	}
	memset(&a, 0, sizeof(a));
	a.local[0] = ss("[2001:db8::1]:3478");
	a.local[1] = ss("[2001:db8::1]:3479");
	a.local[2] = ss("[2001:db8::2]:3478");
	a.local[3] = ss("[2001:db8::2]:3479");
	srand(seed);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n, out_len, len;
		int idx;
		enum stun_drop d;

		assert_int_equal(
			stun_write_request(txid_a, (uint32_t)(iter & 6), req, sizeof(req), &n), 0);
		memcpy(buf, req, n);
		len = n;
		/* Mutate a few bytes; sometimes drop the FINGERPRINT so the
		 * mutation survives to the attribute parser. */
		if (iter & 1) {
			len -= STUN_FINGERPRINT_ATTR_LEN;
			buf[3] = (uint8_t)(len - STUN_HEADER_LEN);
		}
		for (int k = rand() % 4; k >= 0; k--) {
			buf[(size_t)rand() % len] = (uint8_t)rand();
		}
		a.received_on = iter % 4;
		d = stun_server_answer(buf, len, (struct sockaddr *)&from, &a, out, sizeof(out),
				       &out_len, &idx);
		if (d == STUN_DROP_NONE) {
			if (out_len > (len > STUN_RESPONSE_MAX ? len : STUN_RESPONSE_MAX) ||
			    idx < 0 || idx > 3) {
				fail_msg("seed %u iter %d: out_len %zu idx %d", seed, iter, out_len,
					 idx);
			}
		} else if (out_len != 0) {
			fail_msg("seed %u iter %d: dropped with out_len %zu", seed, iter, out_len);
		}
	}
}

static void test_stun_skips_unknown_optional_and_records_unknown_required(void **state)
{
	/* 0x8123 (optional, 1 byte + padding), 0x0042 (required), 0x0042 again. */
	const uint8_t buf[] = {0x00, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42, 1,    2,	   3,
			       4,    5,	   6,	 7,    8,    9,	   10,	 11,   12,   0x81, 0x23,
			       0x00, 0x01, 0xaa, 0x00, 0x00, 0x00, 0x00, 0x42, 0x00, 0x04, 1,
			       2,    3,	   4,	 0x00, 0x42, 0x00, 0x04, 1,    2,    3,	   4};
	struct stun_msg m;

	(void)state;
	assert_int_equal(stun_read(buf, sizeof(buf), &m, NULL), 0);
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(m.unknown[0], 0x0042);
	assert_string_equal(stun_drop_name(STUN_DROP_BAD_FINGERPRINT), "bad_fingerprint");
	assert_string_equal(stun_drop_name(STUN_DROP_RATE_LIMITED), "rate_limited");
	assert_string_equal(stun_drop_name(STUN_DROP_COUNT), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stun_reads_rfc5769_sample_request),
		cmocka_unit_test(test_stun_reads_rfc5769_ipv4_response),
		cmocka_unit_test(test_stun_reads_rfc5769_ipv6_response),
		cmocka_unit_test(test_stun_drops_every_truncation_of_the_samples),
		cmocka_unit_test(test_stun_drops_a_flipped_byte_as_bad_fingerprint),
		cmocka_unit_test(test_stun_drops_bad_length_and_top_bits),
		cmocka_unit_test(test_stun_drops_an_attribute_running_past_the_end),
		cmocka_unit_test(test_stun_drops_address_attributes_of_the_wrong_size),
		cmocka_unit_test(test_stun_drops_attributes_after_fingerprint),
		cmocka_unit_test(test_stun_request_round_trips_with_change_flags),
		cmocka_unit_test(test_stun_success_round_trips_ipv4_and_ipv6),
		cmocka_unit_test(test_stun_server_routes_change_request_to_the_right_socket),
		cmocka_unit_test(test_stun_server_refuses_change_request_it_cannot_honour),
		cmocka_unit_test(test_stun_server_answers_unknown_required_attribute_with_420),
		cmocka_unit_test(test_stun_server_refuses_response_port),
		cmocka_unit_test(test_stun_server_answers_classic_rfc3489_request),
		cmocka_unit_test(test_stun_server_pads_a_padded_request_up_to_its_size),
		cmocka_unit_test(test_stun_server_drops_responses_indications_and_malformed),
		cmocka_unit_test(test_stun_server_never_replies_above_the_bound_under_mutation),
		cmocka_unit_test(test_stun_skips_unknown_optional_and_records_unknown_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
