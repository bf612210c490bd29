/* bench_flow: an application on one end of a UDP flow — it sends numbered,
 * timestamped, pattern-filled datagrams at a given rate and size, receives
 * what comes back or across, checks every byte, and prints one JSON line with
 * what arrived: counts, duplicates, corruption, per-sender tallies (with the
 * address each sender's datagrams came from), throughput, and one-way latency
 * percentiles (all namespaces of one machine share CLOCK_MONOTONIC).
 * The lab tests use it as the app on each side of a flow (tests/lab/), and
 * `make bench` compares a flow against plain UDP with it (tools/bench.sh).
 *
 *   bench_flow --bind IP:PORT [--to IP:PORT] [--id NAME] [--count N]
 *              [--size BYTES] [--rate PPS] [--echo] [--expect N]
 *              [--expect-echo N] [--timeout MS] [--linger MS] [--fill TEXT]
 *              [--delay MS] [--ramp MS:PPS,MS:PPS...] [--bin N]
 *              [--seen-file PATH] [--window MS]
 *
 * --to: send --count datagrams (default 1000) of --size bytes (default 200,
 * at least 32) at --rate per second (default 1000; 0 = as fast as possible).
 * --delay: only receive for the first MS, then start sending.
 * --ramp: instead of --rate, a send rate that moves linearly between the
 * given points (ms since sending started : datagrams per second); sending
 * stops at the last point (or at --count). The report then holds
 * tx_start_wall_ms (CLOCK_REALTIME when sending started) so a script can
 * place the ramp on other logs' time lines.
 * --fill: the body is TEXT repeated (a known plaintext to look for in a
 * capture), instead of a pattern made from the sender id and sequence number.
 * --echo: answer each data datagram, to the address it came from, with the
 * same bytes marked as an echo (a sink app that replies to each source).
 * It stops when it has sent everything and received --expect distinct data
 * datagrams and --expect-echo distinct echoes of its own (then waits --linger
 * ms more to catch extras, default 200), or at --timeout (default 30000 ms).
 * --bin N: the report also holds "bins", the count of distinct data
 * datagrams received per N sequence numbers ([0,N), [N,2N), ...; at most
 * BF_BINS_MAX bins), to see a rate change during a stream.
 * --seen-file PATH: also write, per sender, one line "ID BITS" with a 0 or 1
 * for each sequence number up to the highest received (1 = arrived), so a
 * script can compare which datagrams two runs lost, allowing for a few the
 * network lost besides.
 * --window MS: the report also holds "window_mbps", the payload Mbit/s of
 * the distinct data datagrams received in each MS window since the first one
 * arrived (at most BF_BINS_MAX windows), to see a rate settle.
 * SIGTERM or SIGINT ends the run early: sending stops and the report is
 * printed as at the end (a stream of unknown length: --count large, then
 * stop the sender, then the receiver; "sent" says how many went out).
 * max_gap_ms is the longest wait between two new data datagrams, and
 * max_gap_end_wall_ms when it ended (CLOCK_REALTIME, like `date +%s%3N`), so
 * a script can tell which event caused it.
 * Every datagram's header carries a check of its other header bytes, so a
 * changed byte anywhere is seen (counted as corrupt; a changed magic number
 * counts as foreign). The report has one-way latency percentiles, mean and
 * standard deviation, and rx_hash: a hash of which sequence numbers arrived
 * from each sender, equal for two runs that lost the same datagrams.
 * Exit 0 when the expectations were met and nothing was corrupt, 1 otherwise,
 * 2 on a usage error. Numeric IPv4 only. Every loop is bounded. */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#define BF_MAGIC 0x57484643u /* "WHFC" */
#define BF_HDR 32	     /* magic u32 | flags u32 | id[8] | seq u32 | check u32 | tx_us u64 */
#define BF_RAMP_MAX 32
#define BF_BINS_MAX 1024
#define BF_MAX_SIZE 65507
#define BF_MAX_COUNT 10000000L
#define BF_MAX_SENDERS 16
#define BF_ID_LEN 8
#define BF_FLAG_ECHO 1u
#define BF_LAT_SAMPLES 200000

