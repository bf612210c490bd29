/* direct_internal: what direct.c shares with its other part, directrx.c
 * (the frames of the peer's direct paths). Not for other modules. */
#ifndef WH_DIRECT_INTERNAL_H
#define WH_DIRECT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct direct_path;
struct peer;
struct xsock;

/* The slot of the pair (our uplink, the peer's), or NULL. */
struct direct_path *direct_slot_for(struct peer *p, uint8_t uplink, uint8_t peer_uplink);
/* The slot whose attempt has this token (never 0), or NULL. */
struct direct_path *direct_slot_by_token(struct peer *p, uint64_t token);
/* A round trip on (fd, addr) answered s's probe: s is up there (xs: the
 * spray socket it now owns, or NULL for an uplink's). */
void direct_validated(struct peer *p, struct direct_path *s, int fd, struct xsock *xs,
		      const struct sockaddr_storage *addr, uint64_t now_us);
/* The peer decided for s: its PATH UP for s's attempt came on (fd, addr),
 * so s is up there (xs as for direct_validated), whatever path s had. */
void direct_adopt(struct peer *p, struct direct_path *s, int fd, struct xsock *xs,
		  const struct sockaddr_storage *addr, uint64_t now_us);
/* Of two sides that validated different paths of one attempt, the
 * decider's counts (it tells the peer, which moves to it). */
bool direct_is_decider(const struct peer *p, const struct direct_path *s);
/* s is no longer up (why: for the log); tell_peer: say so over the relay. */
void direct_fall_back(struct peer *p, struct direct_path *s, const char *why, bool tell_peer,
		      uint64_t now_us);
/* The peer's timer work now, and its next deadline armed. */
void direct_tick(struct peer *p, uint64_t now_us);
/* A PATH frame of op (PROBE or PROBE_ACK) with token to `to` by fd. */
void direct_send_probe(struct peer *p, uint8_t op, int fd, const struct sockaddr_storage *to,
		       uint64_t token, uint64_t now_us);

#endif
