/* client_ini: loads client.ini (inih) into one validated struct client_ini
 * (DESIGN §6): [client] identity and reachability, optional [peers] key pins
 * and [uplink NAME] sections. Raw-text traps are handled by iniscan first;
 * every key is then checked here as inih reports it, with its line. Unknown
 * sections and keys are errors. Reads the key file; never touches the
 * network; never logs the private key. */
#include "config/client_ini.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/addr.h"
#include "common/b64key.h"
#include "common/diag.h"
#include "common/log.h"
#include "config/cfgfile.h"
#include "config/iniscan.h"

/* [client] keys; the index is the bit in ctx.seen and the slot in ctx.lines. */
enum client_key {
	KEY_ID = 0,
	KEY_KEY,
	KEY_KEY_FILE,
	KEY_SERVER,
	KEY_SERVER_KEY,
	KEY_API,
	KEY_LOG_LEVEL,
	KEY_COUNT,
};
static const char *const client_keys[KEY_COUNT] = {
	"id", "key", "key_file", "server", "server_key", "api", "log_level",
};

struct ini_ctx {
	struct client_ini *c;
	struct iniscan scan;
	struct diag *d;
	bool is_failed;
	int client_line;      /* line of [client], 0 when absent */
	int lines[KEY_COUNT]; /* where each [client] key was set, 0 = not set */
	int uplink_lines[CLIENT_INI_UPLINKS_MAX][2]; /* interface, source */
	int pin_lines[CLIENT_INI_PINS_MAX];
};

static void fail(struct ini_ctx *x, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct ini_ctx *x, int line, const char *fmt, ...)
{
	char msg[DIAG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!x->is_failed) {
		diag_set(x->d, x->scan.file, line, "%s", msg);
	}
	x->is_failed = true;
}

/* One entry of `server`: "ip:port", "[ipv6]:port" or "name:port". */
static int parse_server(struct ini_ctx *x, const char *t, size_t i)
{
	struct client_ini *c = x->c;

	if (addr_parse(t, &c->servers[i], &c->server_lens[i]) == 0) {
		if (addr_is_link_local((const struct sockaddr *)&c->servers[i])) {
			fail(x, x->scan.line,
			     "[client]: server: \"%.64s\" is link-local (fe80::/10): it needs an "
			     "interface, which an address here cannot name; use a global or ULA "
			     "address, or a name",
			     t);
			return -EINVAL;
		}
		c->server_ports[i] = addr_port((const struct sockaddr *)&c->servers[i]);
	} else if (addr_parse_name(t, c->server_names[i], sizeof(c->server_names[i]),
				   &c->server_ports[i]) != 0) {
		fail(x, x->scan.line,
		     "[client]: server: invalid address \"%.64s\" (expected IP:PORT, [IPv6]:PORT "
		     "or NAME:PORT, port 1..65535)",
		     t);
		return -EINVAL;
	}
	for (size_t j = 0; j < i; j++) {
		bool is_same = c->server_names[i][0]
				       ? strcasecmp(c->server_names[j], c->server_names[i]) == 0 &&
						 c->server_ports[j] == c->server_ports[i]
				       : addr_equal((struct sockaddr *)&c->servers[j],
						    (struct sockaddr *)&c->servers[i]);

		if (is_same) {
			fail(x, x->scan.line, "[client]: server: \"%.64s\" is listed twice", t);
			return -EINVAL;
		}
	}
	return 0;
}

/* "addr[, addr...]": at most CLIENT_INI_SERVERS_MAX, no repeats. */
static int parse_servers(struct ini_ctx *x, const char *value)
{
	struct client_ini *c = x->c;
	char buf[INISCAN_LINE_MAX + 1];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", value);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end = t + strlen(t);
		size_t i = c->n_servers;

		while (*t == ' ' || *t == '\t') {
			t++;
		}
		while (end > t && (end[-1] == ' ' || end[-1] == '\t')) {
			*--end = '\0';
		}
		if (i >= CLIENT_INI_SERVERS_MAX) {
			fail(x, x->scan.line, "[client]: server: more than %d addresses",
			     CLIENT_INI_SERVERS_MAX);
			return -EINVAL;
		}
		if (parse_server(x, t, i) != 0) {
			return -EINVAL;
		}
		c->n_servers = i + 1;
	}
	if (c->n_servers == 0) {
		fail(x, x->scan.line, "[client]: server: no address given");
		return -EINVAL;
	}
	return 0;
}

/* The family of the client's sockets: the first numeric server address's,
 * else the first uplink source address's. Without either, IPv4 to start
 * with, and the client follows the family its server's names are reachable
 * by (is_family_auto). */
