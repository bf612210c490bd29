/* statusapi: the client daemon's local API (DESIGN §8): GET /api/v1/status
 * on httpd, read-only, on the client.ini `api` address (default
 * 127.1.0.1:7070); /api/v1/flows and /api/v1/events are api/flowsapi's. It owns no client state:
 * the client fills a plain struct through struct statusapi_ops (api/ never includes client/
 * headers). Also the text rendering `wormhole-client status` prints. */
#ifndef WH_STATUSAPI_H
#define WH_STATUSAPI_H

#include "api/joinapi.h"

#include "api/flowreport.h"
#include <cjson/cJSON.h>
#include <ev.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define STATUSAPI_NAME_SIZE 33
#define STATUSAPI_PEERS_MAX 256
#define STATUSAPI_FLOWS_MAX 256

#define STATUSAPI_PATHS_MAX 8
#define STATUSAPI_UPLINKS_MAX 8

/* One direct path to a peer: between our uplink and one of the peer's. */
struct statusapi_path {
	unsigned uplink, peer_uplink;
	const char *state; /* "up", "doubt", "down" */
	bool is_active;	   /* the failover choice */
	bool is_lossy;	   /* up, but left for the relay: it loses more (pathsel.c) */
	double rtt_ms;	   /* 0: not measured */
	double loss;
	const char *strategy;
	const char
		*mtu_probe; /* full-size packets: "searching", "full", "base"; NULL: not probed */
	char addr[64];	    /* "" when down */
	double since;	    /* Unix time (s) it last went up or down; 0: never */
	uint64_t tx_packets, rx_packets, upgrades, fallbacks, attempts;
};

/* One of this client's uplinks. */
struct statusapi_uplink {
	unsigned id;
	char name[STATUSAPI_NAME_SIZE]; /* "" for the default route */
	const char *state;		/* "up" (socket open), "down" */
	char local[64];			/* bound address, "" while closed */
	const char *nat_class;		/* "unknown" until classified */
	char mapped[64];		/* "" while unknown */
	/* What the server knows of it: "session" (the server session runs on
	 * it), "registered" (its last REGISTER was answered), "registering"
	 * (not answered yet), "none" (closed, or no server session). */
	const char *server;
	uint64_t rx_packets, tx_packets, tx_bytes;
};

struct statusapi_peer {
	char id[STATUSAPI_NAME_SIZE];
	const char *path;    /* "relay" or "direct" */
	double rtt_ms;	     /* of the path in use; 0: not measured yet */
	double loss;	     /* of the path in use, 0..1 */
	double relay_rtt_ms; /* of the relay (kept warm beside a direct path) */
	double relay_loss;
	const char *relay_mtu_probe; /* as statusapi_path.mtu_probe, of the relay */
	const char *strategy; /* punch strategy of the path, or of the last attempt ("none") */
	/* Why the relay carries while a direct path is up ("lossy direct
	 * path"); NULL otherwise. */
	const char *path_reason;
	double since;	      /* Unix time (s) the path in use began; 0: none yet */
	char direct_addr[64]; /* the peer's address on the direct path, "" on the relay */
	uint64_t upgrades, fallbacks, attempts;
	bool is_up;		 /* end-to-end session established */
	bool is_bound;		 /* the relay acked our bind */
	bool is_refused;	 /* its key differs from the one pinned in client.ini */
	uint16_t relay_port;	 /* the server's relay port towards it */
	uint8_t relay_uplink;	 /* our uplink the relay answers (relaypath.c) */
	uint64_t key_generation; /* keypairs its session made: 1 + rekeys; 0: none yet */
	unsigned link_mtu;	 /* the MTU of its links, as it told us; 0: unknown */
	unsigned stream_mss;	 /* our stream segments towards it */
	uint64_t last_rx_ms_ago; /* UINT64_MAX: never */
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, drops;
	struct statusapi_path paths[STATUSAPI_PATHS_MAX];
	size_t n_paths;
};

