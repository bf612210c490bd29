/* test_session: the session engine end to end between two in-memory peers
 * (issue #3 acceptance 2): handshake, replayed initiations, tampered and
 * replayed transport packets, reordering, wrong keys, rekey by count and by
 * time with packets in flight, stamps, and the clean end after reject-after.
 * Time is injected; nothing sleeps. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/session.h"

#define SEC 1000000ull
#define T0 (1000 * SEC)

struct pair {
	struct noise_keypair ka; /* initiator */
	struct noise_keypair kb; /* responder */
	struct session *a;
	struct session *b;
	uint64_t stamp;
	uint32_t next_index;
};

struct pkt {
	uint8_t buf[WIRE_MAX_PACKET];
	size_t len;
};

static void pair_setup(struct pair *p, const struct session_limits *limits)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(noise_keypair_generate(&p->ka), 0);
	assert_int_equal(noise_keypair_generate(&p->kb), 0);
	p->a = session_new(&p->ka, p->kb.pub, limits);
	p->b = session_new(&p->kb, p->ka.pub, limits);
	assert_non_null(p->a);
	assert_non_null(p->b);
	p->stamp = 100;
	p->next_index = 0x1000;
}

static void pair_teardown(struct pair *p)
{
	session_free(p->a);
	session_free(p->b);
}

static void seal_to(struct session *from, uint64_t now, const char *text, struct pkt *out)
{
	assert_int_equal(session_seal(from, now, (const uint8_t *)text, strlen(text), out->buf,
				      sizeof(out->buf), &out->len),
			 0);
}

static int open_at(struct session *to, uint64_t now, const struct pkt *in, const char *want)
{
	uint8_t pt[WIRE_MAX_PACKET];
	size_t n = 0;
	int rc = session_open(to, now, in->buf, in->len, pt, sizeof(pt), &n);

	if (rc == 0 && want) {
		assert_int_equal(n, strlen(want));
		assert_memory_equal(pt, want, n);
	}
	return rc;
}

/* One packet each way must open. */
static void assert_traffic_both_ways(struct pair *p, uint64_t now)
{
	struct pkt k;

	seal_to(p->a, now, "ping a->b", &k);
	assert_int_equal(open_at(p->b, now, &k, "ping a->b"), 0);
	seal_to(p->b, now, "pong b->a", &k);
	assert_int_equal(open_at(p->a, now, &k, "pong b->a"), 0);
}

/* Initiation from a, response from b, a's confirming keepalive. */
static void handshake(struct pair *p, uint64_t now)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	struct pkt k;

	p->stamp++;
	assert_int_equal(session_initiation_create(p->a, p->next_index++, p->stamp, now, init), 0);
	assert_int_equal(session_initiation_consume(&p->kb, init, sizeof(init), &pend), 0);
	assert_memory_equal(pend.remote_pub, p->ka.pub, WIRE_KEY_LEN);
	assert_true(pend.stamp == p->stamp);
	assert_int_equal(session_response_create(p->b, &pend, p->next_index++, now, resp), 0);
	assert_int_equal(session_on_response(p->a, resp, sizeof(resp), now), 0);
	assert_int_equal(session_state(p->a), SESSION_ESTABLISHED);
	seal_to(p->a, now, "", &k);
	assert_int_equal(open_at(p->b, now, &k, ""), 0);
	assert_int_equal(session_state(p->b), SESSION_ESTABLISHED);
}

static void test_session_handshake_carries_traffic_both_ways(void **state)
{
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(session_state(p.a), SESSION_IDLE);
	handshake(&p, T0);
	assert_traffic_both_ways(&p, T0 + 1);
	pair_teardown(&p);
}

static void test_session_replayed_initiation_leaves_session_working(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(session_initiation_create(p.a, 7, ++p.stamp, T0, init), 0);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 8, T0, resp), 0);
	assert_int_equal(session_on_response(p.a, resp, sizeof(resp), T0), 0);
	assert_traffic_both_ways(&p, T0);
	/* An attacker replays the captured initiation: it still decrypts (it is
	 * a genuine message) but its stamp is not new, so no keys come of it. */
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 9, T0 + SEC, resp), -ESTALE);
	assert_false(session_owns_index(p.b, 9));
	assert_traffic_both_ways(&p, T0 + 2 * SEC);
	pair_teardown(&p);
}