struct bf_opts {
	struct sockaddr_in bind, to;
	bool has_to, is_echo;
	char id[BF_ID_LEN + 1];
	const char *fill;      /* body = this text repeated, instead of the pattern */
	const char *seen_file; /* --seen-file: where to write the arrival bitmaps */
	long count, size, rate, expect, expect_echo, timeout_ms, linger_ms, delay_ms, bin,
		window_ms;
	int n_ramp;
	long ramp_ms[BF_RAMP_MAX], ramp_pps[BF_RAMP_MAX];
};

struct bf_sender {
	char id[BF_ID_LEN + 1];
	struct sockaddr_in from;
	bool is_multi_addr; /* datagrams of this sender came from several addresses */
	long unique;
	uint32_t max_seq;
	uint8_t *seen; /* count bits */
};

struct bf_state {
	struct bf_opts o;
	int fd;
	long sent, received, dup, corrupt, foreign, echo_unique, echo_dup;
	uint8_t *echo_seen;
	struct bf_sender senders[BF_MAX_SENDERS];
	int n_senders;
	uint64_t *lat_us;
	long n_lat;
	uint64_t first_rx_us, last_rx_us, rx_bytes;
	uint64_t max_gap_us;	      /* longest wait between two new data datagrams */
	uint64_t max_gap_end_wall_ms; /* CLOCK_REALTIME when that wait ended */
	uint64_t first_rx_wall_ms;    /* CLOCK_REALTIME, so a script can compare with `date` */
	uint64_t tx_start_wall_ms;
	long bins[BF_BINS_MAX];
	long n_bins;
	uint64_t window_bytes[BF_BINS_MAX]; /* --window: payload bytes per window */
	long n_windows;
	uint8_t *buf;
};

/* Set by SIGTERM or SIGINT: the run loop ends and the report is printed. */
static volatile sig_atomic_t is_stopped;

static void on_stop_signal(int sig)
{
	(void)sig;
	is_stopped = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t wall_ms(void)
{
	struct timespec wall;

	clock_gettime(CLOCK_REALTIME, &wall);
	return (uint64_t)wall.tv_sec * 1000u + (uint64_t)wall.tv_nsec / 1000000u;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* --fill, shared by every sender of a run (the lab's plaintext canary). */
static const char *fill_text;

static uint8_t pattern(const char *id, uint32_t seq, size_t i)
{
	if (fill_text) {
		return (uint8_t)fill_text[(i - BF_HDR) % strlen(fill_text)];
	}
	return (uint8_t)(id[i % BF_ID_LEN] * 31u + seq * 7u + i * 13u);
}

static bool parse_endpoint(const char *text, struct sockaddr_in *out)
{
	char ip[32];
	const char *colon = strrchr(text, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - text) >= sizeof(ip)) {
		return false;
	}
	memcpy(ip, text, (size_t)(colon - text));
	ip[colon - text] = '\0';
	port = strtol(colon + 1, &end, 10);
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return *end == '\0' && port >= 0 && port <= 65535 &&
	       inet_pton(AF_INET, ip, &out->sin_addr) == 1;
}

static bool parse_long(const char *text, long min, long max, long *out)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || v < min || v > max) {
		return false;
	}
	*out = v;
	return true;
}

/* "MS:PPS,MS:PPS,..." with growing MS. */
static bool parse_ramp(struct bf_opts *o, const char *text)
{
	const char *p = text;

	o->n_ramp = 0;
	while (*p && o->n_ramp < BF_RAMP_MAX) {
		char *end;
		long ms = strtol(p, &end, 10), pps;

		if (end == p || *end != ':' || ms < 0 ||
		    (o->n_ramp > 0 && ms <= o->ramp_ms[o->n_ramp - 1])) {
			return false;
		}
		p = end + 1;
		pps = strtol(p, &end, 10);
		if (end == p || pps < 0 || pps > 10000000 || (*end != ',' && *end != '\0')) {
			return false;
		}
		o->ramp_ms[o->n_ramp] = ms;
		o->ramp_pps[o->n_ramp++] = pps;
		p = *end ? end + 1 : end;
	}
	return *p == '\0' && o->n_ramp >= 2;
}

