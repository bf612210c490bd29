/* sealout: frames -> sealed transport datagram -> the send queue
 * (DESIGN §3, STYLE §6: sends are queued and flushed once per loop pass).
 * Sizes are known before encrypting: frame_write fails on overflow. */
#include "sealout.h"

#include "client/client.h"
#include "proto/frame.h"
#include "proto/session.h"
#include "proto/wire.h"

#include <errno.h>

int sealout_frame(struct client *cl, struct session *s, const struct sockaddr_storage *dst,
		  const struct frame *f, uint64_t now_us)
{
	return sealout_frame_fd(cl, -1, s, dst, f, now_us);
}

int sealout_frame_fd(struct client *cl, int fd, struct session *s,
		     const struct sockaddr_storage *dst, const struct frame *f, uint64_t now_us)
{
	return sealout_frames_fd(cl, fd, s, dst, f, f ? 1 : 0, now_us);
}

/* Seal the plaintext w wrote into cl->pt (w NULL: none) and queue it. */
static int seal_queue(struct client *cl, int fd, struct session *s,
		      const struct sockaddr_storage *dst, struct wire_writer *w, uint64_t now_us)
{
	size_t pt_len = 0;
	size_t out_len = 0;
	int rc = w ? wire_writer_done(w, &pt_len) : 0;

	if (rc == 0) {
		rc = session_seal(s, now_us, cl->pt, pt_len, cl->pkt, sizeof(cl->pkt), &out_len);
	}
	return rc != 0 ? rc : sealout_raw_fd(cl, fd, dst, cl->pkt, out_len);
}

int sealout_frames_fd(struct client *cl, int fd, struct session *s,
		      const struct sockaddr_storage *dst, const struct frame *fs, size_t n,
		      uint64_t now_us)
{
	struct wire_writer w;
	int rc;

	wire_writer_init(&w, cl->pt, WIRE_MAX_PLAINTEXT);
	for (size_t i = 0; i < n; i++) {
		rc = frame_write(&w, &fs[i]);
		if (rc != 0) {
			return rc;
		}
	}
	return seal_queue(cl, fd, s, dst, n > 0 ? &w : NULL, now_us);
}

int sealout_padded_fd(struct client *cl, int fd, struct session *s,
		      const struct sockaddr_storage *dst, const struct frame *f, size_t size,
		      uint64_t now_us)
{
	struct wire_writer w;
	size_t want;
	int rc;

	if (size > WIRE_MAX_PACKET || size < WIRE_TRANSPORT_MIN_LEN) {
		return -EINVAL;
	}
	want = size - WIRE_TRANSPORT_MIN_LEN;
	wire_writer_init(&w, cl->pt, WIRE_MAX_PLAINTEXT);
	rc = frame_write(&w, f);
	if (rc != 0) {
		return rc;
	}
	if (w.len + WIRE_FRAME_HEADER_LEN > want) {
		return -EINVAL;
	}
	rc = frame_write_padding(&w, want - w.len);
	return rc != 0 ? rc : seal_queue(cl, fd, s, dst, &w, now_us);
}

int sealout_raw(struct client *cl, const struct sockaddr_storage *dst, const uint8_t *msg,
		size_t len)
{
	return sealout_raw_fd(cl, -1, dst, msg, len);
}

int sealout_raw_fd(struct client *cl, int fd, const struct sockaddr_storage *dst,
		   const uint8_t *msg, size_t len)
{
	int rc = mainsock_send(&cl->ms, fd, dst, msg, len);
	struct uplink *u;

	/* Per-uplink counters (status): spray sockets belong to none. */
	if (rc == 0 && (u = uplink_by_fd(cl, fd)) != NULL) {
		u->tx_packets++;
		u->tx_bytes += len;
	}
	return rc;
}