static void test_session_unconfirmed_initiation_does_not_replace_current(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	handshake(&p, T0);
	/* A newer initiation whose response never reaches a: b holds the keys
	 * as "next" and keeps using current both ways. */
	assert_int_equal(session_initiation_create(p.a, 50, ++p.stamp, T0 + SEC, init), 0);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 51, T0 + SEC, resp), 0);
	assert_true(session_owns_index(p.b, 51));
	assert_traffic_both_ways(&p, T0 + 2 * SEC);
	/* The unconfirmed keys expire on their own. */
	assert_int_equal(session_on_timer(p.b, T0 + SEC + WIRE_NEXT_KEEP_US), SESSION_ACT_NONE);
	assert_false(session_owns_index(p.b, 51));
	pair_teardown(&p);
}

static void test_session_flipped_bit_anywhere_in_transport_is_rejected(void **state)
{
	struct pair p;
	struct pkt k;
	struct pkt bad;

	(void)state;
	pair_setup(&p, NULL);
	handshake(&p, T0);
	seal_to(p.a, T0, "tiny", &k);
	assert_int_equal(k.len, WIRE_TRANSPORT_MIN_LEN + 4);
	for (size_t bit = 0; bit < k.len * 8; bit++) {
		bad = k;
		bad.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(open_at(p.b, T0, &bad, NULL), 0);
	}
	/* None of the forgeries touched the replay window. */
	assert_int_equal(open_at(p.b, T0, &k, "tiny"), 0);
	pair_teardown(&p);
}

static void test_session_replayed_and_too_old_packets_are_rejected(void **state)
{
	static struct pkt first;
	struct pair p;
	struct pkt k;

	(void)state;
	pair_setup(&p, NULL);
	handshake(&p, T0);
	seal_to(p.a, T0, "first", &first);
	assert_int_equal(open_at(p.b, T0, &first, "first"), 0);
	assert_int_equal(open_at(p.b, T0, &first, NULL), -EALREADY);
	/* Move the window far past the first packet's counter. */
	for (size_t i = 0; i < REPLAY_WINDOW_SIZE + 10; i++) {
		seal_to(p.a, T0, "x", &k);
	}
	assert_int_equal(open_at(p.b, T0, &k, "x"), 0);
	assert_int_equal(open_at(p.b, T0, &first, NULL), -EALREADY);
	pair_teardown(&p);
}

static void test_session_reordered_packets_in_window_are_accepted_once(void **state)
{
	static struct pkt k[64];
	/* A fixed permutation: odd counters backwards, then even ones forwards. */
	size_t order[64];
	size_t n = 0;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	handshake(&p, T0);
	for (size_t i = 0; i < 64; i++) {
		seal_to(p.a, T0, "reordered", &k[i]);
	}
	for (size_t i = 63; i < 64; i -= 2) {
		order[n++] = i;
	}
	for (size_t i = 0; i < 64; i += 2) {
		order[n++] = i;
	}
	assert_int_equal(n, 64);
	for (size_t i = 0; i < 64; i++) {
		assert_int_equal(open_at(p.b, T0, &k[order[i]], "reordered"), 0);
	}
	for (size_t i = 0; i < 64; i++) {
		assert_int_equal(open_at(p.b, T0, &k[i], NULL), -EALREADY);
	}
	pair_teardown(&p);
}

static void test_session_wrong_static_key_fails_handshake(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	struct noise_keypair other;
	struct session *c;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(noise_keypair_generate(&other), 0);
	/* a believes the responder's key is kb; a responder holding another key
	 * cannot decrypt the initiation. */
	assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, T0, init), 0);
	assert_int_equal(session_initiation_consume(&other, init, sizeof(init), &pend), -EBADMSG);
	assert_false(pend.is_valid);
	/* The responder decrypts it but the peer's session expects another key. */
	c = session_new(&p.kb, other.pub, NULL);
	assert_non_null(c);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(c, &pend, 2, T0, resp), -EPERM);
	/* An initiator that pins a wrong responder key is refused the same way. */
	session_free(c);
	c = session_new(&p.ka, other.pub, NULL);
	assert_non_null(c);
	assert_int_equal(session_initiation_create(c, 3, ++p.stamp, T0, init), 0);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), -EBADMSG);
	session_free(c);
	assert_int_equal(session_state(p.b), SESSION_IDLE);
	pair_teardown(&p);
}

