/* tcpecho: TCP test apps for the lab (tests/lab/test_tcp_flows.sh,
 * tools/bench_tcp.sh). Single-threaded, poll(2), no allocation per byte.
 *   tcpecho server --bind IP:PORT --mode echo|sink [--read-kBps R]
 *       echo: send back everything; after the client's EOF, finish and
 *             shut the write side (half-close).
 *       sink: hash what arrives (SHA-256); after the client's EOF, answer
 *             "<bytes> <sha256 hex>\n" and close.
 *       --read-kBps: a slow reader, at most R kB/s per connection (back-pressure).
 *   tcpecho echo --to IP:PORT --bytes N --conns K
 *       K connections at once, each sends N deterministic bytes, shuts its
 *       write side and checks the echo byte for byte.
 *   tcpecho copy --to IP:PORT --bytes N
 *       sends N bytes to a sink, shuts its write side, and checks the
 *       sink's byte count and SHA-256 (the reply comes after the half-close).
 *   tcpecho connect --to IP:PORT --within-ms T
 *       connects and waits for the connection to be closed or reset;
 *       succeeds if that happens within T ms.
 * Every mode has --timeout-ms (default 120000). Prints one JSON line;
 * exit 0 on success, 1 on failure, 2 on usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
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

struct conn {
	int fd;
	uint64_t t0_ms;
	uint64_t sent, rcvd, n;
	bool is_wr_shut, is_eof, is_bad;
	crypto_hash_sha256_state h;
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

/* The byte at position i of connection k's content. */
static uint8_t gen(uint64_t k, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ (k + 1) * 0xD1B54A32D192ED03ull;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 29;
	return (uint8_t)(x >> ((i % 8) * 8));
}

static void fill(uint64_t k, uint64_t off, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = gen(k, off + i);
	}
}

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
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		sprintf(out + 2 * i, "%02x", d[i]);
	}
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
			crypto_hash_sha256_update(&c->h, buf, (unsigned long long)n);
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
		uint8_t d[crypto_hash_sha256_BYTES];
		char line[160], h[2 * crypto_hash_sha256_BYTES + 1];
		int len;

		crypto_hash_sha256_final(&c->h, d);
		hex(d, sizeof(d), h);
		len = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)c->rcvd, h);
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
					crypto_hash_sha256_init(&conns[i].h);
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
			for (ssize_t i = 0; i < r; i++) {
				if (buf[i] != gen(k, c->rcvd + (uint64_t)i)) {
					c->is_bad = true;
				}
			}
			c->rcvd += (uint64_t)r;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->is_eof = true;
			c->is_bad |= r != 0;
		}
	}
}

static int run_echo(const char *to, uint64_t bytes, int nconns, uint64_t timeout_ms)
{
	uint64_t t0 = now_ms();
	int ok = 0, bad = 0, left = nconns;

	for (int i = 0; i < nconns; i++) {
		conns[i] = (struct conn){.fd = open_to(to, false), .n = bytes};
		if (conns[i].fd < 0) {
			conns[i].is_eof = conns[i].is_bad = true;
		}
	}
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
	printf("{\"mode\":\"echo\",\"conns\":%d,\"ok\":%d,\"failed\":%d,\"ms\":%llu}\n", nconns, ok,
	       bad, (unsigned long long)(now_ms() - t0));
	return bad == 0 ? 0 : 1;
}

static int run_copy(const char *to, uint64_t bytes, uint64_t timeout_ms)
{
	struct conn *c = &conns[0];
	crypto_hash_sha256_state h;
	uint8_t d[crypto_hash_sha256_BYTES];
	char want[160], hx[2 * crypto_hash_sha256_BYTES + 1], got[160] = {0};
	uint64_t t0 = now_ms(), t_sent = 0;
	size_t glen = 0;
	bool ok;

	*c = (struct conn){.fd = open_to(to, false), .n = bytes};
	if (c->fd < 0) {
		printf("{\"mode\":\"copy\",\"ok\":false,\"error\":\"connect\"}\n");
		return 1;
	}
	crypto_hash_sha256_init(&h);
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
				crypto_hash_sha256_update(&h, buf, (unsigned long long)w);
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
	crypto_hash_sha256_final(&h, d);
	hex(d, sizeof(d), hx);
	snprintf(want, sizeof(want), "%llu %s\n", (unsigned long long)bytes, hx);
	ok = strcmp(want, got) == 0;
	{
		uint64_t ms = now_ms() - t0;

		printf("{\"mode\":\"copy\",\"ok\":%s,\"bytes\":%llu,\"ms\":%llu,\"send_ms\":%llu,"
		       "\"mbit_s\":%.1f,\"sha256\":\"%s\"}\n",
		       ok ? "true" : "false", (unsigned long long)bytes, (unsigned long long)ms,
		       (unsigned long long)(t_sent ? t_sent - t0 : 0),
		       ms ? (double)bytes * 8.0 / 1000.0 / (double)ms : 0.0, hx);
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

	if (sodium_init() < 0) {
		return 1;
	}
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
		return run_echo(to, bytes, n, timeout);
	}
	if (strcmp(mode, "copy") == 0 && to) {
		return run_copy(to, bytes, timeout);
	}
	if (strcmp(mode, "connect") == 0 && to) {
		return run_connect(to, strtoull(opt(argc, argv, "--within-ms", "2000"), NULL, 10));
	}
	fprintf(stderr, "usage: tcpecho server|echo|copy|connect ... (see the source)\n");
	return 2;
}
