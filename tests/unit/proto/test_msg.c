/* test_msg: the outer message formats round-trip, and readers refuse wrong
 * sizes, wrong types and non-zero reserved bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/msg.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)(seed + i * 7);
	}
}

static void test_msg_initiation_round_trips(void **state)
{
	struct msg_initiation in;
	struct msg_initiation out;
	uint8_t buf[WIRE_INIT_LEN + 1];
	struct wire_writer w;
	size_t len = 0;

	(void)state;
	in.sender_index = 0xa1b2c3d4;
	fill(in.noise, sizeof(in.noise), 1);
	fill(in.mac1, sizeof(in.mac1), 2);
	fill(in.mac2, sizeof(in.mac2), 3);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(msg_write_initiation(&w, &in), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, WIRE_INIT_LEN);
	assert_int_equal(buf[0], WIRE_MSG_INITIATION);
	assert_int_equal(msg_type(buf, len), WIRE_MSG_INITIATION);
	assert_int_equal(buf[4], 0xa1); /* big-endian index */
	assert_int_equal(msg_read_initiation(buf, len, &out), 0);
	assert_int_equal(out.sender_index, in.sender_index);
	assert_memory_equal(out.noise, in.noise, sizeof(in.noise));
	assert_memory_equal(out.mac1, in.mac1, sizeof(in.mac1));
	assert_memory_equal(out.mac2, in.mac2, sizeof(in.mac2));
	assert_int_equal(msg_read_initiation(buf, len - 1, &out), -EPROTO);
	assert_int_equal(msg_read_initiation(buf, len + 1, &out), -EPROTO);
	buf[2] = 1;
	assert_int_equal(msg_read_initiation(buf, len, &out), -EPROTO);
	buf[2] = 0;
	buf[0] = WIRE_MSG_RESPONSE;
	assert_int_equal(msg_read_initiation(buf, len, &out), -EPROTO);
}

static void test_msg_response_round_trips(void **state)
{
	struct msg_response in;
	struct msg_response out;
	uint8_t buf[WIRE_RESP_LEN];
	struct wire_writer w;
	size_t len = 0;

	(void)state;
	in.sender_index = 11;
	in.receiver_index = 0xfeedface;
	fill(in.noise, sizeof(in.noise), 4);
	fill(in.mac1, sizeof(in.mac1), 5);
	fill(in.mac2, sizeof(in.mac2), 6);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(msg_write_response(&w, &in), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, WIRE_RESP_LEN);
	assert_int_equal(msg_read_response(buf, len, &out), 0);
	assert_int_equal(out.sender_index, 11);
	assert_int_equal(out.receiver_index, 0xfeedface);
	assert_memory_equal(out.noise, in.noise, sizeof(in.noise));
	assert_memory_equal(out.mac2, in.mac2, sizeof(in.mac2));
	buf[3] = 0x80;
	assert_int_equal(msg_read_response(buf, len, &out), -EPROTO);
	/* A writer with too little room reports it. */
	wire_writer_init(&w, buf, WIRE_RESP_LEN - 1);
	assert_int_equal(msg_write_response(&w, &in), -ENOSPC);
}

static void test_msg_cookie_reply_round_trips(void **state)
{
	struct msg_cookie_reply in;
	struct msg_cookie_reply out;
	uint8_t buf[WIRE_COOKIE_REPLY_LEN];
	struct wire_writer w;
	size_t len = 0;

	(void)state;
	in.receiver_index = 99;
	fill(in.nonce, sizeof(in.nonce), 7);
	fill(in.cookie_enc, sizeof(in.cookie_enc), 8);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(msg_write_cookie_reply(&w, &in), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, WIRE_COOKIE_REPLY_LEN);
	assert_int_equal(msg_read_cookie_reply(buf, len, &out), 0);
	assert_int_equal(out.receiver_index, 99);
	assert_memory_equal(out.nonce, in.nonce, sizeof(in.nonce));
	assert_memory_equal(out.cookie_enc, in.cookie_enc, sizeof(in.cookie_enc));
	assert_int_equal(msg_read_cookie_reply(buf, len - 1, &out), -EPROTO);
}

static void test_msg_transport_borrows_header_and_ciphertext(void **state)
{
	uint8_t buf[WIRE_TRANSPORT_MIN_LEN + 5];
	struct msg_transport m;
	struct wire_writer w;

	(void)state;
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(msg_write_transport_header(&w, 0x01020304, 0x1122334455667788ull), 0);
	assert_int_equal(w.len, WIRE_TRANSPORT_HEADER_LEN);
	fill(buf + WIRE_TRANSPORT_HEADER_LEN, sizeof(buf) - WIRE_TRANSPORT_HEADER_LEN, 9);
	assert_int_equal(msg_read_transport(buf, sizeof(buf), &m), 0);
	assert_int_equal(m.receiver_index, 0x01020304);
	assert_true(m.counter == 0x1122334455667788ull);
	assert_ptr_equal(m.header, buf);
	assert_ptr_equal(m.ciphertext, buf + WIRE_TRANSPORT_HEADER_LEN);
	assert_int_equal(m.ciphertext_len, WIRE_TAG_LEN + 5);
	/* Shorter than header + tag, or with reserved bits set: refused. */
	assert_int_equal(msg_read_transport(buf, WIRE_TRANSPORT_MIN_LEN - 1, &m), -EPROTO);
	assert_int_equal(msg_read_transport(buf, WIRE_TRANSPORT_MIN_LEN, &m), 0);
	buf[1] = 1;
	assert_int_equal(msg_read_transport(buf, sizeof(buf), &m), -EPROTO);
}

static void test_msg_type_of_empty_datagram_is_zero(void **state)
{
	(void)state;
	assert_int_equal(msg_type(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_initiation_round_trips),
		cmocka_unit_test(test_msg_response_round_trips),
		cmocka_unit_test(test_msg_cookie_reply_round_trips),
		cmocka_unit_test(test_msg_transport_borrows_header_and_ciphertext),
		cmocka_unit_test(test_msg_type_of_empty_datagram_is_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
