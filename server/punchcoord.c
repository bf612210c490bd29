/* punchcoord: punch coordination, path reports and strategy memory (see
 * punchcoord.h). */
#include "server/punchcoord.h"

#include "common/addr.h"
#include "common/idpair.h"
#include "common/log.h"
#include "nat/punch.h"
#include "proto/frameaddr.h"
#include "server/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void punchcoord_init(struct punchcoord *pc, uint64_t token_seed)
{
	memset(pc, 0, sizeof(*pc));
	pc->next_token = token_seed | 1;
}

void punchcoord_fini(struct punchcoord *pc)
{
	free(pc->pairs);
	free(pc->index);
	memset(pc, 0, sizeof(*pc));
}

/* Index 0 or 1 of id in the pair (a < b). */
static int side_of(const struct punchcoord_pair *p, const char *id)
{
	return strcmp(p->a, id) == 0 ? 0 : 1;
}

/* ---- the records by their two clients ---- */

/* The slot of the index holding the first record of lo and hi (lo < hi),
 * or the free slot where it belongs. cap_index > 0. */
static size_t *index_slot(const struct punchcoord *pc, const char *lo, const char *hi)
{
	size_t mask = pc->cap_index - 1, i = idpair_hash(lo, hi) & mask;

	for (; pc->index[i]; i = (i + 1) & mask) {
		const struct punchcoord_pair *p = &pc->pairs[pc->index[i] - 1];

		if (strcmp(p->a, lo) == 0 && strcmp(p->b, hi) == 0) {
			break;
		}
	}
	return &pc->index[i];
}

/* Room in the index for want pairs of clients (at most half full, so every
 * probe ends at a free slot). Returns 0 or -ENOMEM, the index unchanged. */
static int index_reserve(struct punchcoord *pc, size_t want)
{
	size_t cap = idpair_index_cap(pc->cap_index, want);
	size_t *ni;

	if (cap == pc->cap_index) {
		return 0;
	}
	ni = calloc(cap, sizeof(*ni));
	if (!ni) {
		return -ENOMEM;
	}
	free(pc->index);
	pc->index = ni;
	pc->cap_index = cap;
	/* The first record of two clients comes first in the array. */
	for (size_t i = 0; i < pc->n_pairs; i++) {
		size_t *slot = index_slot(pc, pc->pairs[i].a, pc->pairs[i].b);

		if (!*slot) {
			*slot = i + 1;
		}
	}
	return 0;
}

/* The first record of clients x and y (either order), or NULL. */
static struct punchcoord_pair *first_of(const struct punchcoord *pc, const char *x, const char *y)
{
	bool is_ordered = strcmp(x, y) < 0;
	size_t at;

	if (pc->cap_index == 0) {
		return NULL;
	}
	at = *index_slot(pc, is_ordered ? x : y, is_ordered ? y : x);
	return at ? &pc->pairs[at - 1] : NULL;
}

/* The record of the same two clients after p, or NULL. */
static struct punchcoord_pair *next_of(const struct punchcoord *pc, const struct punchcoord_pair *p)
{
	return p->next_same ? &pc->pairs[p->next_same - 1] : NULL;
}

/* Is p, a record of x and y, the one of x's uplink ux and y's uplink uy? */
static bool has_uplinks(const struct punchcoord_pair *p, const char *x, unsigned ux, unsigned uy)
{
	int side = side_of(p, x);

	return p->uplink[side] == ux && p->uplink[!side] == uy;
}

static struct punchcoord_pair *find_pair(const struct punchcoord *pc, const char *x, unsigned ux,
					 const char *y, unsigned uy)
{
	for (struct punchcoord_pair *p = first_of(pc, x, y); p; p = next_of(pc, p)) {
		if (has_uplinks(p, x, ux, uy)) {
			return p;
		}
	}
	return NULL;
}

