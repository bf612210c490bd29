/* fuzz_frame: decode a decrypted packet's frames with the production
 * reader (frame_read_next), and check that every frame it accepts is
 * valid, re-encodes to exactly the bytes frame_size() predicts, and decodes
 * back the same (the writer never emits what the reader would refuse). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[WIRE_FRAME_HEADER_LEN + 0xFFFF];

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

static void round_trip(const struct frame *f)
{
	struct wire_writer w;
	struct frame_reader fr;
	struct frame back;
	size_t len = 0;

	check(frame_validate(f) == 0);
	wire_writer_init(&w, out, sizeof(out));
	check(frame_write(&w, f) == 0);
	check(wire_writer_done(&w, &len) == 0);
	check(len == frame_size(f));
	frame_reader_init(&fr, out, len);
	check(frame_read_next(&fr, &back) == 1);
	check(back.type == f->type);
	check(frame_read_next(&fr, &back) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader fr;
	struct frame f;
	int rc;

	frame_reader_init(&fr, data, size);
	while ((rc = frame_read_next(&fr, &f)) == 1) {
		round_trip(&f);
	}
	check(rc == 0 || rc == -EPROTO);
	check(frame_read_next(&fr, &f) == rc);
	return 0;
}