static void pick_family(struct client_ini *c)
{
	c->family = AF_INET;
	c->is_family_auto = false;
	for (size_t i = 0; i < c->n_servers; i++) {
		if (!c->server_names[i][0]) {
			c->family = c->servers[i].ss_family;
			return;
		}
	}
	for (size_t u = 0; u < c->n_uplinks; u++) {
		if (!c->uplinks[u].has_interface) {
			c->family = c->uplinks[u].source.ss_family;
			return;
		}
	}
	c->is_family_auto = true;
}

/* A client id: routes.conf names each client by it as a libconfig
 * setting name (clients.<id>, deliver, listen), which must start with a
 * letter and has no '.': [A-Za-z][A-Za-z0-9_-]{0,31}, the rule the REST
 * API applies too. Flow and uplink names keep routes_name_is_valid's. */
static bool client_id_is_valid(const char *id)
{
	bool is_letter = (id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z');

	return is_letter && !strchr(id, '.') && routes_name_is_valid(id);
}

#define CLIENT_ID_RULE "1-32 letters, digits, '_' or '-', starting with a letter"

/* The local API has no token (README "Programs"): it must be reachable
 * from this host only, 127.0.0.0/8 or ::1. */
static bool api_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int set_api(struct ini_ctx *x, const char *v)
{
	struct client_ini *c = x->c;

	if (addr_parse(v, &c->api, &c->api_len) != 0) {
		fail(x, x->scan.line,
		     "[client]: api: invalid address \"%.64s\" (expected IP:PORT, or "
		     "[IPv6]:PORT, port 1..65535)",
		     v);
		return -EINVAL;
	}
	if (!api_is_loopback(&c->api)) {
		fail(x, x->scan.line,
		     "[client]: api: \"%.64s\" is not a loopback address (the local API has no "
		     "token: loopback only, 127.0.0.0/8 or [::1])",
		     v);
		return -EINVAL;
	}
	return 0;
}

static int set_client_key(struct ini_ctx *x, enum client_key k, const char *v)
{
	struct client_ini *c = x->c;
	enum log_level level;

	switch (k) {
	case KEY_ID:
		if (!client_id_is_valid(v)) {
			fail(x, x->scan.line,
			     "[client]: id: invalid id \"%.64s\" (" CLIENT_ID_RULE ")", v);
			return -EINVAL;
		}
		snprintf(c->id, sizeof(c->id), "%s", v);
		return 0;
	case KEY_KEY:
	case KEY_SERVER_KEY:
		if (b64key_decode(v, k == KEY_KEY ? c->key : c->server_key) != 0) {
			fail(x, x->scan.line, "[client]: %s: not a base64 X25519 key",
			     client_keys[k]);
			return -EINVAL;
		}
		if (k == KEY_SERVER_KEY && b64key_is_low_order(c->server_key)) {
			fail(x, x->scan.line,
			     "[client]: server_key: a low-order point, not a usable X25519 public "
			     "key");
			return -EINVAL;
		}
		c->has_key = c->has_key || k == KEY_KEY;
		return 0;
	case KEY_KEY_FILE:
		snprintf(c->key_file, sizeof(c->key_file), "%s", v);
		c->has_key_file = true;
		return 0;
	case KEY_SERVER:
		return parse_servers(x, v);
	case KEY_API:
		return set_api(x, v);
	case KEY_LOG_LEVEL:
		if (log_parse_level(v, &level) != 0) {
			fail(x, x->scan.line,
			     "[client]: log_level must be error, warn, info, debug or trace (got "
			     "\"%.32s\")",
			     v);
			return -EINVAL;
		}
		snprintf(c->log_level, sizeof(c->log_level), "%s", v);
		c->has_log_level = true;
		return 0;
	case KEY_COUNT:
		break;
	}
	return -EINVAL;
}

static int on_client(struct ini_ctx *x, const char *name, const char *value)
{
	for (int k = 0; k < KEY_COUNT; k++) {
		if (strcmp(client_keys[k], name) != 0) {
			continue;
		}
		if (x->lines[k] != 0) {
			fail(x, x->scan.line, "[client]: duplicate key \"%s\" (first at line %d)",
			     name, x->lines[k]);
			return -EINVAL;
		}
		x->lines[k] = x->scan.line;
		if (value[0] == '\0') {
			fail(x, x->scan.line, "[client]: %s: empty value", name);
			return -EINVAL;
		}
		return set_client_key(x, (enum client_key)k, value);
	}
	fail(x, x->scan.line, "[client]: unknown key \"%.49s\"", name);
	return -EINVAL;
}

static int on_peer(struct ini_ctx *x, const char *name, const char *value)
{
	struct client_ini *c = x->c;
	struct client_ini_pin *more;

	if (!client_id_is_valid(name)) {
		fail(x, x->scan.line, "[peers]: invalid client id \"%.49s\" (" CLIENT_ID_RULE ")",
		     name);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_pins; i++) {
		if (strcmp(c->pins[i].id, name) == 0) {
			fail(x, x->scan.line, "[peers]: duplicate key \"%s\" (first at line %d)",
			     name, x->pin_lines[i]);
			return -EINVAL;
		}
	}
	if (c->n_pins >= CLIENT_INI_PINS_MAX) {
		fail(x, x->scan.line, "[peers]: more than %d peers", CLIENT_INI_PINS_MAX);
		return -EINVAL;
	}
	more = realloc(c->pins, (c->n_pins + 1) * sizeof(*more));
	if (!more) {
		fail(x, x->scan.line, "out of memory");
		return -ENOMEM;
	}
	c->pins = more;
	memset(&more[c->n_pins], 0, sizeof(*more));
	snprintf(more[c->n_pins].id, sizeof(more[c->n_pins].id), "%s", name);
	if (b64key_decode(value, more[c->n_pins].key) != 0) {
		fail(x, x->scan.line, "[peers]: %s: not a base64 X25519 key", name);
		return -EINVAL;
	}
	if (b64key_is_low_order(more[c->n_pins].key)) {
		fail(x, x->scan.line,
		     "[peers]: %s: a low-order point, not a usable X25519 public key", name);
		return -EINVAL;
	}
	x->pin_lines[c->n_pins++] = x->scan.line;
	return 0;
}

/* An interface name as the kernel accepts it (dev_valid_name). */
static bool interface_is_valid(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE || strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '/' || v[i] == ':' || v[i] <= ' ' || v[i] >= 0x7f) {
			return false;
		}
	}
	return true;
}

