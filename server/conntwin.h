/* conntwin: one identity, two processes (PROTOCOL.md "One identity, two
 * processes"). A client's id and key are one machine's; a cloned SD card
 * runs them on two. The process that holds the identity keeps it while it
 * answers: another one's new session is refused at its first packet (an
 * IN_USE frame under its own keys, which are then dropped and the holder's
 * made current again, session_refuse_current), and the holder is probed.
 * The newcomer gets the identity only when the holder leaves a probe
 * unanswered (a restart: the old process is gone) or was silent anyway.
 * Part of conn (uses struct conn). */
#ifndef WH_CONNTWIN_H
#define WH_CONNTWIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/frame.h"

struct conn;
struct registry_client;
struct listener_sock;

/* The holder's time to answer a probe; probes go out every conn tick
 * meanwhile, so a lost ping or pong does not cost it the identity. */
#define CONNTWIN_PROBE_US (1500 * 1000ull)
/* A probe's verdict holds this long after it was sent: past the probe, long
 * enough for a client's next initiation (at most 5 s and a quarter apart,
 * srvconn.h) to find it. */
#define CONNTWIN_PROBE_VALID_US (8 * 1000000ull)
/* A refused newcomer's retry: soon while the holder is being checked
 * (FRAME_IN_USE_CHECKING), rarely while it answers. */
#define CONNTWIN_RETRY_SLACK_MS 500u
#define CONNTWIN_RETRY_MS 10000u

/* The first packet of a new session of c (to receiver index idx, its
 * REGISTER reg, from sock and from) registers a process. True when it is
 * refused: IN_USE went back, its keys are dropped, c->last_rx_us must stay
 * the holder's, and nothing else of the packet may be taken. c->last_rx_us
 * is the holder's (this packet's time not yet in it). */
bool conntwin_refuses(struct conn *cn, struct registry_client *c, uint32_t idx,
		      const struct frame_register *reg, const struct listener_sock *sock,
		      const struct sockaddr *from, uint64_t now_us);
/* Stamps (PROTOCOL.md "Stamps"): an initiation of c whose stamp is not above
 * the last one accepted, while c is not silent, is a replay or a new process
 * of c on a machine whose clock went back (a drone without a real-time clock
 * restarted before NTP). True when the holder left a probe unanswered: it is
 * gone, and the lower stamp may be taken. */
bool conntwin_holder_gone(const struct registry_client *c, uint64_t now_us);
/* Such an initiation (from `from`) was refused: probe the holder, unless a
 * probe's verdict still holds (one probe per CONNTWIN_PROBE_VALID_US, whoever
 * replays). */
void conntwin_on_stale_stamp(struct conn *cn, struct registry_client *c,
			     const struct sockaddr *from, uint64_t now_us);
/* Per conn tick: ping the holder again while a probe waits for its answer. */
void conntwin_tick(struct conn *cn, struct registry_client *c, uint64_t now_us);

#endif
