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

int sealout_frames_fd(struct client *cl, int fd, struct session *s,
		      const struct sockaddr_storage *dst, const struct frame *fs, size_t n,
		      uint64_t now_us)
{
	struct wire_writer w;
	size_t pt_len = 0;
	size_t out_len = 0;
	int rc;

	if (n > 0) {
		wire_writer_init(&w, cl->pt, WIRE_MAX_PLAINTEXT);
		for (size_t i = 0; i < n; i++) {
			rc = frame_write(&w, &fs[i]);
			if (rc != 0) {
				return rc;
			}
		}
		rc = wire_writer_done(&w, &pt_len);
		if (rc != 0) {
			return rc;
		}
	}
	rc = session_seal(s, now_us, cl->pt, pt_len, cl->pkt, sizeof(cl->pkt), &out_len);
	if (rc != 0) {
		return rc;
	}
	return sealout_raw_fd(cl, fd, dst, cl->pkt, out_len);
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
