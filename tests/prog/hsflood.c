/* hsflood: a hostile sender for the lab. Its first use is a handshake flood
 * (tests/lab/test_hsflood.sh): what a server does with initiations from keys
 * it does not know, sent faster than its load threshold (PROTOCOL.md
 * "Cookies"). With --junk it sends malformed datagrams of every shape instead
 * (tests/lab/test_junk.sh): what the daemons do with input that is not theirs.
 * With --mac2 it is one host with many ports, each holding a cookie: what a
 * server under load lets one address do (test_hsflood.sh).
 *
 *   hsflood --to IP:PORT [--to IP:PORT]... (--server-key B64 [--mac2] | --junk)
 *           [--source IP] [--sources N] [--keys K] [--rate R]
 *           [--duration-ms MS] [--seed N]
 *
 * Handshake flood: builds K initiations (default 16) from fresh key pairs the
 * server does not know, each with a valid mac1 for --server-key (so they pass
 * the server's cheapest check and reach its load test).
 * --junk: each datagram is made afresh from a generator seeded with --seed
 * (default 1), in turn one of these shapes: empty; 1-3 bytes; a message type
 * of ours (0xD1-0xD5) at its exact length, a few bytes short or long, or as a
 * transport packet for a small receiver index, with random contents; a STUN
 * header with random attributes (lengths that overrun, or not); a STUN
 * binding request asking for a change of address and port; random bytes of
 * random length, now and then a full-size (1500) or maximal (65507) one.
 * Either way it sends round robin over the targets (--to, up to 16) at R per
 * second (default 2000) for MS ms (default 3000) from N sockets (default 8)
 * bound to N consecutive IPv4 addresses from --source (default 127.0.0.10;
 * loopback only in the lab), so a per-source rate limit alone does not shed
 * them.
 * --mac2: the N sockets share the one address --source, each on a port of its
 * own, with a session of its own (a fresh key the server does not know).
 * First each sends an initiation every HSF_COOKIE_ROUND_MS until the server
 * answers it with a cookie reply (it does once it sees over its load
 * threshold of initiations a second, which N >= 65 sockets reach by
 * themselves), for at most HSF_COOKIE_MS; then the flood sends, from each
 * socket that holds a cookie, that socket's initiation with mac2 (--keys is
 * ignored; the sockets without a cookie are left out). A server that lets it
 * through runs a Diffie-Hellman for it and drops it as from an unknown key.
 * Counts what comes back by message type and prints one JSON line:
 * {"sent","bytes_sent","cookie_replies","responses","stun_replies","other",
 * "max_reply_len","max_other_len","request_len","mac2_sources",
 * "cookie_round_sent"} (other: any reply that is neither of ours nor a STUN
 * answer, or of ours but not a cookie reply or a response; request_len: the
 * initiation's, 0 with --junk; mac2_sources: the sockets that got a cookie
 * and cookie_round_sent the initiations sent to get them, both 0 without
 * --mac2; the other counts are the flood's). Every loop is bounded in time
 * and count. Exit 0 after the report; 2 on a usage or setup error. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "common/addr.h"
#include "common/b64key.h"
#include "common/monotime.h"
#include "proto/noise.h"
#include "proto/session.h"
#include "proto/wire_const.h"

#define HSF_MAX_SOURCES 128
#define HSF_MAX_KEYS 256
#define HSF_MAX_RATE 100000
#define HSF_MAX_DURATION_MS 60000
#define HSF_TICK_MS 1
#define HSF_MAX_TARGETS 16
#define HSF_JUNK_MAX 65507 /* the largest UDP payload over IPv4 */
/* --mac2: an initiation per socket without a cookie this often (at most 20
 * a second, the server's rate per source), for at most HSF_COOKIE_MS. */
#define HSF_COOKIE_ROUND_MS 50
#define HSF_COOKIE_MS 3000

struct hsf_opts {
	struct sockaddr_storage to[HSF_MAX_TARGETS];
	socklen_t to_len[HSF_MAX_TARGETS];
	int n_to;
	bool is_junk;
	bool is_mac2; /* one address, many ports, each with a cookie */
	uint64_t seed;
	uint8_t server_pub[WIRE_KEY_LEN];
	struct in_addr source;
	int sources;
	int keys;
	long rate;
	long duration_ms;
};