static void test_session_stamp_not_greater_than_last_is_refused(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	const uint64_t stamps[] = {10, 10, 9, 0, 11};
	const int want[] = {0, -ESTALE, -ESTALE, -ESTALE, 0};
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	for (size_t i = 0; i < WH_ARRAY_LEN(stamps); i++) {
		assert_int_equal(session_initiation_create(p.a, 1, stamps[i], T0, init), 0);
		assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
		assert_int_equal(session_response_create(p.b, &pend, 2, T0, resp), want[i]);
	}
	pair_teardown(&p);
}

static void test_session_forgotten_stamp_accepts_a_lower_one_once(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	/* A rebooted initiator starts its stamps over (5 after 1000). */
	const uint64_t stamps[] = {1000, 5, 5, 4, 6};
	const bool forget_before[] = {false, true, false, false, false};
	const int want[] = {0, 0, -ESTALE, -ESTALE, 0};
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	for (size_t i = 0; i < WH_ARRAY_LEN(stamps); i++) {
		if (forget_before[i]) {
			session_forget_stamp(p.b);
		}
		assert_int_equal(session_initiation_create(p.a, 1, stamps[i], T0, init), 0);
		assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
		assert_int_equal(session_response_create(p.b, &pend, 2, T0, resp), want[i]);
	}
	/* Without the forget call, the lower stamp is refused. */
	assert_int_equal(session_initiation_create(p.a, 1, 3, T0, init), 0);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 2, T0, resp), -ESTALE);
	pair_teardown(&p);
}

static void test_session_forgetting_the_stamp_keeps_the_live_keys(void **state)
{
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	handshake(&p, T0);
	session_forget_stamp(p.b);
	assert_int_equal(session_state(p.b), SESSION_ESTABLISHED);
	assert_traffic_both_ways(&p, T0 + 1);
	pair_teardown(&p);
}

/* A second process with the initiator's key (a cloned drone) handshakes
 * with a much larger stamp (its clock is ahead); b refuses its keys: the
 * first process's keys work again both ways, the twin's open nothing, and
 * the first process can still rekey with its own, smaller stamps. */
static void test_session_refused_keys_give_back_the_earlier_ones(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	struct session *twin;
	struct pair p;
	struct pkt k;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(session_refuse_current(p.b, 0x1001), -ENOENT); /* no keys at all */
	handshake(&p, T0);
	assert_int_equal(session_refuse_current(p.b, 0x1001), -ENOENT); /* nothing to go back to */
	twin = session_new(&p.ka, p.kb.pub, NULL);
	assert_non_null(twin);
	assert_int_equal(session_initiation_create(twin, 0x2000, 5000, T0 + 1, init), 0);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 0x2001, T0 + 1, resp), 0);
	assert_int_equal(session_on_response(twin, resp, sizeof(resp), T0 + 1), 0);
	seal_to(twin, T0 + 1, "twin", &k);
	assert_int_equal(open_at(p.b, T0 + 1, &k, "twin"), 0); /* confirmed: current now */
	seal_to(p.b, T0 + 1, "to whom?", &k);
	assert_int_not_equal(open_at(p.a, T0 + 1, &k, NULL), 0);

	assert_int_equal(session_refuse_current(p.b, 0x1001), -ENOENT); /* not the twin's index */
	assert_int_equal(session_refuse_current(p.b, 0x2001), 0);
	assert_int_equal(session_state(p.b), SESSION_ESTABLISHED);
	assert_traffic_both_ways(&p, T0 + 2);
	seal_to(twin, T0 + 2, "again", &k);
	assert_int_not_equal(open_at(p.b, T0 + 2, &k, NULL), 0);
	assert_int_equal(session_refuse_current(p.b, 0x2001), -ENOENT); /* once */
	handshake(&p, T0 + 3); /* stamp 102, below the twin's 5000 */
	assert_traffic_both_ways(&p, T0 + 4);
	session_free(twin);
	pair_teardown(&p);
}

