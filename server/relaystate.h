/* relaystate: the relay's port pairs and the client addresses bound to them,
 * kept in a file (routes.conf `server.state_file`) so that a restarted
 * server forwards again as soon as it runs: a client on the relay only
 * (two symmetric NATs) then loses the time the server was down, not the
 * seconds its clients take to notice, reconnect and bind again (DESIGN §5:
 * the data plane does not depend on the control plane). Holds no keys or
 * sessions: only what an authenticated RELAY_BIND taught the relay, with
 * its age: a binding heard within RELAY_SIDE_SILENT_US when written, and
 * restored while younger than RELAYSTATE_RESTORE_MAX_US. Text, one record
 * a line:
 *
 *   wormhole-relay-state 1 <wall clock, µs>
 *   pair <id a> <port a> <id b> <port b>
 *   bind <side 0|1> <age ms> <primary 0|1> <server ip> <client ip:port>
 *
 * bind lines belong to the pair line above them. Written whole to a
 * temporary file renamed over the old one (mode 600), every
 * RELAYSTATE_SAVE_S while pairs are bound and when the server stops; read
 * once at start. */
#ifndef WH_RELAYSTATE_H
#define WH_RELAYSTATE_H

#include "common/compiler.h"
#include "config/routes.h"
#include "relay.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RELAYSTATE_SAVE_S 10.0
/* A binding this old at the restart (its age when written plus the time
 * the server was down) is still restored: a client goes on pinging the
 * relay while the server is down (every second), which keeps its NAT's
 * mapping towards the relay port, and the relay forwards to the address
 * again as soon as it hears it (relay.c: within RELAY_SIDE_SILENT_US). A
 * reboot of the server's machine or an upgrade fits; a client whose
 * mapping changed meanwhile binds its new address as before. */
#define RELAYSTATE_RESTORE_MAX_US (600 * 1000000ull)
/* The file's own size limit: ~100 bytes a bind, 8 per side. */
#define RELAYSTATE_FILE_MAX (8u << 20)

struct relaystate_bind {
	struct sockaddr_storage server_ip; /* the listen address it was heard on, port 0 */
	struct sockaddr_storage addr;	   /* the client's address */
	socklen_t len;
	uint64_t age_us; /* at reading: time since it was last heard */
	bool is_primary;
};

struct relaystate_pair {
	char id[2][ROUTES_NAME_SIZE]; /* id[0] sorts first */
	uint16_t port[2];
	bool is_reserved[2]; /* port[k] is held in the relay's range for us */
	struct relaystate_bind bind[2][RELAY_ENDPOINTS_MAX];
	unsigned n_bind[2];
};

struct relaystate {
	struct relaystate_pair *pairs; /* owns */
	size_t n_pairs;
	size_t cap_pairs;
};

/* The file this server keeps its relay state in, written to out: the
 * `state_file` key, else routes.conf's path + ".state". False when it keeps
 * none (state_file = "") or the path does not fit. */
bool relaystate_path(const struct routes *r, char *out, size_t size);

/* Read path, saved wall_saved; ages grow by the wall-clock time since.
 * A port may appear once per side. Returns the number of pairs read (0: no
 * file, or nothing young enough),
 * or -EINVAL (malformed: the message, "FILE:LINE: what", in msg),
 * another negative errno when it cannot be read. st is empty on error. */
WH_MUST_CHECK int relaystate_read(const char *path, uint64_t wall_now_us, struct relaystate *st,
				  char *msg, size_t msg_size);
/* The relay's first relay_update (for r, at now_us) from the saved state:
 * pairs get their saved ports when they are free (held for them while the
 * others are allocated), and their saved bindings back on those ports.
 * Returns the number of client addresses restored. */
unsigned relaystate_start(struct relaystate *st, struct relay *rl, const struct routes *r,
			  uint64_t now_us);
/* relay_ports' side of it: while relaystate_start runs rl->saved = st,
 * every saved port of rl's ranges is held for its pair; pair_open takes
 * its own back with relaystate_claim (0 when none is held for it), to
 * bind it at once. */
uint16_t relaystate_claim(struct relaystate *st, struct relay *rl, const char *a, const char *b,
			  int k);
void relaystate_free(struct relaystate *st);
/* After relaystate_start: send each restored client address the restart
 * notice (proto/restarted.h) from its relay port, so that its client renews
 * its server session now. Returns the number of addresses told. */
unsigned relaystate_announce(struct relay *rl, const struct routes *r, uint64_t wall_now_us);

/* Send `to` (once, from rs) the restart notice for rs's side's client:
 * something came from there at that side's relay port while the client
 * has no server session (relay_stranger_fn; a restart that took none of
 * its bindings back), and it renews its session at once instead of after
 * noticing the relay silent. Returns 0 or a negative errno (-ENOENT: no
 * such client). */
int relaystate_tell(struct relay_sock *rs, const struct sockaddr *to, const struct routes *r,
		    uint64_t wall_now_us);

/* Some pair of rl has a binding young enough to be written. */
bool relaystate_has_binds(const struct relay *rl, uint64_t now_us);
/* Write rl's pairs with ports and their bound addresses to path (through
 * path.tmp, renamed over it). Returns the number of bindings written or a
 * negative errno: -EEXIST when path is there and is not a relay state file
 * (nor empty), which is never replaced. */
WH_MUST_CHECK int relaystate_write(const char *path, const struct relay *rl, uint64_t now_us,
				   uint64_t wall_now_us);

#endif
