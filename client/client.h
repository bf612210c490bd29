/* client: the client daemon's state and main loop (DESIGN §1, §8).
 * All daemon state hangs off struct client; nothing is global. */
#ifndef WH_CLIENT_H
#define WH_CLIENT_H

#include <ev.h>
#include <stdint.h>

#include "client/flow_udp.h"
#include "client/flowstats.h"
#include "client/idxmap.h"
#include "client/joinwait.h"
#include "client/mainsock.h"
#include "client/natwatch.h"
#include "client/netwatch.h"
#include "client/routeintake.h"
#include "client/srvaddr.h"
#include "client/srvconn.h"
#include "client/stamp.h"
#include "client/uplink.h"
#include "common/log.h"
#include "common/udpio.h"
#include "proto/cookie.h"
#include "proto/noise.h"
#include "proto/wire_const.h"

struct client_ini;
struct diag;
struct flow_tcp_set;
struct flow_udp;
struct peer;
struct statusapi;

struct client {
	struct ev_loop *loop;	/* borrowed: main owns the default loop */
	struct client_ini *ini; /* owns: identity and reachability from client.ini */
	ev_signal sigint_watch;
	ev_signal sigterm_watch;
	uint64_t started_us;
	uint64_t boot_id;	       /* random, this process's: peers learn we restarted */
	struct noise_keypair *self;    /* owns (sodium_malloc): our static key pair */
	struct cookie_checker cookies; /* MACs on handshakes sent to us */
	struct stamp stamp;
	struct idxmap idx;
	struct udpio_rx rx; /* owns: receive buffers shared by every socket */
	struct mainsock ms;
	/* The family of every socket towards the network: ini->family, or
	 * (ini->is_family_auto) the one the server's names are reachable by
	 * (srvaddr.c moves the sockets). */
	int family;
	struct srvaddr sa; /* the server's addresses, names resolved */
	struct srvconn srv;
	struct netwatch nw;		    /* address, link and route changes */
	struct joinwait jw;		    /* FLOW_JOIN requests from the local API */
	struct uplink up[WIRE_UPLINKS_MAX]; /* up[0]: the main socket's */
	size_t n_up;
	uint8_t ctl;	     /* the uplink the server session and the relay run on (uplink.h) */
	struct flowstats fs; /* flow counters to the server */
	struct routeintake rs;
	struct peer *peers;	  /* owns: list */
	struct flow_udp *flows;	  /* owns: list */
	struct statusapi *api;	  /* owns: the local API (NULL when off) */
	struct flow_tcp_set *tcp; /* owns: TCP flows and streams (flow_tcp.h) */
	unsigned link_mtu;	  /* the smallest route MTU over the uplinks; 0: unknown */
	uint16_t relay_mtu;	  /* the server's links' MTU (FRAME_LINK_MTU); 0: unknown */
	uint32_t stream_mss;	  /* stream segment size for the links' MTU (linkmtu.h) */
	/* Scratch for one packet at a time (single-threaded, no nesting). */
	uint8_t pt[WIRE_MAX_PACKET];
	uint8_t pkt[WIRE_MAX_PACKET];
	uint8_t rx_pt[WIRE_MAX_PACKET]; /* plaintext of the packet being handled */
	struct log_bucket rx_log;	/* remote input that can log */
	uint64_t drop_demux;		/* datagrams demux refused */
	uint64_t drop_stun;		/* STUN on the main socket that natwatch did not ask for */
	uint64_t drop_bad_mac;		/* handshakes whose mac1 does not check */
	uint64_t drop_no_owner;		/* unknown receiver index / source */
	uint64_t drop_auth;		/* did not open / authenticate */
	uint64_t drop_frames;		/* malformed frames after decryption */
	flow_udp_event_fn *flow_event;	/* saturated/cleared hook (local API), or NULL */
	void *flow_event_ctx;		/* borrowed */
};

/* Load and validate client.ini and set up watchers (not started). On error
 * returns negative errno with d set; client_fini is still safe. */
int client_init(struct client *cl, struct ev_loop *loop, const char *ini_path, struct diag *d);
/* Start watchers and run the loop until SIGINT/SIGTERM. */
void client_run(struct client *cl);
/* Stop watchers and free everything. Safe on a half-built client. */
void client_fini(struct client *cl);

/* The relay address of the server for port: the IP of the server address in
 * use (client_server_addr) with port. */
void client_relay_addr(const struct client *cl, uint16_t port, struct sockaddr_storage *out);
/* The relay address for port as an uplink of family reaches it (the
 * server's address of that family, as uplink_server_addr); family 0 when
 * the server has none. */
void client_relay_addr_of(const struct client *cl, int family, uint16_t port,
			  struct sockaddr_storage *out);
/* A peer's address from a frame (a punch candidate, a mapping), as this
 * client's uplink reaches it: an IPv4 address, from an IPv6 socket with a
 * NAT64 prefix known (srvaddr's pref64), embedded in that prefix (RFC 6052). */
void client_peer_addr(const struct client *cl, uint8_t uplink, const struct frame_addr *a,
		      struct sockaddr_storage *out);
/* The server address in use (one of client.ini's `server`), of the family
 * of the uplink the session runs on. */
const struct sockaddr_storage *client_server_addr(const struct client *cl);

#endif