struct hsf_counts {
	unsigned long long sent, bytes_sent;
	unsigned long long cookie_replies;
	unsigned long long responses;
	unsigned long long stun_replies;
	unsigned long long other;
	size_t max_reply_len, max_other_len;
	int mac2_sources;
	unsigned long long cookie_round_sent;
};

static int usage(const char *why)
{
	fprintf(stderr,
		"hsflood: %s\n"
		"usage: hsflood --to IP:PORT [--to IP:PORT]... (--server-key B64 [--mac2] | "
		"--junk) "
		"[--source IP] [--sources N] [--keys K] [--rate R] [--duration-ms MS] "
		"[--seed N]\n",
		why);
	return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct hsf_opts *o)
{
	bool has_key = false;
	long v;

	memset(o, 0, sizeof(*o));
	o->sources = 8;
	o->keys = 16;
	o->rate = 2000;
	o->duration_ms = 3000;
	o->seed = 1;
	inet_pton(AF_INET, "127.0.0.10", &o->source);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--junk") == 0) {
			o->is_junk = true;
			continue;
		}
		if (strcmp(a, "--mac2") == 0) {
			o->is_mac2 = true;
			continue;
		}
		if (!val) {
			return usage("an option is missing its value");
		}
		i++;
		if (strcmp(a, "--to") == 0) {
			if (o->n_to == HSF_MAX_TARGETS) {
				return usage("--to: at most 16 targets");
			}
			if (addr_parse(val, &o->to[o->n_to], &o->to_len[o->n_to]) != 0) {
				return usage("--to: want IP:PORT");
			}
			o->n_to++;
		} else if (strcmp(a, "--server-key") == 0) {
			if (b64key_decode(val, o->server_pub) != 0) {
				return usage("--server-key: want a base64 public key");
			}
			has_key = true;
		} else if (strcmp(a, "--source") == 0) {
			if (inet_pton(AF_INET, val, &o->source) != 1) {
				return usage("--source: want an IPv4 address");
			}
		} else if (strcmp(a, "--sources") == 0) {
			if (parse_long(val, 1, HSF_MAX_SOURCES, &v) != 0) {
				return usage("--sources: want 1-128");
			}
			o->sources = (int)v;
		} else if (strcmp(a, "--keys") == 0) {
			if (parse_long(val, 1, HSF_MAX_KEYS, &v) != 0) {
				return usage("--keys: want 1-256");
			}
			o->keys = (int)v;
		} else if (strcmp(a, "--rate") == 0) {
			if (parse_long(val, 1, HSF_MAX_RATE, &o->rate) != 0) {
				return usage("--rate: want 1-100000 per second");
			}
		} else if (strcmp(a, "--duration-ms") == 0) {
			if (parse_long(val, 1, HSF_MAX_DURATION_MS, &o->duration_ms) != 0) {
				return usage("--duration-ms: want 1-60000");
			}
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_long(val, 0, 1000000000L, &v) != 0) {
				return usage("--seed: want 0-1000000000");
			}
			o->seed = (uint64_t)v;
		} else {
			return usage("unknown option");
		}
	}
	if (o->n_to == 0 || has_key == o->is_junk) {
		return usage("--to and one of --server-key or --junk are required");
	}
	if (o->is_mac2 && (o->is_junk || o->n_to != 1)) {
		return usage("--mac2 takes --server-key and one --to");
	}
	return 0;
}

/* K initiations from fresh key pairs, each with mac1 for the server. */
static int build_initiations(const struct hsf_opts *o, uint8_t (*msgs)[WIRE_INIT_LEN])
{
	for (int k = 0; k < o->keys; k++) {
		struct noise_keypair kp;
		struct session *s;
		int rc;

		if (noise_keypair_generate(&kp) != 0) {
			return -1;
		}
		s = session_new(&kp, o->server_pub, NULL);
		sodium_memzero(&kp, sizeof(kp));
		if (!s) {
			return -1;
		}
		rc = session_initiation_create(s, 0x1000u + (uint32_t)k, 1, monotime_now_us(),
					       msgs[k]);
		session_free(s);
		if (rc != 0) {
			return -1;
		}
	}
	return 0;
}