const struct punchcoord_pair *punchcoord_find_uplinks(const struct punchcoord *pc, const char *a,
						      unsigned ua, const char *b, unsigned ub)
{
	return find_pair(pc, a, ua, b, ub);
}

const struct punchcoord_pair *punchcoord_find(const struct punchcoord *pc, const char *a,
					      const char *b)
{
	return find_pair(pc, a, 0, b, 0);
}

const struct punchcoord_pair *punchcoord_next(const struct punchcoord *pc, const char *a,
					      const char *b, const struct punchcoord_pair *prev)
{
	return prev ? next_of(pc, prev) : first_of(pc, a, b);
}

/* The record of x's uplink ux and y's uplink uy (x != y), made if there is
 * none: at the end of the array and of the two clients' chain. */
static struct punchcoord_pair *get_pair(struct punchcoord *pc, const char *x, unsigned ux,
					const char *y, unsigned uy)
{
	struct punchcoord_pair *p = first_of(pc, x, y);
	bool is_ordered = strcmp(x, y) < 0;
	size_t last = 0; /* the chain's last record, index + 1 */

	for (; p; p = next_of(pc, p)) {
		if (has_uplinks(p, x, ux, uy)) {
			return p;
		}
		last = (size_t)(p - pc->pairs) + 1;
	}
	if (!last && index_reserve(pc, pc->n_index + 1) != 0) {
		return NULL;
	}
	if (pc->n_pairs == pc->cap_pairs) {
		size_t cap = pc->cap_pairs ? 2 * pc->cap_pairs : 8;
		struct punchcoord_pair *n = realloc(pc->pairs, cap * sizeof(*n));

		if (!n) {
			return NULL;
		}
		pc->pairs = n;
		pc->cap_pairs = cap;
	}
	p = &pc->pairs[pc->n_pairs++];
	memset(p, 0, sizeof(*p));
	/* Names are valid ids (< ROUTES_NAME_SIZE): the copies terminate. */
	snprintf(p->a, sizeof(p->a), "%s", is_ordered ? x : y);
	snprintf(p->b, sizeof(p->b), "%s", is_ordered ? y : x);
	p->uplink[0] = (uint8_t)(is_ordered ? ux : uy);
	p->uplink[1] = (uint8_t)(is_ordered ? uy : ux);
	if (last) {
		pc->pairs[last - 1].next_same = pc->n_pairs;
	} else {
		*index_slot(pc, p->a, p->b) = pc->n_pairs;
		pc->n_index++;
	}
	return p;
}

/* Rebuild the index and the chains of records of the same two clients
 * from the array, whose order is the order the records were made. */
static void index_rebuild(struct punchcoord *pc)
{
	if (pc->cap_index == 0) {
		return;
	}
	memset(pc->index, 0, pc->cap_index * sizeof(*pc->index));
	pc->n_index = 0;
	for (size_t i = 0; i < pc->n_pairs; i++) {
		struct punchcoord_pair *p = &pc->pairs[i], *q;
		size_t *slot = index_slot(pc, p->a, p->b);

		p->next_same = 0;
		if (!*slot) {
			*slot = i + 1;
			pc->n_index++;
			continue;
		}
		q = &pc->pairs[*slot - 1];
		while (q->next_same) {
			q = &pc->pairs[q->next_same - 1];
		}
		q->next_same = i + 1;
	}
}

void punchcoord_prune(struct punchcoord *pc, const struct routes *r)
{
	size_t kept = 0;

	for (size_t i = 0; i < pc->n_pairs; i++) {
		if (routes_shared_modes(r, pc->pairs[i].a, pc->pairs[i].b) == 0) {
			continue;
		}
		if (kept != i) {
			pc->pairs[kept] = pc->pairs[i];
		}
		kept++;
	}
	if (kept == pc->n_pairs) {
		return;
	}
	log_debug("punch: %zu records of clients that no longer share a flow forgotten",
		  pc->n_pairs - kept);
	pc->n_pairs = kept;
	index_rebuild(pc);
}

