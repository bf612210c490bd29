/* delaywire: a wire with a fixed one-way delay, in user space, for the
 * namespace lab (this kernel has no netem). tools/lab/topo.sh lab_delay puts
 * it between a node's link and the internet bridge.
 *
 *   delaywire IF_A IF_B --delay-ms D [--ring-mb M]
 *
 * Every frame that arrives on IF_A leaves IF_B D ms later, and the other
 * way round: ARP, IPv4, anything, as it came (packet sockets, with the
 * virtio-net header so that GSO frames pass whole and are segmented by the
 * kernel on the way out). Frames wait in one FIFO byte ring per direction (M
 * MiB each, default 32); a frame that finds its ring full is dropped, as is
 * one the egress queue refuses (a tbf on IF_B), and both are counted.
 * SIGTERM or SIGINT: print one JSON line of counters and exit 0. Bad
 * arguments: a one-line error and exit 2. Needs CAP_NET_RAW. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define FRAME_MAX (65536 + sizeof(struct virtio_net_hdr))
#define SOCK_BUF (16 << 20)

/* One direction: frames from `in` wait in the ring, then leave by `out`.
 * Ring entries: struct entry, then len bytes, padded to 8. */
struct entry {
	uint64_t due_ns;
	uint32_t len;
	uint32_t pad;
};

struct dir {
	int in, out;
	uint8_t *ring;
	size_t cap, head, tail, used; /* bytes: head = oldest, tail = next free */
	uint64_t frames, bytes, ring_full, tx_refused;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_if(const char *name)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct packet_mreq mr = {.mr_type = PACKET_MR_PROMISC};
	int one = 1, buf = SOCK_BUF;
	int fd;

	sll.sll_ifindex = (int)if_nametoindex(name);
	if (sll.sll_ifindex == 0) {
		fprintf(stderr, "delaywire: no interface \"%s\"\n", name);
		exit(2);
	}
	mr.mr_ifindex = sll.sll_ifindex;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		fprintf(stderr, "delaywire: %s: %s\n", name, strerror(errno));
		exit(1);
	}
	/* Best effort: the lab runs as root (FORCE), else the default sizes. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	}
	return fd;
}

static size_t entry_size(uint32_t len)
{
	return sizeof(struct entry) + (((size_t)len + 7) & ~(size_t)7);
}

/* Append a frame; an entry never wraps: if it does not fit before the end
 * of the ring, the rest of the ring is skipped (a zero-length marker). */
static bool ring_put(struct dir *d, const uint8_t *p, uint32_t len, uint64_t due_ns)
{
	size_t need = entry_size(len);
	size_t room_end = d->cap - d->tail;
	size_t skip = 0;
	struct entry e = {.due_ns = due_ns, .len = len};

	if (room_end < need) {
		skip = room_end;
	}
	if (d->used + skip + need > d->cap) {
		return false;
	}
	if (skip) {
		if (room_end >= sizeof(struct entry)) {
			struct entry mark = {.due_ns = 0, .len = UINT32_MAX};

			memcpy(d->ring + d->tail, &mark, sizeof(mark));
		}
		d->used += skip;
		d->tail = 0;
	}
	memcpy(d->ring + d->tail, &e, sizeof(e));
	memcpy(d->ring + d->tail + sizeof(e), p, len);
	d->tail = (d->tail + need) % d->cap;
	d->used += need;
	return true;
}

/* The oldest entry, past any skip marker; NULL if the ring is empty. */
static struct entry *ring_head(struct dir *d)
{
	while (d->used > 0) {
		size_t room_end = d->cap - d->head;
		struct entry *e = (struct entry *)(d->ring + d->head);

		if (room_end < sizeof(struct entry) || e->len == UINT32_MAX) {
			d->used -= room_end;
			d->head = 0;
			continue;
		}
		return e;
	}
	return NULL;
}

static void ring_pop(struct dir *d, const struct entry *e)
{
	size_t sz = entry_size(e->len);

	d->head = (d->head + sz) % d->cap;
	d->used -= sz;
}

static void take_in(struct dir *d, uint64_t delay_ns)
{
	static uint8_t buf[FRAME_MAX];

	for (int n = 0; n < 256; n++) {
		ssize_t r = recv(d->in, buf, sizeof(buf), MSG_DONTWAIT);

		if (r <= 0) {
			return;
		}
		d->frames++;
		d->bytes += (uint64_t)r;
		if (!ring_put(d, buf, (uint32_t)r, now_ns() + delay_ns)) {
			d->ring_full++;
		}
	}
}

