/* punch: hole-punching strategy choice and the numbers behind it (DESIGN
 * §5.3). Pure functions, no I/O: the server picks a strategy for a pair of
 * clients from their NAT classes and addresses; clients size their port
 * scans and schedule retries with the same rules.
 *
 * Strategies (enum frame_punch_strategy):
 *   LAN    both behind the same public IP with local addresses: each probes
 *          the other's local addresses (and mapped address);
 *   DIRECT one side reachable (no NAT, or full cone = endpoint-independent
 *          filtering): both probe the peer's mapped address; the reachable
 *          side lets the other's probes in, and its answer goes back through
 *          the mapping those probes opened;
 *   SIMUL  both endpoint-independent mapping (cone): simultaneous probes to
 *          each other's mapped address open both filters;
 *   SPRAY  cone + symmetric: the symmetric side opens `count` sockets, each
 *          probing the cone side's mapped address (one fresh mapping each);
 *          the cone side probes random ports of the symmetric side's public
 *          IP until one probe meets one of those mappings (birthday paradox);
 *   PREDICT both symmetric, both allocating ports sequentially (a known
 *          step between new mappings): each side learns the port its NAT
 *          just gave out (a STUN request from a fresh socket to the server:
 *          index 0), tells the other over the relay (PATH MAPPING), then
 *          makes new mappings from its socket, the k-th one (our index k)
 *          towards the other's predicted index t(k): k on one side
 *          (ROLE_PREDICT), 2k-1 on the other (ROLE_PREDICT_ODD). With a and
 *          b foreign mappings made on the two NATs in between (drift), the
 *          ODD side's mapping n = a+b+1 and the other's m = 2a+b+1 point at
 *          each other, so any drift with a+b < PUNCH_PREDICT_COUNT meets.
 *          Cone + sequential symmetric is a PREDICT too, cheaper than a
 *          spray: the symmetric side (ROLE_PREDICT_OPEN) learns its base,
 *          tells the other and at once probes the cone side's mapped address
 *          (one new mapping, index 1 + the few others take meanwhile); the
 *          cone side (ROLE_PREDICT_SCAN) probes indices 1..count of the
 *          symmetric side's ports from its one mapping. A failed one is
 *          followed by a spray (punchcoord);
 *   RELAY  both symmetric otherwise: stay on the relay. */
#ifndef WH_PUNCH_H
#define WH_PUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

#define PUNCH_SPRAY_DEFAULT 256 /* sockets the symmetric side opens */
#define PUNCH_SPRAY_MAX 1024
#define PUNCH_SCAN_SUCCESS 0.98 /* wanted probability that a scan meets a mapping */
#define PUNCH_SCAN_MAX 4096	/* probes per scan, whatever the maths says */
/* Ports a NAT hands out: Linux and most carrier NATs allocate 1024-65535. */
#define PUNCH_PORT_LO 1024
#define PUNCH_PORT_HI 65535
#define PUNCH_SCAN_INTERVAL_US 1000u   /* one random-port probe per ms: ~1000/s */
#define PUNCH_SPRAY_INTERVAL_US 1000u  /* spray sockets open one per ms too */
#define PUNCH_PROBE_INTERVAL_US 50000u /* probes to known candidates */
#define PUNCH_START_DELAY_MS 100       /* both sides start this long after PUNCH arrives */
#define PUNCH_ATTEMPT_US 3000000u      /* a probe attempt gives up after this */
#define PUNCH_RETRY_US 1000000u	       /* wait before each of the two retries */
#define PUNCH_RETRIES 2		       /* a failed attempt is retried twice... */
#define PUNCH_COOLDOWN_US 10000000u    /* ...then once every 10 s on the relay */
/* PREDICT: mappings the ODD side makes (the other side makes twice as many,
 * so that both ends of a meeting pair exist for any drift a+b below it). */
#define PUNCH_PREDICT_COUNT 64
#define PUNCH_PREDICT_INTERVAL_US 1000u	     /* one new mapping per ms, then the cycle repeats */
#define PUNCH_PREDICT_STUN_RTO_US 250000u    /* the base request is sent again after this */
#define PUNCH_PREDICT_EXCHANGE_US 2000000u   /* both bases known within this after the start */
#define PUNCH_PREDICT_CYCLE_US 2000000u	     /* probes go on this long after the first pass */
#define PUNCH_PREDICT_MAPPING_SENDS 3	     /* PATH MAPPING goes out this many times, */
#define PUNCH_PREDICT_MAPPING_GAP_US 100000u /* this far apart (lost on the relay) */

