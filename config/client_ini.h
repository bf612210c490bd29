/* client_ini: client.ini (inih) -> one validated, read-only struct
 * client_ini (DESIGN §6): identity and reachability only. Everything else
 * comes from the server.
 *
 *   [client]   id, key | key_file, server (one or more "ip:port" or
 *              "name:port", comma separated), server_key, api (default
 *              127.1.0.1:7070, loopback only), log_level (the client's
 *              level unless --log-level is given: client/main.c applies it)
 *   [peers]    <client id> = <base64 public key>   (optional pins)
 *   [uplink NAME]  interface = IFNAME | source = IP   (max 8) */
#ifndef WH_CLIENT_INI_H
#define WH_CLIENT_INI_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "config/routes.h"

struct diag;

#define CLIENT_INI_FILE_MAX (64 * 1024)
#define CLIENT_INI_SERVERS_MAX 8
#define CLIENT_INI_UPLINKS_MAX 8
#define CLIENT_INI_PINS_MAX 1024
#define CLIENT_INI_LOG_LEVEL_MAX 16
#define CLIENT_INI_DEFAULT_API "127.1.0.1:7070"

/* A peer key the client accepts for that id, whatever the server says. */
struct client_ini_pin {
	char id[ROUTES_NAME_SIZE];
	uint8_t key[32];
};

struct client_ini_uplink {
	char name[ROUTES_NAME_SIZE];
	bool has_interface; /* exactly one of interface / source */
	char interface[IF_NAMESIZE];
	struct sockaddr_storage source; /* port 0 */
	socklen_t source_len;
	int line; /* line of the [uplink NAME] header */
};

struct client_ini {
	char path[ROUTES_PATH_MAX];
	char base_dir[ROUTES_PATH_MAX];
	char id[ROUTES_NAME_SIZE];
	uint8_t key[32];   /* private key; zero when not loaded */
	bool has_key;	   /* key is set (from `key`, or key_file was read) */
	bool has_key_file; /* key came from key_file (resolved path below) */
	char key_file[ROUTES_PATH_MAX];
	bool is_key_exposed; /* key_file (or this file, key = ...) readable by group/others */
	/* `server`, in order. A numeric entry is in servers[i]; a name is in
	 * server_names[i] (empty for a numeric entry), with servers[i] all
	 * zero: the client resolves it at run time (client/srvaddr.c). */
	struct sockaddr_storage servers[CLIENT_INI_SERVERS_MAX];
	socklen_t server_lens[CLIENT_INI_SERVERS_MAX];
	char server_names[CLIENT_INI_SERVERS_MAX][ADDR_NAME_MAX];
	uint16_t server_ports[CLIENT_INI_SERVERS_MAX]; /* every entry's port */
	size_t n_servers;			       /* at least 1 */
	/* The family of the client's sockets (AF_INET or AF_INET6): the first
	 * numeric server address's, else the first uplink source's, else
	 * AF_INET. Names resolve to addresses of this family, unless
	 * is_family_auto. */
	int family;
	/* No numeric server address and no uplink source: nothing fixes the
	 * family, and the running client takes the one its server's names
	 * are reachable by, starting with `family` (client/srvaddr.c). */
	bool is_family_auto;
	uint8_t server_key[32];
	struct sockaddr_storage api; /* default 127.1.0.1:7070 */
	socklen_t api_len;
	bool has_log_level;
	char log_level[CLIENT_INI_LOG_LEVEL_MAX]; /* validated by log_parse_level */
	struct client_ini_pin *pins;		  /* owns */
	size_t n_pins;
	struct client_ini_uplink uplinks[CLIENT_INI_UPLINKS_MAX];
	size_t n_uplinks;
};

/* Read (at most CLIENT_INI_FILE_MAX bytes), parse and validate path, and load
 * key_file if used. Returns a new struct the caller owns, or NULL with one
 * "PATH:LINE: message" in d. */
struct client_ini *client_ini_load(const char *path, struct diag *d);

/* The same from memory; text need not be NUL-terminated. diag_name becomes
 * c->path (NULL: "client.ini"); base_dir resolves key_file (NULL or "" =
 * "."). With load_keys false a key_file is not read (has_key stays false). */
struct client_ini *client_ini_parse_text(const char *text, size_t len, const char *diag_name,
					 const char *base_dir, bool load_keys, struct diag *d);

/* Wipe the private key and free. NULL is a no-op. */
void client_ini_free(struct client_ini *c);

/* The pinned key for peer id, or NULL when id is not pinned. */
const uint8_t *client_ini_find_pin(const struct client_ini *c, const char *id);

/* The interface uplink is bound to (`interface`), or NULL (a `source`, or
 * no such [uplink]: uplink 0 of a client.ini without any). */
const char *client_ini_interface(const struct client_ini *c, size_t uplink);

#endif
