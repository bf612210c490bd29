/* routes: routes.conf (libconfig) -> one validated, read-only struct routes
 * (DESIGN §6). The struct has one owner and is never modified after
 * routes_load / routes_parse_text return it (STYLE §3, §8): a reload builds a
 * new one, and the old one is freed whole with routes_free.
 *
 * Lists are heap arrays owned by their parent struct; names are fixed-size
 * char arrays, so f->from[i] reads as a plain NUL-terminated string. */
#ifndef WH_ROUTES_H
#define WH_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct diag;

/* Flow names match [A-Za-z0-9][A-Za-z0-9_.-]{0,31}. Client ids match
 * [A-Za-z][A-Za-z0-9_-]{0,31}: routes.conf names each client by a libconfig
 * setting name (clients.<id>, deliver, listen), which starts with a letter
 * and has no '.'; client.ini's id and the REST API hold ids to the same. */
#define ROUTES_NAME_MAX 32 /* characters, without the NUL */
#define ROUTES_NAME_SIZE (ROUTES_NAME_MAX + 1)
#define ROUTES_PATH_MAX 4096
#define ROUTES_LISTEN_MAX 8   /* server.listen addresses */
#define ROUTES_MEMBERS_MAX 32 /* members of one flow (what one route frame carries) */
/* A client's route set: the flows it is a member of, and the clients it
 * shares one with (what a client takes: client/routeintake.h). */
#define ROUTES_CLIENT_FLOWS_MAX 256
#define ROUTES_CLIENT_PEERS_MAX 256
#define ROUTES_TOKEN_MIN 16 /* api tokens: printable non-space ASCII */
#define ROUTES_TOKEN_MAX 256
#define ROUTES_FILE_MAX (1024 * 1024) /* routes.conf larger than this is refused */
#define ROUTES_SETTINGS_MAX                                               \
	10000 /* settings (counted from above) in one file: libconfig 1.5 \
	       * adds members to a group in quadratic time */

#define ROUTES_DEFAULT_API_LISTEN "127.0.0.1:7480"
#define ROUTES_DEFAULT_KEEPALIVE_S 25
#define ROUTES_DEFAULT_PUNCH_SPRAY 256
#define ROUTES_PUNCH_SPRAY_MAX 1024
#define ROUTES_DEFAULT_MTU 1400
#define ROUTES_MTU_MIN 576
#define ROUTES_MTU_MAX 9000
#define ROUTES_DELAY_MAX_MS 60000
#define ROUTES_RATE_MAX_KBPS 10000000 /* 10 Gbit/s */

enum routes_proto {
	ROUTES_PROTO_UDP = 0,
	ROUTES_PROTO_TCP,
};

enum routes_multipath {
	ROUTES_MULTIPATH_FAILOVER = 0, /* default: best path, others warm */
	ROUTES_MULTIPATH_REDUNDANT,    /* every datagram on every live path */
	ROUTES_MULTIPATH_BALANCE,      /* spread by capacity and RTT */
};

struct routes_port_range {
	uint16_t lo; /* inclusive */
	uint16_t hi; /* inclusive, lo <= hi */
};

struct routes_api {
	struct sockaddr_storage listen; /* default 127.0.0.1:7480 */
	socklen_t listen_len;
	char **tokens; /* owns; n_tokens strings, read-write access */
	size_t n_tokens;
	char **read_tokens; /* owns; read-only access */
	size_t n_read_tokens;
};

