/* test_demux: table-driven STUN / wormhole demultiplexing (RFC 7983 style):
 * the RFC 5769 sample messages are STUN, each wormhole type is recognised at
 * its size, and truncated or garbage datagrams are dropped with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/compiler.h"
#include "proto/demux.h"
#include "proto/wire_const.h"
#include "tests/rfc5769.h"

static uint8_t scratch[WIRE_MAX_PACKET + 8];

/* A wormhole datagram of the given type: type, zero reserved, filler.
 * One shared buffer: use the result before the next call. */
static const uint8_t *wh(uint8_t type)
{
	memset(scratch, 0x77, sizeof(scratch));
	scratch[0] = type;
	scratch[1] = scratch[2] = scratch[3] = 0;
	return scratch;
}

struct demux_case {
	const char *what;
	const uint8_t *buf;
	size_t len;
	enum demux_kind kind;
	enum demux_reason reason;
};

static void run(const struct demux_case *c)
{
	enum demux_reason reason = DEMUX_REASON_COUNT;
	enum demux_kind kind = demux_classify(c->buf, c->len, &reason);

	if (kind != c->kind || reason != c->reason) {
		fail_msg("%s: kind %d reason %s, want kind %d reason %s", c->what, kind,
			 demux_reason_name(reason), c->kind, demux_reason_name(c->reason));
	}
}

static void test_demux_rfc5769_samples_are_stun(void **state)
{
	const struct demux_case cases[] = {
		{"request", rfc5769_request, sizeof(rfc5769_request), DEMUX_STUN, DEMUX_OK},
		{"response", rfc5769_response_v4, sizeof(rfc5769_response_v4), DEMUX_STUN,
		 DEMUX_OK},
		{"request truncated", rfc5769_request, sizeof(rfc5769_request) - 4, DEMUX_DROP,
		 DEMUX_STUN_BAD_LENGTH},
		{"header only", rfc5769_request, 19, DEMUX_DROP, DEMUX_STUN_SHORT},
	};

	(void)state;
	for (size_t i = 0; i < WH_ARRAY_LEN(cases); i++) {
		run(&cases[i]);
	}
}

static void test_demux_stun_without_cookie_is_classic_stun_and_needs_aligned_length(void **state)
{
	uint8_t b[sizeof(rfc5769_request)];
	enum demux_reason r;

	(void)state;
	/* An RFC 3489 request has transaction-id bytes where the cookie would be. */
	memcpy(b, rfc5769_request, sizeof(b));
	b[7] ^= 1;
	assert_int_equal(demux_classify(b, sizeof(b), &r), DEMUX_STUN);
	assert_int_equal(r, DEMUX_OK);
	/* A 21-byte message whose length field says 1: not a multiple of 4. */
	memcpy(b, rfc5769_request, 20);
	b[2] = 0;
	b[3] = 1;
	assert_int_equal(demux_classify(b, 21, &r), DEMUX_DROP);
	assert_int_equal(r, DEMUX_STUN_BAD_LENGTH);
	/* A bare 20-byte binding request (no attributes) is fine. */
	b[3] = 0;
	assert_int_equal(demux_classify(b, 20, &r), DEMUX_STUN);
}

static void test_demux_each_wormhole_type_at_its_size(void **state)
{
	const struct {
		uint8_t type;
		size_t len;
		enum demux_kind kind;
	} ok[] = {
		{WIRE_MSG_INITIATION, WIRE_INIT_LEN, DEMUX_INITIATION},
		{WIRE_MSG_RESPONSE, WIRE_RESP_LEN, DEMUX_RESPONSE},
		{WIRE_MSG_COOKIE_REPLY, WIRE_COOKIE_REPLY_LEN, DEMUX_COOKIE_REPLY},
		{WIRE_MSG_TRANSPORT, WIRE_TRANSPORT_MIN_LEN, DEMUX_TRANSPORT},
		{WIRE_MSG_TRANSPORT, WIRE_MAX_PACKET, DEMUX_TRANSPORT},
		{WIRE_MSG_RESTARTED, WIRE_RESTARTED_LEN, DEMUX_RESTARTED},
	};

	(void)state;
	for (size_t i = 0; i < WH_ARRAY_LEN(ok); i++) {
		const uint8_t *b = wh(ok[i].type);
		struct demux_case c = {"wormhole", b, ok[i].len, ok[i].kind, DEMUX_OK};
		struct demux_case shorter = {"short", b, ok[i].len - 1, DEMUX_DROP, DEMUX_BAD_SIZE};

		run(&c);
		if (ok[i].len != WIRE_MAX_PACKET) {
			run(&shorter);
		}
		if (ok[i].type != WIRE_MSG_TRANSPORT) {
			struct demux_case longer = {"long", b, ok[i].len + 1, DEMUX_DROP,
						    DEMUX_BAD_SIZE};

			run(&longer);
		}
	}
}