/* Send what is due; returns the next due time (0: nothing waits). */
static uint64_t send_due(struct dir *d)
{
	uint64_t now = now_ns();
	struct entry *e;

	while ((e = ring_head(d)) != NULL) {
		if (e->due_ns > now) {
			return e->due_ns;
		}
		if (send(d->out, (uint8_t *)e + sizeof(*e), e->len, MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				return now + 100000; /* socket buffer full: retry in 0.1 ms */
			}
			d->tx_refused++; /* ENOBUFS: the egress qdisc dropped it */
		}
		ring_pop(d, e);
	}
	return 0;
}

static uint64_t opt_u64(int argc, char **argv, const char *name, uint64_t def, uint64_t max)
{
	for (int i = 3; i + 1 < argc; i++) {
		if (strcmp(argv[i], name) == 0) {
			char *end;
			unsigned long long v = strtoull(argv[i + 1], &end, 10);

			if (*argv[i + 1] == '\0' || *end != '\0' || v > max) {
				fprintf(stderr,
					"delaywire: %s wants a whole number up to %llu, not "
					"\"%s\"\n",
					name, (unsigned long long)max, argv[i + 1]);
				exit(2);
			}
			return v;
		}
	}
	return def;
}

int main(int argc, char **argv)
{
	struct dir d[2];
	uint64_t delay_ns, ring;
	struct sigaction sa = {.sa_handler = on_signal};

	if (argc < 5 || (argc - 3) % 2 != 0 || strcmp(argv[3], "--delay-ms") != 0) {
		fprintf(stderr, "usage: delaywire IF_A IF_B --delay-ms D [--ring-mb M]\n");
		return 2;
	}
	delay_ns = opt_u64(argc, argv, "--delay-ms", 0, 10000) * 1000000ull;
	ring = opt_u64(argc, argv, "--ring-mb", 32, 1024) << 20;
	if (ring < (1 << 20)) {
		fprintf(stderr, "delaywire: --ring-mb must be at least 1\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(d, 0, sizeof(d));
	d[0].in = d[1].out = open_if(argv[1]);
	d[0].out = d[1].in = open_if(argv[2]);
	for (int i = 0; i < 2; i++) {
		d[i].cap = (size_t)ring;
		d[i].ring = malloc(d[i].cap);
		if (!d[i].ring) {
			fprintf(stderr, "delaywire: out of memory for %llu MiB rings\n",
				(unsigned long long)(ring >> 20));
			return 1;
		}
	}
	while (!stop) {
		struct pollfd pf[2] = {{.fd = d[0].in, .events = POLLIN},
				       {.fd = d[1].in, .events = POLLIN}};
		uint64_t next = 0, now;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000000}; /* 0.1 s at most */

		for (int i = 0; i < 2; i++) {
			uint64_t t = send_due(&d[i]);

			next = t && (!next || t < next) ? t : next;
		}
		now = now_ns();
		if (next) {
			uint64_t wait = next > now ? next - now : 0;

			ts.tv_sec = 0;
			ts.tv_nsec = (long)(wait < 100000000 ? wait : 100000000);
		}
		if (ppoll(pf, 2, &ts, NULL) < 0 && errno != EINTR) {
			perror("delaywire: ppoll");
			return 1;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].revents & POLLIN) {
				take_in(&d[i], delay_ns);
			}
		}
	}
	printf("{\"delay_ms\":%llu,\"a_to_b\":{\"frames\":%llu,\"bytes\":%llu,\"ring_full\":%llu,"
	       "\"tx_refused\":%llu},\"b_to_a\":{\"frames\":%llu,\"bytes\":%llu,\"ring_full\":%llu,"
	       "\"tx_refused\":%llu}}\n",
	       (unsigned long long)(delay_ns / 1000000), (unsigned long long)d[0].frames,
	       (unsigned long long)d[0].bytes, (unsigned long long)d[0].ring_full,
	       (unsigned long long)d[0].tx_refused, (unsigned long long)d[1].frames,
	       (unsigned long long)d[1].bytes, (unsigned long long)d[1].ring_full,
	       (unsigned long long)d[1].tx_refused);
	free(d[0].ring);
	free(d[1].ring);
	return 0;
}