static int on_uplink(struct ini_ctx *x, size_t u, const char *name, const char *value)
{
	struct client_ini_uplink *up = &x->c->uplinks[u];
	int slot = strcmp(name, "interface") == 0 ? 0 : (strcmp(name, "source") == 0 ? 1 : -1);

	if (slot < 0) {
		fail(x, x->scan.line, "[uplink %s]: unknown key \"%.49s\"", up->name, name);
		return -EINVAL;
	}
	if (x->uplink_lines[u][slot] != 0) {
		fail(x, x->scan.line, "[uplink %s]: duplicate key \"%s\" (first at line %d)",
		     up->name, name, x->uplink_lines[u][slot]);
		return -EINVAL;
	}
	x->uplink_lines[u][slot] = x->scan.line;
	if (slot == 0 && !interface_is_valid(value)) {
		fail(x, x->scan.line, "[uplink %s]: invalid interface name \"%.32s\"", up->name,
		     value);
		return -EINVAL;
	}
	if (slot == 1 && addr_parse_ip(value, &up->source, &up->source_len) != 0) {
		fail(x, x->scan.line, "[uplink %s]: source: invalid IP address \"%.64s\"", up->name,
		     value);
		return -EINVAL;
	}
	if (slot == 1 && addr_is_link_local((const struct sockaddr *)&up->source)) {
		fail(x, x->scan.line,
		     "[uplink %s]: source: \"%.64s\" is link-local (fe80::/10): name the "
		     "interface instead (interface = ...)",
		     up->name, value);
		return -EINVAL;
	}
	if (slot == 0) {
		snprintf(up->interface, sizeof(up->interface), "%s", value);
		up->has_interface = true;
	}
	return 0;
}

/* inih handler: returns nonzero to go on, 0 on error (inih then reports the
 * line; we already hold the message). */
static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;

	if (x->is_failed) {
		return 0;
	}
	if (strcmp(section, "client") == 0) {
		return on_client(x, name, value) == 0;
	}
	if (strcmp(section, "peers") == 0) {
		return on_peer(x, name, value) == 0;
	}
	for (size_t u = 0; u < x->c->n_uplinks; u++) {
		if (strncmp(section, "uplink", 6) == 0 &&
		    strcmp(section + strspn(section + 6, " \t") + 6, x->c->uplinks[u].name) == 0) {
			return on_uplink(x, u, name, value) == 0;
		}
	}
	fail(x, x->scan.line, "key \"%.49s\" outside a section (start with [client])", name);
	return 0;
}