/* " uplinks=1/0" when an uplink is not the main one, else "" (log lines). */
static const char *uplinks_text(char *buf, size_t len, unsigned u, unsigned peer_u)
{
	buf[0] = '\0';
	if (u != 0 || peer_u != 0) {
		snprintf(buf, len, " uplinks=%u/%u", u, peer_u);
	}
	return buf;
}

/* ---- strategy memory, per pair of public IPs ---- */

/* The entry of the public IPs of s[0] and s[1], or NULL. A pair's sides
 * are in the order of its clients' ids, so another pair of clients behind
 * the same two addresses may have them the other way round: *flip says
 * whether the entry's side 0 is s[1]. */
static struct punchcoord_memo *memo_find(struct punchcoord *pc, const struct punch_side s[2],
					 int *flip)
{
	for (size_t i = 0; i < pc->n_memo; i++) {
		struct punchcoord_memo *m = &pc->memo[i];

		if (m->strategy == FRAME_PUNCH_RELAY) {
			continue;
		}
		for (int f = 0; f < 2; f++) {
			if (frameaddr_same_ip(&m->ip[f], &s[0].mapped) &&
			    frameaddr_same_ip(&m->ip[1 - f], &s[1].mapped)) {
				*flip = f;
				return m;
			}
		}
	}
	return NULL;
}

/* The entry for s, if it was made for the NAT classes and steps s has now:
 * the strategy it holds was chosen for those. */
static const struct punchcoord_memo *memo_lookup(struct punchcoord *pc,
						 const struct punch_side s[2])
{
	int flip = 0;
	const struct punchcoord_memo *m = memo_find(pc, s, &flip);

	for (int i = 0; m && i < 2; i++) {
		if (m->natclass[i ^ flip] != s[i].natclass ||
		    m->alloc_step[i ^ flip] != s[i].alloc_step) {
			return NULL;
		}
	}
	return m;
}

static void memo_put(struct punchcoord *pc, const struct punch_side s[2], uint8_t strategy)
{
	int flip = 0;
	struct punchcoord_memo *m = memo_find(pc, s, &flip);

	for (size_t i = 0; !m && i < pc->n_memo; i++) {
		if (pc->memo[i].strategy == FRAME_PUNCH_RELAY) {
			m = &pc->memo[i]; /* forgotten: free */
		}
	}
	if (!m) {
		if (pc->n_memo < PUNCHCOORD_MEMO_MAX) {
			m = &pc->memo[pc->n_memo++];
		} else {
			m = &pc->memo[pc->memo_next];
			pc->memo_next = (pc->memo_next + 1) % PUNCHCOORD_MEMO_MAX;
		}
	}
	for (int i = 0; i < 2; i++) {
		m->ip[i] = s[i].mapped;
		m->natclass[i] = s[i].natclass;
		m->alloc_step[i] = s[i].alloc_step;
	}
	m->strategy = strategy;
}

/* p asks again and its last attempt, planned from the memory, brought no
 * path up (no PATH UP with its token: a client asks only once its attempt
 * has failed, or when its PUNCH never came): the entry is wrong for these
 * addresses now, forget it, so the table decides from the classes. */
static void memo_forget_failed(struct punchcoord *pc, struct punchcoord_pair *p)
{
	struct punchcoord_memo *m;
	int flip = 0;

	if (!p->is_memo_attempt || p->started_us == 0 || p->is_attempt_up) {
		return;
	}
	p->is_memo_attempt = false;
	m = memo_find(pc, p->side, &flip);
	if (m && m->strategy == p->strategy) {
		log_info("punch %s <-> %s: remembered strategy=%s failed, forgotten", p->a, p->b,
			 punch_strategy_name(m->strategy));
		m->strategy = FRAME_PUNCH_RELAY;
	}
}

/* ---- requests ---- */

/* Uplink u of c as a punch side: its mapped address and NAT class (the
 * main uplink's: the main fields). Local candidates belong to the main
 * uplink only. */