/* The ramp's rate t_ms after sending started; -1 past its end. */
static double ramp_pps(const struct bf_opts *o, double t_ms)
{
	for (int i = 1; i < o->n_ramp; i++) {
		if (t_ms < o->ramp_ms[i]) {
			double a = (t_ms - o->ramp_ms[i - 1]) / (o->ramp_ms[i] - o->ramp_ms[i - 1]);

			return o->ramp_pps[i - 1] + a * (o->ramp_pps[i] - o->ramp_pps[i - 1]);
		}
	}
	return -1;
}

static bool take_option(struct bf_opts *o, const char *name, const char *value)
{
	if (strcmp(name, "--ramp") == 0) {
		return parse_ramp(o, value);
	}
	if (strcmp(name, "--bind") == 0) {
		return parse_endpoint(value, &o->bind);
	}
	if (strcmp(name, "--to") == 0) {
		o->has_to = true;
		return parse_endpoint(value, &o->to);
	}
	if (strcmp(name, "--fill") == 0) {
		o->fill = *value ? value : NULL;
		return true;
	}
	if (strcmp(name, "--seen-file") == 0) {
		o->seen_file = value;
		return true;
	}
	if (strcmp(name, "--id") == 0) {
		snprintf(o->id, sizeof(o->id), "%-8s", value);
		return true;
	}
	struct {
		const char *name;
		long *out, min, max;
	} nums[] = {
		{"--count", &o->count, 0, BF_MAX_COUNT},
		{"--size", &o->size, BF_HDR, BF_MAX_SIZE},
		{"--rate", &o->rate, 0, 10000000},
		{"--expect", &o->expect, 0, BF_MAX_COUNT * BF_MAX_SENDERS},
		{"--expect-echo", &o->expect_echo, 0, BF_MAX_COUNT},
		{"--timeout", &o->timeout_ms, 1, 3600000},
		{"--linger", &o->linger_ms, 0, 3600000},
		{"--delay", &o->delay_ms, 0, 600000},
		{"--bin", &o->bin, 1, BF_MAX_COUNT},
		{"--window", &o->window_ms, 1, 600000},
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(name, nums[i].name) == 0) {
			return parse_long(value, nums[i].min, nums[i].max, nums[i].out);
		}
	}
	return false;
}

static bool parse_args(struct bf_opts *o, int argc, char **argv)
{
	bool has_bind = false;

	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%-8s", "app");
	o->count = 1000;
	o->size = 200;
	o->rate = 1000;
	o->timeout_ms = 30000;
	o->linger_ms = 200;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--echo") == 0) {
			o->is_echo = true;
			continue;
		}
		if (i + 1 >= argc || !take_option(o, argv[i], argv[i + 1])) {
			fprintf(stderr, "bench_flow: bad option '%s'\n", argv[i]);
			return false;
		}
		has_bind |= strcmp(argv[i], "--bind") == 0;
		i++;
	}
	if (!has_bind) {
		fprintf(stderr, "bench_flow: --bind IP:PORT is required\n");
	}
	return has_bind;
}

static struct bf_sender *sender_for(struct bf_state *st, const char *id)
{
	for (int i = 0; i < st->n_senders; i++) {
		if (memcmp(st->senders[i].id, id, BF_ID_LEN) == 0) {
			return &st->senders[i];
		}
	}
	if (st->n_senders == BF_MAX_SENDERS) {
		return NULL;
	}
	struct bf_sender *s = &st->senders[st->n_senders];
	memcpy(s->id, id, BF_ID_LEN);
	s->seen = calloc((size_t)(BF_MAX_COUNT / 8 + 1), 1);
	if (!s->seen) {
		return NULL;
	}
	st->n_senders++;
	return s;
}

static bool bit_test_set(uint8_t *bits, uint32_t i)
{
	bool was = bits[i / 8] & (1u << (i % 8));

	bits[i / 8] |= (uint8_t)(1u << (i % 8));
	return was;
}

/* FNV-1a over the header without its check field (bytes 20..23). */
static uint32_t header_check(const uint8_t *b)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < BF_HDR; i++) {
		if (i < 20 || i >= 24) {
			h = (h ^ b[i]) * 16777619u;
		}
	}
	return h;
}

