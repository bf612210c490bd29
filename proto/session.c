/* session: the per-peer secure channel (DESIGN §3; WireGuard whitepaper §5.4
 * and §6). Owns the peer's keys (current/previous/next), the initiator's
 * handshake in flight, the responder's stamp check, and every timer of the
 * channel (the "timers" section below is the only place times are compared
 * with limits). Must not: do I/O, read a clock, allocate per packet, or let
 * unauthenticated input change state. A replayed or forged initiation can at
 * most produce a "next" keypair that nobody confirms: current is only
 * replaced by keys proven by an authenticated response (initiator) or by the
 * first transport packet that opens under them (responder). Keys are wiped
 * with sodium_memzero as soon as they are retired. */
#include "proto/session.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "proto/aead.h"
#include "proto/msg.h"
#include "proto/wire.h"

_Static_assert(AEAD_TAG_LEN == WIRE_TAG_LEN, "transport tag size");
_Static_assert(AEAD_KEY_LEN == WIRE_KEY_LEN && NOISE_KEY_LEN == WIRE_KEY_LEN, "key size");
_Static_assert(WIRE_REJECT_AFTER_MESSAGES < UINT64_MAX - REPLAY_WINDOW_SIZE,
	       "receiver's window stays below 2^64");

void session_limits_default(struct session_limits *l)
{
	l->rekey_after_messages = WIRE_REKEY_AFTER_MESSAGES;
	l->reject_after_messages = WIRE_REJECT_AFTER_MESSAGES;
	l->rekey_after_time_us = WIRE_REKEY_AFTER_TIME_US;
	l->responder_rekey_us = WIRE_RESPONDER_REKEY_US;
	l->reject_after_time_us = WIRE_REJECT_AFTER_TIME_US;
	l->rekey_timeout_us = WIRE_REKEY_TIMEOUT_US;
	l->rekey_attempt_time_us = WIRE_REKEY_ATTEMPT_TIME_US;
	l->previous_keep_us = WIRE_PREVIOUS_KEEP_US;
	l->next_keep_us = WIRE_NEXT_KEEP_US;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void keypair_wipe(struct session_keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

static void hs_wipe(struct session *s)
{
	noise_handshake_wipe(&s->hs);
	s->hs_active = false;
}

struct session *session_new(const struct noise_keypair *local,
			    const uint8_t remote_pub[WIRE_KEY_LEN],
			    const struct session_limits *limits)
{
	struct session *s;

	if (sodium_init() < 0) {
		return NULL;
	}
	s = sodium_malloc(sizeof(*s));
	if (!s) {
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->local = *local;
	memcpy(s->remote_pub, remote_pub, WIRE_KEY_LEN);
	if (limits) {
		s->limits = *limits;
	} else {
		session_limits_default(&s->limits);
	}
	if (cookie_maker_init(&s->cookie, remote_pub) != 0) {
		session_free(s);
		return NULL;
	}
	s->state = SESSION_IDLE;
	return s;
}

void session_free(struct session *s)
{
	if (!s) {
		return;
	}
	sodium_memzero(s, sizeof(*s));
	sodium_free(s);
}

enum session_state session_state(const struct session *s)
{
	return s->state;
}

uint64_t session_key_generation(const struct session *s)
{
	return s->generation;
}

bool session_owns_index(const struct session *s, uint32_t local_index)
{
	const struct session_keypair *kps[] = {&s->current, &s->previous, &s->next};

	if (s->hs_active && s->hs_local_index == local_index) {
		return true;
	}
	for (size_t i = 0; i < WH_ARRAY_LEN(kps); i++) {
		if (kps[i]->is_valid && kps[i]->local_index == local_index) {
			return true;
		}
	}
	return false;
}

/* ---- key rotation ---- */

/* Wipe our keys: the session can no longer send. An unconfirmed "next"
 * stays until it expires: it is the peer's handshake in progress, and its
 * first packet brings the session back. */
static void end_session(struct session *s)
{
	keypair_wipe(&s->current);
	keypair_wipe(&s->previous);
	hs_wipe(s);
	s->rekey_by_count = false;
	s->has_asked = false;
	s->keepalive_due = false;
	s->state = SESSION_ENDED;
	s->end_reported = false;
}

/* Retire current to previous and make fresh (already filled) current. */
static void rotate_in(struct session *s, const struct session_keypair *fresh, uint64_t now_us)
{
	keypair_wipe(&s->previous);
	if (s->current.is_valid) {
		s->previous = s->current;
		s->previous.retired_us = now_us;
	}
	s->current = *fresh;
	s->current.is_valid = true;
	s->rekey_by_count = false;
	s->has_asked = false;
	s->state = SESSION_ESTABLISHED;
	s->end_reported = false;
}

/* Responder: the initiator's first packet under "next" opened. Only keys
 * newer than current are promoted: after simultaneous handshakes an older
 * "next" may still carry the peer's last packets, and promoting it would
 * make the two sides swap keys back and forth. */
static void confirm_next(struct session *s, uint64_t now_us)
{
	if (s->current.is_valid && s->next.generation < s->current.generation) {
		return;
	}
	rotate_in(s, &s->next, now_us);
	keypair_wipe(&s->next);
}

int session_refuse_current(struct session *s, uint32_t local_index)
{
	if (!s->current.is_valid || s->current.is_initiator ||
	    s->current.local_index != local_index || !s->previous.is_valid) {
		return -ENOENT;
	}
	keypair_wipe(&s->current);
	s->current = s->previous;
	s->current.retired_us = 0;
	keypair_wipe(&s->previous);
	s->has_stamp = s->current.has_stamp;
	s->last_stamp = s->current.has_stamp ? s->current.stamp : 0;
	s->rekey_by_count = false;
	s->has_asked = false;
	s->keepalive_due = false;
	s->state = SESSION_ESTABLISHED;
	s->end_reported = false;
	return 0;
}

/* Initiator: keys proven by the response become current at once; the peer
 * confirms them when our first packet opens, so one must go out now. An
 * unconfirmed "next" stays: the peer may still use it. */
static void install_initiator_keys(struct session *s, const struct session_keypair *fresh,
				   uint64_t now_us)
{
	rotate_in(s, fresh, now_us);
	s->keepalive_due = true;
}

/* ---- handshake ---- */

static int hs_begin(struct noise_handshake *hs, bool is_initiator,
		    const struct noise_keypair *local, const uint8_t *rs)
{
	static const char prologue[] = WIRE_NOISE_PROLOGUE;

	return noise_handshake_init(hs, WIRE_NOISE_PROTOCOL, is_initiator,
				    (const uint8_t *)prologue, sizeof(prologue) - 1, local, NULL,
				    rs, NULL);
}

/* Noise message 1 for the initiation, with payload version || stamp. */
static int write_initiation_noise(struct session *s, uint64_t stamp,
				  uint8_t noise[WIRE_INIT_NOISE_LEN])
{
	uint8_t payload[WIRE_INIT_PAYLOAD_LEN];
	struct wire_writer w;
	size_t n = 0;
	int rc;

	wire_writer_init(&w, payload, sizeof(payload));
	wire_write_u8(&w, WIRE_PROTOCOL_VERSION);
	wire_write_u64(&w, stamp);
	rc = wire_writer_done(&w, NULL);
	if (rc == 0) {
		rc = hs_begin(&s->hs, true, &s->local, s->remote_pub);
	}
	if (rc == 0) {
		rc = noise_write_message(&s->hs, payload, sizeof(payload), noise,
					 WIRE_INIT_NOISE_LEN, &n);
	}
	if (rc == 0 && n != WIRE_INIT_NOISE_LEN) {
		rc = -EIO;
	}
	sodium_memzero(payload, sizeof(payload));
	return rc;
}

int session_initiation_create(struct session *s, uint32_t local_index, uint64_t stamp,
			      uint64_t now_us, uint8_t out[WIRE_INIT_LEN])
{
	struct msg_initiation m;
	struct wire_writer w;
	bool new_round = !s->hs_active;
	int rc;

	hs_wipe(s);
	memset(&m, 0, sizeof(m));
	m.sender_index = local_index;
	rc = write_initiation_noise(s, stamp, m.noise);
	if (rc != 0) {
		goto fail;
	}
	wire_writer_init(&w, out, WIRE_INIT_LEN);
	rc = msg_write_initiation(&w, &m);
	if (rc == 0) {
		rc = cookie_add_macs(&s->cookie, out, WIRE_INIT_LEN, now_us);
	}
	if (rc != 0) {
		goto fail;
	}
	s->hs_active = true;
	s->hs_local_index = local_index;
	s->hs_sent_us = now_us;
	if (new_round) {
		s->hs_started_us = now_us;
	}
	s->has_asked = false;
	if (s->state != SESSION_ESTABLISHED) {
		s->state = SESSION_HANDSHAKE;
	}
	return 0;
fail:
	hs_wipe(s);
	return rc;
}

void session_forget_stamp(struct session *s)
{
	s->has_stamp = false;
	s->last_stamp = 0;
}

void session_pending_wipe(struct session_pending *p)
{
	sodium_memzero(p, sizeof(*p));
}

/* Decode the initiation payload: version u8 | stamp u64. */
static int read_init_payload(struct session_pending *p, const uint8_t *payload, size_t len)
{
	struct wire_reader r;

	wire_reader_init(&r, payload, len);
	p->version = wire_read_u8(&r);
	p->stamp = wire_read_u64(&r);
	if (wire_reader_done(&r) != 0) {
		return -EPROTO;
	}
	return p->version == WIRE_PROTOCOL_VERSION ? 0 : -EPROTONOSUPPORT;
}

int session_initiation_consume(const struct noise_keypair *local, const uint8_t *buf, size_t len,
			       struct session_pending *p)
{
	struct msg_initiation m;
	uint8_t payload[WIRE_INIT_PAYLOAD_LEN];
	const uint8_t *rs;
	size_t n = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (msg_read_initiation(buf, len, &m) != 0) {
		return -EPROTO;
	}
	rc = hs_begin(&p->hs, false, local, NULL);
	if (rc != 0) {
		goto fail;
	}
	/* Any failure here (forgery, wrong responder key, low-order point) is
	 * the same to the network: the message does not authenticate. */
	if (noise_read_message(&p->hs, m.noise, sizeof(m.noise), payload, sizeof(payload), &n) !=
	    0) {
		rc = -EBADMSG;
		goto fail;
	}
	rs = noise_remote_static(&p->hs);
	if (!rs) {
		rc = -EBADMSG;
		goto fail;
	}
	rc = read_init_payload(p, payload, n);
	if (rc != 0) {
		goto fail;
	}
	memcpy(p->remote_pub, rs, WIRE_KEY_LEN);
	p->remote_index = m.sender_index;
	p->is_valid = true;
	sodium_memzero(payload, sizeof(payload));
	return 0;
fail:
	sodium_memzero(payload, sizeof(payload));
	session_pending_wipe(p);
	return rc;
}

/* Noise message 2 and the split, straight into s->next. */
static int respond_keys(struct session *s, struct session_pending *p,
			uint8_t noise[WIRE_RESP_NOISE_LEN])
{
	const uint8_t payload[WIRE_RESP_PAYLOAD_LEN] = {WIRE_PROTOCOL_VERSION};
	size_t n = 0;
	int rc;

	rc = noise_write_message(&p->hs, payload, sizeof(payload), noise, WIRE_RESP_NOISE_LEN, &n);
	if (rc == 0 && n != WIRE_RESP_NOISE_LEN) {
		rc = -EIO;
	}
	if (rc == 0) {
		keypair_wipe(&s->next);
		rc = noise_split(&p->hs, s->next.send_key, s->next.recv_key);
	}
	return rc == 0 ? 0 : -EIO;
}

/* Both sides initiated at once: the side with the lower static key drops
 * its own handshake and lets the peer's complete, so both end up sending
 * under the same keys instead of each on its own (WireGuard leaves this to
 * the next rekey). The yielding side still retries on its timer if the
 * peer's handshake does not confirm. */
static void yield_if_lower(struct session *s)
{
	if (s->hs_active && memcmp(s->local.pub, s->remote_pub, WIRE_KEY_LEN) < 0) {
		hs_wipe(s);
	}
}

int session_response_create(struct session *s, struct session_pending *p, uint32_t local_index,
			    uint64_t now_us, uint8_t out[WIRE_RESP_LEN])
{
	struct msg_response m;
	struct wire_writer w;
	int rc = -EINVAL;

	memset(&m, 0, sizeof(m));
	if (!p->is_valid) {
		goto out;
	}
	rc = -EPERM;
	if (sodium_memcmp(p->remote_pub, s->remote_pub, WIRE_KEY_LEN) != 0) {
		goto out;
	}
	/* The stamp must grow: a replayed initiation (same stamp) or an older
	 * one is refused before it can produce any keys. */
	rc = -ESTALE;
	if (s->has_stamp && p->stamp <= s->last_stamp) {
		goto out;
	}
	rc = respond_keys(s, p, m.noise);
	if (rc != 0) {
		keypair_wipe(&s->next);
		goto out;
	}
	m.sender_index = local_index;
	m.receiver_index = p->remote_index;
	wire_writer_init(&w, out, WIRE_RESP_LEN);
	rc = msg_write_response(&w, &m);
	if (rc == 0) {
		rc = cookie_add_macs(&s->cookie, out, WIRE_RESP_LEN, now_us);
	}
	if (rc != 0) {
		keypair_wipe(&s->next);
		goto out;
	}
	replay_init(&s->next.replay);
	s->next.local_index = local_index;
	s->next.remote_index = p->remote_index;
	s->next.born_us = now_us;
	s->next.is_initiator = false;
	s->next.generation = ++s->generation;
	s->next.stamp = p->stamp;
	s->next.has_stamp = true;
	s->next.is_valid = true;
	s->has_stamp = true;
	s->last_stamp = p->stamp;
	yield_if_lower(s);
out:
	session_pending_wipe(p);
	return rc;
}

/* Read message 2 on a copy of our handshake, so a forged response leaves
 * the real one usable, and derive the keys into fresh. */
static int read_response_keys(struct session *s, const struct msg_response *m,
			      struct session_keypair *fresh)
{
	struct noise_handshake tmp = s->hs;
	uint8_t payload[WIRE_RESP_PAYLOAD_LEN];
	size_t n = 0;
	int rc = -EBADMSG;

	if (noise_read_message(&tmp, m->noise, sizeof(m->noise), payload, sizeof(payload), &n) !=
	    0) {
		goto out;
	}
	rc = -EPROTONOSUPPORT;
	if (n != WIRE_RESP_PAYLOAD_LEN || payload[0] != WIRE_PROTOCOL_VERSION) {
		goto out;
	}
	rc = noise_split(&tmp, fresh->send_key, fresh->recv_key) == 0 ? 0 : -EIO;
out:
	noise_handshake_wipe(&tmp);
	sodium_memzero(payload, sizeof(payload));
	return rc;
}

int session_on_response(struct session *s, const uint8_t *buf, size_t len, uint64_t now_us)
{
	struct msg_response m;
	struct session_keypair fresh;
	int rc;

	if (msg_read_response(buf, len, &m) != 0) {
		return -EPROTO;
	}
	if (!s->hs_active || m.receiver_index != s->hs_local_index) {
		return -ENOENT;
	}
	memset(&fresh, 0, sizeof(fresh));
	rc = read_response_keys(s, &m, &fresh);
	if (rc == 0) {
		replay_init(&fresh.replay);
		fresh.local_index = s->hs_local_index;
		fresh.remote_index = m.sender_index;
		fresh.born_us = now_us;
		fresh.is_initiator = true;
		fresh.generation = ++s->generation;
		install_initiator_keys(s, &fresh, now_us);
		hs_wipe(s);
	}
	keypair_wipe(&fresh);
	return rc;
}

int session_on_cookie_reply(struct session *s, const uint8_t *buf, size_t len, uint64_t now_us)
{
	return cookie_on_reply(&s->cookie, buf, len, now_us);
}

/* ---- timers: every comparison of a time with a limit is here ---- */

static bool send_keys_expired(const struct session *s, const struct session_keypair *kp,
			      uint64_t now_us)
{
	return now_us >= sat_add(kp->born_us, s->limits.reject_after_time_us) ||
	       kp->send_counter >= s->limits.reject_after_messages;
}

static bool recv_keys_expired(const struct session *s, const struct session_keypair *kp,
			      uint64_t now_us)
{
	return now_us >= sat_add(kp->born_us, s->limits.reject_after_time_us);
}

static uint64_t previous_end_us(const struct session *s)
{
	return min_u64(sat_add(s->previous.retired_us, s->limits.previous_keep_us),
		       sat_add(s->previous.born_us, s->limits.reject_after_time_us));
}

/* We initiated a first handshake (no keys yet), possibly yielded to the
 * peer's: the round's retry and give-up times still apply. */
static bool in_first_handshake(const struct session *s)
{
	return s->state == SESSION_HANDSHAKE && !s->current.is_valid;
}

/* When an initiation should go out, or UINT64_MAX. */
static uint64_t initiation_due_us(const struct session *s)
{
	const struct session_keypair *kp = &s->current;
	const struct session_limits *l = &s->limits;
	uint64_t due;

	if (s->hs_active || in_first_handshake(s)) {
		/* Retransmit; or retry a first handshake we yielded. */
		due = sat_add(s->hs_sent_us, l->rekey_timeout_us);
	} else if (kp->is_valid) {
		due = sat_add(kp->born_us,
			      kp->is_initiator ? l->rekey_after_time_us : l->responder_rekey_us);
		if (s->rekey_by_count) {
			due = min_u64(due, s->rekey_count_us);
		}
	} else {
		return UINT64_MAX;
	}
	/* The peer's handshake is waiting for confirmation: give it a rekey
	 * timeout before starting one of our own. */
	if (s->next.is_valid) {
		uint64_t wait = sat_add(s->next.born_us, l->rekey_timeout_us);

		due = due > wait ? due : wait;
	}
	/* Asked already and the owner did not act: ask again only after a
	 * rekey timeout, never in a busy loop. */
	if (s->has_asked) {
		uint64_t again = sat_add(s->asked_us, l->rekey_timeout_us);

		due = due > again ? due : again;
	}
	return due;
}

static void expire(struct session *s, uint64_t now_us)
{
	/* An ended session may still hold an unconfirmed "next" from a peer
	 * reconnecting: it expires like any other. */
	if (s->next.is_valid && now_us >= sat_add(s->next.born_us, s->limits.next_keep_us)) {
		keypair_wipe(&s->next);
	}
	if (s->previous.is_valid && now_us >= previous_end_us(s)) {
		keypair_wipe(&s->previous);
	}
	/* REJECT_AFTER_TIME / _MESSAGES: keys that could not be replaced in time
	 * end the session; nothing is sent under them again. */
	if (s->current.is_valid && send_keys_expired(s, &s->current, now_us)) {
		end_session(s);
		return;
	}
	if ((s->hs_active || in_first_handshake(s)) &&
	    now_us >= sat_add(s->hs_started_us, s->limits.rekey_attempt_time_us)) {
		hs_wipe(s);
		if (!s->current.is_valid) {
			end_session(s);
		}
	}
}

uint64_t session_next_deadline_us(const struct session *s)
{
	uint64_t d;

	if ((s->state == SESSION_ENDED && !s->end_reported) || s->keepalive_due) {
		return 0;
	}
	d = initiation_due_us(s);
	if (s->next.is_valid) {
		d = min_u64(d, sat_add(s->next.born_us, s->limits.next_keep_us));
	}
	if (s->previous.is_valid) {
		d = min_u64(d, previous_end_us(s));
	}
	if (s->current.is_valid) {
		d = min_u64(d, sat_add(s->current.born_us, s->limits.reject_after_time_us));
	}
	if (s->hs_active || in_first_handshake(s)) {
		d = min_u64(d, sat_add(s->hs_started_us, s->limits.rekey_attempt_time_us));
	}
	return d;
}

enum session_action session_on_timer(struct session *s, uint64_t now_us)
{
	expire(s, now_us);
	if (s->state == SESSION_ENDED) {
		if (!s->end_reported) {
			s->end_reported = true;
			return SESSION_ACT_ENDED;
		}
		return SESSION_ACT_NONE;
	}
	if (now_us >= initiation_due_us(s)) {
		s->has_asked = true;
		s->asked_us = now_us;
		return SESSION_ACT_SEND_INITIATION;
	}
	if (s->keepalive_due) {
		s->keepalive_due = false;
		return SESSION_ACT_SEND_KEEPALIVE;
	}
	return SESSION_ACT_NONE;
}

/* ---- transport ---- */

size_t session_sealed_len(size_t pt_len)
{
	return WIRE_TRANSPORT_HEADER_LEN + pt_len + WIRE_TAG_LEN;
}

int session_seal(struct session *s, uint64_t now_us, const uint8_t *pt, size_t pt_len, uint8_t *out,
		 size_t cap, size_t *out_len)
{
	struct session_keypair *kp = &s->current;
	struct wire_writer w;
	uint64_t counter;

	if (s->state == SESSION_ENDED) {
		return -ESHUTDOWN;
	}
	if (!kp->is_valid) {
		return -ENOTCONN;
	}
	if (send_keys_expired(s, kp, now_us)) {
		end_session(s);
		return -ESHUTDOWN;
	}
	if (pt_len > WIRE_MAX_PLAINTEXT) {
		return -EMSGSIZE;
	}
	if (cap < session_sealed_len(pt_len)) {
		return -ENOSPC;
	}
	/* The counter is the nonce: take it before sealing so that no failure
	 * path can ever use it twice. */
	counter = kp->send_counter++;
	s->keepalive_due = false;
	if (kp->send_counter >= s->limits.rekey_after_messages && !s->rekey_by_count) {
		s->rekey_by_count = true;
		s->rekey_count_us = now_us;
	}
	wire_writer_init(&w, out, cap);
	if (msg_write_transport_header(&w, kp->remote_index, counter) != 0) {
		return -ENOSPC;
	}
	/* The header is the AD: a changed index or counter fails the tag. */
	if (aead_seal(kp->send_key, counter, out, WIRE_TRANSPORT_HEADER_LEN, pt, pt_len,
		      out + WIRE_TRANSPORT_HEADER_LEN) != 0) {
		return -EIO;
	}
	*out_len = session_sealed_len(pt_len);
	return 0;
}

static struct session_keypair *keypair_for(struct session *s, uint32_t local_index)
{
	struct session_keypair *kps[] = {&s->current, &s->previous, &s->next};

	for (size_t i = 0; i < WH_ARRAY_LEN(kps); i++) {
		if (kps[i]->is_valid && kps[i]->local_index == local_index) {
			return kps[i];
		}
	}
	return NULL;
}

int session_open(struct session *s, uint64_t now_us, const uint8_t *buf, size_t len, uint8_t *out,
		 size_t cap, size_t *out_len)
{
	struct msg_transport m;
	struct session_keypair *kp;
	size_t pt_len;

	if (msg_read_transport(buf, len, &m) != 0) {
		return -EPROTO;
	}
	kp = keypair_for(s, m.receiver_index);
	if (!kp) {
		return -ENOENT;
	}
	if (recv_keys_expired(s, kp, now_us)) {
		return -ESTALE;
	}
	/* Cheap replay check first; the window is only updated after the
	 * packet authenticated. */
	if (m.counter >= s->limits.reject_after_messages || !replay_check(&kp->replay, m.counter)) {
		return -EALREADY;
	}
	pt_len = m.ciphertext_len - WIRE_TAG_LEN;
	if (cap < pt_len) {
		return -ENOSPC;
	}
	if (aead_open(kp->recv_key, m.counter, m.header, WIRE_TRANSPORT_HEADER_LEN, m.ciphertext,
		      m.ciphertext_len, out) != 0) {
		return -EBADMSG;
	}
	if (!replay_check_and_update(&kp->replay, m.counter, s->limits.reject_after_messages)) {
		return -EALREADY;
	}
	if (kp == &s->next) {
		confirm_next(s, now_us);
	}
	*out_len = pt_len;
	return 0;
}