static void side_info(const struct registry_client *c, unsigned u, struct punch_side *s)
{
	const struct sockaddr_storage *addr = u == c->main_uplink ? &c->addr : &c->uplinks[u].addr;

	memset(s, 0, sizeof(*s));
	s->natclass = u == c->main_uplink ? c->natclass : c->uplinks[u].natclass;
	s->alloc_step = u == c->main_uplink ? c->alloc_step : c->uplinks[u].alloc_step;
	(void)frameaddr_from_sockaddr(&s->mapped, (const struct sockaddr *)addr);
	s->has_local = u == c->main_uplink && c->n_local > 0;
}

static uint64_t registered_us(const struct registry_client *c, unsigned u)
{
	return u == c->main_uplink ? c->registered_us : c->uplinks[u].registered_us;
}

/* The PUNCH frame for `to`, describing `other`. Returns 0 or -EINVAL. */
static int build_punch(struct frame *f, const struct punchcoord_pair *p,
		       const struct punch_plan *plan, int side, const struct registry_client *other,
		       const struct punch_side *other_info)
{
	struct frame_punch *k = &f->u.punch;

	memset(f, 0, sizeof(*f));
	f->type = FRAME_PUNCH;
	k->token = p->token;
	if (frame_name_set(&k->peer, other->id) != 0) {
		return -EINVAL;
	}
	k->strategy = plan->strategy;
	k->role = plan->role[side] ? plan->role[side] : FRAME_PUNCH_ROLE_PROBE;
	k->delay_ms = PUNCH_START_DELAY_MS;
	k->count = plan->count[side];
	/* The recipient punches from its uplink, towards the other's. */
	k->uplink = p->uplink[side];
	k->peer_uplink = p->uplink[!side];
	k->addrs[k->addr_count++] = other_info->mapped;
	if (plan->strategy == FRAME_PUNCH_LAN) {
		for (size_t i = 0; i < other->n_local && k->addr_count < WIRE_ADDR_MAX; i++) {
			k->addrs[k->addr_count++] = other->local[i];
		}
	}
	/* The scanning side starts once the other's spray sockets are open. */
	if (k->role == FRAME_PUNCH_ROLE_SCAN) {
		k->delay_ms = (uint16_t)(k->delay_ms +
					 (plan->count[!side] * PUNCH_SPRAY_INTERVAL_US) / 1000);
	}
	return 0;
}

/* Does side `side` of attempt p predict its NAT's ports over a while
 * (either side of PREDICT between two symmetric NATs: from its STUN base
 * until its mappings are made, across the exchange over the relay)? */
static bool side_predicts(const struct punchcoord_pair *p, int side)
{
	return p->role[side] == FRAME_PUNCH_ROLE_PREDICT ||
	       p->role[side] == FRAME_PUNCH_ROLE_PREDICT_ODD;
}

/* Does side `side` of attempt p make many new mappings on its NAT (the
 * spraying side, a predicting side)? */
static bool side_is_heavy(const struct punchcoord_pair *p, int side)
{
	return side_predicts(p, side) || p->role[side] == FRAME_PUNCH_ROLE_SPRAY;
}

/* An attempt that started within PUNCHCOORD_HEAVY_US and makes many new
 * mappings from id's uplink u, if this or it predicts (the other's
 * mappings would shift the ports guessed), or NULL. Attempts start only
 * between clients sharing a flow, and a routes change prunes the others
 * (punchcoord_prune): the records of id's peers in r are all there is to
 * look at, not every record of the fleet. */
