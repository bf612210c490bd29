/* tcpecho: TCP test apps for the lab (tests/lab/test_tcp_flows.sh,
 * tools/bench_tcp.sh). Single-threaded, poll(2), no allocation per byte.
 *   tcpecho server --bind IP:PORT --mode echo|sink [--read-kBps R]
 *       echo: send back everything; after the client's EOF, finish and
 *             shut the write side (half-close).
 *       sink: checksum what arrives (sum64, below); after the client's EOF,
 *             answer "<bytes> <sum64 hex>\n" and close.
 *       --read-kBps: a slow reader, at most R kB/s per connection (back-pressure).
 *   tcpecho echo --to IP:PORT --bytes N --conns K [--idle-ms I]
 *       K connections at once, each sends N deterministic bytes, shuts its
 *       write side and checks the echo byte for byte. --idle-ms: first hold
 *       the connections open without a byte for I ms (a connection closed,
 *       reset or sent anything meanwhile fails: "closed_idle"); the timeout
 *       counts from the end of the idle time.
 *   tcpecho copy --to IP:PORT --bytes N [--cc ALGO]
 *       sends N bytes to a sink, shuts its write side, and checks the
 *       sink's byte count and checksum (the reply comes after the half-close).
 *       --cc: the kernel congestion control of the socket (TCP_CONGESTION,
 *       e.g. cubic or bbr); the JSON names the one used. On --timeout-ms,
 *       "timed_out" is true and mbit_s counts the bytes sent so far (an
 *       upper bound of the goodput).
 *   tcpecho connect --to IP:PORT --within-ms T
 *       connects and waits for the connection to be closed or reset;
 *       succeeds if that happens within T ms.
 * Every mode has --timeout-ms (default 120000). Prints one JSON line;
 * exit 0 on success, 1 on failure, 2 on usage errors.
 *
 * The apps must cost little CPU per byte: tools/bench_tcp.sh runs them on the
 * same two cores as the daemons, next to kernel TCP. Content is made a word at
 * a time, and the copy checksum is sum64 (four interleaved polynomial lanes
 * over 64-bit words, position-dependent, ~0.2 cycles/byte) rather than
 * SHA-256 (libsodium's portable SHA-256 ran at ~200 MB/s and was the
 * bottleneck of both the kernel and the wormhole copy). It detects
 * corruption, loss, duplication and reordering; it does not resist an
 * adversary, which a test app does not need. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"

#define MAX_CONNS 512
#define CHUNK 65536

/* sum64: lane j of the 32-byte blocks, h = (h + word) * P_j mod 2^64; odd
 * multipliers make every single-word change visible. A tail shorter than a
 * block is carried to the next update. */
struct sum64 {
	uint64_t lane[4];
	uint64_t total;
	size_t carry_len;
	uint8_t carry[32];
};

static const uint64_t sum64_mul[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full,
				      0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull};

static void sum64_block(struct sum64 *s, const uint8_t *p)
{
	for (int j = 0; j < 4; j++) {
		uint64_t w;

		memcpy(&w, p + 8 * j, 8);
		s->lane[j] = (s->lane[j] + w) * sum64_mul[j];
	}
}

static void sum64_init(struct sum64 *s)
{
	*s = (struct sum64){.lane = {1, 2, 3, 4}};
}

static void sum64_update(struct sum64 *s, const uint8_t *p, size_t n)
{
	s->total += n;
	if (s->carry_len > 0) {
		size_t take =
			sizeof(s->carry) - s->carry_len < n ? sizeof(s->carry) - s->carry_len : n;

		memcpy(s->carry + s->carry_len, p, take);
		s->carry_len += take;
		p += take;
		n -= take;
		if (s->carry_len < sizeof(s->carry)) {
			return;
		}
		sum64_block(s, s->carry);
		s->carry_len = 0;
	}
	for (; n >= 32; p += 32, n -= 32) {
		sum64_block(s, p);
	}
	memcpy(s->carry, p, n);
	s->carry_len = n;
}