/* Sections come from iniscan (inih does not report empty ones). */
static int check_sections(struct ini_ctx *x)
{
	struct client_ini *c = x->c;

	for (size_t i = 0; i < x->scan.n_sections; i++) {
		const struct iniscan_section *s = &x->scan.sections[i];
		const char *name;
		struct client_ini_uplink *up;

		if (strcmp(s->name, "client") == 0) {
			x->client_line = s->line;
			continue;
		}
		if (strcmp(s->name, "peers") == 0) {
			continue;
		}
		/* Only past the prefix check is s->name known to be 6+ characters long. */
		name = NULL;
		if (strncmp(s->name, "uplink", 6) == 0) {
			name = s->name + 6 + strspn(s->name + 6, " \t");
		}
		if (!name || name == s->name + 6) {
			fail(x, s->line,
			     "unknown section [%s] (expected [client], [peers] or "
			     "[uplink NAME])",
			     s->name);
			return -EINVAL;
		}
		if (!routes_name_is_valid(name)) {
			fail(x, s->line, "[%s]: invalid uplink name \"%s\"", s->name, name);
			return -EINVAL;
		}
		for (size_t u = 0; u < c->n_uplinks; u++) {
			if (strcmp(c->uplinks[u].name, name) == 0) {
				fail(x, s->line, "duplicate section [uplink %s] (first at line %d)",
				     name, c->uplinks[u].line);
				return -EINVAL;
			}
		}
		if (c->n_uplinks >= CLIENT_INI_UPLINKS_MAX) {
			fail(x, s->line, "more than %d uplinks", CLIENT_INI_UPLINKS_MAX);
			return -EINVAL;
		}
		up = &c->uplinks[c->n_uplinks++];
		snprintf(up->name, sizeof(up->name), "%s", name);
		up->line = s->line;
	}
	return 0;
}