static bool body_ok(const uint8_t *b, size_t len, const char *id, uint32_t seq)
{
	if (get32(b + 20) != header_check(b)) {
		return false;
	}
	for (size_t i = BF_HDR; i < len; i++) {
		if (b[i] != pattern(id, seq, i)) {
			return false;
		}
	}
	return true;
}

static void on_echo(struct bf_state *st, const char *id, uint32_t seq)
{
	if (memcmp(id, st->o.id, BF_ID_LEN) != 0) {
		st->foreign++; /* a reply meant for another source */
	} else if (seq >= (uint32_t)BF_MAX_COUNT) {
		st->corrupt++;
	} else if (bit_test_set(st->echo_seen, seq)) {
		st->echo_dup++;
	} else {
		st->echo_unique++;
	}
}

static void on_data(struct bf_state *st, const uint8_t *b, size_t len,
		    const struct sockaddr_in *from, uint64_t t_us)
{
	char id[BF_ID_LEN + 1];
	uint32_t seq = get32(b + 16);
	uint64_t tx_us = (uint64_t)get32(b + 24) << 32 | get32(b + 28);
	struct bf_sender *s;

	memcpy(id, b + 8, BF_ID_LEN);
	id[BF_ID_LEN] = '\0';
	s = sender_for(st, id);
	if (!s || seq >= (uint32_t)BF_MAX_COUNT) {
		st->foreign++;
		return;
	}
	if (bit_test_set(s->seen, seq)) {
		st->dup++;
		return;
	}
	if (s->unique == 0) {
		s->from = *from;
	} else if (s->from.sin_addr.s_addr != from->sin_addr.s_addr ||
		   s->from.sin_port != from->sin_port) {
		s->is_multi_addr = true;
	}
	s->unique++;
	s->max_seq = seq > s->max_seq ? seq : s->max_seq;
	if (st->o.bin > 0 && seq / (uint32_t)st->o.bin < BF_BINS_MAX) {
		long k = (long)(seq / (uint32_t)st->o.bin);

		st->bins[k]++;
		st->n_bins = k + 1 > st->n_bins ? k + 1 : st->n_bins;
	}
	st->received++;
	st->rx_bytes += len;
	if (st->first_rx_us == 0) {
		st->first_rx_us = t_us;
		st->first_rx_wall_ms = wall_ms();
	}
	if (st->last_rx_us != 0 && t_us - st->last_rx_us > st->max_gap_us) {
		st->max_gap_us = t_us - st->last_rx_us;
		st->max_gap_end_wall_ms = wall_ms();
	}
	if (st->o.window_ms > 0) {
		uint64_t k = (t_us - st->first_rx_us) / ((uint64_t)st->o.window_ms * 1000u);

		if (k < BF_BINS_MAX) {
			st->window_bytes[k] += len;
			st->n_windows = (long)k + 1 > st->n_windows ? (long)k + 1 : st->n_windows;
		}
	}
	st->last_rx_us = t_us;
	if (st->n_lat < BF_LAT_SAMPLES && t_us >= tx_us) {
		st->lat_us[st->n_lat++] = t_us - tx_us;
	}
	if (st->o.is_echo) {
		uint8_t *e = st->buf + BF_MAX_SIZE + 1;
		memcpy(e, b, len);
		put32(e + 4, BF_FLAG_ECHO);
		put32(e + 20, header_check(e));
		(void)sendto(st->fd, e, len, 0, (const struct sockaddr *)from, sizeof(*from));
	}
}

static void on_datagram(struct bf_state *st, size_t len, const struct sockaddr_in *from)
{
	const uint8_t *b = st->buf;
	uint64_t t_us = now_us();
	char id[BF_ID_LEN + 1];

	if (len < BF_HDR || get32(b) != BF_MAGIC) {
		st->foreign++;
		return;
	}
	memcpy(id, b + 8, BF_ID_LEN);
	id[BF_ID_LEN] = '\0';
	if (!body_ok(b, len, id, get32(b + 16))) {
		st->corrupt++;
		return;
	}
	if (get32(b + 4) & BF_FLAG_ECHO) {
		on_echo(st, id, get32(b + 16));
		return;
	}
	on_data(st, b, len, from, t_us);
}

