/* flowqos: a UDP flow's options, impairment and congestion reports (DESIGN
 * §9, issue #9; PROTOCOL.md "Flow options" and "Congestion reports"). Owns
 * the flow's impairment engines (one per source) and their release timer,
 * and the per-member report state; the sockets stay flow_udp.c's, sessions
 * peer.c's. Nothing is allocated per datagram (a source's engine and its
 * pool are made at its first datagram after the options are applied). Must
 * not parse wire bytes by hand. */
#include "flowqos.h"

#include "client/client.h"
#include "client/flow_udp.h"
#include "client/peer.h"
#include "common/log.h"
#include "common/monotime.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A held datagram may leave up to this late rather than restart the timer
 * for every datagram whose release comes a little earlier (STYLE §6). */
#define REARM_SLACK_US 1000ull

/* The impair tag: sequence number, reply flag, member index. */
#define TAG_REPLY 0x100u

/* A member whose last report is this far behind the newest member's report
 * no longer describes the flow (its client went away, or its path broke):
 * its send rate, loss and round trip are left out of the flow's state, or
 * they would stay its maximum for good. Reports come every CCEST_REPORT_US
 * while data arrives, so a working member is never more than a few of them
 * behind. Its saturated state still counts: ccest_on_tick clears that after
 * CCEST_STALE_US, with the event and the log line. */
#define MEMBER_LAG_US 1500000ull

static uint64_t tag_of(size_t m, bool is_reply, uint32_t seq)
{
	return (uint64_t)seq << 32 | (is_reply ? TAG_REPLY : 0) | (uint32_t)m;
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

struct flowqos *flowqos_new(struct flow_udp *f)
{
	struct flowqos *q = calloc(1, sizeof(*q));

	if (!q) {
		return NULL;
	}
	q->flow = f;
	q->tick_us = UINT64_MAX;
	ev_timer_init(&q->timer, timer_cb, 0, 0);
	return q;
}

static void add_counters(struct impair_counters *sum, const struct impair_counters *c)
{
	sum->received += c->received;
	sum->delivered += c->delivered;
	sum->dropped += c->dropped;
	sum->corrupted += c->corrupted;
	sum->duplicated += c->duplicated;
	sum->reordered += c->reordered;
	sum->delayed += c->delayed;
	sum->rate_dropped += c->rate_dropped;
	sum->pool_dropped += c->pool_dropped;
}

/* Free an engine (what it holds is discarded: drain first), keeping its
 * counters for the flow's totals. */
static void retire_engine(struct flowqos *q, struct impair **im)
{
	if (*im) {
		add_counters(&q->imp_retired, &(*im)->c);
		impair_fini(*im);
		free(*im);
		*im = NULL;
	}
}

static void retire_member_engines(struct flowqos *q, struct flowqos_member *mb)
{
	for (size_t k = 0; k < 2; k++) {
		retire_engine(q, &mb->imp[k]);
		mb->imp_failed[k] = false;
	}
}

static void retire_engines(struct flowqos *q)
{
	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		retire_member_engines(q, &q->m[m]);
	}
}

void flowqos_free(struct flowqos *q)
{
	const struct impair_counters *c;

	if (!q) {
		return;
	}
	ev_timer_stop(q->flow->cl->loop, &q->timer);
	retire_engines(q);
	c = &q->imp_retired;
	if (c->received > 0) {
		log_debug("flow %s: impair received=%llu dropped=%llu corrupted=%llu "
			  "duplicated=%llu reordered=%llu delayed=%llu rate_dropped=%llu "
			  "pool_dropped=%llu",
			  q->flow->route.flow.text, (unsigned long long)c->received,
			  (unsigned long long)c->dropped, (unsigned long long)c->corrupted,
			  (unsigned long long)c->duplicated, (unsigned long long)c->reordered,
			  (unsigned long long)c->delayed, (unsigned long long)c->rate_dropped,
			  (unsigned long long)c->pool_dropped);
	}
	free(q);
}

/* ---- delivery through the engine ---- */

static void maybe_report(struct flowqos *q, size_t m, uint64_t now_us)
{
	struct flow_udp *f = q->flow;
	struct frame cc, echo;

	memset(&cc, 0, sizeof(cc));
	memset(&echo, 0, sizeof(echo));
	if (!ccest_rx_report(&q->m[m].rx, f->route.flow_id, now_us, &cc.u.cc, &echo.u.cc_echo)) {
		return;
	}
	if (!f->peers[m]) {
		return;
	}
	/* The echo first: the sender decides on the CC with a fresh delay. */
	cc.type = FRAME_CC;
	echo.type = FRAME_CC_ECHO;
	(void)peer_send(f->peers[m], &echo, now_us);
	(void)peer_send(f->peers[m], &cc, now_us);
}

