/* fuzz_wire: drive the bounded reader and writer (proto/wire) with an
 * input-chosen sequence of operations and check their invariants: the
 * cursor never leaves the buffer, an error is sticky, and a writer never
 * writes past its capacity (ASan watches the exact-size buffers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

/* One reader op chosen by op; n sizes the variable-length ones. */
static void read_op(struct wire_reader *r, uint8_t op, size_t n, struct wire_writer *w)
{
	uint8_t tmp[256];
	const uint8_t *p;

	switch (op % 7) {
	case 0:
		wire_write_u8(w, wire_read_u8(r));
		break;
	case 1:
		wire_write_u16(w, wire_read_u16(r));
		break;
	case 2:
		wire_write_u32(w, wire_read_u32(r));
		break;
	case 3:
		wire_write_u64(w, wire_read_u64(r));
		break;
	case 4:
		wire_read_bytes(r, tmp, n);
		wire_write_bytes(w, tmp, n);
		break;
	case 5:
		wire_skip(r, n);
		wire_write_zeros(w, n);
		break;
	default:
		p = wire_read_ptr(r, n);
		check(p != NULL || r->err);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_reader r;
	struct wire_reader ops;
	struct wire_writer w;
	uint8_t *out;
	size_t cap;

	if (size < 2) {
		return 0;
	}
	/* data[0]: writer capacity; data[1]: how many op bytes; then ops, then
	 * the buffer the reader walks. */
	cap = data[0];
	wire_reader_init(&ops, data + 2, data[1] < size - 2 ? data[1] : size - 2);
	wire_reader_init(&r, data + 2 + ops.left, size - 2 - ops.left);
	out = malloc(cap ? cap : 1);
	if (!out) {
		return 0;
	}
	wire_writer_init(&w, out, cap);
	while (wire_reader_left(&ops) >= 2) {
		const uint8_t *before = r.ptr;
		size_t left = r.left;
		bool was_err = r.err;
		uint8_t op = wire_read_u8(&ops);

		read_op(&r, op, wire_read_u8(&ops), &w);
		check(r.ptr >= before && r.left <= left &&
		      (size_t)(r.ptr - before) == left - r.left);
		check(!was_err || (r.err && r.ptr == before));
		check(w.len <= w.cap);
	}
	check((wire_reader_done(&r) == 0) == (!r.err && r.left == 0));
	free(out);
	return 0;
}
