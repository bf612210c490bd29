/* punchrun: one punch attempt with a peer, as the server described it in a
 * PUNCH frame (nat/punch.h explains the strategies): probes to the peer's
 * candidates from the uplink's socket (PROBE), a spray of extra sockets each
 * probing the peer's mapped address (SPRAY), probes to random ports of
 * the peer's public IP (SCAN), or probes to the ports the peer's NAT is
 * about to hand out (PREDICT, PREDICT_ODD: a STUN request from a fresh
 * socket to the server learns our NAT's port, PATH MAPPING frames over the
 * relay swap it with the peer's, then each new destination from the
 * uplink's socket makes one new mapping; facing a cone, PREDICT_OPEN learns
 * and tells its base the same way and probes the cone's mapping, while
 * PREDICT_SCAN probes the ports after the base it is told). Every probe is a PATH PROBE sealed in
 * the peer session, paced so that no more than one goes out per millisecond in spray and scan. The
 * run does not judge success: direct.c does, when an authenticated PROBE_ACK comes back, and then
 * takes the winning socket. */
#ifndef WH_PUNCHRUN_H
#define WH_PUNCHRUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nat/stun.h"
#include "proto/frame.h"

struct peer;
struct xsock;
struct punch_ports;

/* Sends per timer callback at most (the loop never stalls). */
#define PUNCHRUN_BURST_MAX 64
#define PUNCHRUN_TAIL_US 1000000ull /* answers may still come this long after the last probe */

struct punchrun {
	struct peer *p; /* borrowed */
	int fd;		/* the uplink's socket (-1: the main socket) */
	uint8_t uplink; /* spray sockets are bound like it */
	uint64_t token;
	uint8_t strategy;
	uint8_t role;
	uint16_t count;
	struct sockaddr_storage cand[WIRE_ADDR_MAX];
	uint8_t n_cand;
	uint64_t start_us;
	uint64_t end_us;
	uint64_t sent;	      /* probes sent */
	uint64_t slots_done;  /* paced slots already served (spray, scan) */
	struct xsock **socks; /* owns (SPRAY): count slots, opened one by one */
	unsigned n_open;
	struct punch_ports *ports; /* owns (SCAN) */
	unsigned open_errors;
	/* PREDICT roles. Index 0 of a NAT: the mapping its STUN answer showed. */
	uint8_t peer_uplink;
	struct xsock *measure; /* owns: the fresh socket asking the server, until answered */
	uint8_t txid[STUN_TXID_LEN];
	unsigned stun_sends;
	struct sockaddr_storage base;	   /* ours; family 0 until known */
	int step;			   /* ours (natwatch) */
	uint64_t base_us;		   /* when ours became known */
	unsigned mapping_sends;		   /* PATH MAPPING frames sent */
	struct sockaddr_storage peer_base; /* the peer's, from its PATH MAPPING */
	int peer_step;
	uint64_t send_start_us; /* both known: new mappings from here (0: not yet) */
};

/* A run for k from uplink k->uplink's socket fd (-1: the main socket),
 * starting now + k->delay_ms. NULL on -ENOMEM. */
struct punchrun *punchrun_new(struct peer *p, const struct frame_punch *k, int fd, uint64_t now_us);
/* Close every socket still owned and free. NULL is a no-op. */
void punchrun_free(struct punchrun *r);

/* Send what is due. Returns the next deadline, or 0 when the run is over
 * (its end passed without a validated path). */
uint64_t punchrun_step(struct punchrun *r, uint64_t now_us);

/* Take ownership of the extra socket with fd (the winner), or NULL when fd
 * is not one of the run's. */
struct xsock *punchrun_take(struct punchrun *r, int fd);

/* True when fd is one of the run's extra sockets (still owned). */
bool punchrun_owns(const struct punchrun *r, int fd);

/* A STUN datagram arrived on fd: true if it answered r's base request (r
 * then knows its base and tells the peer). */
bool punchrun_on_stun(struct punchrun *r, int fd, const uint8_t *buf, size_t len,
		      const struct sockaddr_storage *from, uint64_t now_us);
/* The peer's PATH MAPPING for r's token. Returns 0, or -EINVAL when it does
 * not describe a mapping of the peer's public IP with a usable step. */
int punchrun_on_mapping(struct punchrun *r, const struct frame_path *f, uint64_t now_us);

#endif
