/* relaystate: the relay's pairs and bindings across a server restart (see
 * relaystate.h for the file). Must not: restore a binding older than
 * RELAYSTATE_RESTORE_MAX_US, or one for a port the pair did not get back;
 * trust the file beyond its syntax (a malformed file is refused whole and
 * the server starts as without one). */
#include "relaystate.h"

#include "common/addr.h"
#include "common/log.h"
#include "proto/restarted.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "wormhole-relay-state"
#define FIELDS_MAX 8

bool relaystate_path(const struct routes *r, char *out, size_t size)
{
	int n;

	if (r->server.has_state_file) {
		n = snprintf(out, size, "%s", r->server.state_file);
	} else {
		n = snprintf(out, size, "%s.state", r->path);
	}
	return n > 0 && (size_t)n < size;
}

void relaystate_free(struct relaystate *st)
{
	free(st->pairs);
	memset(st, 0, sizeof(*st));
}

/* ---- reading ---- */

/* Split line at spaces into at most FIELDS_MAX fields; the count, or -1
 * when there are more. */
static int split(char *line, char **f)
{
	int n = 0;

	for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t;
	     t = strtok_r(NULL, " \t\r", &save)) {
		if (n == FIELDS_MAX) {
			return -1;
		}
		f[n++] = t;
	}
	return n;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9') {
		return false;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max) {
		return false;
	}
	*out = v;
	return true;
}

static bool parse_id(const char *s, char *out)
{
	size_t n = strlen(s);

	if (n == 0 || n > ROUTES_NAME_MAX) {
		return false;
	}
	memcpy(out, s, n + 1);
	return true;
}

/* One bit per port and side: a port the file gave a pair already. */
typedef uint8_t port_seen[2][65536 / 8];

static bool seen_before(port_seen seen, int k, uint16_t port)
{
	bool was = seen[k][port / 8] & (1u << (port % 8));

	seen[k][port / 8] |= (uint8_t)(1u << (port % 8));
	return was;
}

/* "pair A PORT B PORT" */
static const char *parse_pair(struct relaystate *st, char **f, int n, port_seen seen)
{
	struct relaystate_pair *p;
	uint64_t port[2];

	if (n != 5) {
		return "a pair line has 4 fields";
	}
	if (st->n_pairs == st->cap_pairs) {
		size_t cap = st->cap_pairs ? 2 * st->cap_pairs : 16;
		struct relaystate_pair *np = realloc(st->pairs, cap * sizeof(*np));

		if (!np) {
			return "out of memory";
		}
		st->pairs = np;
		st->cap_pairs = cap;
	}
	p = &st->pairs[st->n_pairs];
	memset(p, 0, sizeof(*p));
	if (!parse_id(f[1], p->id[0]) || !parse_id(f[3], p->id[1]) ||
	    strcmp(p->id[0], p->id[1]) >= 0) {
		return "bad client ids (two, the first sorting first)";
	}
	if (!parse_u64(f[2], 65535, &port[0]) || !parse_u64(f[4], 65535, &port[1]) ||
	    port[0] == 0 || port[1] == 0) {
		return "bad port";
	}
	p->port[0] = (uint16_t)port[0];
	p->port[1] = (uint16_t)port[1];
	if (seen_before(seen, 0, p->port[0]) || seen_before(seen, 1, p->port[1])) {
		return "a port given to two pairs";
	}
	st->n_pairs++;
	return NULL;
}

/* "bind SIDE AGE_MS PRIMARY SERVER_ADDR CLIENT_ADDR"; elapsed: since the
 * file was written. Bindings too old to forward to are skipped. */
