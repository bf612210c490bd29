/* impair: per-flow impairment before delivery (DESIGN §9, issue #9). Owns
 * the pool of held datagrams and the generator; knows nothing of sockets,
 * peers or time sources (the owner passes now_us and keeps the timer).
 *
 * Per pushed datagram, in this order, as a link would: loss -> corruption ->
 * duplication -> reordering -> bottleneck queue (rate_kbps) -> delay with
 * jitter. Each step uses its own draws out of a fixed IMPAIR_DRAWS per
 * datagram, so the decisions for datagram N depend on the seed and N only. */
#include "impair.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

enum draw {
	DRAW_LOSS = 0,
	DRAW_CORRUPT,
	DRAW_CORRUPT_WHERE,
	DRAW_DUPLICATE,
	DRAW_REORDER,
	DRAW_GAUSS_1,
	DRAW_GAUSS_2,
	DRAW_SPARE,
};
_Static_assert(DRAW_SPARE + 1 == IMPAIR_DRAWS, "one draw per decision");

/* ---- generator: xoshiro256** (Blackman, Vigna), seeded by splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1) with 53 bits. */
static double unit(uint64_t u)
{
	return (double)(u >> 11) * 0x1.0p-53;
}

/* ---- parameters ---- */

static double ppb(uint32_t v)
{
	return (double)v / FRAME_PPB_ONE;
}

void impair_params_from_opts(struct impair_params *p, const struct frame_flow_opts *o)
{
	memset(p, 0, sizeof(*p));
	if (!(o->flags & FRAME_FLOW_OPTS_IMPAIR)) {
		return;
	}
	p->loss = ppb(o->loss_ppb);
	p->loss_burst = ppb(o->loss_burst_ppb);
	p->corrupt = ppb(o->corrupt_ppb);
	p->duplicate = ppb(o->duplicate_ppb);
	p->reorder = ppb(o->reorder_ppb);
	p->delay_ms = o->delay_ms;
	p->jitter_ms = o->jitter_ms;
	p->rate_kbps = o->rate_kbps;
	p->has_seed = (o->flags & FRAME_FLOW_OPTS_HAS_SEED) != 0;
	p->seed = o->seed;
}

bool impair_params_none(const struct impair_params *p)
{
	return p->loss <= 0 && p->corrupt <= 0 && p->duplicate <= 0 && p->reorder <= 0 &&
	       p->delay_ms == 0 && p->jitter_ms == 0 && p->rate_kbps == 0;
}

/* Gilbert-Elliott with a loss state B and a delivery state G:
 *   b = P(B -> B) = loss_burst (a loss follows a loss),
 *   p = P(G -> B).
 * The stationary share of B is pi_B = p / (p + 1 - b). Asking pi_B = loss
 * gives p = loss * (1 - b) / (1 - loss), so the long-run loss rate stays
 * `loss` whatever the burstiness, and bursts last 1 / (1 - b) datagrams on
 * average (geometric). p <= 1 needs loss * (1 - b) <= 1 - loss, true for
 * every b when loss <= 0.5; beyond, p is capped at 1 (loss rate 1/(2 - b)).
 * b = 1 would never leave B (and with the formula never enter it): b is
 * capped at IMPAIR_BURST_STAY_MAX. */
static double ge_enter(const struct impair_params *p)
{
	double b = fmin(p->loss_burst, IMPAIR_BURST_STAY_MAX);
	double enter;

	if (p->loss >= 1) {
		return 1;
	}
	enter = p->loss * (1 - b) / (1 - p->loss);
	return enter > 1 ? 1 : enter;
}

/* Reordering: each datagram is held with probability q while fewer than
 * IMPAIR_HOLD_MAX are held in a row (the run's cap; the one after a full run
 * passes), and the held ones leave right behind the next one that passes,
 * newest first. Each then arrives after a datagram sent later, and right
 * after one (so a receiver counting either way counts it once).
 * With K = IMPAIR_HOLD_MAX the run length is a chain on 0..K with
 * pi_k ~ q^k, and the share of datagrams held is
 *   f(q) = (q - q^(K+1)) / (1 - q^(K+1)),   f(1) = K / (K + 1).
 * f rises from 0 to K / (K + 1), so q = f^-1(reorder) makes the share
 * exactly `reorder` (a run's cap alone would bias it down near 1: 0.973
 * for 0.98); from K / (K + 1) (0.985) on, q = 1: runs of K, then one
 * passes. */