static void test_session_rekeys_by_count_with_packets_in_flight(void **state)
{
	struct session_limits lim;
	struct pkt old_ab[3];
	struct pkt old_ba;
	struct pair p;
	uint32_t old_index;

	(void)state;
	session_limits_default(&lim);
	lim.rekey_after_messages = 8;
	pair_setup(&p, &lim);
	handshake(&p, T0);
	old_index = p.a->current.local_index;
	for (size_t i = 0; i < 4; i++) {
		assert_traffic_both_ways(&p, T0 + 1);
	}
	assert_int_equal(session_on_timer(p.a, T0 + 2), SESSION_ACT_NONE);
	for (size_t i = 0; i < WH_ARRAY_LEN(old_ab); i++) {
		seal_to(p.a, T0 + 2, "in flight a->b", &old_ab[i]);
	}
	seal_to(p.b, T0 + 2, "in flight b->a", &old_ba);
	/* a's counter passed the limit: the engine asks for a handshake now. */
	assert_true(session_next_deadline_us(p.a) <= T0 + 2);
	assert_int_equal(session_on_timer(p.a, T0 + 3), SESSION_ACT_SEND_INITIATION);
	handshake(&p, T0 + 4);
	assert_int_not_equal(p.a->current.local_index, old_index);
	assert_traffic_both_ways(&p, T0 + 5);
	/* Packets sealed under the old keys still open, once. */
	assert_int_equal(open_at(p.b, T0 + 6, &old_ab[0], "in flight a->b"), 0);
	assert_int_equal(open_at(p.a, T0 + 6, &old_ba, "in flight b->a"), 0);
	assert_int_equal(open_at(p.b, T0 + 6, &old_ab[0], NULL), -EALREADY);
	/* After the grace period the previous keys are gone. */
	assert_int_equal(session_on_timer(p.b, T0 + 4 + WIRE_PREVIOUS_KEEP_US), SESSION_ACT_NONE);
	assert_int_equal(open_at(p.b, T0 + 4 + WIRE_PREVIOUS_KEEP_US, &old_ab[1], NULL), -ENOENT);
	pair_teardown(&p);
}

static void test_session_rekeys_by_time_and_traffic_continues(void **state)
{
	const uint64_t t_rekey = T0 + WIRE_REKEY_AFTER_TIME_US;
	struct pkt in_flight;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(session_key_generation(p.a), 0);
	handshake(&p, T0);
	assert_int_equal(session_key_generation(p.a), 1);
	assert_int_equal(session_key_generation(p.b), 1);
	assert_true(session_next_deadline_us(p.a) == t_rekey);
	assert_int_equal(session_on_timer(p.a, t_rekey - 1), SESSION_ACT_NONE);
	seal_to(p.a, t_rekey - 1, "old keys", &in_flight);
	assert_int_equal(session_on_timer(p.a, t_rekey), SESSION_ACT_SEND_INITIATION);
	/* Not acted on: asked again only after a rekey timeout, not in a loop. */
	assert_int_equal(session_on_timer(p.a, t_rekey + 1), SESSION_ACT_NONE);
	assert_true(session_next_deadline_us(p.a) == t_rekey + WIRE_REKEY_TIMEOUT_US);
	handshake(&p, t_rekey + 2);
	assert_traffic_both_ways(&p, t_rekey + 3);
	assert_int_equal(session_key_generation(p.a), 2); /* the status's key_generation */
	assert_int_equal(session_key_generation(p.b), 2);
	assert_int_equal(open_at(p.b, t_rekey + 3, &in_flight, "old keys"), 0);
	/* The new keys live on past the old keys' reject-after time. */
	assert_int_equal(session_on_timer(p.a, T0 + WIRE_REJECT_AFTER_TIME_US), SESSION_ACT_NONE);
	assert_int_equal(session_on_timer(p.b, T0 + WIRE_REJECT_AFTER_TIME_US), SESSION_ACT_NONE);
	assert_traffic_both_ways(&p, T0 + WIRE_REJECT_AFTER_TIME_US);
	pair_teardown(&p);
}