static const char *parse_bind(struct relaystate *st, char **f, int n, uint64_t elapsed_us)
{
	struct relaystate_pair *p;
	struct relaystate_bind b;
	uint64_t side, age_ms, primary;
	socklen_t len;

	if (n != 6) {
		return "a bind line has 5 fields";
	}
	if (st->n_pairs == 0) {
		return "a bind line before any pair line";
	}
	p = &st->pairs[st->n_pairs - 1];
	memset(&b, 0, sizeof(b));
	if (!parse_u64(f[1], 1, &side) || !parse_u64(f[2], UINT32_MAX, &age_ms) ||
	    !parse_u64(f[3], 1, &primary)) {
		return "bad side, age or primary flag";
	}
	if (addr_parse(f[4], &b.server_ip, &len) != 0 || addr_parse(f[5], &b.addr, &b.len) != 0) {
		return "bad address";
	}
	addr_set_port(&b.server_ip, 0);
	if (p->n_bind[side] == RELAY_ENDPOINTS_MAX) {
		return "too many bind lines for one side";
	}
	b.age_us = age_ms * 1000u + elapsed_us;
	b.is_primary = primary == 1;
	if (b.age_us <= RELAYSTATE_RESTORE_MAX_US) {
		p->bind[side][p->n_bind[side]++] = b;
	}
	return NULL;
}

static int read_text(const char *path, char **text)
{
	FILE *fp = fopen(path, "re");
	struct stat sb;
	size_t n;

	*text = NULL;
	if (!fp) {
		return -errno;
	}
	if (fstat(fileno(fp), &sb) != 0 || sb.st_size > (off_t)RELAYSTATE_FILE_MAX) {
		fclose(fp);
		return -EFBIG;
	}
	/* One byte more than the file has: one that grew meanwhile is cut
	 * there, and its last line refused if that cut it short. */
	*text = malloc((size_t)sb.st_size + 2);
	if (!*text) {
		fclose(fp);
		return -ENOMEM;
	}
	n = fread(*text, 1, (size_t)sb.st_size + 1, fp);
	fclose(fp);
	(*text)[n] = '\0';
	return (int)n;
}

static int pair_cmp(const void *x, const void *y)
{
	const struct relaystate_pair *a = x, *b = y;
	int c = strcmp(a->id[0], b->id[0]);

	return c != 0 ? c : strcmp(a->id[1], b->id[1]);
}

/* Pairs left with no binding young enough are dropped: their ports are
 * not worth holding on to over the round robin. */
static void drop_empty(struct relaystate *st)
{
	size_t j = 0;

	for (size_t i = 0; i < st->n_pairs; i++) {
		if (st->pairs[i].n_bind[0] + st->pairs[i].n_bind[1] > 0) {
			st->pairs[j++] = st->pairs[i];
		}
	}
	st->n_pairs = j;
}

/* The first line: the magic, the version and the wall clock it was written
 * at; *elapsed_us: the time since. */
static const char *parse_head(char **f, int n, uint64_t wall_now_us, uint64_t *elapsed_us)
{
	uint64_t saved_us = 0;

	if (n != 3 || strcmp(f[0], MAGIC) != 0 || strcmp(f[1], "1") != 0 ||
	    !parse_u64(f[2], UINT64_MAX, &saved_us)) {
		return "not a relay state file (version 1)";
	}
	if (saved_us > wall_now_us + 1000000u) {
		return "written in the future (the clock went back): not used";
	}
	*elapsed_us = wall_now_us > saved_us ? wall_now_us - saved_us : 0;
	return NULL;
}

/* Line line_no (from 1, NUL-terminated) into st, or what is wrong with it. */
static const char *parse_line(struct relaystate *st, char *line, int line_no, port_seen seen,
			      uint64_t wall_now_us, uint64_t *elapsed_us)
{
	char *f[FIELDS_MAX];
	int n = line[0] == '#' ? 0 : split(line, f);

	if (line_no == 1) {
		return parse_head(f, n, wall_now_us, elapsed_us);
	}
	if (n < 0) {
		return "too many fields";
	}
	if (n == 0) {
		return NULL; /* a comment or a blank line */
	}
	if (strcmp(f[0], "pair") == 0) {
		return parse_pair(st, f, n, seen);
	}
	if (strcmp(f[0], "bind") == 0) {
		return parse_bind(st, f, n, *elapsed_us);
	}
	return "unknown record";
}