static void hand_over(struct flowqos *q, uint64_t tag, const uint8_t *data, size_t len,
		      uint64_t now_us)
{
	size_t m = tag & 0xff;

	if (m >= WIRE_MEMBERS_MAX ||
	    !flow_udp_deliver(q->flow, m, (tag & TAG_REPLY) != 0, data, len)) {
		return;
	}
	ccest_rx_on_datagram(&q->m[m].rx, (uint32_t)(tag >> 32), len, now_us);
	maybe_report(q, m, now_us);
}

/* The engine due first, its time in *next_us (NULL, UINT64_MAX: none). */
static struct impair *first_due(const struct flowqos *q, uint64_t *next_us)
{
	struct impair *first = NULL;

	*next_us = UINT64_MAX;
	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		for (size_t k = 0; k < 2; k++) {
			struct impair *im = q->m[m].imp[k];
			uint64_t next = im ? impair_next_us(im) : UINT64_MAX;

			if (next < *next_us) {
				*next_us = next;
				first = im;
			}
		}
	}
	return first;
}

/* Deliver what is due at until_us (UINT64_MAX: everything held), across
 * the sources in release order. */
static void drain(struct flowqos *q, uint64_t until_us, uint64_t now_us)
{
	struct impair_out out;
	struct impair *im;
	uint64_t next_us;

	while ((im = first_due(q, &next_us)) && next_us <= until_us &&
	       impair_pop(im, until_us, &out)) {
		hand_over(q, out.tag, out.data, out.len, now_us);
	}
}

/* The engine for member m's datagrams (or replies) to us, made at the first
 * one; NULL: not impairing, or no memory (then its datagrams pass as they
 * are, logged once). Every source's engine starts from the flow's seed, so
 * the decisions about the Nth datagram from a source depend on the seed and
 * N only, whatever the other sources send in between. */
static struct impair *engine_of(struct flowqos *q, size_t m, bool is_reply)
{
	struct flowqos_member *mb = &q->m[m];
	size_t k = is_reply ? 1 : 0;

	if (!q->has_imp || mb->imp[k] || mb->imp_failed[k]) {
		return mb->imp[k];
	}
	mb->imp[k] = malloc(sizeof(*mb->imp[k]));
	if (!mb->imp[k] || impair_init(mb->imp[k], &q->imp_p, q->imp_seed) != 0) {
		free(mb->imp[k]);
		mb->imp[k] = NULL;
		mb->imp_failed[k] = true;
		log_error("flow %s: out of memory for the impairment pool of %s; not impairing "
			  "its datagrams",
			  q->flow->route.flow.text,
			  m < q->flow->route.member_count ? q->flow->route.members[m].name.text
							  : "?");
		return NULL;
	}
	return mb->imp[k];
}

static void rearm(struct flowqos *q, uint64_t now_us)
{
	struct ev_loop *loop = q->flow->cl->loop;
	uint64_t next;

	(void)first_due(q, &next);

	next = q->tick_us < next ? q->tick_us : next;

	if (next == UINT64_MAX) {
		ev_timer_stop(loop, &q->timer);
		return;
	}
	if (ev_is_active(&q->timer) && next + REARM_SLACK_US >= q->armed_us) {
		return; /* it fires in time (early is harmless) */
	}
	ev_timer_stop(loop, &q->timer);
	ev_timer_set(&q->timer, next > now_us ? (double)(next - now_us) / 1e6 : 0, 0);
	ev_timer_start(loop, &q->timer);
	q->armed_us = next;
}

static void tick(struct flowqos *q, uint64_t now_us);

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct flowqos *q = container_of(w, struct flowqos, timer);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	drain(q, now_us, now_us);
	if (now_us >= q->tick_us) {
		tick(q, now_us);
	}
	rearm(q, now_us);
}

void flowqos_on_datagram(struct flowqos *q, size_t m, bool is_reply, uint32_t seq,
			 const uint8_t *data, size_t len, uint64_t now_us)
{
	uint64_t tag = tag_of(m, is_reply, seq);
	struct impair *im = engine_of(q, m, is_reply);

	if (!im) {
		hand_over(q, tag, data, len, now_us);
		return;
	}
	(void)impair_push(im, now_us, tag, data, len);
	drain(q, now_us, now_us);
	rearm(q, now_us);
}

/* ---- options ---- */

static bool opts_equal(const struct frame_flow_opts *a, const struct frame_flow_opts *b)
{
	return a->multipath == b->multipath && a->flags == b->flags && a->loss_ppb == b->loss_ppb &&
	       a->loss_burst_ppb == b->loss_burst_ppb && a->corrupt_ppb == b->corrupt_ppb &&
	       a->duplicate_ppb == b->duplicate_ppb && a->reorder_ppb == b->reorder_ppb &&
	       a->delay_ms == b->delay_ms && a->jitter_ms == b->jitter_ms &&
	       a->rate_kbps == b->rate_kbps && a->seed == b->seed;
}

