/* sealout: seal frames in a session and queue the packet on the main
 * socket (DESIGN §3). The one place the client turns frames into
 * transport datagrams; it uses the client's scratch buffers. */
#ifndef WH_SEALOUT_H
#define WH_SEALOUT_H

#include <stdint.h>
#include <sys/socket.h>

struct client;
struct frame;
struct session;

/* Seal f (NULL: an empty keepalive packet) in s and queue it to dst.
 * Best effort, like the network: callers may ignore the result.
 * Returns 0; -EINVAL/-ENOSPC the frame does not fit; the session_seal
 * errors (-ENOTCONN, -ESHUTDOWN, ...); -ENOBUFS queue full. */
int sealout_frame(struct client *cl, struct session *s, const struct sockaddr_storage *dst,
		  const struct frame *f, uint64_t now_us);

/* The same out of socket fd (-1: the main socket): a direct path may use
 * a socket of its own (punching a symmetric NAT). */
int sealout_frame_fd(struct client *cl, int fd, struct session *s,
		     const struct sockaddr_storage *dst, const struct frame *f, uint64_t now_us);
/* fs[n] in one packet (n = 0: an empty keepalive packet). */
int sealout_frames_fd(struct client *cl, int fd, struct session *s,
		      const struct sockaddr_storage *dst, const struct frame *fs, size_t n,
		      uint64_t now_us);

/* f padded (FRAME_PADDING) so that the sealed datagram is size bytes, out of
 * socket fd: a path MTU probe (linkmtu.c). -EINVAL: size cannot hold f or
 * is over WIRE_MAX_PACKET. */
int sealout_padded_fd(struct client *cl, int fd, struct session *s,
		      const struct sockaddr_storage *dst, const struct frame *f, size_t size,
		      uint64_t now_us);

/* Queue a handshake message (initiation or response) to dst. */
int sealout_raw(struct client *cl, const struct sockaddr_storage *dst, const uint8_t *msg,
		size_t len);
int sealout_raw_fd(struct client *cl, int fd, const struct sockaddr_storage *dst,
		   const uint8_t *msg, size_t len);

#endif