struct routes_server {
	struct sockaddr_storage listen[ROUTES_LISTEN_MAX]; /* at least 1 */
	socklen_t listen_len[ROUTES_LISTEN_MAX];
	size_t n_listen;
	/* `public`: the address clients reach listen[i] at, when the host sits
	 * behind a 1:1 NAT (a cloud provider's elastic or external IP); port
	 * 0, family of listen[i]. Without it (has_public false) the listen
	 * addresses are the public ones. STUN reports these. */
	struct sockaddr_storage public_ip[ROUTES_LISTEN_MAX];
	bool has_public;
	uint16_t alt_port;		  /* default: port of listen[0] + 1 */
	char key_file[ROUTES_PATH_MAX];	  /* resolved against the config's folder */
	uint8_t key[32];		  /* server private key; zero when not loaded */
	bool has_key;			  /* key was read (load_keys = true) */
	bool is_key_exposed;		  /* key file readable by group/others */
	struct routes_port_range relay_a; /* default 2000-2999 */
	struct routes_port_range relay_b; /* default 3000-3999 */
	uint32_t keepalive_s;		  /* 1..3600, default 25 */
	bool punch;			  /* default true; false: every pair stays on the relay */
	uint32_t punch_spray; /* sockets a symmetric side opens (0..1024, default 256; 0 = no
				 spraying) */
	struct routes_api api;
	/* `state_file`, resolved against the config's folder; "" = keep no
	 * relay state. Without the key (has_state_file false) the server
	 * uses routes.conf's path + ".state". */
	char state_file[ROUTES_PATH_MAX];
	bool has_state_file;
	int line; /* source line of the server group */
	/* Source lines of the settings that need a restart when they change
	 * (the group's line for one left out), for diags. */
	struct {
		int listen, public_ip, alt_port, key_file, state_file, relay_a, relay_b, api;
	} lines;
};

struct routes_client {
	char id[ROUTES_NAME_SIZE];
	uint8_t key[32]; /* public key */
	int line;
};

