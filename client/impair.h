/* impair: the impairment engine of one source of a UDP flow (DESIGN §9,
 * issue #9; client/flowqos.c keeps one per source). It sits in the client
 * between a datagram's arrival from a peer and its delivery to the local
 * app, and decides per datagram: lost (Bernoulli, or bursty with
 * Gilbert-Elliott), corrupted (one byte changed), duplicated, reordered (held
 * back until the next datagram that is not held passes, so that it arrives
 * after one sent later), delayed (delay + normal jitter), and queued at a
 * token-bucket bottleneck (rate_kbps, bounded queue).
 *
 * Pure engine: no sockets, no clock, no libev. The owner pushes datagrams
 * with now_us, pops those that are due, and keeps one timer at
 * impair_next_us (STYLE §6). Held datagrams live in a pool allocated by
 * impair_init; nothing is allocated per datagram, and a full pool is a
 * counted drop.
 *
 * Reproducibility: a xoshiro256** generator seeded through splitmix64 draws
 * exactly IMPAIR_DRAWS numbers per pushed datagram, so every decision about
 * the Nth datagram depends only on the seed and N (the bottleneck queue,
 * which depends on arrival times, excepted). */
#ifndef WH_IMPAIR_H
#define WH_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/frame.h"

#define IMPAIR_DATA_MAX 1452	    /* bytes per held datagram (>= any flow payload) */
#define IMPAIR_SLOTS_MIN 64	    /* pool size without delay */
#define IMPAIR_SLOTS_MAX 8192	    /* pool cap (about 12 MB) */
#define IMPAIR_PPS_MAX 20000	    /* datagram rate the pool is sized for */
#define IMPAIR_QUEUE_US 50000ull    /* bottleneck queue: at most 50 ms of backlog */
#define IMPAIR_BURST_US 5000ull	    /* bottleneck token bucket depth: 5 ms at the rate */
#define IMPAIR_HOLD_US 100000ull    /* a reordered datagram waits at most this long */
#define IMPAIR_HOLD_MAX 64	    /* reordered datagrams held at once (a run's cap) */
#define IMPAIR_BURST_STAY_MAX 0.999 /* loss_burst is capped here (see impair.c) */
#define IMPAIR_DRAWS 8		    /* random numbers drawn per datagram */

/* What a flow's impair = { ... } asks for; probabilities 0..1. */
struct impair_params {
	double loss;
	double loss_burst; /* P(lost | previous lost); 0 = independent losses */
	double corrupt;
	double duplicate;
	double reorder;
	uint32_t delay_ms;
	uint32_t jitter_ms; /* standard deviation of the delay */
	uint32_t rate_kbps; /* 0 = no bottleneck */
	uint64_t seed;
	bool has_seed; /* false: the owner picked a random seed */
};

struct impair_counters {
	uint64_t received;     /* datagrams pushed */
	uint64_t delivered;    /* datagrams popped (duplicates included) */
	uint64_t dropped;      /* random (or bursty) loss */
	uint64_t corrupted;    /* a byte was changed */
	uint64_t duplicated;   /* delivered twice */
	uint64_t reordered;    /* held back behind a later datagram */
	uint64_t delayed;      /* released later than they arrived */
	uint64_t rate_dropped; /* the bottleneck queue was full */
	uint64_t pool_dropped; /* no free slot to hold it */
};

struct impair_slot {
	uint64_t release_us;
	uint64_t order; /* ties (and jitter-free delays) keep arrival order */
	uint64_t tag;	/* the owner's: where to deliver */
	uint16_t len;
};

struct impair {
	struct impair_params p;
	double ge_enter; /* P(lost | previous delivered), Gilbert-Elliott */
	double hold_p;	 /* P(held | run below IMPAIR_HOLD_MAX): see reorder_draw_p */
	uint64_t rng[4];
	uint64_t n;	  /* datagrams pushed since impair_init */
	bool is_in_loss;  /* the previous datagram was lost (bursty loss) */
	uint64_t tb_t_us; /* bottleneck virtual time: when its backlog is sent */
	uint64_t order;
	struct impair_slot *slots; /* owns: n_slots */
	uint8_t *data;		   /* owns: n_slots x IMPAIR_DATA_MAX */
	uint32_t *heap;		   /* owns: due slots, min-heap on (release_us, order) */
	uint32_t *free_list;	   /* owns: stack of free slot indices */
	size_t n_slots, n_heap, n_free;
	/* Reordered slots waiting for the next datagram that passes, oldest
	 * first; they leave newest first right behind it. */
	uint32_t held[IMPAIR_HOLD_MAX];
	size_t n_held;
	uint64_t held_until_us; /* the hold timer: the first of them goes out then */
	uint32_t hold_run;	/* datagrams held in a row (timer releases aside) */
	uint32_t lent;		/* slot handed out by the last impair_pop, or NONE */
	struct impair_counters c;
};

/* One due datagram; data is valid until the next call on the engine. */
struct impair_out {
	uint64_t tag;
	uint8_t *data;
	size_t len;
};

/* Convert FLOW_OPTS fields (parts per billion) into params. */
void impair_params_from_opts(struct impair_params *p, const struct frame_flow_opts *o);

/* True when p changes nothing (every probability, delay and rate 0). */
bool impair_params_none(const struct impair_params *p);

/* Set up an engine for p, seeded with seed (p->seed when p->has_seed; the
 * owner's random choice otherwise), and allocate its pool, sized for the
 * delay at IMPAIR_PPS_MAX. Returns 0 or -ENOMEM (im is then empty and
 * impair_fini is safe). */
WH_MUST_CHECK int impair_init(struct impair *im, const struct impair_params *p, uint64_t seed);
/* Free the pool. Held datagrams are discarded (pop them first to keep
 * them). Safe on a zeroed or failed engine. */
void impair_fini(struct impair *im);

/* A datagram arrived at now_us. Returns how many copies were scheduled (0
 * dropped, 1, or 2 duplicated), or -EMSGSIZE when len > IMPAIR_DATA_MAX. */
int impair_push(struct impair *im, uint64_t now_us, uint64_t tag, const uint8_t *data, size_t len);

/* The next datagram due at now_us (in release order) into *out: true, or
 * false when none is due. now_us = UINT64_MAX flushes everything held. */
bool impair_pop(struct impair *im, uint64_t now_us, struct impair_out *out);

/* When the next datagram is due (UINT64_MAX: nothing held). */
uint64_t impair_next_us(const struct impair *im);

#endif
