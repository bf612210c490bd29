/* punch: strategy choice, scan sizing and retry schedule (see punch.h). */
#include "nat/punch.h"

#include <string.h>

static bool is_reachable(uint8_t c)
{
	return c == FRAME_NAT_OPEN || c == FRAME_NAT_FULL_CONE;
}

/* Endpoint-independent mapping. An unknown class is treated as cone: the
 * attempt is cheap and the relay carries the traffic meanwhile. */
static bool is_cone(uint8_t c)
{
	return c != FRAME_NAT_SYMMETRIC;
}

static bool same_ip(const struct frame_addr *a, const struct frame_addr *b)
{
	size_t n = a->family == FRAME_ADDR_IPV4 ? 4 : 16;

	return a->family != 0 && a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

static void plan_probe(struct punch_plan *out, uint8_t strategy)
{
	out->strategy = strategy;
	out->role[0] = out->role[1] = FRAME_PUNCH_ROLE_PROBE;
	out->count[0] = out->count[1] = 0;
}

static void plan_spray(struct punch_plan *out, int sym, unsigned spray)
{
	unsigned n = spray > PUNCH_SPRAY_MAX ? PUNCH_SPRAY_MAX : spray;

	out->strategy = FRAME_PUNCH_SPRAY;
	out->role[sym] = FRAME_PUNCH_ROLE_SPRAY;
	out->count[sym] = (uint16_t)n;
	out->role[!sym] = FRAME_PUNCH_ROLE_SCAN;
	out->count[!sym] = (uint16_t)punch_scan_probes(n, PUNCH_PORT_HI - PUNCH_PORT_LO + 1,
						       PUNCH_SCAN_SUCCESS);
}

static void plan_predict(struct punch_plan *out)
{
	out->strategy = FRAME_PUNCH_PREDICT;
	out->role[0] = FRAME_PUNCH_ROLE_PREDICT_ODD;
	out->count[0] = punch_predict_count(FRAME_PUNCH_ROLE_PREDICT_ODD);
	out->role[1] = FRAME_PUNCH_ROLE_PREDICT;
	out->count[1] = punch_predict_count(FRAME_PUNCH_ROLE_PREDICT);
}

/* sym: the symmetric side (0 or 1), with a sequential step. */
static void plan_predict_cone(struct punch_plan *out, int sym)
{
	out->strategy = FRAME_PUNCH_PREDICT;
	out->role[sym] = FRAME_PUNCH_ROLE_PREDICT_OPEN;
	out->count[sym] = punch_predict_count(FRAME_PUNCH_ROLE_PREDICT_OPEN);
	out->role[!sym] = FRAME_PUNCH_ROLE_PREDICT_SCAN;
	out->count[!sym] = punch_predict_count(FRAME_PUNCH_ROLE_PREDICT_SCAN);
}

static bool is_sequential(const struct punch_side *s)
{
	return s->alloc_step != 0 && s->alloc_step >= -WIRE_ALLOC_STEP_MAX &&
	       s->alloc_step <= WIRE_ALLOC_STEP_MAX;
}

bool punch_strategy_fits(const struct punch_side *a, const struct punch_side *b, unsigned spray,
			 uint8_t strategy)
{
	bool cone_a = is_cone(a->natclass), cone_b = is_cone(b->natclass);

	switch (strategy) {
	case FRAME_PUNCH_LAN:
		return same_ip(&a->mapped, &b->mapped) && a->has_local && b->has_local;
	case FRAME_PUNCH_DIRECT:
		return is_reachable(a->natclass) || is_reachable(b->natclass);
	case FRAME_PUNCH_SIMUL:
		return cone_a && cone_b;
	case FRAME_PUNCH_SPRAY:
		return cone_a != cone_b && spray > 0;
	case FRAME_PUNCH_PREDICT:
		return cone_a != cone_b ? is_sequential(cone_a ? b : a)
					: !cone_a && is_sequential(a) && is_sequential(b);
	default:
		return false; /* RELAY is no attempt; unknown values fit nothing */
	}
}

/* The plan of strategy for a and b, which punch_strategy_fits allows
 * (SPRAY and a PREDICT with one cone: the symmetric side is the one that
 * sprays or is predicted). */
static void plan_for(const struct punch_side *a, const struct punch_side *b, unsigned spray,
		     uint8_t strategy, struct punch_plan *out)
{
	bool cone_a = is_cone(a->natclass), cone_b = is_cone(b->natclass);

	if (strategy == FRAME_PUNCH_SPRAY) {
		plan_spray(out, cone_a ? 1 : 0, spray);
	} else if (strategy == FRAME_PUNCH_PREDICT && cone_a != cone_b) {
		plan_predict_cone(out, cone_a ? 1 : 0);
	} else if (strategy == FRAME_PUNCH_PREDICT) {
		plan_predict(out);
	} else {
		plan_probe(out, strategy);
	}
}

void punch_choose(const struct punch_side *a, const struct punch_side *b, unsigned spray,
		  uint8_t remembered, struct punch_plan *out)
{
	/* The table: the first strategy the classes allow (punch_strategy_fits
	 * holds the conditions, so a remembered one is judged by the same). A
	 * prediction comes before a spray: it needs a few probes, not 256. */
	static const uint8_t order[] = {FRAME_PUNCH_DIRECT, FRAME_PUNCH_SIMUL, FRAME_PUNCH_PREDICT,
					FRAME_PUNCH_SPRAY};

	memset(out, 0, sizeof(*out));
	if (punch_strategy_fits(a, b, spray, FRAME_PUNCH_LAN)) {
		plan_probe(out, FRAME_PUNCH_LAN);
		return;
	}
	/* What worked last time for these public addresses, only where the
	 * classes we see now allow it: a SIMUL remembered from two cones never
	 * goes to a symmetric NAT that now sits behind one of those addresses. */
	if (remembered != FRAME_PUNCH_RELAY && punch_strategy_fits(a, b, spray, remembered)) {
		plan_for(a, b, spray, remembered, out);
		return;
	}
	for (size_t i = 0; i < sizeof(order); i++) {
		if (punch_strategy_fits(a, b, spray, order[i])) {
			plan_for(a, b, spray, order[i], out);
			return;
		}
	}
	out->strategy = FRAME_PUNCH_RELAY;
}

double punch_scan_success(unsigned open, unsigned ports, unsigned n)
{
	double miss = 1.0;

	if (open == 0 || ports == 0) {
		return 0.0;
	}
	if (open >= ports || n > ports - open) {
		return 1.0;
	}
	/* C(ports-open, n) / C(ports, n) = prod_{i<n} (ports-open-i) / (ports-i) */
	for (unsigned i = 0; i < n; i++) {
		miss *= (double)(ports - open - i) / (double)(ports - i);
	}
	return 1.0 - miss;
}

unsigned punch_scan_probes(unsigned open, unsigned ports, double p)
{
	double miss = 1.0;

	if (open == 0 || ports == 0) {
		return 0;
	}
	for (unsigned n = 1; n <= PUNCH_SCAN_MAX; n++) {
		if (n > ports - (open < ports ? open : ports)) {
			return n;
		}
		miss *= (double)(ports - open - (n - 1)) / (double)(ports - (n - 1));
		if (1.0 - miss >= p) {
			return n;
		}
	}
	return PUNCH_SCAN_MAX;
}

uint32_t punch_predict_target(uint8_t role, uint32_t k)
{
	return role == FRAME_PUNCH_ROLE_PREDICT_ODD ? 2 * k - 1 : k;
}

uint16_t punch_predict_port(uint16_t base, int step, uint32_t i)
{
	int64_t port = (int64_t)base + (int64_t)step * (int64_t)i;

	return port >= 1 && port <= 65535 ? (uint16_t)port : 0;
}

uint16_t punch_predict_count(uint8_t role)
{
	return role == FRAME_PUNCH_ROLE_PREDICT ? 2 * PUNCH_PREDICT_COUNT : PUNCH_PREDICT_COUNT;
}

uint64_t punch_retry_delay_us(uint8_t strategy, unsigned failures)
{
	static const uint64_t backoff_us[] = {10000000ull, 60000000ull, 300000000ull};
	size_t n = sizeof(backoff_us) / sizeof(backoff_us[0]);

	if (failures == 0) {
		return 0;
	}
	if (strategy == FRAME_PUNCH_SPRAY) {
		size_t i = failures - 1;

		return backoff_us[i < n ? i : n - 1];
	}
	if (strategy == FRAME_PUNCH_PREDICT && failures > PUNCH_RETRIES) {
		size_t i = failures - 1 - PUNCH_RETRIES;

		return backoff_us[i < n ? i : n - 1];
	}
	return failures <= PUNCH_RETRIES ? PUNCH_RETRY_US : PUNCH_COOLDOWN_US;
}

const char *punch_strategy_name(uint8_t strategy)
{
	static const char *const names[] = {
		[FRAME_PUNCH_RELAY] = "relay",	      [FRAME_PUNCH_DIRECT] = "direct",
		[FRAME_PUNCH_SIMUL] = "simultaneous", [FRAME_PUNCH_SPRAY] = "spray",
		[FRAME_PUNCH_PREDICT] = "predict",    [FRAME_PUNCH_LAN] = "lan",
	};

	return strategy <= FRAME_PUNCH_STRATEGY_MAX ? names[strategy] : "unknown";
}

void punch_rng_seed(struct punch_rng *r, uint64_t seed)
{
	/* splitmix64 step, so that any seed (even 0) gives a usable state */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	r->s = (z ^ (z >> 31)) | 1;
}

uint32_t punch_rng_below(struct punch_rng *r, uint32_t n)
{
	uint64_t x = r->s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	r->s = x;
	return n ? (uint32_t)((x >> 32) % n) : 0;
}

void punch_ports_init(struct punch_ports *pp, uint64_t seed)
{
	punch_rng_seed(&pp->rng, seed);
	pp->drawn = 0;
	for (uint32_t i = 0; i < sizeof(pp->perm) / sizeof(pp->perm[0]); i++) {
		pp->perm[i] = (uint16_t)(PUNCH_PORT_LO + i);
	}
}

uint16_t punch_ports_next(struct punch_ports *pp)
{
	uint32_t n = sizeof(pp->perm) / sizeof(pp->perm[0]);
	uint32_t j;
	uint16_t t;

	if (pp->drawn >= n) {
		return 0;
	}
	/* One Fisher-Yates step: swap a random later entry into place. */
	j = pp->drawn + punch_rng_below(&pp->rng, n - pp->drawn);
	t = pp->perm[j];
	pp->perm[j] = pp->perm[pp->drawn];
	pp->perm[pp->drawn] = t;
	return pp->perm[pp->drawn++];
}
