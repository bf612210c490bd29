/* dgdedup: per-flow duplicate filter on datagram sequence numbers (see
 * dgdedup.h). */
#include "client/dgdedup.h"

#include <string.h>

void dgdedup_init(struct dgdedup *d)
{
	memset(d, 0, sizeof(*d));
}

uint32_t dgdedup_next_seq(struct dgdedup_seq *s, uint32_t *peer_top)
{
	if (!s->has_sent) {
		s->last = *peer_top; /* continue after every number the peer has seen */
		s->has_sent = true;
	}
	s->last++;
	if ((int32_t)(s->last - *peer_top) > 0) {
		*peer_top = s->last;
	}
	return s->last;
}

static struct dgdedup_flow *flow_slot(struct dgdedup *d, uint32_t flow_id, bool *fresh)
{
	struct dgdedup_flow *lru = &d->flows[0];

	*fresh = false;
	for (unsigned i = 0; i < DGDEDUP_FLOWS; i++) {
		struct dgdedup_flow *f = &d->flows[i];

		if (f->is_used && f->flow_id == flow_id) {
			return f;
		}
		if (!f->is_used || (lru->is_used && f->last_use < lru->last_use)) {
			lru = f;
		}
	}
	memset(lru, 0, sizeof(*lru));
	lru->is_used = true;
	lru->flow_id = flow_id;
	*fresh = true;
	return lru;
}

static void set_bit(struct dgdedup_flow *f, uint32_t seq)
{
	uint32_t i = seq % DGDEDUP_WINDOW;

	f->bits[i / 64] |= 1ull << (i % 64);
}

static bool test_bit(const struct dgdedup_flow *f, uint32_t seq)
{
	uint32_t i = seq % DGDEDUP_WINDOW;

	return (f->bits[i / 64] >> (i % 64)) & 1;
}

static void restart(struct dgdedup_flow *f, uint32_t seq)
{
	memset(f->bits, 0, sizeof(f->bits));
	f->top = seq;
	set_bit(f, seq);
}

bool dgdedup_accept(struct dgdedup *d, uint32_t flow_id, uint32_t seq)
{
	bool fresh;
	struct dgdedup_flow *f = flow_slot(d, flow_id, &fresh);
	int32_t ahead = (int32_t)(seq - f->top);

	f->last_use = ++d->clock;
	if (fresh || ahead >= DGDEDUP_WINDOW || ahead <= -DGDEDUP_WINDOW) {
		restart(f, seq);
		return true;
	}
	if (ahead > 0) {
		/* Forget the numbers the window slides past. */
		for (uint32_t s = f->top + 1; s != seq; s++) {
			uint32_t i = s % DGDEDUP_WINDOW;

			f->bits[i / 64] &= ~(1ull << (i % 64));
		}
		f->top = seq;
		set_bit(f, seq);
		return true;
	}
	if (test_bit(f, seq)) {
		d->duplicates++;
		return false;
	}
	set_bit(f, seq);
	return true;
}
