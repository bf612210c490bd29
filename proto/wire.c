/* wire: bounded cursor reader and capacity-checked writer (STYLE §7).
 * Owns nothing: both borrow the caller's buffer. Every read checks `left`
 * first; a failed read sets the sticky `err`, returns zero and does not move
 * the cursor, so a truncated packet never becomes a zero-filled message
 * silently: wire_reader_done() reports it. No byte order assumptions: every
 * integer is assembled byte by byte, big-endian. */
#include "proto/wire.h"

#include <errno.h>
#include <string.h>

void wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len)
{
	r->ptr = buf;
	r->left = buf ? len : 0;
	r->err = false;
}

/* True if n bytes can be read; otherwise marks the reader failed. */
static bool take(struct wire_reader *r, size_t n)
{
	if (r->err || n > r->left) {
		r->err = true;
		return false;
	}
	return true;
}

static void advance(struct wire_reader *r, size_t n)
{
	r->ptr += n;
	r->left -= n;
}

uint8_t wire_read_u8(struct wire_reader *r)
{
	uint8_t v;

	if (!take(r, 1)) {
		return 0;
	}
	v = r->ptr[0];
	advance(r, 1);
	return v;
}

uint16_t wire_read_u16(struct wire_reader *r)
{
	uint16_t v;

	if (!take(r, 2)) {
		return 0;
	}
	v = (uint16_t)((uint16_t)r->ptr[0] << 8 | r->ptr[1]);
	advance(r, 2);
	return v;
}

uint32_t wire_read_u32(struct wire_reader *r)
{
	uint32_t v;

	if (!take(r, 4)) {
		return 0;
	}
	v = wire_get_u32(r->ptr);
	advance(r, 4);
	return v;
}

uint64_t wire_read_u64(struct wire_reader *r)
{
	uint64_t v;

	if (!take(r, 8)) {
		return 0;
	}
	v = wire_get_u64(r->ptr);
	advance(r, 8);
	return v;
}

void wire_read_bytes(struct wire_reader *r, uint8_t *out, size_t len)
{
	if (!take(r, len)) {
		if (len > 0) {
			memset(out, 0, len);
		}
		return;
	}
	if (len > 0) {
		memcpy(out, r->ptr, len);
	}
	advance(r, len);
}

void wire_skip(struct wire_reader *r, size_t len)
{
	if (take(r, len)) {
		advance(r, len);
	}
}

const uint8_t *wire_read_ptr(struct wire_reader *r, size_t len)
{
	const uint8_t *p;

	if (!take(r, len)) {
		return NULL;
	}
	p = r->ptr;
	advance(r, len);
	return p;
}

void wire_read_sub(struct wire_reader *r, size_t len, struct wire_reader *sub)
{
	const uint8_t *p = wire_read_ptr(r, len);

	if (!p) {
		sub->ptr = NULL;
		sub->left = 0;
		sub->err = true;
		return;
	}
	wire_reader_init(sub, p, len);
}

size_t wire_reader_left(const struct wire_reader *r)
{
	return r->err ? 0 : r->left;
}

int wire_reader_done(const struct wire_reader *r)
{
	if (r->err || r->left != 0) {
		return -EPROTO;
	}
	return 0;
}

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->len = 0;
	w->err = false;
}

uint8_t *wire_write_reserve(struct wire_writer *w, size_t len)
{
	uint8_t *p;

	if (w->err || len > w->cap - w->len) {
		w->err = true;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += len;
	return p;
}

void wire_write_u8(struct wire_writer *w, uint8_t v)
{
	uint8_t *p = wire_write_reserve(w, 1);

	if (p) {
		p[0] = v;
	}
}

void wire_write_u16(struct wire_writer *w, uint16_t v)
{
	uint8_t *p = wire_write_reserve(w, 2);

	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

void wire_write_u32(struct wire_writer *w, uint32_t v)
{
	uint8_t *p = wire_write_reserve(w, 4);

	if (p) {
		wire_put_u32(p, v);
	}
}

void wire_write_u64(struct wire_writer *w, uint64_t v)
{
	uint8_t *p = wire_write_reserve(w, 8);

	if (p) {
		wire_put_u64(p, v);
	}
}

void wire_write_bytes(struct wire_writer *w, const uint8_t *src, size_t len)
{
	uint8_t *p = wire_write_reserve(w, len);

	if (p && len > 0) {
		memcpy(p, src, len);
	}
}

void wire_write_zeros(struct wire_writer *w, size_t len)
{
	uint8_t *p = wire_write_reserve(w, len);

	if (p && len > 0) {
		memset(p, 0, len);
	}
}

int wire_writer_done(const struct wire_writer *w, size_t *len_out)
{
	if (w->err) {
		return -ENOSPC;
	}
	if (len_out) {
		*len_out = w->len;
	}
	return 0;
}

void wire_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t wire_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void wire_put_u64(uint8_t *p, uint64_t v)
{
	wire_put_u32(p, (uint32_t)(v >> 32));
	wire_put_u32(p + 4, (uint32_t)v);
}

uint64_t wire_get_u64(const uint8_t *p)
{
	return (uint64_t)wire_get_u32(p) << 32 | wire_get_u32(p + 4);
}