static void log_impair(const struct flowqos *q, const struct impair_params *p)
{
	log_info("flow %s: impair loss=%g loss_burst=%g corrupt=%g duplicate=%g reorder=%g "
		 "delay_ms=%u jitter_ms=%u rate_kbps=%u seed=%llu%s",
		 q->flow->route.flow.text, p->loss, p->loss_burst, p->corrupt, p->duplicate,
		 p->reorder, (unsigned)p->delay_ms, (unsigned)p->jitter_ms, (unsigned)p->rate_kbps,
		 (unsigned long long)q->imp_seed, p->has_seed ? "" : " (random)");
}

void flowqos_set_opts(struct flowqos *q, const struct frame_flow_opts *o, uint64_t now_us)
{
	struct frame_flow_opts none;
	struct impair_params p;

	memset(&none, 0, sizeof(none));
	if (!o) {
		o = &none;
	}
	if (opts_equal(&q->opts, o)) {
		return;
	}
	q->opts = *o;
	q->has_opts = o != &none;
	/* What the old engines hold goes out now, in their order: a new
	 * impairment starts with empty pools, the sockets stay as they are. */
	drain(q, UINT64_MAX, now_us);
	retire_engines(q);
	q->has_imp = false;
	impair_params_from_opts(&p, o);
	if (impair_params_none(&p)) {
		rearm(q, now_us);
		log_info("flow %s: no impairment", q->flow->route.flow.text);
		return;
	}
	/* A drawn seed is logged to be written into routes.conf for a rerun,
	 * so it stays in the range that setting takes (0..2^63-1). */
	q->imp_seed = p.has_seed ? p.seed
				 : ((uint64_t)randombytes_random() << 32 | randombytes_random()) &
					   (uint64_t)INT64_MAX;
	q->imp_p = p;
	q->has_imp = true;
	log_impair(q, &p);
}

static void plan_tick(struct flowqos *q);

void flowqos_remap_members(struct flowqos *q, const struct frame_route *old,
			   const struct frame_route *new)
{
	uint64_t now_us = monotime_now_us();
	struct flowqos_member *was;
	bool is_kept[WIRE_MEMBERS_MAX] = {false};

	/* Held datagrams name their member by index: deliver them while the
	 * indices still mean what they meant. */
	drain(q, UINT64_MAX, now_us);
	/* Rare (a route change): a heap copy keeps the stack small. */
	was = malloc(sizeof(q->m));
	if (was) {
		memcpy(was, q->m, sizeof(q->m));
	} else {
		retire_engines(q);
	}
	memset(q->m, 0, sizeof(q->m));
	for (size_t n = 0; was && n < new->member_count; n++) {
		for (size_t o = 0; o < old->member_count; o++) {
			if (strcmp(new->members[n].name.text, old->members[o].name.text) == 0) {
				q->m[n] = was[o];
				/* An engine has one owner, even if a name came twice. */
				if (is_kept[o]) {
					memset(q->m[n].imp, 0, sizeof(q->m[n].imp));
				}
				is_kept[o] = true;
				break;
			}
		}
	}
	/* The engines of members that left go with them. */
	for (size_t o = 0; was && o < WIRE_MEMBERS_MAX; o++) {
		if (!is_kept[o]) {
			retire_member_engines(q, &was[o]);
		}
	}
	free(was);
	plan_tick(q);
	rearm(q, now_us);
}

/* ---- sending and congestion ---- */

uint32_t flowqos_next_seq(struct flowqos *q, size_t m, uint32_t *peer_top)
{
	return dgdedup_next_seq(&q->m[m].tx_seq, peer_top);
}

static void log_change(const struct flowqos *q, size_t m, enum ccest_change ch, uint64_t now_us)
{
	const struct ccest *e = &q->m[m].tx;
	const struct flow_udp *f = q->flow;

	log_info("flow %s: %s capacity_kbps=%.0f send_kbps=%.0f loss=%.3f rtt_ms=%.1f "
		 "qdelay_ms=%.1f peer=%s",
		 f->route.flow.text, ch == CCEST_SATURATED ? "saturated" : "cleared",
		 e->capacity_bps / 1000, ccest_send_bps(e, now_us) / 1000, e->loss,
		 e->rtt_us / 1000, (e->qdelay_us - e->qdelay_base_us) / 1000,
		 f->route.members[m].name.text);
}

