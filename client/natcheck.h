/* natcheck: classify this host's NAT against the server's STUN service and
 * print the result (DESIGN §5.2, §8: `wormhole-client natcheck`). */
#ifndef WH_NATCHECK_H
#define WH_NATCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct client_ini;
struct nat64_prefix;
struct natclass_params;
struct natclass_result;
struct diag;

/* Fill p->local and p->n_local with fd's own addresses: its bound address,
 * or, when it is bound to the wildcard, every interface address of its
 * family with its port (at most NATCLASS_LOCAL_MAX). Also used by the
 * daemon's natwatch for its main socket. */
void natcheck_local_addrs(int fd, struct natclass_params *p);

/* Run one classification against server from a fresh UDP socket of its family
 * for uplink (index into client.ini's [uplink] sections, bound to its
 * interface or source address; 0 without uplinks), through the NAT64 prefix
 * pref64 (NULL or len 0: none; natclass_params).
 * Blocks for at most a few seconds. Returns 0 with *res filled, or a
 * negative errno with d set. */
int natcheck_run(const struct client_ini *ini, size_t uplink, const struct sockaddr_storage *server,
		 const struct nat64_prefix *pref64, struct natclass_result *res, struct diag *d);

/* The `natcheck [--json]` command on a loaded client.ini: each uplink's NAT in
 * turn (README "natcheck"). Returns an exit code: 1 when any uplink's check
 * failed (the others are still printed). */
int natcheck_main(const struct client_ini *ini, bool is_json);

#endif