/* Sort st's pairs by their ids (find's binary search): the first pair
 * listed twice, or NULL. */
static const struct relaystate_pair *sort_pairs(struct relaystate *st)
{
	if (st->n_pairs > 0) {
		qsort(st->pairs, st->n_pairs, sizeof(st->pairs[0]), pair_cmp);
	}
	for (size_t i = 1; i < st->n_pairs; i++) {
		if (pair_cmp(&st->pairs[i - 1], &st->pairs[i]) == 0) {
			return &st->pairs[i];
		}
	}
	return NULL;
}

int relaystate_read(const char *path, uint64_t wall_now_us, struct relaystate *st, char *msg,
		    size_t msg_size)
{
	char *text;
	port_seen *seen;
	const struct relaystate_pair *twice;
	const char *err = NULL;
	uint64_t elapsed_us = 0;
	int line_no = 0, rc = read_text(path, &text);

	memset(st, 0, sizeof(*st));
	msg[0] = '\0';
	if (rc < 0) {
		return rc == -ENOENT ? 0 : rc;
	}
	if (strlen(text) != (size_t)rc) {
		snprintf(msg, msg_size, "%s: a NUL byte in the file", path);
		free(text);
		return -EINVAL;
	}
	seen = calloc(1, sizeof(*seen));
	if (!seen) {
		free(text);
		return -ENOMEM;
	}
	for (char *line = text, *next; line && *line && !err; line = next) {
		next = strchr(line, '\n');
		if (next) {
			*next++ = '\0';
		}
		err = parse_line(st, line, ++line_no, *seen, wall_now_us, &elapsed_us);
	}
	free(text);
	free(seen);
	if (!err && line_no == 0) {
		err = "empty";
	}
	if (err) {
		snprintf(msg, msg_size, "%s:%d: %s", path, line_no, err);
		relaystate_free(st);
		return -EINVAL;
	}
	twice = sort_pairs(st);
	if (twice) {
		snprintf(msg, msg_size, "%s: the pair %s %s is there twice", path, twice->id[0],
			 twice->id[1]);
		relaystate_free(st);
		return -EINVAL;
	}
	drop_empty(st);
	return (int)st->n_pairs;
}

/* The saved pair a, b (sorted by relaystate_read), or NULL: a search per
 * pair, so a fleet's start stays O(P log P). */
static struct relaystate_pair *find(const struct relaystate *st, const char *a, const char *b)
{
	struct relaystate_pair key;

	if (!st || st->n_pairs == 0 || strlen(a) > ROUTES_NAME_MAX || strlen(b) > ROUTES_NAME_MAX) {
		return NULL;
	}
	memcpy(key.id[0], a, strlen(a) + 1);
	memcpy(key.id[1], b, strlen(b) + 1);
	return bsearch(&key, st->pairs, st->n_pairs, sizeof(key), pair_cmp);
}

/* Hold every saved port of rl's ranges for its pair, so that a pair
 * without saved state cannot take it first. */
static void reserve(struct relaystate *st, struct relay *rl)
{
	for (size_t i = 0; i < st->n_pairs; i++) {
		struct relaystate_pair *sp = &st->pairs[i];

		for (int k = 0; k < 2; k++) {
			struct relay_ports *rp = &rl->ports[k];
			uint16_t port = sp->port[k];

			if (port >= rp->range.lo && port <= rp->range.hi &&
			    !rp->used[port - rp->range.lo]) {
				rp->used[port - rp->range.lo] = 1;
				sp->is_reserved[k] = true;
			}
		}
	}
}

/* Give back the held ports no pair claimed. */
static void unreserve(struct relaystate *st, struct relay *rl)
{
	for (size_t i = 0; i < st->n_pairs; i++) {
		for (int k = 0; k < 2; k++) {
			if (st->pairs[i].is_reserved[k]) {
				relay_ports_release(&rl->ports[k], st->pairs[i].port[k]);
				st->pairs[i].is_reserved[k] = false;
			}
		}
	}
}

