/* hsflood: a handshake flood for the lab (tests/lab/test_hsflood.sh): what a
 * server does with initiations from keys it does not know, sent faster than
 * its load threshold (PROTOCOL.md "Cookies").
 *
 *   hsflood --to IP:PORT --server-key B64 [--source IP] [--sources N]
 *           [--keys K] [--rate R] [--duration-ms MS]
 *
 * Builds K initiations (default 16) from fresh key pairs the server does not
 * know, each with a valid mac1 for --server-key (so they pass the server's
 * cheapest check and reach its load test), and sends them round robin at R
 * per second (default 2000) for MS ms (default 3000) from N sockets (default
 * 8) bound to N consecutive IPv4 addresses from --source (default
 * 127.0.0.10; loopback only in the lab), so a per-source rate limit alone
 * does not shed them. Counts what comes back by message type and prints one
 * JSON line: {"sent","cookie_replies","responses","other","max_reply_len",
 * "request_len"}. Every loop is bounded in time and count. Exit 0 after the
 * report; 2 on a usage or setup error. */
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

#define HSF_MAX_SOURCES 64
#define HSF_MAX_KEYS 256
#define HSF_MAX_RATE 100000
#define HSF_MAX_DURATION_MS 60000
#define HSF_TICK_MS 1

struct hsf_opts {
	struct sockaddr_storage to;
	socklen_t to_len;
	uint8_t server_pub[WIRE_KEY_LEN];
	struct in_addr source;
	int sources;
	int keys;
	long rate;
	long duration_ms;
};

struct hsf_counts {
	unsigned long long sent;
	unsigned long long cookie_replies;
	unsigned long long responses;
	unsigned long long other;
	size_t max_reply_len;
};

static int usage(const char *why)
{
	fprintf(stderr,
		"hsflood: %s\n"
		"usage: hsflood --to IP:PORT --server-key B64 [--source IP] [--sources N] "
		"[--keys K] [--rate R] [--duration-ms MS]\n",
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
	bool has_to = false, has_key = false;
	long v;

	memset(o, 0, sizeof(*o));
	o->sources = 8;
	o->keys = 16;
	o->rate = 2000;
	o->duration_ms = 3000;
	inet_pton(AF_INET, "127.0.0.10", &o->source);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			return usage("an option is missing its value");
		}
		i++;
		if (strcmp(a, "--to") == 0) {
			if (addr_parse(val, &o->to, &o->to_len) != 0) {
				return usage("--to: want IP:PORT");
			}
			has_to = true;
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
				return usage("--sources: want 1-64");
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
		} else {
			return usage("unknown option");
		}
	}
	if (!has_to || !has_key) {
		return usage("--to and --server-key are required");
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
		sin.sin_addr.s_addr = htonl(base + (uint32_t)i);
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) != 0) {
			fprintf(stderr, "hsflood: source %d: %s\n", i, strerror(errno));
			return -1;
		}
	}
	return 0;
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
	} else {
		c->other++;
	}
}

/* Read what is waiting on every source (bounded per call). */
static void drain(const struct hsf_opts *o, const int *fds, struct hsf_counts *c)
{
	uint8_t buf[2048];

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

static void flood(const struct hsf_opts *o, const int *fds, uint8_t (*msgs)[WIRE_INIT_LEN],
		  struct hsf_counts *c)
{
	uint64_t t0 = monotime_now_us();
	uint64_t end = t0 + (uint64_t)o->duration_ms * 1000u;
	uint64_t now = t0;
	unsigned long long k = 0;

	while (now < end) {
		unsigned long long due =
			(unsigned long long)((now - t0) * (uint64_t)o->rate / 1000000u);

		for (; c->sent < due; c->sent++, k++) {
			int fd = fds[k % (unsigned)o->sources];

			(void)sendto(fd, msgs[k % (unsigned)o->keys], WIRE_INIT_LEN, 0,
				     (const struct sockaddr *)&o->to, o->to_len);
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
	if (sodium_init() < 0 || build_initiations(&o, msgs) != 0) {
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
	flood(&o, fds, msgs, &c);
	printf("{\"sent\":%llu,\"cookie_replies\":%llu,\"responses\":%llu,\"other\":%llu,"
	       "\"max_reply_len\":%zu,\"request_len\":%d}\n",
	       c.sent, c.cookie_replies, c.responses, c.other, c.max_reply_len, WIRE_INIT_LEN);
	for (int i = 0; i < o.sources; i++) {
		close(fds[i]);
	}
	return 0;
}
