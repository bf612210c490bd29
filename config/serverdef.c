/* serverdef: parses and validates the `server` group of routes.conf (DESIGN
 * §6): listen addresses and their public addresses, alt_port, the server
 * key file, relay port ranges, keepalive and the REST API settings.
 * Defaults are filled in here. Reads the key file (the only file access
 * besides routes.conf); never touches the network. */
#include "config/serverdef.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/b64key.h"
#include "common/diag.h"
#include "config/cfgfile.h"

static const char *const server_keys[] = {
	"listen",      "public", "alt_port",	"key_file", "relay_a",	  "relay_b",
	"keepalive_s", "punch",	 "punch_spray", "api",	    "state_file", NULL,
};
static const char *const api_keys[] = {"listen", "tokens", "read_tokens", NULL};

/* listen[i] against what a socket can bind beside listen[0..i-1]: not
 * listed before; not beside another of its family when either is a
 * wildcard (it takes every address of its family, for the listen port,
 * alt_port and the relay ports alike); not IPv6 link-local (it needs an
 * interface, which an address here cannot name). */
static int check_listen(const struct cfgread *cr, const config_setting_t *e,
			const struct routes_server *srv, int i)
{
	const struct sockaddr *a = (const struct sockaddr *)&srv->listen[i];
	char text[ADDR_TEXT_MAX], other[ADDR_TEXT_MAX];

	addr_format(a, text, sizeof(text));
	if (addr_is_link_local(a)) {
		cfgread_fail(cr, e,
			     "server.listen: \"%s\" is link-local (fe80::/10): it needs an "
			     "interface, which listen cannot name; use a global or ULA address",
			     text);
		return -EINVAL;
	}
	for (int j = 0; j < i; j++) {
		const struct sockaddr *b = (const struct sockaddr *)&srv->listen[j];

		if (addr_equal(a, b)) {
			cfgread_fail(cr, e, "server.listen: \"%s\" is listed twice", text);
			return -EINVAL;
		}
		if (a->sa_family == b->sa_family &&
		    (addr_is_unspecified(a) || addr_is_unspecified(b))) {
			cfgread_fail(cr, e,
				     "server.listen: \"%s\" beside \"%s\": a wildcard address "
				     "takes every address of its family (its port, alt_port and "
				     "the relay ports); list one or the other",
				     text, addr_format(b, other, sizeof(other)));
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_listen(const struct cfgread *cr, const config_setting_t *s,
			struct routes_server *srv)
{
	int n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		srv->n_listen = 1;
		return cfgread_addr(cr, s, "server.listen", &srv->listen[0], &srv->listen_len[0]) !=
					       0 ||
				       check_listen(cr, s, srv, 0) != 0
			       ? -EINVAL
			       : 0;
	}
	if (cfgread_is_list(cr, s, "server.listen") != 0) {
		return -EINVAL;
	}
	n = config_setting_length(s);
	if (n == 0 || n > ROUTES_LISTEN_MAX) {
		cfgread_fail(cr, s, "server.listen must have 1 to %d addresses (has %d)",
			     ROUTES_LISTEN_MAX, n);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (cfgread_addr(cr, e, "server.listen", &srv->listen[i], &srv->listen_len[i]) !=
			    0 ||
		    check_listen(cr, e, srv, i) != 0) {
			return -EINVAL;
		}
		srv->n_listen = (size_t)i + 1;
	}
	return 0;
}

/* One entry of `public`: an IP of listen[i]'s family, not a wildcard, not
 * listed before. */
static int parse_public_ip(const struct cfgread *cr, const config_setting_t *e, size_t i,
			   struct routes_server *srv)
{
	const char *text;
	char a[ADDR_TEXT_MAX];
	struct sockaddr_storage *ip = &srv->public_ip[i];

	if (cfgread_string(cr, e, "server.public", &text) != 0) {
		return -EINVAL;
	}
	if (addr_parse_ip(text, ip, NULL) != 0) {
		cfgread_fail(cr, e, "server.public: invalid IP address \"%.64s\"", text);
		return -EINVAL;
	}
	if (ip->ss_family != srv->listen[i].ss_family) {
		cfgread_fail(cr, e,
			     "server.public: \"%.64s\" is IPv%c but listen address %s is IPv%c",
			     text, ip->ss_family == AF_INET6 ? '6' : '4',
			     addr_format((const struct sockaddr *)&srv->listen[i], a, sizeof(a)),
			     srv->listen[i].ss_family == AF_INET6 ? '6' : '4');
		return -EINVAL;
	}
	if (addr_is_unspecified((const struct sockaddr *)ip)) {
		cfgread_fail(cr, e, "server.public: \"%.64s\" is not an address clients can reach",
			     text);
		return -EINVAL;
	}
	for (size_t j = 0; j < i; j++) {
		if (addr_equal((const struct sockaddr *)&srv->public_ip[j],
			       (const struct sockaddr *)ip)) {
			cfgread_fail(cr, e, "server.public: \"%.64s\" is listed twice", text);
			return -EINVAL;
		}
	}
	return 0;
}

/* `public`: one IP (one listen address) or a list of one per listen
 * address, in the same order. */
static int parse_public(const struct cfgread *cr, const config_setting_t *s,
			struct routes_server *srv)
{
	const config_setting_t *m = config_setting_get_member(s, "public");
	int n;

	if (!m) {
		return 0;
	}
	if (config_setting_type(m) == CONFIG_TYPE_STRING) {
		n = 1;
	} else if (cfgread_is_list(cr, m, "server.public") != 0) {
		return -EINVAL;
	} else {
		n = config_setting_length(m);
	}
	if ((size_t)n != srv->n_listen) {
		cfgread_fail(cr, m,
			     "server.public must give one address per listen address, in the same "
			     "order (listen has %zu, public %d)",
			     srv->n_listen, n);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_type(m) == CONFIG_TYPE_STRING
						    ? m
						    : config_setting_get_elem(m, (unsigned)i);

		if (parse_public_ip(cr, e, (size_t)i, srv) != 0) {
			return -EINVAL;
		}
	}
	srv->has_public = true;
	return 0;
}

static int parse_key_file(const struct cfgread *cr, const config_setting_t *s, const char *base_dir,
			  bool load_keys, struct routes_server *srv)
{
	struct diag kd;
	const char *rel;

	if (cfgread_string(cr, s, "server.key_file", &rel) != 0) {
		return -EINVAL;
	}
	if (cfgfile_resolve(base_dir, rel, srv->key_file, sizeof(srv->key_file)) != 0) {
		cfgread_fail(cr, s, "server.key_file: path too long");
		return -EINVAL;
	}
	if (!load_keys) {
		return 0;
	}
	diag_clear(&kd);
	if (b64key_load_file(srv->key_file, srv->key, &srv->is_key_exposed, &kd) != 0) {
		cfgread_fail(cr, s, "server.key_file \"%s\": %s", srv->key_file, kd.msg);
		return -EINVAL;
	}
	srv->has_key = true;
	return 0;
}

/* A token is a secret: never echo it in a message, name its position. */
static int parse_tokens(const struct cfgread *cr, const config_setting_t *s, const char *what,
			char ***out, size_t *n_out)
{
	int n;

	if (cfgread_is_list(cr, s, what) != 0) {
		return -EINVAL;
	}
	n = config_setting_length(s);
	*out = n > 0 ? calloc((size_t)n, sizeof(**out)) : NULL;
	if (n > 0 && !*out) {
		cfgread_fail(cr, s, "%s: out of memory", what);
		return -ENOMEM;
	}
	/* Slots not filled yet stay NULL, which serverdef_fini handles. */
	*n_out = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *tok = NULL;
		size_t len;
		bool is_ok = config_setting_type(e) == CONFIG_TYPE_STRING &&
			     (tok = config_setting_get_string(e)) != NULL;

		len = is_ok ? strlen(tok) : 0;
		is_ok = is_ok && len >= ROUTES_TOKEN_MIN && len <= ROUTES_TOKEN_MAX;
		for (size_t k = 0; is_ok && k < len; k++) {
			is_ok = tok[k] > ' ' && tok[k] < 0x7f;
		}
		if (!is_ok) {
			cfgread_fail(cr, e,
				     "%s: token #%d must be a string of %d to %d printable "
				     "characters without spaces",
				     what, i + 1, ROUTES_TOKEN_MIN, ROUTES_TOKEN_MAX);
			return -EINVAL;
		}
		(*out)[i] = strdup(tok);
		if (!(*out)[i]) {
			cfgread_fail(cr, e, "%s: out of memory", what);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The same token twice (in either list) is a copy-paste slip: refuse it. */
static int check_token_dups(const struct cfgread *cr, const config_setting_t *api,
			    const struct routes_api *a)
{
	size_t n = a->n_tokens + a->n_read_tokens;

	for (size_t i = 0; i < n; i++) {
		const char *x = i < a->n_tokens ? a->tokens[i] : a->read_tokens[i - a->n_tokens];

		for (size_t j = 0; j < i; j++) {
			const char *y =
				j < a->n_tokens ? a->tokens[j] : a->read_tokens[j - a->n_tokens];

			if (strcmp(x, y) == 0) {
				cfgread_fail(cr, api, "server.api: the same token is listed twice");
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int parse_api(const struct cfgread *cr, const config_setting_t *s, struct routes_api *a)
{
	const config_setting_t *m;
	int err;

	addr_parse(ROUTES_DEFAULT_API_LISTEN, &a->listen, &a->listen_len);
	if (!s) {
		return 0;
	}
	if (cfgread_group(cr, s, "server.api") != 0 ||
	    cfgread_check_keys(cr, s, "server.api", api_keys) != 0) {
		return -EINVAL;
	}
	m = config_setting_get_member(s, "listen");
	if (m && cfgread_addr(cr, m, "server.api.listen", &a->listen, &a->listen_len) != 0) {
		return -EINVAL;
	}
	m = config_setting_get_member(s, "tokens");
	if (m && (err = parse_tokens(cr, m, "server.api.tokens", &a->tokens, &a->n_tokens)) != 0) {
		return err;
	}
	m = config_setting_get_member(s, "read_tokens");
	if (m && (err = parse_tokens(cr, m, "server.api.read_tokens", &a->read_tokens,
				     &a->n_read_tokens)) != 0) {
		return err;
	}
	return check_token_dups(cr, s, a);
}

/* A relay range must not hold a port the server listens on: the relay
 * would fail to bind it, or steal the control traffic. */
static int check_range(const struct cfgread *cr, const config_setting_t *s, const char *what,
		       const struct routes_port_range *rg, const struct routes_server *srv)
{
	for (size_t i = 0; i < srv->n_listen; i++) {
		uint16_t p = addr_port((const struct sockaddr *)&srv->listen[i]);

		if (p >= rg->lo && p <= rg->hi) {
			cfgread_fail(cr, s, "server.%s %u-%u contains listen port %u", what, rg->lo,
				     rg->hi, p);
			return -EINVAL;
		}
	}
	if (srv->alt_port >= rg->lo && srv->alt_port <= rg->hi) {
		cfgread_fail(cr, s, "server.%s %u-%u contains alt_port %u", what, rg->lo, rg->hi,
			     srv->alt_port);
		return -EINVAL;
	}
	return 0;
}

static int parse_ranges(const struct cfgread *cr, const config_setting_t *s,
			struct routes_server *srv)
{
	const config_setting_t *a = config_setting_get_member(s, "relay_a");
	const config_setting_t *b = config_setting_get_member(s, "relay_b");
	const struct routes_port_range *ra = &srv->relay_a;
	const struct routes_port_range *rb = &srv->relay_b;

	srv->relay_a = (struct routes_port_range){2000, 2999};
	srv->relay_b = (struct routes_port_range){3000, 3999};
	if (a && cfgread_port_range(cr, a, "server.relay_a", &srv->relay_a) != 0) {
		return -EINVAL;
	}
	if (b && cfgread_port_range(cr, b, "server.relay_b", &srv->relay_b) != 0) {
		return -EINVAL;
	}
	if (ra->lo <= rb->hi && rb->lo <= ra->hi) {
		cfgread_fail(cr, b ? b : (a ? a : s), "server.relay_a %u-%u overlaps relay_b %u-%u",
			     ra->lo, ra->hi, rb->lo, rb->hi);
		return -EINVAL;
	}
	if (check_range(cr, a ? a : s, "relay_a", ra, srv) != 0 ||
	    check_range(cr, b ? b : s, "relay_b", rb, srv) != 0) {
		return -EINVAL;
	}
	return 0;
}

static int parse_alt_port(const struct cfgread *cr, const config_setting_t *s,
			  struct routes_server *srv)
{
	const config_setting_t *m = config_setting_get_member(s, "alt_port");
	int64_t v = (int64_t)addr_port((const struct sockaddr *)&srv->listen[0]) + 1;

	if (m && cfgread_int(cr, m, "server.alt_port", 1, 65535, &v) != 0) {
		return -EINVAL;
	}
	if (!m && v > 65535) {
		cfgread_fail(cr, s,
			     "server: listen port 65535 leaves no default alt_port; set "
			     "alt_port");
		return -EINVAL;
	}
	srv->alt_port = (uint16_t)v;
	for (size_t i = 0; i < srv->n_listen; i++) {
		if (addr_port((const struct sockaddr *)&srv->listen[i]) == srv->alt_port) {
			cfgread_fail(cr, m ? m : s, "server.alt_port %u is also a listen port",
				     srv->alt_port);
			return -EINVAL;
		}
	}
	return 0;
}

/* `state_file`: where the relay keeps its pairs and bindings across a
 * restart (server/relaystate.c); "" keeps none. */
static int parse_state_file(const struct cfgread *cr, const config_setting_t *m,
			    const char *base_dir, struct routes_server *srv)
{
	const char *rel = NULL;

	srv->has_state_file = true;
	if (config_setting_type(m) == CONFIG_TYPE_STRING &&
	    config_setting_get_string(m)[0] == '\0') {
		srv->state_file[0] = '\0';
		return 0;
	}
	if (cfgread_string(cr, m, "server.state_file", &rel) != 0) {
		return -EINVAL;
	}
	if (cfgfile_resolve(base_dir, rel, srv->state_file, sizeof(srv->state_file)) != 0) {
		cfgread_fail(cr, m, "server.state_file: path too long");
		return -EINVAL;
	}
	return 0;
}

/* Required members first (their absence is reported at the group's line). */
static int parse_required(const struct cfgread *cr, const config_setting_t *s, const char *base_dir,
			  bool load_keys, struct routes_server *srv)
{
	const config_setting_t *listen = config_setting_get_member(s, "listen");
	const config_setting_t *key_file = config_setting_get_member(s, "key_file");

	if (!listen) {
		cfgread_fail(cr, s, "server: missing \"listen\"");
		return -EINVAL;
	}
	if (!key_file) {
		cfgread_fail(cr, s, "server: missing \"key_file\"");
		return -EINVAL;
	}
	if (parse_listen(cr, listen, srv) != 0 || parse_public(cr, s, srv) != 0) {
		return -EINVAL;
	}
	return parse_key_file(cr, key_file, base_dir, load_keys, srv);
}

/* The line of s's member name, or s's own when it has none. */
static int member_line(const config_setting_t *s, const char *name)
{
	const config_setting_t *m = config_setting_get_member(s, name);

	return cfgread_line(m ? m : s);
}

static void note_lines(const config_setting_t *s, struct routes_server *out)
{
	out->lines.listen = member_line(s, "listen");
	out->lines.public_ip = member_line(s, "public");
	out->lines.alt_port = member_line(s, "alt_port");
	out->lines.key_file = member_line(s, "key_file");
	out->lines.state_file = member_line(s, "state_file");
	out->lines.relay_a = member_line(s, "relay_a");
	out->lines.relay_b = member_line(s, "relay_b");
	out->lines.api = member_line(s, "api");
}

int serverdef_parse(const struct cfgread *cr, const config_setting_t *s, const char *base_dir,
		    bool load_keys, struct routes_server *out)
{
	const config_setting_t *m;
	int64_t v = ROUTES_DEFAULT_KEEPALIVE_S;
	int err;

	out->line = cfgread_line(s);
	if (cfgread_group(cr, s, "server") != 0) {
		return -EINVAL;
	}
	note_lines(s, out);
	if (cfgread_check_keys(cr, s, "server", server_keys) != 0 ||
	    parse_required(cr, s, base_dir, load_keys, out) != 0 ||
	    parse_alt_port(cr, s, out) != 0 || parse_ranges(cr, s, out) != 0) {
		return -EINVAL;
	}
	m = config_setting_get_member(s, "keepalive_s");
	if (m && cfgread_int(cr, m, "server.keepalive_s", 1, 3600, &v) != 0) {
		return -EINVAL;
	}
	out->keepalive_s = (uint32_t)v;
	out->punch = true;
	m = config_setting_get_member(s, "punch");
	if (m && cfgread_bool(cr, m, "server.punch", &out->punch) != 0) {
		return -EINVAL;
	}
	v = ROUTES_DEFAULT_PUNCH_SPRAY;
	m = config_setting_get_member(s, "punch_spray");
	if (m && cfgread_int(cr, m, "server.punch_spray", 0, ROUTES_PUNCH_SPRAY_MAX, &v) != 0) {
		return -EINVAL;
	}
	out->punch_spray = (uint32_t)v;
	m = config_setting_get_member(s, "state_file");
	if (m && parse_state_file(cr, m, base_dir, out) != 0) {
		return -EINVAL;
	}
	err = parse_api(cr, config_setting_get_member(s, "api"), &out->api);
	return err;
}

static void free_tokens(char **tokens, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (tokens[i]) {
			sodium_memzero(tokens[i], strlen(tokens[i]));
		}
		free(tokens[i]);
	}
	free(tokens);
}

void serverdef_fini(struct routes_server *srv)
{
	/* The arrays are calloc'ed: unfilled slots are NULL. */
	free_tokens(srv->api.tokens, srv->api.n_tokens);
	free_tokens(srv->api.read_tokens, srv->api.n_read_tokens);
	srv->api.tokens = NULL;
	srv->api.read_tokens = NULL;
	srv->api.n_tokens = 0;
	srv->api.n_read_tokens = 0;
	sodium_memzero(srv->key, sizeof(srv->key));
}