static uint64_t sum64_final(struct sum64 *s)
{
	uint64_t x = s->total;

	if (s->carry_len > 0) { /* pad with 0x80 then zeros: "ab" != "ab\0" */
		memset(s->carry + s->carry_len, 0, sizeof(s->carry) - s->carry_len);
		s->carry[s->carry_len] = 0x80;
		sum64_block(s, s->carry);
	}
	for (int j = 0; j < 4; j++) {
		x = (x ^ s->lane[j]) * 0xBF58476D1CE4E5B9ull;
		x ^= x >> 31;
	}
	return x;
}

struct conn {
	int fd;
	uint64_t t0_ms;
	uint64_t sent, rcvd, n;
	bool is_wr_shut, is_eof, is_bad;
	struct sum64 h;
	size_t pend_off, pend_len;
	uint8_t pend[CHUNK];
};

static struct conn conns[MAX_CONNS];
static uint64_t read_kbps; /* server: 0 = as fast as it comes */
static uint8_t buf[CHUNK];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Content: word w of connection k is pattern[w % PATTERN_WORDS] ^ mix(k, w /
 * PATTERN_WORDS): a fixed pseudo-random 64 KiB pattern, different in every
 * 64 KiB block and every connection, so a misplaced block shows. One load and
 * one XOR per word (a splitmix per word cost the sender a sixth of a core). */
#define PATTERN_WORDS 8192

static uint64_t pattern[PATTERN_WORDS];

static uint64_t mix(uint64_t k, uint64_t w)
{
	uint64_t x = (w + 1) * 0x9E3779B97F4A7C15ull ^ (k + 1) * 0xD1B54A32D192ED03ull;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 29;
	return x;
}

static void pattern_init(void)
{
	for (uint64_t w = 0; w < PATTERN_WORDS; w++) {
		pattern[w] = mix(~0ull, w);
	}
}

/* Bytes off..off+len-1 of connection k's content. */
static void fill(uint64_t k, uint64_t off, uint8_t *p, size_t len)
{
	while (len > 0) {
		uint64_t w = off / 8, blk = w / PATTERN_WORDS, x = mix(k, blk);
		uint64_t end = (blk + 1) * PATTERN_WORDS * 8; /* this block's end offset */
		size_t run = end - off < len ? (size_t)(end - off) : len;
		size_t i = 0, skip = (size_t)(off % 8);

		if (skip > 0) { /* the tail of a word */
			uint64_t v = pattern[w % PATTERN_WORDS] ^ x;

			for (; i < run && skip + i < 8; i++) {
				p[i] = ((const uint8_t *)&v)[skip + i];
			}
			w++;
		}
		for (; i + 8 <= run; i += 8, w++) {
			uint64_t v = pattern[w % PATTERN_WORDS] ^ x;

			memcpy(p + i, &v, 8);
		}
		if (i < run) { /* the head of a word */
			uint64_t v = pattern[w % PATTERN_WORDS] ^ x;

			memcpy(p + i, &v, run - i);
			i = run;
		}
		p += run;
		off += run;
		len -= run;
	}
}

static const char *tcp_cc; /* copy: TCP_CONGESTION, NULL: the default */

static int open_to(const char *to, bool is_blocking)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (addr_parse(to, &ss, &len) != 0) {
		fprintf(stderr, "bad address %s\n", to);
		exit(2);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | (is_blocking ? 0 : SOCK_NONBLOCK), 0);
	if (fd < 0) {
		return -1;
	}
	if (tcp_cc &&
	    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, tcp_cc, (socklen_t)strlen(tcp_cc)) != 0) {
		fprintf(stderr, "tcpecho: congestion control \"%s\": %s\n", tcp_cc,
			strerror(errno));
		exit(2);
	}
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- server ---- */

/* A slow reader has read all it may by now. */
static bool is_throttled(const struct conn *c)
{
	return read_kbps && c->rcvd >= (now_ms() - c->t0_ms) * read_kbps;
}

static void serve_read(struct conn *c, bool is_echo)
{
	ssize_t n;

	if (is_echo && c->pend_len > 0) {
		return; /* back-pressure: echo what we have first */
	}
	n = read(c->fd, is_echo ? c->pend : buf, CHUNK);
	if (n > 0) {
		if (is_echo) {
			c->pend_off = 0;
			c->pend_len = (size_t)n;
		} else {
			sum64_update(&c->h, buf, (size_t)n);
		}
		c->rcvd += (uint64_t)n;
		return;
	}
	if (n == 0) {
		c->is_eof = true;
		return;
	}
	if (errno != EAGAIN && errno != EINTR) {
		close(c->fd);
		c->fd = -1;
	}
}