static const struct punchcoord_pair *heavy_conflict(const struct punchcoord *pc,
						    const struct routes *r, const char *id,
						    unsigned u, bool is_predict, uint64_t now_us)
{
	size_t n = 0, ia = routes_client_index(r, id);
	const struct routes_peer *peers = ia == SIZE_MAX ? NULL : routes_peers_of(r, ia, &n);

	for (size_t k = 0; k < n; k++) {
		const char *other = r->clients[peers[k].client].id;

		for (const struct punchcoord_pair *q = first_of(pc, id, other); q;
		     q = next_of(pc, q)) {
			int side = side_of(q, id);

			if (q->uplink[side] == u && q->started_us != 0 &&
			    now_us - q->started_us < PUNCHCOORD_HEAVY_US &&
			    side_is_heavy(q, side) && (is_predict || side_predicts(q, side))) {
				return q;
			}
		}
	}
	return NULL;
}

/* Whether from's request to punch to other (peer: the name it asked for,
 * for the log; other: that client, or NULL) can be served now: both online
 * and sharing a flow, both uplinks registered, other's NAT class known or
 * waited for long enough. */
static bool request_is_ready(const struct routes *r, const struct registry_client *from,
			     unsigned uplink, const struct registry_client *other, const char *peer,
			     unsigned peer_uplink, uint64_t now_us)
{
	struct punch_side info;

	if (!other || other == from || !other->is_online || other->addr_len == 0 ||
	    routes_shared_modes(r, from->id, other->id) == 0) {
		log_debug("punch %s -> %s: peer not reachable through us now", from->id, peer);
		return false;
	}
	if (!registry_uplink_is_present(from, uplink) ||
	    !registry_uplink_is_present(other, peer_uplink)) {
		log_debug("punch %s -> %s: uplink not registered uplinks=%u/%u", from->id, peer,
			  uplink, peer_uplink);
		return false;
	}
	side_info(other, peer_uplink, &info);
	if (info.natclass == FRAME_NAT_UNKNOWN &&
	    now_us - registered_us(other, peer_uplink) < PUNCHCOORD_CLASS_WAIT_US) {
		log_debug("punch %s -> %s: waiting for %s's NAT class", from->id, peer, peer);
		return false;
	}
	return true;
}

/* Whether plan must wait: a side of it that makes many mappings on its
 * NAT (spray, predict) while another pair does on the same NAT. */
static bool heavy_must_wait(const struct punchcoord *pc, const struct routes *r,
			    const struct punchcoord_pair *p, const struct punch_plan *plan,
			    struct registry_client *const cs[2], uint64_t now_us)
{
	for (int i = 0; i < 2; i++) {
		const struct punchcoord_pair *q;
		struct punchcoord_pair probe = {.strategy = plan->strategy};

		probe.role[i] = plan->role[i];
		if (!side_is_heavy(&probe, i)) {
			continue;
		}
		q = heavy_conflict(pc, r, cs[i]->id, p->uplink[i], side_predicts(&probe, i),
				   now_us);
		if (q) {
			/* The requester asks again (DIRECT_REQUEST_WAIT_US). */
			log_debug("punch %s <-> %s: %s waits: %s <-> %s is making mappings on "
				  "%s's NAT",
				  p->a, p->b, punch_strategy_name(plan->strategy), q->a, q->b,
				  cs[i]->id);
			return true;
		}
	}
	return false;
}

/* p's new attempt by plan (from the memory: is_memo), said in the log. */
static void start_attempt(struct punchcoord *pc, struct punchcoord_pair *p,
			  const struct punch_plan *plan, const struct punch_side info[2],
			  bool is_memo, uint64_t now_us)
{
	char ups[32];

	p->token = pc->next_token++;
	p->strategy = plan->strategy;
	p->role[0] = plan->role[0];
	p->role[1] = plan->role[1];
	p->started_us = now_us;
	p->is_attempt_up = false;
	p->is_memo_attempt = is_memo;
	p->side[0] = info[0];
	p->side[1] = info[1];
	log_info("punch %s <-> %s: strategy=%s nat=%u/%u step=%d/%d token=%llx%s%s", p->a, p->b,
		 punch_strategy_name(plan->strategy), (unsigned)info[0].natclass,
		 (unsigned)info[1].natclass, info[0].alloc_step, info[1].alloc_step,
		 (unsigned long long)p->token, is_memo ? " (remembered)" : "",
		 uplinks_text(ups, sizeof(ups), p->uplink[0], p->uplink[1]));
}

