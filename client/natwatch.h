/* natwatch: the daemon's view of its NAT (DESIGN §5.2, §5.4; issues #4, #5).
 * Runs the nat/natclass engine from the main socket at start, reports the
 * class to the server in REGISTER, and watches the mapped address with one
 * plain STUN Binding request to the server's primary address every
 * keepalive interval: a changed mapping (NAT rebinding, new uplink address)
 * re-binds every relay port at once, registers again and classifies again.
 * Embedded in struct client; one timer. */
#ifndef WH_NATWATCH_H
#define WH_NATWATCH_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/log.h"
#include "nat/natclass.h"
#include "nat/stun.h"

struct client;

/* A watch probe is sent up to NATWATCH_PROBE_TRIES times, NATWATCH_PROBE_RTO_US
 * apart, with the same transaction id (RFC 8489 §6.2.1), then given up until
 * the next keepalive interval. */
#define NATWATCH_PROBE_TRIES 3
#define NATWATCH_PROBE_RTO_US 300000u
/* Datagrams one timer pass may hand to the send queue for a run; the engine
 * sends a handful per test, so this only bounds a bug. */
#define NATWATCH_SENDS_PER_PASS 16

_Static_assert(NATWATCH_PROBE_TRIES *NATWATCH_PROBE_RTO_US < 1000000u,
	       "a probe is over before the shortest keepalive interval (1 s)");

struct natwatch {
	struct client *cl;	 /* borrowed; NULL until started */
	uint8_t uplink;		 /* the uplink it watches (0: the main socket) */
	int fd;			 /* its socket for the send queue: -1 = the main socket */
	char tag[16];		 /* "" for uplink 0, else "[uplink N]" (log lines) */
	uint64_t last_answer_us; /* the last probe answer (the uplink reaches the server) */
	struct natclass *run;
	/* owns: the classification in progress, or NULL */ /* owns: the classification in
							       progress, or NULL */
	ev_timer timer;
	uint64_t armed_us;	/* deadline the timer is set to; UINT64_MAX: none */
	uint64_t run_wake_us;	/* run: call natclass_next again by then */
	bool is_rerun_wanted;	/* the mapping changed during a run: classify again after it */
	bool is_waiting_server; /* a run was due while the server had no address */
	bool has_result;	/* a run finished */
	bool can_classify;	/* natclass_new accepted our parameters */
	struct natclass_result result; /* the last finished run's */
	uint8_t natclass;	       /* enum frame_natclass sent in REGISTER */
	int8_t alloc_step;	       /* sequential port step sent in REGISTER (0: none) */
	/* The mapped address towards the server's primary address; ss_family 0
	 * while unknown. */
	struct sockaddr_storage mapped;
	/* The watch probe. */
	uint8_t txid[STUN_TXID_LEN];
	bool is_probing;	  /* txid is waiting for its answer */
	unsigned probe_tries;	  /* sends of txid so far */
	uint64_t probe_start_us;  /* first send of the last probe, or the end of the last run */
	unsigned answered_in_row; /* probes answered since the last one lost */
	struct log_bucket log;	  /* lines that answers from the network trigger */
	uint64_t runs;
	uint64_t probes;
	uint64_t probes_lost;
	uint64_t changes;
};

/* Set up (no run, timer not started). */
void natwatch_init(struct natwatch *nw);
/* Start the first classification from uplink's socket (fd -1: the main
 * socket; it must be open and started). A run that cannot start is logged;
 * the watch goes on. A changed mapping rebinds the relay ports (from every
 * uplink); a changed mapping or class registers the uplink again
 * (uplink_reregister: the control uplink's is the session's REGISTER). */
void natwatch_start(struct natwatch *nw, struct client *cl, uint8_t uplink, int fd);
/* Stop the timer and free a run in progress. Safe after natwatch_init only. */
void natwatch_fini(struct natwatch *nw);

/* A STUN datagram arrived on the watch's socket (buf borrowed). Returns true
 * if it was an answer to our run or probe; false leaves it to the caller's
 * drop counter. */
bool natwatch_on_stun(struct natwatch *nw, const uint8_t *buf, size_t len,
		      const struct sockaddr_storage *from, uint64_t now_us);

/* srvconn's keepalive interval changed: the next probe moves with it. */
void natwatch_on_keepalive(struct natwatch *nw, uint64_t now_us);

/* Check the mapped address now instead of at the next keepalive interval
 * (a direct path just died: maybe the NAT changed our mapping). Nothing
 * when a run or a probe is under way. */
void natwatch_probe_now(struct natwatch *nw, uint64_t now_us);

/* The server got an address (its name resolved): the run that waited for
 * one starts now. */
void natwatch_on_server_addr(struct natwatch *nw, uint64_t now_us);

/* The NAT class for REGISTER: an enum frame_natclass value, FRAME_NAT_UNKNOWN
 * until a run found one (and when UDP looked blocked). */
uint8_t natwatch_frame_natclass(const struct natwatch *nw);
/* The NAT's port step between new mappings for REGISTER, when the last run
 * found sequential allocation; else 0. */
int8_t natwatch_frame_alloc_step(const struct natwatch *nw);

#endif