/* The pair as the server sees it: NAT class (enum frame_natclass), mapped
 * address and whether the client told us local addresses. */
struct punch_side {
	uint8_t natclass;
	int8_t alloc_step; /* REGISTER's: sequential port step, 0 = not sequential */
	struct frame_addr mapped;
	bool has_local;
};

/* What each side of the pair is told to do. */
struct punch_plan {
	uint8_t strategy; /* enum frame_punch_strategy */
	uint8_t role[2];  /* enum frame_punch_role, for side a (0) and b (1) */
	uint16_t count[2];
};

/* Choose a strategy for a and b. spray: sockets the symmetric side opens
 * (0 forbids spraying: cone + symmetric then stays on the relay, unless the
 * symmetric side's ports are predictable).
 * remembered: the strategy that last worked for this pair of public
 * addresses (or FRAME_PUNCH_RELAY when none), tried first when
 * punch_strategy_fits allows it for a and b as they are now; otherwise
 * the table above decides, as without one. */
void punch_choose(const struct punch_side *a, const struct punch_side *b, unsigned spray,
		  uint8_t remembered, struct punch_plan *out);

/* Whether strategy can work for a and b, whatever else the table prefers:
 * LAN same public IP and both with local addresses; DIRECT one side
 * reachable (open or full cone); SIMUL both cone (endpoint-independent
 * mapping, an unknown class counts as cone); SPRAY cone + symmetric with
 * spray > 0; PREDICT cone + symmetric with an allocation step, or both
 * symmetric with one. False for RELAY and unknown values. */
bool punch_strategy_fits(const struct punch_side *a, const struct punch_side *b, unsigned spray,
			 uint8_t strategy);

/* Random-port probes needed so that, with `open` mappings among `ports`
 * equally likely ports, at least one probe meets one with probability p:
 * the smallest n with 1 - C(ports-open, n) / C(ports, n) >= p (probes never
 * repeat a port). Capped at PUNCH_SCAN_MAX; 0 when open is 0. */
unsigned punch_scan_probes(unsigned open, unsigned ports, double p);

/* The chance that n distinct random probes meet one of `open` mappings. */
double punch_scan_success(unsigned open, unsigned ports, unsigned n);

/* PREDICT: the peer index the k-th new mapping (k >= 1) of a side in role
 * (FRAME_PUNCH_ROLE_PREDICT or _ODD) goes to. */
uint32_t punch_predict_target(uint8_t role, uint32_t k);
/* The port of index i of a NAT whose index 0 is base and whose allocation
 * step is step: base + i * step, or 0 when that leaves 1..65535. */
uint16_t punch_predict_port(uint16_t base, int step, uint32_t i);
/* Destinations a side in role sends to in a PREDICT attempt (new mappings,
 * but for the cone side's, whose NAT keeps one mapping). */
uint16_t punch_predict_count(uint8_t role);

/* How long to wait before the next attempt after `failures` failed ones in
 * a row (1 = the first failed): PUNCH_RETRY_US for the first PUNCH_RETRIES,
 * then PUNCH_COOLDOWN_US; spraying costs the carrier's ports, so after a
 * failed SPRAY the wait grows 10 s, 60 s, 5 min (then stays at 5 min), and
 * after PREDICT's two quick retries too. */
uint64_t punch_retry_delay_us(uint8_t strategy, unsigned failures);

/* "direct", "simul", ... for logs and the API. */
const char *punch_strategy_name(uint8_t strategy);

/* A small xorshift generator for port choices (not for keys). */
struct punch_rng {
	uint64_t s;
};
void punch_rng_seed(struct punch_rng *r, uint64_t seed);
uint32_t punch_rng_below(struct punch_rng *r, uint32_t n);

/* A random permutation of the ports PUNCH_PORT_LO..PUNCH_PORT_HI, drawn
 * lazily (each port at most once), for scans. */
struct punch_ports {
	struct punch_rng rng;
	uint32_t drawn;
	uint16_t perm[PUNCH_PORT_HI - PUNCH_PORT_LO + 1];
};
void punch_ports_init(struct punch_ports *pp, uint64_t seed);
/* The next port, or 0 when every port was drawn. */
uint16_t punch_ports_next(struct punch_ports *pp);

#endif