void punchcoord_on_request(struct punchcoord *pc, struct registry *reg, const struct routes *r,
			   struct registry_client *from, unsigned uplink, const char *peer,
			   unsigned peer_uplink, bool enabled, unsigned spray, uint64_t now_us,
			   punchcoord_send_fn *send, void *ctx)
{
	struct registry_client *other = registry_find_by_id(reg, peer);
	struct registry_client *cs[2];
	struct punch_side info[2];
	const struct punchcoord_memo *memo;
	struct punchcoord_pair *p;
	struct punch_plan plan;
	struct frame f;

	if (!request_is_ready(r, from, uplink, other, peer, peer_uplink, now_us)) {
		return;
	}
	p = get_pair(pc, from->id, uplink, other->id, peer_uplink);
	if (!p || (p->started_us != 0 && now_us - p->started_us < PUNCHCOORD_BUSY_US)) {
		return;
	}
	cs[side_of(p, from->id)] = from;
	cs[side_of(p, other->id)] = other;
	side_info(cs[0], p->uplink[0], &info[0]);
	side_info(cs[1], p->uplink[1], &info[1]);
	memo_forget_failed(pc, p);
	memo = memo_lookup(pc, info);
	punch_choose(&info[0], &info[1], spray, memo ? memo->strategy : FRAME_PUNCH_RELAY, &plan);
	if (!enabled) {
		memset(&plan, 0, sizeof(plan));
		plan.strategy = FRAME_PUNCH_RELAY;
	}
	/* A prediction between a cone and a symmetric NAT that did not work
	 * the last time this pair asked: a spray now (and prediction again
	 * after that). */
	if (plan.strategy == FRAME_PUNCH_PREDICT && p->strategy == FRAME_PUNCH_PREDICT &&
	    p->started_us != 0 && !p->is_attempt_up && spray > 0 &&
	    (plan.role[0] == FRAME_PUNCH_ROLE_PREDICT_OPEN ||
	     plan.role[1] == FRAME_PUNCH_ROLE_PREDICT_OPEN)) {
		punch_choose(&info[0], &info[1], spray, FRAME_PUNCH_SPRAY, &plan);
	}
	if (heavy_must_wait(pc, r, p, &plan, cs, now_us)) {
		return;
	}
	start_attempt(pc, p, &plan, info, memo && plan.strategy == memo->strategy, now_us);
	for (int i = 0; i < 2; i++) {
		if (build_punch(&f, p, &plan, i, cs[!i], &info[!i]) == 0) {
			send(ctx, cs[i], &f, now_us);
		}
	}
}

static bool any_direct(const struct punchcoord *pc, const char *a, const char *b)
{
	for (const struct punchcoord_pair *q = punchcoord_next(pc, a, b, NULL); q;
	     q = punchcoord_next(pc, a, b, q)) {
		if (q->is_direct[0] || q->is_direct[1]) {
			return true;
		}
	}
	return false;
}