static void test_session_responder_rekeys_when_initiator_does_not(void **state)
{
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	handshake(&p, T0);
	assert_int_equal(session_on_timer(p.b, T0 + WIRE_REKEY_AFTER_TIME_US), SESSION_ACT_NONE);
	assert_int_equal(session_on_timer(p.b, T0 + WIRE_RESPONDER_REKEY_US),
			 SESSION_ACT_SEND_INITIATION);
	pair_teardown(&p);
}

static void test_session_past_reject_after_time_ends_cleanly(void **state)
{
	const uint64_t t_end = T0 + WIRE_REJECT_AFTER_TIME_US;
	uint8_t out[64];
	size_t n;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	handshake(&p, T0);
	assert_int_equal(session_on_timer(p.a, t_end - 1), SESSION_ACT_SEND_INITIATION);
	assert_int_equal(session_on_timer(p.a, t_end), SESSION_ACT_ENDED);
	assert_int_equal(session_state(p.a), SESSION_ENDED);
	assert_int_equal(session_on_timer(p.a, t_end + 1), SESSION_ACT_NONE);
	assert_true(session_next_deadline_us(p.a) == UINT64_MAX);
	assert_int_equal(session_seal(p.a, t_end, (const uint8_t *)"x", 1, out, sizeof(out), &n),
			 -ESHUTDOWN);
	/* b ends too, even if it is only asked to send. */
	assert_int_equal(session_seal(p.b, t_end, (const uint8_t *)"x", 1, out, sizeof(out), &n),
			 -ESHUTDOWN);
	assert_int_equal(session_state(p.b), SESSION_ENDED);
	assert_int_equal(session_on_timer(p.b, t_end), SESSION_ACT_ENDED);
	/* A fresh handshake brings an ended session back. */
	handshake(&p, t_end + SEC);
	assert_traffic_both_ways(&p, t_end + SEC);
	pair_teardown(&p);
}

static void test_session_past_reject_after_messages_ends_cleanly(void **state)
{
	struct session_limits lim;
	uint8_t out[64];
	size_t n;
	struct pair p;

	(void)state;
	session_limits_default(&lim);
	lim.rekey_after_messages = 4;
	lim.reject_after_messages = 10;
	pair_setup(&p, &lim);
	handshake(&p, T0); /* the confirming keepalive is message 1 */
	for (size_t i = 1; i < 10; i++) {
		assert_int_equal(
			session_seal(p.a, T0, (const uint8_t *)"x", 1, out, sizeof(out), &n), 0);
	}
	assert_int_equal(session_seal(p.a, T0, (const uint8_t *)"x", 1, out, sizeof(out), &n),
			 -ESHUTDOWN);
	assert_int_equal(session_state(p.a), SESSION_ENDED);
	assert_int_equal(session_on_timer(p.a, T0), SESSION_ACT_ENDED);
	pair_teardown(&p);
}

static void test_session_unanswered_initiation_is_retried_then_given_up(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint64_t now = T0;
	unsigned retries = 0;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, now, init), 0);
	assert_int_equal(session_state(p.a), SESSION_HANDSHAKE);
	assert_true(session_next_deadline_us(p.a) == now + WIRE_REKEY_TIMEOUT_US);
	for (;;) {
		enum session_action act = session_on_timer(p.a, now);

		if (act == SESSION_ACT_ENDED) {
			break;
		}
		if (act == SESSION_ACT_SEND_INITIATION) {
			assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, now, init),
					 0);
			retries++;
		}
		now = session_next_deadline_us(p.a);
		assert_true(now <= T0 + WIRE_REKEY_ATTEMPT_TIME_US);
	}
	assert_int_equal(retries, WIRE_REKEY_ATTEMPT_TIME_US / WIRE_REKEY_TIMEOUT_US - 1);
	assert_true(now == T0 + WIRE_REKEY_ATTEMPT_TIME_US);
	assert_int_equal(session_state(p.a), SESSION_ENDED);
	pair_teardown(&p);
}

