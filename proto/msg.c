/* msg: readers and writers for the four outer message formats (msg.h has
 * the layouts). Owns nothing, never allocates, does no crypto: the MACs are
 * cookie.c's, the Noise payloads session.c's. Readers decode into value
 * structs through proto/wire (STYLE §7); the reserved bytes must be zero so
 * they stay usable as a future extension. */
#include "proto/msg.h"

#include <errno.h>

uint8_t msg_type(const uint8_t *buf, size_t len)
{
	return (buf && len > 0) ? buf[0] : 0;
}

/* Read type + 3 reserved bytes; marks r failed on a mismatch. */
static void read_type(struct wire_reader *r, uint8_t want)
{
	uint8_t type = wire_read_u8(r);
	uint8_t rsv0 = wire_read_u8(r);
	uint16_t rsv1 = wire_read_u16(r);

	if (type != want || rsv0 != 0 || rsv1 != 0) {
		r->err = true;
	}
}

static void write_type(struct wire_writer *w, uint8_t type)
{
	wire_write_u8(w, type);
	wire_write_zeros(w, WIRE_MSG_TYPE_LEN - 1);
}

static int writer_result(const struct wire_writer *w)
{
	return w->err ? -ENOSPC : 0;
}

int msg_read_initiation(const uint8_t *buf, size_t len, struct msg_initiation *m)
{
	struct wire_reader r;

	if (len != WIRE_INIT_LEN) {
		return -EPROTO;
	}
	wire_reader_init(&r, buf, len);
	read_type(&r, WIRE_MSG_INITIATION);
	m->sender_index = wire_read_u32(&r);
	wire_read_bytes(&r, m->noise, sizeof(m->noise));
	wire_read_bytes(&r, m->mac1, sizeof(m->mac1));
	wire_read_bytes(&r, m->mac2, sizeof(m->mac2));
	return wire_reader_done(&r);
}

int msg_write_initiation(struct wire_writer *w, const struct msg_initiation *m)
{
	write_type(w, WIRE_MSG_INITIATION);
	wire_write_u32(w, m->sender_index);
	wire_write_bytes(w, m->noise, sizeof(m->noise));
	wire_write_bytes(w, m->mac1, sizeof(m->mac1));
	wire_write_bytes(w, m->mac2, sizeof(m->mac2));
	return writer_result(w);
}

int msg_read_response(const uint8_t *buf, size_t len, struct msg_response *m)
{
	struct wire_reader r;

	if (len != WIRE_RESP_LEN) {
		return -EPROTO;
	}
	wire_reader_init(&r, buf, len);
	read_type(&r, WIRE_MSG_RESPONSE);
	m->sender_index = wire_read_u32(&r);
	m->receiver_index = wire_read_u32(&r);
	wire_read_bytes(&r, m->noise, sizeof(m->noise));
	wire_read_bytes(&r, m->mac1, sizeof(m->mac1));
	wire_read_bytes(&r, m->mac2, sizeof(m->mac2));
	return wire_reader_done(&r);
}

int msg_write_response(struct wire_writer *w, const struct msg_response *m)
{
	write_type(w, WIRE_MSG_RESPONSE);
	wire_write_u32(w, m->sender_index);
	wire_write_u32(w, m->receiver_index);
	wire_write_bytes(w, m->noise, sizeof(m->noise));
	wire_write_bytes(w, m->mac1, sizeof(m->mac1));
	wire_write_bytes(w, m->mac2, sizeof(m->mac2));
	return writer_result(w);
}

int msg_read_cookie_reply(const uint8_t *buf, size_t len, struct msg_cookie_reply *m)
{
	struct wire_reader r;

	if (len != WIRE_COOKIE_REPLY_LEN) {
		return -EPROTO;
	}
	wire_reader_init(&r, buf, len);
	read_type(&r, WIRE_MSG_COOKIE_REPLY);
	m->receiver_index = wire_read_u32(&r);
	wire_read_bytes(&r, m->nonce, sizeof(m->nonce));
	wire_read_bytes(&r, m->cookie_enc, sizeof(m->cookie_enc));
	return wire_reader_done(&r);
}

int msg_write_cookie_reply(struct wire_writer *w, const struct msg_cookie_reply *m)
{
	write_type(w, WIRE_MSG_COOKIE_REPLY);
	wire_write_u32(w, m->receiver_index);
	wire_write_bytes(w, m->nonce, sizeof(m->nonce));
	wire_write_bytes(w, m->cookie_enc, sizeof(m->cookie_enc));
	return writer_result(w);
}

int msg_read_transport(const uint8_t *buf, size_t len, struct msg_transport *m)
{
	struct wire_reader r;

	if (len < WIRE_TRANSPORT_MIN_LEN || len > WIRE_MAX_PACKET) {
		return -EPROTO;
	}
	wire_reader_init(&r, buf, len);
	m->header = buf;
	read_type(&r, WIRE_MSG_TRANSPORT);
	m->receiver_index = wire_read_u32(&r);
	m->counter = wire_read_u64(&r);
	m->ciphertext_len = wire_reader_left(&r);
	m->ciphertext = wire_read_ptr(&r, m->ciphertext_len);
	return wire_reader_done(&r);
}

int msg_write_transport_header(struct wire_writer *w, uint32_t receiver_index, uint64_t counter)
{
	write_type(w, WIRE_MSG_TRANSPORT);
	wire_write_u32(w, receiver_index);
	wire_write_u64(w, counter);
	return writer_result(w);
}