static void test_demux_truncated_and_garbage_are_dropped(void **state)
{
	const uint8_t rtp[] = {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
	const uint8_t dtls[] = {22, 0xfe, 0xfd, 0, 0};
	const uint8_t one_byte[] = {WIRE_MSG_INITIATION};
	const uint8_t zero[] = {0};
	const uint8_t below[100] = {0xd0};
	const uint8_t above[100] = {0xd6};
	uint8_t reserved[WIRE_TRANSPORT_MIN_LEN] = {WIRE_MSG_TRANSPORT, 0, 1, 0};
	const struct demux_case cases[] = {
		{"empty", NULL, 0, DEMUX_DROP, DEMUX_EMPTY},
		{"rtp", rtp, sizeof(rtp), DEMUX_DROP, DEMUX_UNKNOWN_TYPE},
		{"dtls", dtls, sizeof(dtls), DEMUX_DROP, DEMUX_UNKNOWN_TYPE},
		{"one byte initiation", one_byte, 1, DEMUX_DROP, DEMUX_BAD_SIZE},
		{"one zero byte", zero, 1, DEMUX_DROP, DEMUX_STUN_SHORT},
		{"reserved set", reserved, sizeof(reserved), DEMUX_DROP, DEMUX_BAD_RESERVED},
		{"0xd0", below, sizeof(below), DEMUX_DROP, DEMUX_UNKNOWN_TYPE},
		{"0xd6", above, sizeof(above), DEMUX_DROP, DEMUX_UNKNOWN_TYPE},
	};
	struct demux_case jumbo = {"jumbo transport", wh(WIRE_MSG_TRANSPORT), WIRE_MAX_PACKET + 1,
				   DEMUX_DROP, DEMUX_BAD_SIZE};

	(void)state;
	for (size_t i = 0; i < WH_ARRAY_LEN(cases); i++) {
		run(&cases[i]);
	}
	run(&jumbo);
	assert_int_equal(demux_classify(rtp, sizeof(rtp), NULL), DEMUX_DROP);
}

static void test_demux_every_first_byte_has_one_answer(void **state)
{
	uint8_t b[WIRE_INIT_LEN];
	enum demux_reason r;

	(void)state;
	for (unsigned first = 0; first < 256; first++) {
		enum demux_kind k;

		memset(b, 0, sizeof(b));
		b[0] = (uint8_t)first;
		k = demux_classify(b, sizeof(b), &r);
		if (first == WIRE_MSG_INITIATION) {
			assert_int_equal(k, DEMUX_INITIATION);
		} else {
			/* 145 bytes fits no other wormhole type, nor STUN (no cookie). */
			assert_int_equal(k, first == WIRE_MSG_TRANSPORT ? DEMUX_TRANSPORT
									: DEMUX_DROP);
		}
		assert_string_not_equal(demux_reason_name(r), "invalid");
	}
	assert_string_equal(demux_reason_name(DEMUX_REASON_COUNT), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demux_rfc5769_samples_are_stun),
		cmocka_unit_test(
			test_demux_stun_without_cookie_is_classic_stun_and_needs_aligned_length),
		cmocka_unit_test(test_demux_each_wormhole_type_at_its_size),
		cmocka_unit_test(test_demux_truncated_and_garbage_are_dropped),
		cmocka_unit_test(test_demux_every_first_byte_has_one_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