void punchcoord_on_report(struct punchcoord *pc, struct registry *reg, struct registry_client *from,
			  const struct frame_path *fp, uint64_t now_us)
{
	struct registry_client *other = registry_find_by_id(reg, fp->peer.text);
	struct punchcoord_pair *p;
	char via[ADDR_TEXT_MAX] = "?";
	char ups[32];
	int side;
	bool was;

	if (!other || other == from) {
		return;
	}
	p = get_pair(pc, from->id, fp->uplink, other->id, fp->peer_uplink);
	if (!p) {
		return;
	}
	side = side_of(p, from->id);
	was = p->is_direct[0] || p->is_direct[1];
	uplinks_text(ups, sizeof(ups), fp->uplink, fp->peer_uplink);
	if (fp->op == FRAME_PATH_UP) {
		struct sockaddr_storage ss;

		if (fp->addr_count > 0) {
			frameaddr_to_sockaddr(&fp->addrs[0], &ss);
			addr_format((const struct sockaddr *)&ss, via, sizeof(via));
		}
		p->is_direct[side] = true;
		/* Remembered with the addresses and classes it was chosen for. */
		if (fp->token == p->token && p->strategy != FRAME_PUNCH_RELAY) {
			memo_put(pc, p->side, p->strategy);
			p->is_attempt_up = true;
		}
		log_info("path %s -> %s: direct via %s strategy=%s after %llu ms%s", from->id,
			 other->id, via,
			 fp->token == p->token ? punch_strategy_name(p->strategy) : "?",
			 p->started_us ? (unsigned long long)((now_us - p->started_us) / 1000)
				       : 0ull,
			 ups);
	} else {
		p->is_direct[side] = false;
		log_info("path %s -> %s: fallback to relay%s", from->id, other->id, ups);
	}
	if (was != (p->is_direct[0] || p->is_direct[1])) {
		p->changed_us = now_us;
		if (was) {
			p->fallbacks++;
		} else {
			p->upgrades++;
		}
	}
}

/* Does id report a direct path on any uplink pair with peer? */
static bool side_direct(const struct punchcoord *pc, const char *id, const char *peer)
{
	for (const struct punchcoord_pair *q = punchcoord_next(pc, id, peer, NULL); q;
	     q = punchcoord_next(pc, id, peer, q)) {
		if (q->is_direct[side_of(q, id)]) {
			return true;
		}
	}
	return false;
}

void punchcoord_on_stats(struct punchcoord *pc, struct registry *reg, struct registry_client *from,
			 const struct frame_path_stats *s, uint64_t now_us)
{
	struct registry_client *other = registry_find_by_id(reg, s->peer.text);
	struct punchcoord_pair *p;
	struct punchcoord_side_stats *st;

	if (!other || other == from) {
		return;
	}
	/* PATH_STATS name no uplink: kept on the client pair's 0/0 record. */
	p = get_pair(pc, from->id, 0, other->id, 0);
	if (!p) {
		return;
	}
	st = &p->stats[side_of(p, from->id)];
	st->has = true;
	st->kind = s->kind;
	st->rtt_us = s->rtt_us;
	st->loss_ppm = s->loss_ppm;
	st->relay_rtt_us = s->relay_rtt_us;
	st->relay_loss_ppm = s->relay_loss_ppm;
	st->updated_us = now_us;
	/* A report of the path in use is as good as PATH UP/DOWN (which may
	 * have been lost, or predate a server restart): on the relay, no
	 * uplink pair is direct for from; on a direct path, one is (the 0/0
	 * one, unless an UP already named it). */
	if (s->kind != FRAME_PATH_KIND_DIRECT) {
		for (struct punchcoord_pair *q = first_of(pc, from->id, other->id); q;
		     q = next_of(pc, q)) {
			q->is_direct[side_of(q, from->id)] = false;
		}
	} else if (!side_direct(pc, from->id, other->id)) {
		p->is_direct[side_of(p, from->id)] = true;
	}
}

const struct punchcoord_side_stats *punchcoord_stats(const struct punchcoord *pc, const char *id,
						     const char *peer)
{
	const struct punchcoord_pair *p = find_pair(pc, id, 0, peer, 0);

	return p && p->stats[side_of(p, id)].has ? &p->stats[side_of(p, id)] : NULL;
}

const char *punchcoord_pair_kind(const struct punchcoord_pair *p)
{
	return p->is_direct[0] || p->is_direct[1] ? "direct" : "relay";
}

const char *punchcoord_path_kind(const struct punchcoord *pc, const char *a, const char *b)
{
	return any_direct(pc, a, b) ? "direct" : "relay";
}
