/* restapi: the server's REST API under /api/v1 and /metrics (DESIGN §7),
 * served by httpd. It owns no routing state: the server hands it a table
 * of operations (struct restapi_ops) and api/ never includes server/
 * headers (DESIGN §2). Every change builds new routes.conf text and hands
 * it to ops->commit, the same validate + apply path as a file reload. */
#ifndef WH_RESTAPI_H
#define WH_RESTAPI_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "config/routes.h"

struct diag;
struct httpd;

/* Paths shown per client: every peer it may have (ROUTES_CLIENT_PEERS_MAX,
 * checked where both are known, server/apiops.c). A struct restapi_client
 * is then ~430 KB: always on the heap. */
#define RESTAPI_PEERS_MAX 256
#define RESTAPI_ETAG_MAX 48

#define RESTAPI_UPLINKS_MAX 8 /* WIRE_UPLINKS_MAX */
#define RESTAPI_UPLINK_PAIRS_MAX (RESTAPI_UPLINKS_MAX * RESTAPI_UPLINKS_MAX)

/* One registered uplink of a client (0: its main socket). */
struct restapi_uplink {
	unsigned id;
	char name[ROUTES_NAME_SIZE]; /* "" when not given */
	char addr[64];		     /* mapped address, "" when unknown */
	const char *natclass;
	int port_step;		   /* its NAT's sequential port step; 0: not sequential */
	uint64_t last_seen_ms_ago; /* UINT64_MAX: never */
	uint64_t rx_packets;	   /* authenticated packets from it */
};

/* One uplink pair between a client and a peer the server knows of. */
struct restapi_uplink_path {
	unsigned uplink;      /* the client's */
	unsigned peer_uplink; /* the peer's */
	const char *kind;     /* "relay" or "direct" */
	const char *strategy; /* the last punch strategy, "none" when never punched */
};

/* One peer path of a client, as the server sees it. */
struct restapi_path {
	char peer[ROUTES_NAME_SIZE];
	const char *kind;    /* "relay" or "direct" */
	bool has_stats;	     /* the client reported the measures below (PATH_STATS) */
	double rtt_ms;	     /* of the path in use, as the client measures it */
	double loss;	     /* 0..1 */
	double relay_rtt_ms; /* of the relay, kept warm beside a direct path */
	double relay_loss;
	uint64_t stats_age_ms; /* since the client's last report */
	uint16_t relay_port;   /* this client's relay port towards peer, 0 none */
	bool is_bound;	       /* the client bound its relay port */
	uint64_t packets;      /* datagrams from this client towards peer */
	uint64_t bytes;
	uint64_t drops;
	struct restapi_uplink_path uplink_paths[RESTAPI_UPLINK_PAIRS_MAX];
	size_t n_uplink_paths;
};

struct restapi_client {
	char id[ROUTES_NAME_SIZE];
	bool is_online;
	char addr[64];	      /* mapped address, "" when unknown */
	const char *natclass; /* e.g. "symmetric", "unknown" */
	int port_step;	      /* its NAT's sequential port step (REGISTER); 0: not sequential */
	uint64_t last_seen_ms_ago;			    /* UINT64_MAX: never */
	struct restapi_uplink uplinks[RESTAPI_UPLINKS_MAX]; /* [0] always */
	size_t n_uplinks;
	struct restapi_path paths[RESTAPI_PEERS_MAX];
	size_t n_paths;
	/* Another process with this id and key refused (PROTOCOL.md "One
	 * identity, two processes"): how often, from where, and when last. */
	uint64_t refusals;
	char refused_addr[64];
	uint64_t refused_ms_ago;
};

/* What a member reported about one flow (its counters since the flow was
 * added on it; tx: from its apps into the flow, rx: delivered to them). */
struct restapi_flow_member {
	bool has_report;
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, drops;
	bool is_saturated;
	bool has_capacity;
	uint32_t capacity_kbps;
	uint32_t send_kbps;
	double loss;
	uint64_t age_ms; /* since the report */
};

struct restapi_health {
	const char *version;
	uint64_t uptime_s;
	const char *config_path;
	unsigned generation;
	bool has_reload;
	bool is_reload_ok;
	time_t reload_at; /* wall clock */
	const char *reload_message;
	/* The relay state file (server.state_file); NULL when it keeps none. */
	const char *state_file;
	unsigned state_restored; /* client addresses taken back at start */
	time_t state_written_at; /* wall clock of the last write; 0: none yet */
	const char *state_error; /* the last write's or the start's read's; NULL: none */
	/* Relay pairs without ports: a relay range or the open-files limit is
	 * exhausted (DESIGN §5.1). */
	size_t relay_pairs_waiting;
};

/* One named counter or gauge for /metrics. */
typedef void restapi_metric_fn(void *mctx, const char *name, const char *help, bool is_counter,
			       const char *labels, double value);

struct restapi_ops {
	/* The running, validated routes (borrowed for the call). */
	const struct routes *(*routes)(void *ctx);
	/* Read routes.conf as it is on disk now: new buffer, caller frees. 0 or -errno. */
	int (*read_text)(void *ctx, char **text, size_t *len);
	/* Validate text exactly like a reload; if valid apply it live and write it
	 * back atomically (backup kept), only over the version read_text gave.
	 * 0, or -EINVAL/-EBUSY with d set (nothing changed), -ESTALE with d set
	 * (routes.conf changed since read_text: nothing changed; 412), or another
	 * -errno (-EIO: applied then undone; d set). */
	int (*commit)(void *ctx, const char *text, size_t len, struct diag *d);
	void (*health)(void *ctx, struct restapi_health *out);
	/* Fill one client's view (every field; paths past n_paths are left
	 * as they were); false when id is not a client. */
	bool (*client)(void *ctx, const char *id, struct restapi_client *out);
	/* Emit every counter and gauge of the daemon (relay, sessions, drops);
	 * the samples of one name must come one after another (Prometheus text
	 * format: one family per name). labels is NULL or `key="value",...`. */
	void (*metrics)(void *ctx, restapi_metric_fn *emit, void *mctx);
	/* Member id's report about flow; false when it sent none. */
	bool (*flow_member)(void *ctx, const char *flow, const char *id,
			    struct restapi_flow_member *out);
};

struct restapi;

/* Serve on listen. ops and ctx are borrowed for the API's life. Returns a
 * new API or NULL with a reason in err. */
struct restapi *restapi_start(struct ev_loop *loop, const struct sockaddr_storage *listen,
			      const struct restapi_ops *ops, void *ctx, char *err, size_t err_len);
/* Stop serving and free. NULL is a no-op. */
void restapi_stop(struct restapi *api);

/* One client's JSON object, as GET /api/v1/clients/{id} answers it; NULL
 * when out of memory. */
cJSON *restapi_client_json(const struct restapi_client *c);

/* The ETag of routes.conf content: a quoted hex BLAKE2b prefix. */
void restapi_etag(const char *text, size_t len, char out[RESTAPI_ETAG_MAX]);

/* Is token one of tokens[] (constant time in the token's content)? */
bool restapi_token_ok(const char *token, char *const *tokens, size_t n);

#endif