static int open_sources(const struct hsf_opts *o, int *fds)
{
	uint32_t base = ntohl(o->source.s_addr);

	for (int i = 0; i < o->sources; i++) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(o->is_mac2 ? base : base + (uint32_t)i);
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			fprintf(stderr, "hsflood: source %d: %s\n", i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static bool is_stun_answer(const uint8_t *buf, size_t len)
{
	uint16_t type = len >= 8 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0;
	uint32_t cookie = len >= 8 ? (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
					     (uint32_t)buf[6] << 8 | buf[7]
				   : 0;

	return len >= 20 && cookie == 0x2112A442u && (type == 0x0101 || type == 0x0111);
}

static void count_reply(struct hsf_counts *c, const uint8_t *buf, size_t len)
{
	uint8_t type = len >= WIRE_MSG_TYPE_LEN ? buf[0] : 0;

	if (len > c->max_reply_len) {
		c->max_reply_len = len;
	}
	if (type == WIRE_MSG_COOKIE_REPLY && len == WIRE_COOKIE_REPLY_LEN) {
		c->cookie_replies++;
	} else if (type == WIRE_MSG_RESPONSE && len == WIRE_RESP_LEN) {
		c->responses++;
	} else if (is_stun_answer(buf, len)) {
		c->stun_replies++;
	} else {
		c->other++;
		if (len > c->max_other_len) {
			c->max_other_len = len;
		}
	}
}

/* Read what is waiting on every source (bounded per call). */
static void drain(const struct hsf_opts *o, const int *fds, struct hsf_counts *c)
{
	uint8_t buf[4096];

	for (int i = 0; i < o->sources; i++) {
		for (int n = 0; n < 1024; n++) {
			ssize_t r = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);

			if (r < 0) {
				break;
			}
			count_reply(c, buf, (size_t)r);
		}
	}
}

/* splitmix64: a small generator, so that a seed replays a run's junk. */
static uint64_t next_u64(uint64_t *st)
{
	uint64_t z = (*st += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void fill_random(uint64_t *st, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = next_u64(st);

		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A STUN header (RFC 8489 §5) for type, its length field len_field, then
 * random attributes: type, a length that may overrun the datagram, bytes. */
static size_t junk_stun(uint64_t *st, uint8_t *buf, uint16_t type, bool is_change)
{
	size_t len = 20;

	put_be16(buf, type);
	memcpy(buf + 4, "\x21\x12\xA4\x42", 4);
	fill_random(st, buf + 8, 12);
	if (is_change) {
		/* CHANGE-REQUEST: change IP and port (RFC 5780 §7.2). */
		static const uint8_t change[8] = {0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x06};

		memcpy(buf + len, change, sizeof(change));
		len += sizeof(change);
	} else {
		for (int a = (int)(next_u64(st) % 6); a > 0; a--) {
			uint64_t r = next_u64(st);
			size_t alen = r >> 48 & 0x3f;

			put_be16(buf + len, (uint16_t)r);
			put_be16(buf + len + 2, r & 0x10000 ? (uint16_t)(r >> 20) : (uint16_t)alen);
			fill_random(st, buf + len + 4, alen);
			len += 4 + alen;
		}
	}
	put_be16(buf + 2, next_u64(st) % 4 ? (uint16_t)(len - 20) : (uint16_t)next_u64(st));
	return len;
}

/* The k-th junk datagram (shapes in turn, contents from the generator). */
static size_t junk_make(uint64_t *st, unsigned long long k, uint8_t *buf)
{
	static const uint8_t types[] = {WIRE_MSG_INITIATION, WIRE_MSG_RESPONSE,
					WIRE_MSG_COOKIE_REPLY, WIRE_MSG_TRANSPORT,
					WIRE_MSG_RESTARTED};
	static const size_t exact[] = {WIRE_INIT_LEN, WIRE_RESP_LEN, WIRE_COOKIE_REPLY_LEN,
				       WIRE_TRANSPORT_MIN_LEN + 64, WIRE_RESTARTED_LEN};
	uint64_t r = next_u64(st);
	size_t t = r % sizeof(types), len;

	switch (k % 9) {
	case 0:
		return 0;
	case 1:
		len = 1 + r % 3;
		break;
	case 2: /* one of ours, its exact length */
		len = exact[t];
		break;
	case 3: /* one of ours, a few bytes short or long */
		len = exact[t] - 8 + (r >> 8) % 17;
		break;
	case 4: /* a transport packet for a receiver index a session may hold */
		len = WIRE_TRANSPORT_MIN_LEN + (r >> 8) % 1200;
		fill_random(st, buf, len);
		memcpy(buf, "\xD4\0\0\0", 4);
		memset(buf + 4, 0, 4);
		buf[4] = (uint8_t)(r >> 40) % 16;
		return len;
	case 5:
		return junk_stun(st, buf, (uint16_t)(next_u64(st) % 4 ? 0x0001 : r >> 32), false);
	case 6:
		return junk_stun(st, buf, 0x0001, true);
	case 7: /* large: full-size, and every 16th maximal */
		len = (k / 9) % 16 == 0 ? HSF_JUNK_MAX : 1200 + (r >> 8) % 301;
		fill_random(st, buf, len);
		return len;
	default:
		len = (r >> 8) % 257;
		break;
	}
	fill_random(st, buf, len);
	if (k % 9 == 2 || k % 9 == 3) {
		memcpy(buf, (const uint8_t[]){types[t], 0, 0, 0}, 4);
	}
	return len;
}

static void flood(const struct hsf_opts *o, const int *fds, uint8_t (*msgs)[WIRE_INIT_LEN],
		  struct hsf_counts *c)
{
	static uint8_t junk[HSF_JUNK_MAX];
	uint64_t t0 = monotime_now_us();
	uint64_t end = t0 + (uint64_t)o->duration_ms * 1000u;
	uint64_t now = t0, st = o->seed;
	unsigned long long k = 0;

	while (now < end) {
		unsigned long long due =
			(unsigned long long)((now - t0) * (uint64_t)o->rate / 1000000u);

		for (; c->sent < due; c->sent++, k++) {
			int fd = fds[k % (unsigned)o->sources];
			unsigned to = (unsigned)(k / (unsigned)o->sources % (unsigned)o->n_to);
			const uint8_t *msg = msgs[k % (unsigned)o->keys];
			size_t len = WIRE_INIT_LEN;

			if (o->is_junk) {
				len = junk_make(&st, k, junk);
				msg = junk;
			}
			(void)sendto(fd, msg, len, 0, (const struct sockaddr *)&o->to[to],
				     o->to_len[to]);
			c->bytes_sent += len;
		}
		drain(o, fds, c);
		(void)poll(NULL, 0, HSF_TICK_MS);
		now = monotime_now_us();
	}
	/* Replies still on their way. */
	for (int i = 0; i < 20; i++) {
		(void)poll(NULL, 0, 10);
		drain(o, fds, c);
	}
}

/* Read what waits on fd; true if it holds the cookie reply to s's
 * initiation in flight (s keeps the cookie for its next initiation). */
static bool take_cookie(int fd, struct session *s)
{
	uint8_t buf[4096];
	bool has = false;

	for (int n = 0; n < 64; n++) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0) {
			break;
		}
		if (!has && r == WIRE_COOKIE_REPLY_LEN && buf[0] == WIRE_MSG_COOKIE_REPLY &&
		    session_on_cookie_reply(s, buf, (size_t)r, monotime_now_us()) == 0) {
			has = true;
		}
	}
	return has;
}

/* --mac2, first step: an initiation from each socket without a cookie every
 * round, until the server answers it with a cookie reply or time is up. */
static void get_cookies(const struct hsf_opts *o, const int *fds, struct session **ss,
			bool *has_cookie, uint64_t *stamp, struct hsf_counts *c)
{
	const struct sockaddr *to = (const struct sockaddr *)&o->to[0];
	uint64_t end = monotime_now_us() + HSF_COOKIE_MS * 1000ull;

	while (c->mac2_sources < o->sources && monotime_now_us() < end) {
		for (int i = 0; i < o->sources; i++) {
			uint8_t out[WIRE_INIT_LEN];

			if (has_cookie[i] ||
			    session_initiation_create(ss[i], 0x1000u + (uint32_t)i, *stamp,
						      monotime_now_us(), out) != 0) {
				continue;
			}
			(void)sendto(fds[i], out, sizeof(out), 0, to, o->to_len[0]);
			c->cookie_round_sent++;
		}
		(*stamp)++;
		(void)poll(NULL, 0, HSF_COOKIE_ROUND_MS);
		for (int i = 0; i < o->sources; i++) {
			if (!has_cookie[i] && take_cookie(fds[i], ss[i])) {
				has_cookie[i] = true;
				c->mac2_sources++;
			}
		}
	}
}

/* --mac2: a session per socket, a cookie for each, and then msgs[i] is the
 * i-th holder's initiation with mac2, sent from fds[i]; the sockets without a
 * cookie are closed and left out (o->sources and o->keys: the holders). */
static int mac2_prepare(struct hsf_opts *o, int *fds, uint8_t (*msgs)[WIRE_INIT_LEN],
			struct hsf_counts *c)
{
	static struct session *ss[HSF_MAX_SOURCES];
	bool has_cookie[HSF_MAX_SOURCES] = {false};
	uint64_t stamp = 1;
	int rc = 0, n = 0;

	for (int i = 0; i < o->sources && rc == 0; i++) {
		struct noise_keypair kp;

		rc = noise_keypair_generate(&kp);
		ss[i] = rc == 0 ? session_new(&kp, o->server_pub, NULL) : NULL;
		sodium_memzero(&kp, sizeof(kp));
		rc = ss[i] ? 0 : -1;
	}
	if (rc == 0) {
		get_cookies(o, fds, ss, has_cookie, &stamp, c);
	}
	for (int i = 0; i < o->sources; i++) {
		if (rc == 0 && has_cookie[i]) {
			rc = session_initiation_create(ss[i], 0x1000u + (uint32_t)i, stamp,
						       monotime_now_us(), msgs[n]);
			fds[n++] = fds[i];
		} else {
			close(fds[i]);
		}
		session_free(ss[i]);
		ss[i] = NULL;
	}
	o->sources = n;
	o->keys = n;
	return rc;
}

int main(int argc, char **argv)
{
	static uint8_t msgs[HSF_MAX_KEYS][WIRE_INIT_LEN];
	int fds[HSF_MAX_SOURCES];
	struct hsf_counts c;
	struct hsf_opts o;
	int rc;

	rc = parse_opts(argc, argv, &o);
	if (rc != 0) {
		return rc;
	}
	if (sodium_init() < 0 || (!o.is_junk && build_initiations(&o, msgs) != 0)) {
		fprintf(stderr, "hsflood: cannot build initiations\n");
		return 2;
	}
	for (int i = 0; i < HSF_MAX_SOURCES; i++) {
		fds[i] = -1;
	}
	if (open_sources(&o, fds) != 0) {
		return 2;
	}
	memset(&c, 0, sizeof(c));
	if (o.is_mac2 && mac2_prepare(&o, fds, msgs, &c) != 0) {
		fprintf(stderr, "hsflood: cannot build initiations with mac2\n");
		return 2;
	}
	if (o.sources > 0) {
		flood(&o, fds, msgs, &c);
	}
	printf("{\"sent\":%llu,\"bytes_sent\":%llu,\"cookie_replies\":%llu,\"responses\":%llu,"
	       "\"stun_replies\":%llu,\"other\":%llu,\"max_reply_len\":%zu,\"max_other_len\":%zu,"
	       "\"request_len\":%d,\"mac2_sources\":%d,\"cookie_round_sent\":%llu}\n",
	       c.sent, c.bytes_sent, c.cookie_replies, c.responses, c.stun_replies, c.other,
	       c.max_reply_len, c.max_other_len, o.is_junk ? 0 : WIRE_INIT_LEN, c.mac2_sources,
	       c.cookie_round_sent);
	for (int i = 0; i < o.sources; i++) {
		close(fds[i]);
	}
	return 0;
}