struct statusapi_flow {
	char name[STATUSAPI_NAME_SIZE];
	const char *proto;
	uint16_t port;
	uint16_t listen_port; /* 0: not a source here */
	bool is_sink;
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, drops;
	bool has_report;	       /* UDP flows: report below is filled */
	struct flowreport_flow report; /* saturated state and impairment counters */
};

/* Datagrams the client dropped before a peer session took them, by reason:
 * stray or hostile input (README "Hostile input"), or a peer's frames that
 * do not parse. */
struct statusapi_drops {
	uint64_t unrecognized;	/* neither STUN nor ours, or a false restart notice */
	uint64_t stun;		/* STUN that answers nothing of ours */
	uint64_t bad_mac;	/* handshake messages without a valid mac1 */
	uint64_t unknown_index; /* for a session index this client does not hold */
	uint64_t auth;		/* the server session's messages that fail authentication */
	uint64_t bad_frames;	/* authenticated packets whose frames do not parse */
	uint64_t truncated;	/* larger than the receive buffer */
};

struct statusapi_status {
	char id[STATUSAPI_NAME_SIZE];
	uint64_t uptime_s;
	const char *server_state;	/* "up", "refused" or "connecting" */
	char held_by[64];		/* refused: the holder's address ("" unknown) */
	char server[64];		/* the server address in use */
	uint64_t server_last_rx_ms_ago; /* UINT64_MAX: never */
	uint64_t reconnects;
	unsigned server_uplink;	  /* the uplink the server session runs on */
	unsigned server_link_mtu; /* the server's links' MTU, as it told us; 0: unknown */
	unsigned link_mtu;	  /* the smallest route MTU over our uplinks; 0: unknown */
	unsigned stream_mss;	  /* our stream segment size for it */
	const char *nat_class;	  /* "unknown" until classified */
	char mapped[64];	  /* mapped address, "" while unknown */
	char nat64_prefix[64];	  /* IPv6 sockets through a NAT64: its prefix; "" none */
	struct statusapi_drops drops;
	struct statusapi_uplink uplinks[STATUSAPI_UPLINKS_MAX];
	size_t n_uplinks;
	struct statusapi_peer peers[STATUSAPI_PEERS_MAX];
	size_t n_peers;
	struct statusapi_flow flows[STATUSAPI_FLOWS_MAX];
	size_t n_flows;
};

struct flowreport_flow;

struct statusapi_ops {
	/* Fill out (zeroed by the caller) with the daemon's state now. */
	void (*status)(void *ctx, struct statusapi_status *out);
	/* POST /api/v1/join (api/joinapi.h); NULL: not served. */
	joinapi_fn *join;
	/* Up to max flows into out (zeroed by the caller); returns how many. */
	size_t (*flows)(void *ctx, struct flowreport_flow *out, size_t max);
};

struct statusapi;

/* Serve on listen; ops and ctx are borrowed. NULL with a reason in err. */
struct statusapi *statusapi_start(struct ev_loop *loop, const struct sockaddr_storage *listen,
				  const struct statusapi_ops *ops, void *ctx, char *err,
				  size_t err_len);
/* Stop serving (event streams end) and free. NULL is a no-op. */
void statusapi_stop(struct statusapi *sa);
/* A flow's saturated state changed: tell every /api/v1/events watcher
 * (f is copied). Never blocks. NULL sa is a no-op. */
void statusapi_publish(struct statusapi *sa, const struct flowreport_flow *f);

/* The JSON of st: a new object (caller frees), NULL when out of memory. */
cJSON *statusapi_json(const struct statusapi_status *st);
/* 0 when json is a /api/v1/status document (a JSON object with the
 * server and nat objects and the peers and flows arrays), else -EINVAL:
 * what `status --json` checks before it prints an answer as received. */
int statusapi_validate(const char *json);
/* Print a /api/v1/status JSON text for people. Returns 0, or -EINVAL when
 * json is not such a document (statusapi_validate). */
int statusapi_print(FILE *out, const char *json);

#endif