/* drain: wait up to timeout_us for datagrams (0: only what is queued), then
 * read what is there. */
static void drain(struct bf_state *st, uint64_t timeout_us)
{
	struct pollfd p = {.fd = st->fd, .events = POLLIN};
	struct timespec ts = {.tv_sec = (time_t)(timeout_us / 1000000u),
			      .tv_nsec = (long)(timeout_us % 1000000u) * 1000};

	if (ppoll(&p, 1, &ts, NULL) <= 0) {
		return;
	}
	for (int i = 0; i < 256; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(st->fd, st->buf, BF_MAX_SIZE + 1, MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		if (n < 0) {
			return;
		}
		on_datagram(st, (size_t)n, &from);
	}
}

static void send_one(struct bf_state *st)
{
	uint8_t *b = st->buf + 2 * (BF_MAX_SIZE + 1);
	uint32_t seq = (uint32_t)st->sent;
	uint64_t t = now_us();

	put32(b, BF_MAGIC);
	put32(b + 4, 0);
	memcpy(b + 8, st->o.id, BF_ID_LEN);
	put32(b + 16, seq);
	put32(b + 24, (uint32_t)(t >> 32));
	put32(b + 28, (uint32_t)t);
	put32(b + 20, header_check(b));
	for (size_t i = BF_HDR; i < (size_t)st->o.size; i++) {
		b[i] = pattern(st->o.id, seq, i);
	}
	if (sendto(st->fd, b, (size_t)st->o.size, 0, (const struct sockaddr *)&st->o.to,
		   sizeof(st->o.to)) >= 0 ||
	    errno != EAGAIN) {
		st->sent++; /* a refused send counts as sent: the receiver's tally tells */
	}
}

static bool expectations_met(const struct bf_state *st)
{
	return (!st->o.has_to || st->sent >= st->o.count) && st->received >= st->o.expect &&
	       st->echo_unique >= st->o.expect_echo;
}

/* How long the loop may wait for datagrams before the next one is due to go
 * out: sleeping there, not spinning, keeps a 100/s sender off the CPU that
 * the daemons under test share with it (a wake-up late by a few tens of
 * microseconds is caught up by the rate arithmetic). Below 100 us it spins. */
static uint64_t idle_us(const struct bf_state *st, uint64_t start, double credit, uint64_t t)
{
	uint64_t next;

	if (!st->o.has_to || st->sent >= st->o.count) {
		return 10000;
	}
	if (t < start) {
		next = start;
	} else if (st->o.n_ramp > 0) {
		double pps = ramp_pps(&st->o, (double)(t - start) / 1000.0);

		if (credit >= 1) {
			return 0; /* due already (more than one pass could send) */
		}
		next = pps > 0 ? t + (uint64_t)((1 - credit) * 1e6 / pps) : t + 1000;
	} else if (st->o.rate > 0) {
		next = start + (uint64_t)st->sent * 1000000u / (uint64_t)st->o.rate;
	} else {
		return 0; /* as fast as it goes */
	}
	if (next <= t + 100) {
		return 0;
	}
	return next - t < 10000 ? next - t : 10000;
}

static void run(struct bf_state *st)
{
	/* --delay: receive only, at first, so a peer app can bind before we send. */
	uint64_t start = now_us() + (uint64_t)st->o.delay_ms * 1000u;
	uint64_t deadline = now_us() + (uint64_t)st->o.timeout_ms * 1000u;
	uint64_t met_at = 0, last_t = 0;
	double credit = 1; /* --ramp: datagrams due and not yet sent */

	/* Bounded by the deadline (or a stop signal); each pass sends what the
	 * rate allows and drains. */
	while (now_us() < deadline && !is_stopped) {
		uint64_t t = now_us();
		if (st->o.has_to && st->sent < st->o.count && t >= start) {
			long due =
				st->o.rate
					? (long)((t - start) * (uint64_t)st->o.rate / 1000000u) + 1
					: st->sent + 64;
			if (st->tx_start_wall_ms == 0) {
				st->tx_start_wall_ms = wall_ms();
				last_t = t;
			}
			if (st->o.n_ramp > 0) {
				double pps = ramp_pps(&st->o, (double)(t - start) / 1000.0);

				if (pps < 0) {
					st->o.count = st->sent; /* the ramp is over */
				}
				credit += pps > 0 ? pps * (double)(t - last_t) / 1e6 : 0;
				/* After a stall (2 cores, many processes) catch up at
				 * most 20 ms of the ramp, not in one long burst. */
				if (credit > pps * 0.02 + 1) {
					credit = pps * 0.02 + 1;
				}
				last_t = t;
				due = st->sent + (long)credit;
				credit -= (long)credit;
			}
			for (int k = 0; k < 64 && st->sent < st->o.count && st->sent < due; k++) {
				send_one(st);
			}
			if (st->o.n_ramp > 0 && st->sent < due) {
				credit += (double)(due - st->sent); /* keep what did not fit */
			}
		}
		if (expectations_met(st)) {
			if (met_at == 0) {
				met_at = t;
			}
			if (t - met_at >= (uint64_t)st->o.linger_ms * 1000u) {
				break;
			}
		}
		drain(st, idle_us(st, start, credit, now_us()));
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* --seen-file: "ID BITS" per sender (BITS[k] = '1' when seq k arrived). */
static void write_seen(const struct bf_state *st)
{
	FILE *f = fopen(st->o.seen_file, "w");

	if (!f) {
		fprintf(stderr, "bench_flow: %s: %s\n", st->o.seen_file, strerror(errno));
		return;
	}
	for (int i = 0; i < st->n_senders; i++) {
		const struct bf_sender *s = &st->senders[i];

		fprintf(f, "%.*s ", (int)strcspn(s->id, " "), s->id);
		for (uint32_t k = 0; s->unique > 0 && k <= s->max_seq; k++) {
			fputc((s->seen[k / 8] >> (k % 8)) & 1 ? '1' : '0', f);
		}
		fputc('\n', f);
	}
	fclose(f);
}

struct lat_summary {
	uint64_t p50, p99;
	double mean, std;
};

/* The one-way latency samples' median, 99th percentile, mean and deviation. */
static struct lat_summary lat_summary(struct bf_state *st)
{
	struct lat_summary l = {0};
	double var = 0;

	if (st->n_lat == 0) {
		return l;
	}
	qsort(st->lat_us, (size_t)st->n_lat, sizeof(uint64_t), cmp_u64);
	l.p50 = st->lat_us[st->n_lat / 2];
	l.p99 = st->lat_us[(st->n_lat * 99) / 100];
	for (long i = 0; i < st->n_lat; i++) {
		l.mean += (double)st->lat_us[i];
	}
	l.mean /= (double)st->n_lat;
	for (long i = 0; i < st->n_lat; i++) {
		var += ((double)st->lat_us[i] - l.mean) * ((double)st->lat_us[i] - l.mean);
	}
	l.std = sqrt(var / (double)st->n_lat);
	return l;
}

/* FNV-1a of which sequence numbers arrived, sender by sender. */
static uint32_t seen_hash(const struct bf_state *st)
{
	uint32_t hash = 2166136261u;

	for (int i = 0; i < st->n_senders; i++) {
		const struct bf_sender *s = &st->senders[i];

		for (size_t k = 0; k < BF_ID_LEN; k++) {
			hash = (hash ^ (uint8_t)s->id[k]) * 16777619u;
		}
		for (size_t k = 0; k <= s->max_seq / 8; k++) {
			hash = (hash ^ s->seen[k]) * 16777619u;
		}
	}
	return hash;
}

/* The report's "senders", "bins" and "window_mbps" members. */
static void report_lists(const struct bf_state *st)
{
	char ip[INET_ADDRSTRLEN];

	printf(",\"senders\":{");
	for (int i = 0; i < st->n_senders; i++) {
		const struct bf_sender *s = &st->senders[i];
		inet_ntop(AF_INET, &s->from.sin_addr, ip, sizeof(ip));
		printf("%s\"%.*s\":{\"received\":%ld,\"from\":\"%s:%u\",\"multi_addr\":%s}",
		       i ? "," : "", (int)strcspn(s->id, " "), s->id, s->unique, ip,
		       ntohs(s->from.sin_port), s->is_multi_addr ? "true" : "false");
	}
	printf("},\"bins\":[");
	for (long i = 0; i < st->n_bins; i++) {
		printf("%s%ld", i ? "," : "", st->bins[i]);
	}
	printf("]");
	if (st->o.window_ms > 0) {
		printf(",\"window_mbps\":[");
		for (long i = 0; i < st->n_windows; i++) {
			printf("%s%.3f", i ? "," : "",
			       (double)st->window_bytes[i] * 8 / (double)st->o.window_ms / 1000.0);
		}
		printf("]");
	}
}

static void report(struct bf_state *st)
{
	double secs =
		st->last_rx_us > st->first_rx_us ? (st->last_rx_us - st->first_rx_us) / 1e6 : 0;
	struct lat_summary l = lat_summary(st);

	if (st->o.seen_file) {
		write_seen(st);
	}
	printf("{\"id\":\"%.*s\",\"sent\":%ld,\"received\":%ld,\"dup\":%ld,\"corrupt\":%ld,"
	       "\"foreign\":%ld,\"echo\":%ld,\"echo_dup\":%ld,\"mbps\":%.3f,\"pps\":%.1f,"
	       "\"lat_p50_us\":%llu,\"lat_p99_us\":%llu,\"lat_mean_us\":%.1f,\"lat_std_us\":%.1f,"
	       "\"rx_hash\":\"%08x\",\"first_rx_wall_ms\":%llu,\"tx_start_wall_ms\":%llu,"
	       "\"max_gap_ms\":%.1f,\"max_gap_end_wall_ms\":%llu",
	       (int)strcspn(st->o.id, " "), st->o.id, st->sent, st->received, st->dup, st->corrupt,
	       st->foreign, st->echo_unique, st->echo_dup,
	       secs > 0 ? st->rx_bytes * 8 / secs / 1e6 : 0, secs > 0 ? st->received / secs : 0,
	       (unsigned long long)l.p50, (unsigned long long)l.p99, l.mean, l.std,
	       (unsigned)seen_hash(st), (unsigned long long)st->first_rx_wall_ms,
	       (unsigned long long)st->tx_start_wall_ms, (double)st->max_gap_us / 1000.0,
	       (unsigned long long)st->max_gap_end_wall_ms);
	report_lists(st);
	printf("}\n");
}

int main(int argc, char **argv)
{
	static struct bf_state st;
	int buf_size = 8 << 20, code;

	if (!parse_args(&st.o, argc, argv)) {
		return 2;
	}
	fill_text = st.o.fill;
	signal(SIGTERM, on_stop_signal);
	signal(SIGINT, on_stop_signal);
	st.fd = socket(AF_INET, SOCK_DGRAM, 0);
	st.buf = malloc(3 * (BF_MAX_SIZE + 1));
	st.echo_seen = calloc((size_t)(BF_MAX_COUNT / 8 + 1), 1);
	st.lat_us = calloc(BF_LAT_SAMPLES, sizeof(uint64_t));
	if (st.fd < 0 || !st.buf || !st.echo_seen || !st.lat_us) {
		perror("bench_flow");
		return 2;
	}
	setsockopt(st.fd, SOL_SOCKET, SO_RCVBUF, &buf_size, sizeof(buf_size));
	setsockopt(st.fd, SOL_SOCKET, SO_SNDBUF, &buf_size, sizeof(buf_size));
	if (bind(st.fd, (struct sockaddr *)&st.o.bind, sizeof(st.o.bind)) != 0) {
		perror("bench_flow: bind");
		return 2;
	}
	run(&st);
	report(&st);
	code = expectations_met(&st) && st.corrupt == 0 ? 0 : 1;
	for (int i = 0; i < st.n_senders; i++) {
		free(st.senders[i].seen);
	}
	free(st.buf);
	free(st.echo_seen);
	free(st.lat_us);
	close(st.fd);
	return code;
}