static void test_session_forged_response_keeps_handshake_usable(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	uint8_t bad[WIRE_RESP_LEN];
	struct session_pending pend;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, T0, init), 0);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 2, T0, resp), 0);
	memcpy(bad, resp, sizeof(bad));
	bad[20] ^= 1;
	assert_int_equal(session_on_response(p.a, bad, sizeof(bad), T0), -EBADMSG);
	memcpy(bad, resp, sizeof(bad));
	bad[8] ^= 1; /* receiver index */
	assert_int_equal(session_on_response(p.a, bad, sizeof(bad), T0), -ENOENT);
	assert_int_equal(session_on_response(p.a, resp, sizeof(resp) - 1, T0), -EPROTO);
	assert_int_equal(session_on_response(p.a, resp, sizeof(resp), T0), 0);
	/* The same response again finds no handshake in flight. */
	assert_int_equal(session_on_response(p.a, resp, sizeof(resp), T0), -ENOENT);
	assert_traffic_both_ways(&p, T0);
	pair_teardown(&p);
}

static void test_session_handshakes_carry_valid_mac1_and_cookie_mac2(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	uint8_t reply[WIRE_COOKIE_REPLY_LEN];
	const uint8_t src[] = {192, 0, 2, 1, 0x1c, 0xe8};
	struct cookie_checker ca;
	struct cookie_checker cb;
	struct session_pending pend;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(cookie_checker_init(&cb, p.kb.pub), 0);
	assert_int_equal(cookie_checker_init(&ca, p.ka.pub), 0);
	assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, T0, init), 0);
	assert_int_equal(cookie_check(&cb, init, sizeof(init), src, sizeof(src), T0),
			 COOKIE_VALID_MAC1);
	/* Under load b answers with a cookie; a's retry then proves its address. */
	assert_int_equal(
		cookie_reply_create(&cb, init, sizeof(init), 1, src, sizeof(src), T0, reply), 0);
	assert_int_equal(session_on_cookie_reply(p.a, reply, sizeof(reply), T0), 0);
	assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, T0 + 1, init), 0);
	assert_int_equal(cookie_check(&cb, init, sizeof(init), src, sizeof(src), T0 + 1),
			 COOKIE_VALID_MAC2);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 2, T0 + 1, resp), 0);
	assert_int_equal(cookie_check(&ca, resp, sizeof(resp), src, sizeof(src), T0 + 1),
			 COOKIE_VALID_MAC1);
	cookie_checker_fini(&ca);
	cookie_checker_fini(&cb);
	pair_teardown(&p);
}

static void test_session_seal_checks_sizes_and_state(void **state)
{
	uint8_t big[WIRE_MAX_PLAINTEXT + 1];
	uint8_t out[WIRE_MAX_PACKET + 64];
	size_t n;
	struct pair p;

	(void)state;
	memset(big, 0x5a, sizeof(big));
	pair_setup(&p, NULL);
	assert_int_equal(session_seal(p.a, T0, big, 1, out, sizeof(out), &n), -ENOTCONN);
	handshake(&p, T0);
	assert_int_equal(session_seal(p.a, T0, big, sizeof(big), out, sizeof(out), &n), -EMSGSIZE);
	assert_int_equal(session_seal(p.a, T0, big, 10, out, session_sealed_len(10) - 1, &n),
			 -ENOSPC);
	assert_int_equal(session_seal(p.a, T0, big, WIRE_MAX_PLAINTEXT, out, sizeof(out), &n), 0);
	assert_int_equal(n, WIRE_MAX_PACKET);
	pair_teardown(&p);
}

/* Both sides start a handshake at the same moment; deliver the two
 * initiations, then the two responses, in the order given. */