uint16_t relaystate_claim(struct relaystate *st, struct relay *rl, const char *a, const char *b,
			  int k)
{
	struct relaystate_pair *p = find(st, a, b);

	if (!p || k < 0 || k > 1 || !p->is_reserved[k]) {
		return 0;
	}
	p->is_reserved[k] = false;
	relay_ports_release(&rl->ports[k], p->port[k]);
	return p->port[k];
}

/* The index of rl's listen address ip (port 0), or -1. */
static int ip_index(const struct relay *rl, const struct sockaddr_storage *ip)
{
	for (unsigned i = 0; i < rl->n_ips; i++) {
		if (addr_equal((const struct sockaddr *)&rl->ips[i], (const struct sockaddr *)ip)) {
			return (int)i;
		}
	}
	return -1;
}

static unsigned restore(const struct relaystate *st, struct relay *rl, uint64_t now_us)
{
	unsigned n = 0;

	for (size_t i = 0; i < rl->n_pairs; i++) {
		struct relay_pair *p = rl->pairs[i];
		const struct relaystate_pair *sp = find(st, p->side[0].id, p->side[1].id);

		for (int k = 0; sp && p->has_ports && k < 2; k++) {
			if (p->side[k].port != sp->port[k]) {
				continue; /* the port went elsewhere: the client binds anew */
			}
			for (unsigned j = 0; j < sp->n_bind[k]; j++) {
				const struct relaystate_bind *b = &sp->bind[k][j];
				int sock = ip_index(rl, &b->server_ip);
				uint64_t last = now_us > b->age_us ? now_us - b->age_us : 0;

				if (sock >= 0) {
					relay_side_restore(&p->side[k], (unsigned)sock, &b->addr,
							   b->len, last, b->is_primary);
					n++;
				}
			}
		}
	}
	return n;
}

unsigned relaystate_start(struct relaystate *st, struct relay *rl, const struct routes *r,
			  uint64_t now_us)
{
	reserve(st, rl);
	rl->saved = st;
	(void)relay_update(rl, r, now_us);
	rl->saved = NULL;
	unreserve(st, rl);
	return restore(st, rl, now_us);
}

/* The restart notice for client id, stamped wall_now_us. Returns 0, or
 * -ENOENT (no such client, or a key with no shared secret). */
static int notice_for(const struct routes *r, const char *id, uint64_t wall_now_us,
		      uint8_t notice[WIRE_RESTARTED_LEN])
{
	const struct routes_client *c = routes_find_client(r, id);
	uint8_t key[WIRE_KEY_LEN];

	if (!c || restarted_key(key, r->server.key, c->key) != 0) {
		return -ENOENT;
	}
	restarted_write(notice, key, wall_now_us);
	sodium_memzero(key, sizeof(key));
	return 0;
}

unsigned relaystate_announce(struct relay *rl, const struct routes *r, uint64_t wall_now_us)
{
	uint8_t notice[WIRE_RESTARTED_LEN];
	unsigned n = 0;

	for (size_t i = 0; i < rl->n_pairs; i++) {
		for (int k = 0; k < 2; k++) {
			struct relay_side *s = &rl->pairs[i]->side[k];

			if (s->n_ep == 0 || notice_for(r, s->id, wall_now_us, notice) != 0) {
				continue;
			}
			/* Twice: one lost on the way would leave that uplink to
			 * its next keepalive. */
			for (unsigned j = 0; j < 2 * s->n_ep; j++) {
				const struct relay_endpoint *ep = &s->ep[j / 2];

				n += relay_side_send(&s->socks[ep->sock],
						     (const struct sockaddr *)&ep->addr, notice,
						     sizeof(notice)) == 0;
			}
		}
	}
	return n / 2;
}

int relaystate_tell(struct relay_sock *rs, const struct sockaddr *to, const struct routes *r,
		    uint64_t wall_now_us)
{
	uint8_t notice[WIRE_RESTARTED_LEN];
	int err = notice_for(r, rs->side->id, wall_now_us, notice);

	/* Once: the sender is not verified (its address may be forged), so
	 * it gets no more than it sent. A notice lost on the way is made good
	 * by the client's next datagram here, 3 s on. */
	return err == 0 ? relay_side_send(rs, to, notice, sizeof(notice)) : err;
}