/* Per-member delivery target (sinks): default 127.0.0.1:<flow port>. */
struct routes_deliver {
	char id[ROUTES_NAME_SIZE];
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

/* Per-member listen port (sources): default the flow port. */
struct routes_listen {
	char id[ROUTES_NAME_SIZE];
	uint16_t port;
};

/* Impairment applied before delivery (DESIGN §9). Probabilities are 0..1. */
struct routes_impair {
	double loss;	    /* probability a datagram is dropped */
	double corrupt;	    /* probability a datagram has a byte altered */
	double duplicate;   /* probability a datagram is delivered twice */
	double reorder;	    /* probability a datagram is held back behind the next */
	double loss_burst;  /* Gilbert-Elliott: probability the datagram after a lost
			       one is lost too; 0 = independent losses */
	uint32_t delay_ms;  /* 0..60000 */
	uint32_t jitter_ms; /* 0..60000 */
	uint32_t rate_kbps; /* 0 = unlimited */
	uint64_t seed;	    /* for reproducible runs */
	bool has_seed;	    /* false: the client picks a random seed */
};

struct routes_flow {
	char name[ROUTES_NAME_SIZE];
	enum routes_proto proto;
	uint16_t port;
	/* Either from/to (is_nn false) or members (is_nn true, everyone is
	 * both source and sink). Use routes_flow_is_source/_is_sink rather
	 * than reading the arrays directly. */
	bool is_nn;
	char (*from)[ROUTES_NAME_SIZE]; /* owns */
	size_t n_from;
	char (*to)[ROUTES_NAME_SIZE]; /* owns */
	size_t n_to;
	char (*members)[ROUTES_NAME_SIZE]; /* owns */
	size_t n_members;
	struct routes_deliver *deliver; /* owns */
	size_t n_deliver;
	struct routes_listen *listen; /* owns */
	size_t n_listen;
	bool has_impair;
	struct routes_impair impair;
	enum routes_multipath multipath;
	bool is_joinable_all;		    /* joinable = true */
	char (*joinable)[ROUTES_NAME_SIZE]; /* owns; joinable = ["id", ...] */
	size_t n_joinable;
	uint32_t mtu; /* 576..9000, default 1400 */
	int line;     /* source line of the flow, for diags */
};

/* A client that shares at least one flow with another, seen from that one. */
struct routes_peer {
	uint32_t client; /* index in clients[] */
	uint8_t modes;	 /* bit (1 << enum routes_multipath) per kind of flow they share */
};

struct routes {
	char path[ROUTES_PATH_MAX];	/* as given to routes_load */
	char base_dir[ROUTES_PATH_MAX]; /* folder relative paths resolve against */
	struct routes_server server;
	struct routes_client *clients; /* owns */
	size_t n_clients;
	struct routes_flow *flows; /* owns */
	size_t n_flows;
	/* Who shares a flow with whom, built once by the parser: client i's
	 * peers are peers[peer_start[i] .. peer_start[i + 1]), by ascending
	 * index. Asking flow by flow for every pair of clients cost
	 * clients^2 x flows (2.6 s for 1,000 clients and 500 flows, on every
	 * reload and every registration). */
	size_t *peer_start;	   /* owns; n_clients + 1 entries */
	struct routes_peer *peers; /* owns */
	/* And the flows each client is a member of, in file order: client i's
	 * are member_flows[flow_start[i] .. flow_start[i + 1]) (indices). */
	size_t *flow_start;	/* owns; n_clients + 1 entries */
	uint32_t *member_flows; /* owns */
};

/* Read (at most ROUTES_FILE_MAX bytes), parse and validate path, and load
 * the server key file. Returns a new struct the caller owns (routes_free),
 * or NULL with one "PATH:LINE: message" in d. */
struct routes *routes_load(const char *path, struct diag *d);

/* The same from memory (fuzz target, REST API). text need not be
 * NUL-terminated. diag_name names the text in diags and becomes r->path
 * (NULL: "routes.conf"); base_dir resolves key_file (NULL or "" = ".").
 * With load_keys false the key file is not read, but key_file must still
 * be present and a string. Returns a new struct or NULL + diag. */
struct routes *routes_parse_text(const char *text, size_t len, const char *diag_name,
				 const char *base_dir, bool load_keys, struct diag *d);

/* Free everything r owns and wipe the server key. NULL is a no-op. */
void routes_free(struct routes *r);

/* Borrowed pointer, or NULL. */
const struct routes_flow *routes_find_flow(const struct routes *r, const char *name);
const struct routes_client *routes_find_client(const struct routes *r, const char *id);

/* True when name matches the flow-name rule above. A client id that passes
 * it must also start with a letter and have no '.' (libconfig's setting
 * names enforce that for ids read from routes.conf). */
bool routes_name_is_valid(const char *name);

/* Is client id a source (in from, or a member) / a sink (in to, or a
 * member) / either, of flow f. */
bool routes_flow_is_source(const struct routes_flow *f, const char *id);
bool routes_flow_is_sink(const struct routes_flow *f, const char *id);
bool routes_flow_has_member(const struct routes_flow *f, const char *id);

/* The local listen port of source id on 127.1.0.1: its `listen` override
 * or the flow port. 0 when id is not a source of f. */
uint16_t routes_flow_listen_port(const struct routes_flow *f, const char *id);

/* The delivery target of sink id: its `deliver` override or
 * 127.0.0.1:<flow port>. Returns 0, or -ENOENT when id is not a sink. */
int routes_flow_deliver_addr(const struct routes_flow *f, const char *id,
			     struct sockaddr_storage *out, socklen_t *len);

/* Every field equal (name, proto, port, membership in order, deliver,
 * listen, impair, multipath, joinable, mtu); line is ignored. */
bool routes_flow_equal(const struct routes_flow *a, const struct routes_flow *b);

/* "udp"/"tcp" and "failover"/"redundant"/"balance" (for write-back, API). */
const char *routes_proto_name(enum routes_proto p);
const char *routes_multipath_name(enum routes_multipath m);

/* The index of client id in r->clients, or SIZE_MAX. */
size_t routes_client_index(const struct routes *r, const char *id);
/* The clients sharing a flow with client i (an index), ascending; *n of them.
 * Two clients share a flow when one is a source of it and the other a sink
 * (any two members of an N:N flow); two sinks of one flow do not. */
const struct routes_peer *routes_peers_of(const struct routes *r, size_t i, size_t *n);
/* The flows client i (an index) is a member of, as indices in file order. */
const uint32_t *routes_flows_of(const struct routes *r, size_t i, size_t *n);
/* The kinds of flow (bit 1 << enum routes_multipath) clients a and b share;
 * 0 when none (or either is unknown, or a is b). */
unsigned routes_shared_modes(const struct routes *r, const char *a, const char *b);

#endif