static void simultaneous(struct pair *p, uint64_t now, bool responses_first)
{
	uint8_t ia[WIRE_INIT_LEN];
	uint8_t ib[WIRE_INIT_LEN];
	uint8_t ra[WIRE_RESP_LEN]; /* b's answer to a */
	uint8_t rb[WIRE_RESP_LEN]; /* a's answer to b */
	struct session_pending pend;
	int rc_a;
	int rc_b;

	assert_int_equal(session_initiation_create(p->a, 0x100, ++p->stamp, now, ia), 0);
	assert_int_equal(session_initiation_create(p->b, 0x200, ++p->stamp, now, ib), 0);
	assert_int_equal(session_initiation_consume(&p->kb, ia, sizeof(ia), &pend), 0);
	assert_int_equal(session_response_create(p->b, &pend, 0x201, now, ra), 0);
	if (responses_first) {
		/* a sees b's response before b's initiation. */
		assert_int_equal(session_on_response(p->a, ra, sizeof(ra), now), 0);
	}
	assert_int_equal(session_initiation_consume(&p->ka, ib, sizeof(ib), &pend), 0);
	assert_int_equal(session_response_create(p->a, &pend, 0x101, now, rb), 0);
	rc_a = responses_first ? 0 : session_on_response(p->a, ra, sizeof(ra), now);
	rc_b = session_on_response(p->b, rb, sizeof(rb), now);
	/* Exactly the lower key's handshake was dropped, unless a had already
	 * completed its own. */
	if (!responses_first) {
		assert_true(rc_a == 0 || rc_b == 0);
		assert_true(rc_a == -ENOENT || rc_b == -ENOENT);
	}
}

static void test_session_new_initiator_keys_ask_for_a_keepalive(void **state)
{
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	struct pair p;
	struct pkt k;

	(void)state;
	pair_setup(&p, NULL);
	assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, T0, init), 0);
	assert_int_equal(session_initiation_consume(&p.kb, init, sizeof(init), &pend), 0);
	assert_int_equal(session_response_create(p.b, &pend, 2, T0, resp), 0);
	assert_int_equal(session_on_response(p.a, resp, sizeof(resp), T0), 0);
	assert_true(session_next_deadline_us(p.a) == 0);
	assert_int_equal(session_on_timer(p.a, T0), SESSION_ACT_SEND_KEEPALIVE);
	assert_int_equal(session_on_timer(p.a, T0), SESSION_ACT_NONE);
	/* b cannot send before a's first packet confirms the keys. */
	assert_int_equal(session_seal(p.b, T0, NULL, 0, k.buf, sizeof(k.buf), &k.len), -ENOTCONN);
	seal_to(p.a, T0, "", &k);
	assert_int_equal(open_at(p.b, T0, &k, ""), 0);
	assert_traffic_both_ways(&p, T0);
	pair_teardown(&p);
}

/* Run both timers and send the keepalives they ask for. */
static void run_keepalives(struct pair *p, uint64_t now)
{
	struct session *sides[2] = {p->a, p->b};
	struct pkt k;

	for (int i = 0; i < 2; i++) {
		if (session_on_timer(sides[i], now) == SESSION_ACT_SEND_KEEPALIVE) {
			seal_to(sides[i], now, "", &k);
			assert_int_equal(open_at(sides[1 - i], now, &k, ""), 0);
		}
	}
}

static void test_session_simultaneous_initiations_converge_on_one_keypair(void **state)
{
	struct session_limits lim;

	(void)state;
	session_limits_default(&lim);
	for (int order = 0; order < 2; order++) {
		for (int round = 0; round < 4; round++) {
			uint64_t now = T0 + (uint64_t)round * 1000 * SEC;
			struct pair p;

			pair_setup(&p, &lim);
			handshake(&p, now);
			simultaneous(&p, now + SEC, order == 1);
			if (round % 2 == 1) {
				run_keepalives(&p, now + SEC);
			}
			if (round >= 2) {
				struct pkt k;

				/* b speaks first this time. */
				seal_to(p.b, now + SEC, "b first", &k);
				assert_int_equal(open_at(p.a, now + SEC, &k, "b first"), 0);
			}
			assert_traffic_both_ways(&p, now + 2 * SEC);
			assert_traffic_both_ways(&p, now + 2 * SEC);
			/* Both now send under the same keys, so nothing depends on
			 * the previous keys any more. */
			assert_int_equal(
				session_on_timer(p.a, now + 3 * SEC + WIRE_PREVIOUS_KEEP_US),
				SESSION_ACT_NONE);
			assert_int_equal(
				session_on_timer(p.b, now + 3 * SEC + WIRE_PREVIOUS_KEEP_US),
				SESSION_ACT_NONE);
			assert_traffic_both_ways(&p, now + 3 * SEC + WIRE_PREVIOUS_KEEP_US);
			assert_true(p.a->current.local_index == p.b->current.remote_index);
			assert_true(p.b->current.local_index == p.a->current.remote_index);
			pair_teardown(&p);
		}
	}
}

