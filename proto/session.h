/* session: one peer's secure channel over Noise IK, WireGuard-like
 * (DESIGN §3). Holds the current, previous and next keypairs, runs the
 * handshake and the transport, and owns every timing rule of the channel:
 * the owner asks session_next_deadline_us() when to call session_on_timer().
 * No I/O and no clock: time comes in as now_us (monotonic µs).
 *
 * Initiator:  session_initiation_create -> send; on a response datagram
 *             session_on_response. The first packet under the new keys
 *             confirms them to the responder: if no data goes out first,
 *             session_on_timer asks for a keepalive.
 * Responder:  session_initiation_consume (no session, no allocation) tells
 *             who is calling; the owner finds that peer's session, then
 *             session_response_create. The new keys stay "next" until the
 *             initiator's first transport packet under them opens, so a
 *             replayed or forged initiation never disturbs live traffic.
 * The handshake MACs (mac1/mac2) are added here with cookie.h; checking them
 * on receipt (cookie_check) is the owner's first step, before any of this.
 * Receiver indices are the owner's: it picks them and maps them back. */
#ifndef WH_SESSION_H
#define WH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/cookie.h"
#include "proto/noise.h"
#include "proto/replay.h"
#include "proto/wire_const.h"

/* Message-count and time limits; session_limits_default gives the protocol
 * values (wire_const.h). Tests inject small ones to force rekeys. */
struct session_limits {
	uint64_t rekey_after_messages;
	uint64_t reject_after_messages;
	uint64_t rekey_after_time_us;	/* the keys' initiator starts a rekey */
	uint64_t responder_rekey_us;	/* the responder starts one if none came */
	uint64_t reject_after_time_us;	/* keys older than this are never used */
	uint64_t rekey_timeout_us;	/* retransmit an unanswered initiation */
	uint64_t rekey_attempt_time_us; /* give up a handshake round after this */
	uint64_t previous_keep_us;	/* previous keys live this long after rotation */
	uint64_t next_keep_us;		/* an unconfirmed "next" lives this long */
};

enum session_state {
	SESSION_IDLE = 0,    /* no keys, nothing in flight */
	SESSION_HANDSHAKE,   /* no usable keys yet; a handshake is in flight */
	SESSION_ESTABLISHED, /* current keys usable for sending */
	SESSION_ENDED,	     /* keys expired without a rekey: seal gives -ESHUTDOWN */
};

enum session_action {
	SESSION_ACT_NONE = 0,
	SESSION_ACT_SEND_INITIATION, /* call session_initiation_create and send it */
	SESSION_ACT_ENDED,	     /* the session just ended (reported once) */
	SESSION_ACT_SEND_KEEPALIVE,  /* seal and send an empty packet (confirms new keys) */
};

struct session_keypair {
	uint8_t send_key[WIRE_KEY_LEN]; /* secret */
	uint8_t recv_key[WIRE_KEY_LEN]; /* secret */
	uint64_t send_counter;		/* next counter (= nonce) to use */
	struct replay replay;
	uint32_t local_index;  /* receiver index the peer puts on packets to us */
	uint32_t remote_index; /* receiver index we put on packets to the peer */
	uint64_t born_us;
	uint64_t retired_us; /* when it became "previous" */
	uint64_t generation; /* order of creation within the session */
	uint64_t stamp;	     /* responder: the stamp of the initiation that made it */
	bool has_stamp;	     /* (false for keys of our own initiation) */
	bool is_initiator;
	bool is_valid;
};

/* A consumed initiation waiting for the owner's decision. Holds handshake
 * secrets: pass it to session_response_create or session_pending_wipe. */
struct session_pending {
	struct noise_handshake hs; /* secret */
	uint8_t remote_pub[WIRE_KEY_LEN];
	uint64_t stamp;
	uint8_t version;
	uint32_t remote_index; /* the initiator's sender index */
	bool is_valid;
};

struct session {
	struct noise_keypair local; /* secret priv: our static key */
	uint8_t remote_pub[WIRE_KEY_LEN];
	struct session_limits limits;
	struct cookie_maker cookie; /* MACs on handshakes we send to the peer */
	struct session_keypair current;
	struct session_keypair previous;
	struct session_keypair next;
	/* Our initiation in flight, if any. */
	struct noise_handshake hs; /* secret */
	bool hs_active;
	uint32_t hs_local_index;
	uint64_t hs_sent_us;	/* last (re)transmission */
	uint64_t hs_started_us; /* first attempt of this round */
	/* Rekey bookkeeping. */
	bool rekey_by_count; /* current's send counter passed the rekey limit */
	uint64_t rekey_count_us;
	bool has_asked; /* SEND_INITIATION was reported at asked_us */
	uint64_t asked_us;
	/* Responder side: the last accepted initiation stamp. */
	bool has_stamp;
	uint64_t last_stamp;
	uint64_t generation; /* last keypair generation handed out */
	bool keepalive_due;  /* new initiator keys not yet used to send */
	enum session_state state;
	bool end_reported;
};

/* The protocol's limits (wire_const.h). */
void session_limits_default(struct session_limits *l);

/* Allocate a session (in sodium_malloc memory) between our static key pair
 * local and the peer's public key. limits may be NULL for the defaults.
 * Inputs are copied. Returns the session (the caller owns it) or NULL. */
struct session *session_new(const struct noise_keypair *local,
			    const uint8_t remote_pub[WIRE_KEY_LEN],
			    const struct session_limits *limits);
/* Wipe and free; NULL is a no-op. */
void session_free(struct session *s);

enum session_state session_state(const struct session *s);
/* Keypairs this session has made: 0 before its first handshake, then one
 * more per handshake it completes or answers (rekeys included). */