/* The earliest ccest_on_tick any member needs (a saturated one). */
static void plan_tick(struct flowqos *q)
{
	q->tick_us = UINT64_MAX;
	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		uint64_t next = ccest_next_us(&q->m[m].tx);

		q->tick_us = next < q->tick_us ? next : q->tick_us;
	}
}

static void on_change(struct flowqos *q, size_t m, enum ccest_change ch, uint64_t now_us)
{
	struct client *cl = q->flow->cl;
	struct flow_udp_state st;

	log_change(q, m, ch, now_us);
	/* While a member is saturated, the timer also watches for its state
	 * going stale: with no sends and no reports nothing else would. */
	plan_tick(q);
	rearm(q, now_us);
	/* The flow is saturated while the path to any member is: with several
	 * members, one member's change need not change the flow's state, and
	 * the hook hears only the flow's changes (so watchers never see
	 * "saturated" twice in a row). */
	flow_udp_state_of(q->flow, &st);
	if (st.saturated == q->is_saturated) {
		return;
	}
	q->is_saturated = st.saturated;
	if (cl->flow_event) {
		cl->flow_event(cl->flow_event_ctx, &st);
	}
}

/* The timer's deadline for ccest_on_tick came: clear stale states. */
static void tick(struct flowqos *q, uint64_t now_us)
{
	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		if (ccest_on_tick(&q->m[m].tx, now_us) != CCEST_SAME) {
			on_change(q, m, CCEST_CLEARED, now_us);
		}
	}
	plan_tick(q);
}

void flowqos_on_sent(struct flowqos *q, size_t m, uint32_t seq, size_t len, uint64_t now_us)
{
	if (ccest_on_send(&q->m[m].tx, seq, len, now_us) != CCEST_SAME) {
		on_change(q, m, CCEST_CLEARED, now_us);
	}
}

void flowqos_on_cc(struct flowqos *q, size_t m, const struct frame *fr, uint64_t now_us)
{
	enum ccest_change ch;

	if (fr->type == FRAME_CC_ECHO) {
		ccest_on_echo(&q->m[m].tx, &fr->u.cc_echo, now_us);
		return;
	}
	ch = ccest_on_report(&q->m[m].tx, &fr->u.cc, now_us);
	log_debug("flow %s: report peer=%s rx_packets=%u lost=%u delivered_kbps=%.0f "
		  "send_kbps=%.0f capacity_kbps=%.0f qdelay_ms=%.1f rtt_ms=%.1f",
		  q->flow->route.flow.text, q->flow->route.members[m].name.text,
		  (unsigned)fr->u.cc.rx_packets, (unsigned)fr->u.cc.lost_packets,
		  q->m[m].tx.delivered_bps / 1000, q->m[m].tx.send_bps / 1000,
		  q->m[m].tx.capacity_bps / 1000,
		  (q->m[m].tx.qdelay_us - q->m[m].tx.qdelay_base_us) / 1000,
		  q->m[m].tx.rtt_us / 1000);
	if (ch != CCEST_SAME) {
		on_change(q, m, ch, now_us);
	}
}

/* The newest report of any member (0: none yet). */
static uint64_t newest_report_us(const struct flowqos *q)
{
	uint64_t newest = 0;

	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		const struct ccest *e = &q->m[m].tx;

		newest = e->reports > 0 && e->report_us > newest ? e->report_us : newest;
	}
	return newest;
}

void flowqos_state(const struct flowqos *q, struct flow_udp_state *st)
{
	double cap = 0, send = 0, loss = 0, rtt = 0;
	uint64_t now_us = monotime_now_us();
	uint64_t newest_us = newest_report_us(q);

	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		const struct ccest *e = &q->m[m].tx;
		double e_send;

		if (e->reports == 0) {
			continue;
		}
		st->saturated |= e->is_saturated;
		if (e->report_us + MEMBER_LAG_US < newest_us) {
			continue;
		}
		if (e->capacity_bps > 0 && (cap == 0 || e->capacity_bps < cap)) {
			cap = e->capacity_bps;
		}
		e_send = ccest_send_bps(e, now_us);
		send = e_send > send ? e_send : send;
		loss = e->loss > loss ? e->loss : loss;
		rtt = e->rtt_us > rtt ? e->rtt_us : rtt;
	}
	st->capacity_kbps = (uint32_t)(cap / 1000);
	st->send_kbps = (uint32_t)(send / 1000);
	st->loss = loss;
	st->rtt_ms = (uint32_t)(rtt / 1000);
	st->has_impair = q->has_imp;
	st->impair = q->imp_retired;
	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		for (size_t k = 0; k < 2; k++) {
			if (q->m[m].imp[k]) {
				add_counters(&st->impair, &q->m[m].imp[k]->c);
			}
		}
	}
}
