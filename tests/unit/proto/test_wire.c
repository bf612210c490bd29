/* test_wire: the bounded reader and writer (STYLE §7): big-endian values,
 * short reads that set a sticky error without moving, leftovers refused by
 * wire_reader_done, and writer overflow. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/wire.h"

static void test_wire_reads_big_endian_values(void **state)
{
	const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
			       0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13};
	struct wire_reader r;
	uint8_t tail[4];

	(void)state;
	wire_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(wire_read_u8(&r), 0x01);
	assert_int_equal(wire_read_u16(&r), 0x0203);
	assert_int_equal(wire_read_u32(&r), 0x04050607);
	assert_true(wire_read_u64(&r) == 0x08090a0b0c0d0e0full);
	wire_read_bytes(&r, tail, sizeof(tail));
	assert_memory_equal(tail, buf + 15, 4);
	assert_int_equal(wire_reader_done(&r), 0);
}

static void test_wire_short_read_sets_sticky_error_and_does_not_move(void **state)
{
	const uint8_t buf[] = {0xaa, 0xbb, 0xcc};
	struct wire_reader r;

	(void)state;
	wire_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(wire_read_u32(&r), 0);
	assert_true(r.err);
	assert_int_equal(r.left, 3);
	assert_ptr_equal(r.ptr, buf);
	/* Once failed, even a read that would fit returns zero. */
	assert_int_equal(wire_read_u8(&r), 0);
	assert_int_equal(wire_reader_left(&r), 0);
	assert_int_equal(wire_reader_done(&r), -EPROTO);
}

static void test_wire_short_bytes_read_zero_fills(void **state)
{
	const uint8_t buf[] = {1, 2};
	uint8_t out[4] = {9, 9, 9, 9};
	const uint8_t zero[4] = {0};
	struct wire_reader r;

	(void)state;
	wire_reader_init(&r, buf, sizeof(buf));
	wire_read_bytes(&r, out, sizeof(out));
	assert_memory_equal(out, zero, sizeof(out));
	assert_int_equal(wire_reader_done(&r), -EPROTO);
}

static void test_wire_done_refuses_leftover_bytes(void **state)
{
	const uint8_t buf[] = {1, 2, 3};
	struct wire_reader r;

	(void)state;
	wire_reader_init(&r, buf, sizeof(buf));
	(void)wire_read_u16(&r);
	assert_int_equal(wire_reader_done(&r), -EPROTO);
	wire_skip(&r, 1);
	assert_int_equal(wire_reader_done(&r), 0);
	wire_skip(&r, 1);
	assert_int_equal(wire_reader_done(&r), -EPROTO);
}

static void test_wire_ptr_and_sub_reader_stay_in_bounds(void **state)
{
	const uint8_t buf[] = {0, 2, 0xde, 0xad, 0xff};
	struct wire_reader r;
	struct wire_reader sub;
	size_t len;

	(void)state;
	wire_reader_init(&r, buf, sizeof(buf));
	len = wire_read_u16(&r);
	wire_read_sub(&r, len, &sub);
	assert_int_equal(wire_read_u16(&sub), 0xdead);
	assert_int_equal(wire_reader_done(&sub), 0);
	assert_ptr_equal(wire_read_ptr(&r, 1), buf + 4);
	assert_null(wire_read_ptr(&r, 1));
	assert_true(r.err);
	wire_reader_init(&r, buf, sizeof(buf));
	wire_read_sub(&r, 6, &sub);
	assert_true(r.err);
	assert_true(sub.err);
	assert_int_equal(wire_reader_done(&sub), -EPROTO);
}

static void test_wire_empty_and_null_buffers_read_nothing(void **state)
{
	struct wire_reader r;

	(void)state;
	wire_reader_init(&r, NULL, 10);
	assert_int_equal(wire_reader_done(&r), 0);
	assert_int_equal(wire_read_u8(&r), 0);
	assert_int_equal(wire_reader_done(&r), -EPROTO);
}

static void test_wire_writer_round_trips_through_reader(void **state)
{
	uint8_t buf[32];
	const uint8_t raw[3] = {7, 8, 9};
	struct wire_writer w;
	struct wire_reader r;
	uint8_t back[3];
	size_t len = 0;

	(void)state;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_write_u8(&w, 0xfe);
	wire_write_u16(&w, 0xbeef);
	wire_write_u32(&w, 0xcafebabe);
	wire_write_u64(&w, 0x0123456789abcdefull);
	wire_write_bytes(&w, raw, sizeof(raw));
	wire_write_zeros(&w, 2);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, 1 + 2 + 4 + 8 + 3 + 2);
	assert_int_equal(buf[1], 0xbe);
	wire_reader_init(&r, buf, len);
	assert_int_equal(wire_read_u8(&r), 0xfe);
	assert_int_equal(wire_read_u16(&r), 0xbeef);
	assert_int_equal(wire_read_u32(&r), 0xcafebabe);
	assert_true(wire_read_u64(&r) == 0x0123456789abcdefull);
	wire_read_bytes(&r, back, sizeof(back));
	assert_memory_equal(back, raw, sizeof(raw));
	assert_int_equal(wire_read_u16(&r), 0);
	assert_int_equal(wire_reader_done(&r), 0);
}

static void test_wire_writer_overflow_sets_error_and_keeps_length(void **state)
{
	uint8_t buf[8] = {0};
	struct wire_writer w;
	size_t len = 99;

	(void)state;
	wire_writer_init(&w, buf, 5);
	wire_write_u32(&w, 0x01020304);
	wire_write_u16(&w, 0xffff);
	assert_true(w.err);
	assert_int_equal(w.len, 4);
	assert_int_equal(buf[4], 0);
	wire_write_u8(&w, 1); /* fits, but the writer already failed */
	assert_int_equal(w.len, 4);
	assert_int_equal(wire_writer_done(&w, &len), -ENOSPC);
	assert_int_equal(len, 99);
	assert_null(wire_write_reserve(&w, 0));
}

static void test_wire_fixed_offset_helpers_are_big_endian(void **state)
{
	uint8_t b[8];

	(void)state;
	wire_put_u64(b, 0x1122334455667788ull);
	assert_int_equal(b[0], 0x11);
	assert_int_equal(b[7], 0x88);
	assert_true(wire_get_u64(b) == 0x1122334455667788ull);
	wire_put_u32(b, 0xa1b2c3d4);
	assert_int_equal(b[0], 0xa1);
	assert_int_equal(wire_get_u32(b), 0xa1b2c3d4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_reads_big_endian_values),
		cmocka_unit_test(test_wire_short_read_sets_sticky_error_and_does_not_move),
		cmocka_unit_test(test_wire_short_bytes_read_zero_fills),
		cmocka_unit_test(test_wire_done_refuses_leftover_bytes),
		cmocka_unit_test(test_wire_ptr_and_sub_reader_stay_in_bounds),
		cmocka_unit_test(test_wire_empty_and_null_buffers_read_nothing),
		cmocka_unit_test(test_wire_writer_round_trips_through_reader),
		cmocka_unit_test(test_wire_writer_overflow_sets_error_and_keeps_length),
		cmocka_unit_test(test_wire_fixed_offset_helpers_are_big_endian),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
