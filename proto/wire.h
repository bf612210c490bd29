/* wire: the bounds-checked reader and writer every parser and writer uses
 * (STYLE §7). Big-endian. A short read or an overflowing write sets `err`,
 * which stays set; reads then return zero and never move past the end. */
#ifndef WH_WIRE_H
#define WH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct wire_reader {
	const uint8_t *ptr; /* borrowed: the caller's buffer */
	size_t left;
	bool err;
};

struct wire_writer {
	uint8_t *buf; /* borrowed: the caller's buffer */
	size_t cap;
	size_t len;
	bool err;
};

/* Start reading len bytes at buf (buf may be NULL when len is 0). */
void wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len);

uint8_t wire_read_u8(struct wire_reader *r);
uint16_t wire_read_u16(struct wire_reader *r);
uint32_t wire_read_u32(struct wire_reader *r);
uint64_t wire_read_u64(struct wire_reader *r);
/* Copy len bytes to out; on a short read out is zero-filled and err set. */
void wire_read_bytes(struct wire_reader *r, uint8_t *out, size_t len);
/* Skip len bytes; sets err if fewer are left. */
void wire_skip(struct wire_reader *r, size_t len);
/* Borrow len bytes in place: returns a pointer into the reader's buffer (valid
 * while that buffer lives), or NULL with err set when fewer than len are left.
 * len 0 returns the current position. */
const uint8_t *wire_read_ptr(struct wire_reader *r, size_t len);
/* Split off the next len bytes as a sub-reader; sets err (and an empty sub) if
 * fewer are left. */
void wire_read_sub(struct wire_reader *r, size_t len, struct wire_reader *sub);

/* Bytes left to read (0 after an error). */
size_t wire_reader_left(const struct wire_reader *r);

/* End of a parse: 0 if no read failed and no byte is left over; -EPROTO
 * otherwise. A format that allows trailing bytes skips them first. */
WH_MUST_CHECK int wire_reader_done(const struct wire_reader *r);

/* Start writing into buf (cap bytes). */
void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap);

void wire_write_u8(struct wire_writer *w, uint8_t v);
void wire_write_u16(struct wire_writer *w, uint16_t v);
void wire_write_u32(struct wire_writer *w, uint32_t v);
void wire_write_u64(struct wire_writer *w, uint64_t v);
/* Append len bytes (src may be NULL when len is 0). */
void wire_write_bytes(struct wire_writer *w, const uint8_t *src, size_t len);
/* Append len zero bytes. */
void wire_write_zeros(struct wire_writer *w, size_t len);
/* Reserve len bytes to be filled later: returns a pointer to them, or NULL
 * with err set if they do not fit. */
uint8_t *wire_write_reserve(struct wire_writer *w, size_t len);

/* End of a write: 0 and *len_out = bytes written (len_out may be NULL), or
 * -ENOSPC if anything did not fit. */
WH_MUST_CHECK int wire_writer_done(const struct wire_writer *w, size_t *len_out);

/* Store/load big-endian integers at p (helpers for fixed offsets). */
void wire_put_u32(uint8_t *p, uint32_t v);
uint32_t wire_get_u32(const uint8_t *p);
void wire_put_u64(uint8_t *p, uint64_t v);
uint64_t wire_get_u64(const uint8_t *p);

#endif