static bool serve_write(struct conn *c, bool is_echo)
{
	if (is_echo) {
		while (c->pend_len > 0) {
			ssize_t n = send(c->fd, c->pend + c->pend_off, c->pend_len, MSG_NOSIGNAL);

			if (n <= 0) {
				return n < 0 && (errno == EAGAIN || errno == EINTR);
			}
			c->pend_off += (size_t)n;
			c->pend_len -= (size_t)n;
		}
		if (c->is_eof) {
			shutdown(c->fd, SHUT_WR);
			return false;
		}
		return true;
	}
	if (c->is_eof) {
		char line[64];
		int len =
			snprintf(line, sizeof(line), "%llu %016llx\n", (unsigned long long)c->rcvd,
				 (unsigned long long)sum64_final(&c->h));

		(void)send(c->fd, line, (size_t)len, MSG_NOSIGNAL);
		return false;
	}
	return true;
}

static int run_server(const char *bind_to, bool is_echo)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	int lfd;

	if (addr_parse(bind_to, &ss, &len) != 0) {
		fprintf(stderr, "bad address %s\n", bind_to);
		return 2;
	}
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) != 0 || listen(lfd, 256) != 0) {
		perror("bind/listen");
		return 1;
	}
	for (size_t i = 0; i < MAX_CONNS; i++) {
		conns[i].fd = -1;
	}
	for (;;) {
		struct pollfd pf[MAX_CONNS + 1];
		size_t idx[MAX_CONNS + 1], n = 1;

		pf[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (c->fd < 0) {
				continue;
			}
			pf[n] = (struct pollfd){.fd = c->fd, .events = 0};
			if (!c->is_eof && !(is_echo && c->pend_len) && !is_throttled(c)) {
				pf[n].events |= POLLIN;
			}
			if ((is_echo && c->pend_len) || c->is_eof) {
				pf[n].events |= POLLOUT;
			}
			idx[n++] = i;
		}
		if (poll(pf, n, read_kbps ? 10 : -1) < 0 && errno != EINTR) {
			return 1;
		}
		for (size_t k = 1; k < n; k++) {
			struct conn *c = &conns[idx[k]];

			if ((pf[k].revents & (POLLIN | POLLHUP | POLLERR)) && !is_throttled(c)) {
				serve_read(c, is_echo);
			}
			if (c->fd >= 0 && !serve_write(c, is_echo)) {
				close(c->fd);
				c->fd = -1;
			}
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

			for (size_t i = 0; fd >= 0 && i < MAX_CONNS; i++) {
				if (conns[i].fd < 0) {
					memset(&conns[i], 0,
					       sizeof(conns[i]) - sizeof(conns[i].pend));
					conns[i].fd = fd;
					conns[i].t0_ms = now_ms();
					sum64_init(&conns[i].h);
					fd = -1;
				}
			}
			if (fd >= 0) {
				close(fd);
			}
		}
	}
}

/* ---- clients ---- */