static double held_share(double q)
{
	double qk1 = pow(q, IMPAIR_HOLD_MAX + 1);

	return q >= 1 ? (double)IMPAIR_HOLD_MAX / (IMPAIR_HOLD_MAX + 1) : (q - qk1) / (1 - qk1);
}

static double reorder_draw_p(double reorder)
{
	double lo = 0, hi = 1;

	if (reorder <= 0) {
		return 0;
	}
	if (reorder >= held_share(1)) {
		return 1;
	}
	for (int i = 0; i < 60; i++) { /* bisection: f is increasing */
		double mid = (lo + hi) / 2;

		if (held_share(mid) < reorder) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return hi;
}

/* Pool size: what the delay (mean + 4 sigma) and a full bottleneck queue
 * keep back at IMPAIR_PPS_MAX datagrams a second, plus room for a full run
 * of reordered datagrams. */
static size_t pool_slots(const struct impair_params *p)
{
	uint64_t hold_ms = (uint64_t)p->delay_ms + 4ull * p->jitter_ms;
	size_t n;

	if (p->rate_kbps > 0) {
		hold_ms += IMPAIR_QUEUE_US / 1000 + IMPAIR_BURST_US / 1000;
	}
	n = (size_t)(hold_ms * IMPAIR_PPS_MAX / 1000) + IMPAIR_SLOTS_MIN;
	if (p->reorder > 0) {
		n += IMPAIR_HOLD_MAX;
	}
	return n > IMPAIR_SLOTS_MAX ? IMPAIR_SLOTS_MAX : n;
}

int impair_init(struct impair *im, const struct impair_params *p, uint64_t seed)
{
	uint64_t x = seed;

	memset(im, 0, sizeof(*im));
	im->held_until_us = UINT64_MAX;
	im->lent = NONE;
	im->p = *p;
	im->ge_enter = ge_enter(p);
	im->hold_p = reorder_draw_p(p->reorder);
	for (size_t i = 0; i < 4; i++) {
		im->rng[i] = splitmix64(&x);
	}
	im->n_slots = pool_slots(p);
	im->slots = calloc(im->n_slots, sizeof(*im->slots));
	im->data = malloc(im->n_slots * (size_t)IMPAIR_DATA_MAX);
	im->heap = calloc(im->n_slots, sizeof(*im->heap));
	im->free_list = calloc(im->n_slots, sizeof(*im->free_list));
	if (!im->slots || !im->data || !im->heap || !im->free_list) {
		impair_fini(im);
		return -ENOMEM;
	}
	for (size_t i = 0; i < im->n_slots; i++) {
		im->free_list[i] = (uint32_t)(im->n_slots - 1 - i);
	}
	im->n_free = im->n_slots;
	return 0;
}

void impair_fini(struct impair *im)
{
	free(im->slots);
	free(im->data);
	free(im->heap);
	free(im->free_list);
	memset(im, 0, sizeof(*im));
	im->held_until_us = UINT64_MAX;
	im->lent = NONE;
}

/* ---- the due heap ---- */

static bool before(const struct impair *im, uint32_t a, uint32_t b)
{
	const struct impair_slot *x = &im->slots[a];
	const struct impair_slot *y = &im->slots[b];

	return x->release_us < y->release_us ||
	       (x->release_us == y->release_us && x->order < y->order);
}

static void heap_push(struct impair *im, uint32_t slot)
{
	size_t i = im->n_heap++;

	im->heap[i] = slot;
	while (i > 0 && before(im, im->heap[i], im->heap[(i - 1) / 2])) {
		uint32_t t = im->heap[i];

		im->heap[i] = im->heap[(i - 1) / 2];
		im->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static uint32_t heap_pop(struct impair *im)
{
	uint32_t top = im->heap[0];
	size_t i = 0;

	im->heap[0] = im->heap[--im->n_heap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint32_t t;

		if (l < im->n_heap && before(im, im->heap[l], im->heap[m])) {
			m = l;
		}
		if (r < im->n_heap && before(im, im->heap[r], im->heap[m])) {
			m = r;
		}
		if (m == i) {
			return top;
		}
		t = im->heap[i];
		im->heap[i] = im->heap[m];
		im->heap[m] = t;
		i = m;
	}
}

/* ---- decisions ---- */

static void give_back_lent(struct impair *im)
{
	if (im->lent != NONE) {
		im->free_list[im->n_free++] = im->lent;
		im->lent = NONE;
	}
}

static bool is_lost(struct impair *im, double u)
{
	bool lost;

	if (im->p.loss_burst > 0) {
		double stay = fmin(im->p.loss_burst, IMPAIR_BURST_STAY_MAX);

		lost = im->is_in_loss ? u < stay : u < im->ge_enter;
	} else {
		lost = u < im->p.loss;
	}
	im->is_in_loss = lost;
	return lost;
}

/* A normal sample (Box-Muller) with mean 0 and standard deviation 1. */
static double gauss(uint64_t u1, uint64_t u2)
{
	double r = sqrt(-2.0 * log(1.0 - unit(u1))); /* 1 - [0,1) is never 0 */

	return r * cos(2.0 * M_PI * unit(u2));
}

/* When a datagram that left the bottleneck at depart_us is due. */
static uint64_t release_at(const struct impair *im, uint64_t depart_us, const uint64_t *r)
{
	double d = (double)im->p.delay_ms * 1000.0;

	if (im->p.jitter_ms > 0) {
		d += (double)im->p.jitter_ms * 1000.0 * gauss(r[DRAW_GAUSS_1], r[DRAW_GAUSS_2]);
	}
	/* A negative draw cannot send it before it arrived. */
	return d > 0 ? depart_us + (uint64_t)d : depart_us;
}

/* The token bucket: the departure time at the bottleneck, or false when its
 * queue already holds IMPAIR_QUEUE_US of backlog. */
static bool bottleneck(struct impair *im, uint64_t now_us, size_t len, uint64_t *depart_us)
{
	uint64_t svc_us, t;
	/* Unused tokens: at most IMPAIR_BURST_US worth may pile up. */
	uint64_t floor_us = now_us > IMPAIR_BURST_US ? now_us - IMPAIR_BURST_US : 0;

	if (im->p.rate_kbps == 0) {
		*depart_us = now_us;
		return true;
	}
	/* bits / (kbit/s) = ms: len * 8 * 1000 / rate_kbps microseconds. */
	svc_us = (uint64_t)len * 8000u / im->p.rate_kbps;
	t = im->tb_t_us > floor_us ? im->tb_t_us : floor_us;
	if (t + svc_us > now_us + IMPAIR_QUEUE_US) {
		return false;
	}
	im->tb_t_us = t + svc_us;
	*depart_us = im->tb_t_us > now_us ? im->tb_t_us : now_us;
	return true;
}

/* Put a copy in a free slot, due at release_us; NONE when the pool is full. */
static uint32_t hold(struct impair *im, uint64_t tag, const uint8_t *data, size_t len,
		     uint64_t release_us)
{
	uint32_t s;

	if (im->n_free == 0) {
		im->c.pool_dropped++;
		return NONE;
	}
	s = im->free_list[--im->n_free];
	memcpy(im->data + (size_t)s * IMPAIR_DATA_MAX, data, len);
	im->slots[s].len = (uint16_t)len;
	im->slots[s].tag = tag;
	im->slots[s].release_us = release_us;
	im->slots[s].order = im->order++;
	return s;
}

/* Schedule slot s; the datagrams held for reordering go right after it,
 * newest first (each then follows one sent later). */
static void schedule(struct impair *im, uint32_t s)
{
	heap_push(im, s);
	for (size_t i = im->n_held; i-- > 0;) {
		struct impair_slot *h = &im->slots[im->held[i]];

		if (h->release_us < im->slots[s].release_us) {
			h->release_us = im->slots[s].release_us;
		}
		h->order = im->order++;
		heap_push(im, im->held[i]);
	}
	im->n_held = 0;
	im->held_until_us = UINT64_MAX;
}

/* The hold timer: the held datagrams go out as they are (in their own
 * order) when no datagram has passed them in time. */
static void release_held(struct impair *im)
{
	for (size_t i = 0; i < im->n_held; i++) {
		heap_push(im, im->held[i]);
	}
	im->n_held = 0;
	im->held_until_us = UINT64_MAX;
}

/* One byte at a random place of slot s's copy gets a different value (xor 1..255). */
static void corrupt(struct impair *im, uint32_t s, size_t len, uint64_t w)
{
	uint8_t *copy = im->data + (size_t)s * IMPAIR_DATA_MAX;

	copy[(w >> 8) % len] ^= (uint8_t)(1 + (w & 0xff) % 255);
	im->c.corrupted++;
}

/* Whether the datagram with draw u is held for reordering (reorder_draw_p).
 * The run counts decisions, not what the hold timer let go, so that the
 * decisions stay a function of the seed and the datagram's number. */
static bool wants_hold(struct impair *im, double u)
{
	if (im->hold_run < IMPAIR_HOLD_MAX && u < im->hold_p) {
		im->hold_run++;
		return true;
	}
	im->hold_run = 0;
	return false;
}

/* Schedule slot s, and a duplicate of it when r says so. Reorder: keep s back
 * until the next datagram that is not held is scheduled (at most
 * IMPAIR_HOLD_US), the duplicate going out in its place. Returns the copies
 * queued. */
static int place(struct impair *im, uint32_t s, size_t len, uint64_t release_us, const uint64_t *r)
{
	bool is_held = wants_hold(im, unit(r[DRAW_REORDER]));
	uint32_t dup = NONE;

	if (unit(r[DRAW_DUPLICATE]) < im->p.duplicate) {
		dup = hold(im, im->slots[s].tag, im->data + (size_t)s * IMPAIR_DATA_MAX, len,
			   release_us);
		im->c.duplicated += dup != NONE;
	}
	if (is_held) {
		/* Each held datagram counts in the run: n_held < hold_run <= cap. */
		assert(im->n_held < im->hold_run && im->hold_run <= IMPAIR_HOLD_MAX);
		uint64_t until_us = release_us + IMPAIR_HOLD_US;

		im->held[im->n_held++] = s;
		im->held_until_us = until_us < im->held_until_us ? until_us : im->held_until_us;
		im->c.reordered++;
	} else {
		schedule(im, s);
	}
	if (dup != NONE) {
		heap_push(im, dup);
	}
	return dup != NONE ? 2 : 1;
}

int impair_push(struct impair *im, uint64_t now_us, uint64_t tag, const uint8_t *data, size_t len)
{
	uint64_t r[IMPAIR_DRAWS];
	uint64_t depart_us, release_us;
	uint32_t s;

	if (len > IMPAIR_DATA_MAX) {
		return -EMSGSIZE;
	}
	give_back_lent(im);
	for (size_t i = 0; i < IMPAIR_DRAWS; i++) {
		r[i] = next_u64(im->rng);
	}
	im->n++;
	im->c.received++;
	if (is_lost(im, unit(r[DRAW_LOSS]))) {
		im->c.dropped++;
		return 0;
	}
	if (!bottleneck(im, now_us, len, &depart_us)) {
		im->c.rate_dropped++;
		return 0;
	}
	release_us = release_at(im, depart_us, r);
	s = hold(im, tag, data, len, release_us);
	if (s == NONE) {
		return 0;
	}
	if (len > 0 && unit(r[DRAW_CORRUPT]) < im->p.corrupt) {
		corrupt(im, s, len, r[DRAW_CORRUPT_WHERE]);
	}
	if (release_us > now_us) {
		im->c.delayed++;
	}
	return place(im, s, len, release_us, r);
}

uint64_t impair_next_us(const struct impair *im)
{
	uint64_t next = im->held_until_us;

	if (im->n_heap > 0 && im->slots[im->heap[0]].release_us < next) {
		next = im->slots[im->heap[0]].release_us;
	}
	return next;
}

bool impair_pop(struct impair *im, uint64_t now_us, struct impair_out *out)
{
	uint32_t s;

	give_back_lent(im);
	/* Reordered datagrams that nothing passed in time go out anyway. */
	if (im->n_held > 0 && (now_us == UINT64_MAX || im->held_until_us <= now_us)) {
		release_held(im);
	}
	if (im->n_heap == 0 || im->slots[im->heap[0]].release_us > now_us) {
		return false;
	}
	s = heap_pop(im);
	im->lent = s;
	im->c.delivered++;
	out->tag = im->slots[s].tag;
	out->data = im->data + (size_t)s * IMPAIR_DATA_MAX;
	out->len = im->slots[s].len;
	return true;
}