static void test_session_yielded_first_handshake_is_retried(void **state)
{
	uint8_t ia[WIRE_INIT_LEN];
	uint8_t ib[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];
	struct session_pending pend;
	struct session *lower;
	struct pair p;

	(void)state;
	pair_setup(&p, NULL);
	lower = memcmp(p.ka.pub, p.kb.pub, WIRE_KEY_LEN) < 0 ? p.a : p.b;
	assert_int_equal(session_initiation_create(p.a, 1, ++p.stamp, T0, ia), 0);
	assert_int_equal(session_initiation_create(p.b, 2, ++p.stamp, T0, ib), 0);
	if (lower == p.a) {
		assert_int_equal(session_initiation_consume(&p.ka, ib, sizeof(ib), &pend), 0);
	} else {
		assert_int_equal(session_initiation_consume(&p.kb, ia, sizeof(ia), &pend), 0);
	}
	assert_int_equal(session_response_create(lower, &pend, 3, T0, resp), 0);
	/* The response is lost: the side that yielded tries again later. */
	assert_int_equal(session_state(lower), SESSION_HANDSHAKE);
	assert_true(session_next_deadline_us(lower) == T0 + WIRE_REKEY_TIMEOUT_US);
	assert_int_equal(session_on_timer(lower, T0 + WIRE_REKEY_TIMEOUT_US),
			 SESSION_ACT_SEND_INITIATION);
	pair_teardown(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_handshake_carries_traffic_both_ways),
		cmocka_unit_test(test_session_replayed_initiation_leaves_session_working),
		cmocka_unit_test(test_session_unconfirmed_initiation_does_not_replace_current),
		cmocka_unit_test(test_session_flipped_bit_anywhere_in_transport_is_rejected),
		cmocka_unit_test(test_session_replayed_and_too_old_packets_are_rejected),
		cmocka_unit_test(test_session_reordered_packets_in_window_are_accepted_once),
		cmocka_unit_test(test_session_wrong_static_key_fails_handshake),
		cmocka_unit_test(test_session_stamp_not_greater_than_last_is_refused),
		cmocka_unit_test(test_session_forgotten_stamp_accepts_a_lower_one_once),
		cmocka_unit_test(test_session_forgetting_the_stamp_keeps_the_live_keys),
		cmocka_unit_test(test_session_refused_keys_give_back_the_earlier_ones),
		cmocka_unit_test(test_session_rekeys_by_count_with_packets_in_flight),
		cmocka_unit_test(test_session_rekeys_by_time_and_traffic_continues),
		cmocka_unit_test(test_session_responder_rekeys_when_initiator_does_not),
		cmocka_unit_test(test_session_past_reject_after_time_ends_cleanly),
		cmocka_unit_test(test_session_past_reject_after_messages_ends_cleanly),
		cmocka_unit_test(test_session_unanswered_initiation_is_retried_then_given_up),
		cmocka_unit_test(test_session_forged_response_keeps_handshake_usable),
		cmocka_unit_test(test_session_handshakes_carry_valid_mac1_and_cookie_mac2),
		cmocka_unit_test(test_session_seal_checks_sizes_and_state),
		cmocka_unit_test(test_session_new_initiator_keys_ask_for_a_keepalive),
		cmocka_unit_test(test_session_simultaneous_initiations_converge_on_one_keypair),
		cmocka_unit_test(test_session_yielded_first_handshake_is_retried),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