uint64_t session_key_generation(const struct session *s);

/* True if local_index belongs to a live keypair or our handshake in flight
 * (the owner drops index-table entries for which this turns false). */
bool session_owns_index(const struct session *s, uint32_t local_index);

/* ---- handshake ---- */

/* Build an initiation into out (WIRE_INIT_LEN bytes) with our receiver index
 * local_index and the caller's monotonic stamp (strictly increasing per
 * local key, e.g. a boot counter << 32 | seconds since boot; never wall
 * time). Replaces any initiation in flight. Returns 0 or -EIO/-EINVAL. */
WH_MUST_CHECK int session_initiation_create(struct session *s, uint32_t local_index, uint64_t stamp,
					    uint64_t now_us, uint8_t out[WIRE_INIT_LEN]);

/* Responder step 1: decrypt an initiation (whole datagram) with our static
 * key pair only. Fills *p (caller's memory; no allocation). Returns 0;
 * -EPROTO malformed; -EBADMSG does not authenticate (wrong key, forged);
 * -EPROTONOSUPPORT other protocol version. On failure *p is wiped. */
WH_MUST_CHECK int session_initiation_consume(const struct noise_keypair *local, const uint8_t *buf,
					     size_t len, struct session_pending *p);

/* Forget the last accepted initiation stamp, so the next initiation is
 * accepted whatever its stamp. The owner calls it when the peer has been
 * offline (PROTOCOL.md "Stamps": a rebooted drone without a real-time clock
 * must be able to come back). Keys are not touched: a replayed initiation
 * still only makes an unconfirmed "next". */
void session_forget_stamp(struct session *s);

/* Responder: refuse the keys the peer just confirmed (its first packet,
 * to our receiver index local_index, opened; the owner read it and will not
 * take it: PROTOCOL.md "One identity, two processes"). They are wiped, the
 * keys they replaced are current again, and the stamp check goes back to
 * the initiation that made those: whoever holds them can rekey as before.
 * Returns 0, or -ENOENT (nothing changed) when current is not the
 * responder's keys of local_index (not promoted: older than current) or no
 * earlier keys are left to go back to. */
WH_MUST_CHECK int session_refuse_current(struct session *s, uint32_t local_index);

/* Wipe a pending initiation that will not be answered. */
void session_pending_wipe(struct session_pending *p);

/* Responder step 2: answer p (consumed for this session's peer) into out
 * (WIRE_RESP_LEN bytes) with our receiver index local_index. The new keys
 * become "next". p is wiped in every case. Returns 0; -EPERM if p is from
 * another static key; -ESTALE if its stamp is not greater than the last one
 * accepted; -EINVAL if p is not valid; -EIO on a crypto failure. */
WH_MUST_CHECK int session_response_create(struct session *s, struct session_pending *p,
					  uint32_t local_index, uint64_t now_us,
					  uint8_t out[WIRE_RESP_LEN]);

/* Initiator: take a response (whole datagram). On success the new keys are
 * current at once (the response authenticated them) and, unless data goes
 * out first, session_on_timer asks for a keepalive so the responder confirms
 * them. Returns 0; -EPROTO
 * malformed; -ENOENT not for our initiation in flight; -EBADMSG does not
 * authenticate (the initiation in flight stays usable); -EPROTONOSUPPORT. */
WH_MUST_CHECK int session_on_response(struct session *s, const uint8_t *buf, size_t len,
				      uint64_t now_us);

/* Initiator: take a cookie reply (whole datagram) for our last handshake;
 * the next initiation carries mac2. Returns 0, -EPROTO or -EBADMSG. */
WH_MUST_CHECK int session_on_cookie_reply(struct session *s, const uint8_t *buf, size_t len,
					  uint64_t now_us);

/* ---- transport ---- */

/* Bytes a sealed packet of pt_len plaintext bytes takes. */
size_t session_sealed_len(size_t pt_len);

/* Encrypt pt (pt_len <= WIRE_MAX_PLAINTEXT, 0 = keepalive) into out (cap
 * bytes) as one transport datagram; *out_len gets its size. pt may sit at
 * out + WIRE_TRANSPORT_HEADER_LEN (in place); no other overlap. Returns 0;
 * -ENOTCONN no keys yet; -ESHUTDOWN the session ended; -EMSGSIZE pt too big;
 * -ENOSPC cap too small; -EIO. */
WH_MUST_CHECK int session_seal(struct session *s, uint64_t now_us, const uint8_t *pt, size_t pt_len,
			       uint8_t *out, size_t cap, size_t *out_len);

/* Authenticate and decrypt a transport datagram buf into out (cap bytes;
 * out may be buf + WIRE_TRANSPORT_HEADER_LEN); *out_len gets the plaintext
 * size (0 = keepalive). Checks are cheapest first: size/type, receiver index,
 * key age, replay window, AEAD, then the window update. Returns 0; -EPROTO
 * malformed; -ENOENT no keys for this index; -ESTALE keys too old;
 * -EALREADY replayed or too old for the window; -EBADMSG forged; -ENOSPC. */
WH_MUST_CHECK int session_open(struct session *s, uint64_t now_us, const uint8_t *buf, size_t len,
			       uint8_t *out, size_t cap, size_t *out_len);

/* ---- timers: all of the channel's timing lives behind these two ---- */

/* When session_on_timer next has something to do (absolute µs), or
 * UINT64_MAX for never. A value <= now means "now". */
uint64_t session_next_deadline_us(const struct session *s);

/* Expire old keys and say what the owner must do now. */
enum session_action session_on_timer(struct session *s, uint64_t now_us);

#endif