/* ---- writing ---- */

static bool is_young(const struct relay_endpoint *ep, uint64_t now_us)
{
	return now_us <= ep->last_rx_us || now_us - ep->last_rx_us <= RELAY_SIDE_SILENT_US;
}

bool relaystate_has_binds(const struct relay *rl, uint64_t now_us)
{
	for (size_t i = 0; i < rl->n_pairs; i++) {
		const struct relay_pair *p = rl->pairs[i];

		for (int k = 0; p->has_ports && k < 2; k++) {
			for (unsigned j = 0; j < p->side[k].n_ep; j++) {
				if (is_young(&p->side[k].ep[j], now_us)) {
					return true;
				}
			}
		}
	}
	return false;
}

static int write_binds(FILE *fp, const struct relay *rl, const struct relay_side *s,
		       uint64_t now_us)
{
	char srv[ADDR_TEXT_MAX], cli[ADDR_TEXT_MAX];
	int n = 0;

	for (unsigned i = 0; i < s->n_ep; i++) {
		const struct relay_endpoint *ep = &s->ep[i];
		struct sockaddr_storage ip;
		uint64_t age = now_us > ep->last_rx_us ? now_us - ep->last_rx_us : 0;

		if (!is_young(ep, now_us) || ep->sock >= rl->n_ips) {
			continue;
		}
		ip = rl->ips[ep->sock];
		addr_set_port(&ip, s->port);
		fprintf(fp, "bind %d %llu %d %s %s\n", s->index, (unsigned long long)(age / 1000),
			ep->is_primary ? 1 : 0,
			addr_format((const struct sockaddr *)&ip, srv, sizeof(srv)),
			addr_format((const struct sockaddr *)&ep->addr, cli, sizeof(cli)));
		n++;
	}
	return n;
}

/* 0 when path is free to be replaced: absent, empty, or a relay state
 * file; -EEXIST when it is another file (state_file naming routes.conf or
 * the key by mistake must not cost them). */
static int check_ours(const char *path)
{
	char head[sizeof(MAGIC)];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0) {
		return errno == ENOENT ? 0 : -EEXIST;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EEXIST;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n == 0 || (n == (ssize_t)sizeof(head) && memcmp(head, MAGIC " ", sizeof(head)) == 0)) {
		return 0;
	}
	return -EEXIST;
}

int relaystate_write(const char *path, const struct relay *rl, uint64_t now_us,
		     uint64_t wall_now_us)
{
	char tmp[ROUTES_PATH_MAX + 8];
	int fd, n = 0, err = check_ours(path);
	FILE *fp;

	if (err != 0) {
		return err;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		return -errno;
	}
	fp = fdopen(fd, "w");
	if (!fp) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	fprintf(fp, "%s 1 %llu\n", MAGIC, (unsigned long long)wall_now_us);
	fprintf(fp, "# wormhole-server's relay pairs and the client addresses bound to them, "
		    "read once when it starts\n");
	for (size_t i = 0; i < rl->n_pairs; i++) {
		const struct relay_pair *p = rl->pairs[i];

		if (!p->has_ports || p->side[0].n_ep + p->side[1].n_ep == 0) {
			continue;
		}
		fprintf(fp, "pair %s %u %s %u\n", p->side[0].id, (unsigned)p->side[0].port,
			p->side[1].id, (unsigned)p->side[1].port);
		n += write_binds(fp, rl, &p->side[0], now_us);
		n += write_binds(fp, rl, &p->side[1], now_us);
	}
	if (ferror(fp)) {
		err = -EIO;
	}
	if (fclose(fp) != 0 && err == 0) {
		err = -errno;
	}
	if (err == 0 && rename(tmp, path) != 0) {
		err = -errno;
	}
	if (err != 0) {
		unlink(tmp);
		return err;
	}
	return n;
}