static void client_step(struct conn *c, uint64_t k, short revents)
{
	if ((revents & POLLOUT) && c->sent < c->n) {
		size_t len = c->n - c->sent < CHUNK ? (size_t)(c->n - c->sent) : CHUNK;
		ssize_t w;

		fill(k, c->sent, buf, len);
		w = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (w > 0) {
			c->sent += (uint64_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			c->is_bad = c->is_eof = true;
			return;
		}
	}
	if (c->sent == c->n && !c->is_wr_shut) {
		shutdown(c->fd, SHUT_WR); /* half-close: the echo still comes */
		c->is_wr_shut = true;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t r = read(c->fd, buf, CHUNK);

		if (r > 0) {
			static uint8_t want[CHUNK];

			fill(k, c->rcvd, want, (size_t)r);
			c->is_bad |= memcmp(buf, want, (size_t)r) != 0;
			c->rcvd += (uint64_t)r;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->is_eof = true;
			c->is_bad |= r != 0;
		}
	}
}

/* --idle-ms: the open connections carry nothing for idle_ms; any event on
 * one (end of file, reset, stray bytes) fails it. Returns how many failed. */
static int hold_idle(int nconns, uint64_t idle_ms)
{
	uint64_t t0 = now_ms();
	int closed = 0;

	while (now_ms() - t0 < idle_ms) {
		struct pollfd pf[MAX_CONNS];
		int map[MAX_CONNS], n = 0;
		uint64_t left = idle_ms - (now_ms() - t0);

		for (int i = 0; i < nconns; i++) {
			if (!conns[i].is_eof) {
				pf[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
				map[n++] = i;
			}
		}
		if (poll(pf, (nfds_t)n, left < 1000 ? (int)left : 1000) <= 0) {
			continue;
		}
		for (int j = 0; j < n; j++) {
			if (pf[j].revents & (POLLIN | POLLHUP | POLLERR)) {
				conns[map[j]].is_eof = conns[map[j]].is_bad = true;
				closed++;
			}
		}
	}
	return closed;
}

static int run_echo(const char *to, uint64_t bytes, int nconns, uint64_t idle_ms,
		    uint64_t timeout_ms)
{
	uint64_t t0;
	int ok = 0, bad = 0, left = 0, closed_idle;

	for (int i = 0; i < nconns; i++) {
		conns[i] = (struct conn){.fd = open_to(to, false), .n = bytes};
		if (conns[i].fd < 0) {
			conns[i].is_eof = conns[i].is_bad = true;
		}
	}
	closed_idle = hold_idle(nconns, idle_ms);
	for (int i = 0; i < nconns; i++) {
		left += !conns[i].is_eof;
	}
	t0 = now_ms();
	while (left > 0 && now_ms() - t0 < timeout_ms) {
		struct pollfd pf[MAX_CONNS];
		int map[MAX_CONNS], n = 0;

		for (int i = 0; i < nconns; i++) {
			if (conns[i].is_eof) {
				continue;
			}
			pf[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
			if (conns[i].sent < conns[i].n) {
				pf[n].events |= POLLOUT;
			}
			map[n++] = i;
		}
		poll(pf, (nfds_t)n, 200);
		for (int j = 0; j < n; j++) {
			struct conn *c = &conns[map[j]];

			client_step(c, (uint64_t)map[j], pf[j].revents);
			if (c->is_eof) {
				left--;
			}
		}
	}
	for (int i = 0; i < nconns; i++) {
		if (conns[i].is_eof && !conns[i].is_bad && conns[i].rcvd == bytes) {
			ok++;
		} else {
			bad++;
		}
	}
	printf("{\"mode\":\"echo\",\"conns\":%d,\"ok\":%d,\"failed\":%d,\"closed_idle\":%d,"
	       "\"idle_ms\":%llu,\"ms\":%llu}\n",
	       nconns, ok, bad, closed_idle, (unsigned long long)idle_ms,
	       (unsigned long long)(now_ms() - t0));
	return bad == 0 ? 0 : 1;
}

static int run_copy(const char *to, uint64_t bytes, uint64_t timeout_ms)
{
	struct conn *c = &conns[0];
	struct sum64 h;
	char want[64], hx[17], got[64] = {0}, cc[32] = "";
	socklen_t cc_len = sizeof(cc) - 1;
	uint64_t t0 = now_ms(), t_sent = 0;
	size_t glen = 0;
	bool ok;

	*c = (struct conn){.fd = open_to(to, false), .n = bytes};
	if (c->fd < 0) {
		printf("{\"mode\":\"copy\",\"ok\":false,\"error\":\"connect\"}\n");
		return 1;
	}
	if (getsockopt(c->fd, IPPROTO_TCP, TCP_CONGESTION, cc, &cc_len) != 0) {
		snprintf(cc, sizeof(cc), "?");
	}
	sum64_init(&h);
	while (!c->is_eof && now_ms() - t0 < timeout_ms) {
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};

		if (c->sent < c->n) {
			pf.events |= POLLOUT;
		}
		poll(&pf, 1, 200);
		if ((pf.revents & POLLOUT) && c->sent < c->n) {
			size_t len = c->n - c->sent < CHUNK ? (size_t)(c->n - c->sent) : CHUNK;
			ssize_t w;

			fill(0, c->sent, buf, len);
			w = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (w > 0) {
				sum64_update(&h, buf, (size_t)w);
				c->sent += (uint64_t)w;
			}
		}
		if (c->sent == c->n && !c->is_wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->is_wr_shut = true;
			t_sent = now_ms();
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(c->fd, got + glen, sizeof(got) - 1 - glen);

			if (r > 0) {
				glen += (size_t)r;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				c->is_eof = true;
			}
		}
	}
	snprintf(hx, sizeof(hx), "%016llx", (unsigned long long)sum64_final(&h));
	snprintf(want, sizeof(want), "%llu %s\n", (unsigned long long)bytes, hx);
	ok = strcmp(want, got) == 0;
	{
		uint64_t ms = now_ms() - t0;
		bool timed_out = !c->is_eof;

		/* After a timeout, "sent" over the time is an upper bound of the
		 * goodput (some of it was still buffered or in flight). */
		printf("{\"mode\":\"copy\",\"ok\":%s,\"timed_out\":%s,\"bytes\":%llu,\"sent\":%llu,"
		       "\"ms\":%llu,\"send_ms\":%llu,\"mbit_s\":%.1f,\"sum64\":\"%s\",\"cc\":\"%"
		       "s\"}\n",
		       ok ? "true" : "false", timed_out ? "true" : "false",
		       (unsigned long long)bytes, (unsigned long long)c->sent,
		       (unsigned long long)ms, (unsigned long long)(t_sent ? t_sent - t0 : 0),
		       ms ? (double)(timed_out ? c->sent : bytes) * 8.0 / 1000.0 / (double)ms : 0.0,
		       hx, cc);
	}
	return ok ? 0 : 1;
}

static int run_connect(const char *to, uint64_t within_ms)
{
	uint64_t t0 = now_ms(), ms;
	int fd = open_to(to, false);
	bool closed = fd < 0;

	while (!closed && now_ms() - t0 < within_ms + 3000) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		if (poll(&pf, 1, 50) > 0) {
			ssize_t r = read(fd, buf, sizeof(buf));

			closed = r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
		}
	}
	ms = now_ms() - t0;
	printf("{\"mode\":\"connect\",\"closed\":%s,\"ms\":%llu}\n", closed ? "true" : "false",
	       (unsigned long long)ms);
	return closed && ms <= within_ms ? 0 : 1;
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 2; i + 1 < argc; i++) {
		if (strcmp(argv[i], name) == 0) {
			return argv[i + 1];
		}
	}
	return def;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	uint64_t timeout = strtoull(opt(argc, argv, "--timeout-ms", "120000"), NULL, 10);
	uint64_t bytes = strtoull(opt(argc, argv, "--bytes", "1048576"), NULL, 10);
	const char *to = opt(argc, argv, "--to", NULL);

	pattern_init();
	if (strcmp(mode, "server") == 0 && opt(argc, argv, "--bind", NULL)) {
		read_kbps = strtoull(opt(argc, argv, "--read-kBps", "0"), NULL, 10);
		return run_server(opt(argc, argv, "--bind", NULL),
				  strcmp(opt(argc, argv, "--mode", "echo"), "echo") == 0);
	}
	if (strcmp(mode, "echo") == 0 && to) {
		int n = atoi(opt(argc, argv, "--conns", "1"));

		if (n < 1 || n > MAX_CONNS) {
			return 2;
		}
		return run_echo(to, bytes, n, strtoull(opt(argc, argv, "--idle-ms", "0"), NULL, 10),
				timeout);
	}
	if (strcmp(mode, "copy") == 0 && to) {
		tcp_cc = opt(argc, argv, "--cc", NULL);
		return run_copy(to, bytes, timeout);
	}
	if (strcmp(mode, "connect") == 0 && to) {
		return run_connect(to, strtoull(opt(argc, argv, "--within-ms", "2000"), NULL, 10));
	}
	fprintf(stderr, "usage: tcpecho server|echo|copy|connect ... (see the source)\n");
	return 2;
}