static int check_uplinks(struct ini_ctx *x)
{
	const struct client_ini *c = x->c;

	for (size_t u = 0; u < c->n_uplinks; u++) {
		const struct client_ini_uplink *up = &c->uplinks[u];
		bool has_source = x->uplink_lines[u][1] != 0;

		if (!up->has_interface && !has_source) {
			fail(x, up->line, "[uplink %s]: missing \"interface\" (or \"source\")",
			     up->name);
			return -EINVAL;
		}
		if (up->has_interface && has_source) {
			fail(x, x->uplink_lines[u][1],
			     "[uplink %s]: set either \"interface\" or \"source\", not both",
			     up->name);
			return -EINVAL;
		}
		for (size_t v = 0; v < u; v++) {
			const struct client_ini_uplink *o = &c->uplinks[v];
			bool is_same =
				up->has_interface
					? o->has_interface &&
						  strcmp(o->interface, up->interface) == 0
					: !o->has_interface &&
						  addr_equal((const struct sockaddr *)&o->source,
							     (const struct sockaddr *)&up->source);

			if (is_same) {
				fail(x, up->line, "[uplink %s]: same %s as [uplink %s]", up->name,
				     up->has_interface ? "interface" : "source", o->name);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_required(struct ini_ctx *x)
{
	static const enum client_key required[] = {KEY_ID, KEY_SERVER, KEY_SERVER_KEY};
	const struct client_ini *c = x->c;

	if (x->client_line == 0) {
		fail(x, 1, "missing [client] section");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (x->lines[required[i]] == 0) {
			fail(x, x->client_line, "[client]: missing \"%s\"",
			     client_keys[required[i]]);
			return -EINVAL;
		}
	}
	if (x->lines[KEY_KEY] == 0 && x->lines[KEY_KEY_FILE] == 0) {
		fail(x, x->client_line, "[client]: missing \"key\" (or \"key_file\")");
		return -EINVAL;
	}
	if (x->lines[KEY_KEY] != 0 && x->lines[KEY_KEY_FILE] != 0) {
		int line = x->lines[KEY_KEY] > x->lines[KEY_KEY_FILE] ? x->lines[KEY_KEY]
								      : x->lines[KEY_KEY_FILE];

		fail(x, line, "[client]: set either \"key\" or \"key_file\", not both");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_pins; i++) {
		if (strcmp(c->pins[i].id, c->id) == 0) {
			fail(x, x->pin_lines[i], "[peers]: \"%s\" is this client's own id", c->id);
			return -EINVAL;
		}
	}
	if (check_uplinks(x) != 0) {
		return -EINVAL;
	}
	pick_family(x->c);
	return 0;
}

static int load_key_file(struct ini_ctx *x, bool load_keys)
{
	struct client_ini *c = x->c;
	char rel[ROUTES_PATH_MAX];
	struct diag kd;

	if (!c->has_key_file) {
		return 0;
	}
	snprintf(rel, sizeof(rel), "%s", c->key_file);
	if (cfgfile_resolve(c->base_dir, rel, c->key_file, sizeof(c->key_file)) != 0) {
		fail(x, x->lines[KEY_KEY_FILE], "[client]: key_file: path too long");
		return -EINVAL;
	}
	if (!load_keys) {
		return 0;
	}
	diag_clear(&kd);
	if (b64key_load_file(c->key_file, c->key, &c->is_key_exposed, &kd) != 0) {
		fail(x, x->lines[KEY_KEY_FILE], "[client]: key_file \"%s\": %s", c->key_file,
		     kd.msg);
		return -EINVAL;
	}
	c->has_key = true;
	return 0;
}

static int parse_all(struct ini_ctx *x, const char *text, size_t len, bool load_keys)
{
	int ret;

	if (iniscan_prepare(&x->scan, text, len, x->c->path, x->d) != 0) {
		x->is_failed = true;
		return -EINVAL;
	}
	if (check_sections(x) != 0) {
		return -EINVAL;
	}
	ret = ini_parse_stream(iniscan_reader, &x->scan, on_pair, x);
	if (ret != 0 || x->is_failed) {
		/* Every error inih can find was caught before (iniscan) or is
		 * ours (on_pair); this is only a backstop. */
		fail(x, ret > 0 ? ret : 0, "syntax error");
		return -EINVAL;
	}
	if (check_required(x) != 0 || load_key_file(x, load_keys) != 0) {
		return -EINVAL;
	}
	if (x->lines[KEY_API] == 0) {
		addr_parse(CLIENT_INI_DEFAULT_API, &x->c->api, &x->c->api_len);
	}
	return 0;
}

struct client_ini *client_ini_parse_text(const char *text, size_t len, const char *diag_name,
					 const char *base_dir, bool load_keys, struct diag *d)
{
	struct ini_ctx *x;
	struct client_ini *c = NULL;
	int err = -EINVAL;

	diag_name = diag_name ? diag_name : "client.ini";
	if (len > CLIENT_INI_FILE_MAX) {
		diag_set(d, diag_name, 1, "file too large (more than %d bytes)",
			 CLIENT_INI_FILE_MAX);
		return NULL;
	}
	/* The context is large (pin lines): keep it off the stack. */
	x = calloc(1, sizeof(*x));
	c = calloc(1, sizeof(*c));
	if (!x || !c) {
		diag_set(d, diag_name, 0, "out of memory");
		goto out;
	}
	x->c = c;
	x->d = d;
	if (snprintf(c->path, sizeof(c->path), "%s", diag_name) >= (int)sizeof(c->path) ||
	    snprintf(c->base_dir, sizeof(c->base_dir), "%s",
		     base_dir && base_dir[0] ? base_dir : ".") >= (int)sizeof(c->base_dir)) {
		diag_set(d, diag_name, 0, "path too long");
		goto out;
	}
	err = parse_all(x, text, len, load_keys);
out:
	if (x) {
		iniscan_fini(&x->scan);
		free(x);
	}
	if (err != 0) {
		client_ini_free(c);
		return NULL;
	}
	return c;
}

struct client_ini *client_ini_load(const char *path, struct diag *d)
{
	char dir[ROUTES_PATH_MAX];
	struct client_ini *c;
	char *text;
	size_t len;

	if (cfgfile_dirname(path, dir, sizeof(dir)) != 0) {
		diag_set(d, path, 0, "path too long");
		return NULL;
	}
	if (cfgfile_read(path, CLIENT_INI_FILE_MAX, &text, &len, d) != 0) {
		return NULL;
	}
	c = client_ini_parse_text(text, len, path, dir, true, d);
	/* The text may hold the private key (key = ...). */
	sodium_memzero(text, len);
	free(text);
	if (c && c->has_key && !c->has_key_file) {
		struct stat st;

		/* Written in the file itself, the key is as exposed as it. */
		c->is_key_exposed = stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	}
	return c;
}

void client_ini_free(struct client_ini *c)
{
	if (!c) {
		return;
	}
	free(c->pins);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

const char *client_ini_interface(const struct client_ini *c, size_t uplink)
{
	return uplink < c->n_uplinks && c->uplinks[uplink].has_interface ? c->uplinks[uplink].interface : NULL;
}

const uint8_t *client_ini_find_pin(const struct client_ini *c, const char *id)
{
	for (size_t i = 0; i < c->n_pins; i++) {
		if (strcmp(c->pins[i].id, id) == 0) {
			return c->pins[i].key;
		}
	}
	return NULL;
}
