/* Unit tests for common/udpio: batched UDP over loopback sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the headers above first; keep it in its own block. */
#include <cmocka.h>

#include "common/addr.h"
#include "common/diag.h"
#include "common/udpio.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_loopback(struct sockaddr_storage *bound, socklen_t *len)
{
	struct sockaddr_storage any;
	socklen_t any_len;
	struct diag d;
	int fd;

	diag_clear(&d);
	assert_int_equal(addr_parse("127.0.0.1:1", &any, &any_len), 0);
	((struct sockaddr_in *)&any)->sin_port = 0;
	fd = udpio_open((struct sockaddr *)&any, any_len, NULL, &d);
	assert_true(fd >= 0);
	assert_int_equal(udpio_local_addr(fd, bound, len), 0);
	return fd;
}

static void wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
}

static void test_udpio_sends_a_queued_batch_and_receives_it_in_order(void **state)
{
	struct sockaddr_storage a_addr, b_addr;
	socklen_t a_len, b_len;
	int a = open_loopback(&a_addr, &a_len);
	int b = open_loopback(&b_addr, &b_len);
	struct udpio_txq q;
	struct udpio_rx rx;
	int got = 0;

	(void)state;
	assert_int_equal(udpio_txq_init(&q, 128), 0);
	assert_int_equal(udpio_rx_init(&rx, false), 0);
	for (int i = 0; i < 100; i++) {
		char msg[16];
		int n = snprintf(msg, sizeof(msg), "m%d", i);
		assert_int_equal(
			udpio_txq_send(&q, a, (struct sockaddr *)&b_addr, b_len, msg, (size_t)n),
			0);
	}
	assert_true(udpio_txq_flush(&q));
	assert_int_equal(q.n, 0);
	/* Bounded: at most 100 datagrams in at most a few batches. */
	for (int round = 0; round < 10 && got < 100; round++) {
		wait_readable(b);
		int n = udpio_rx_batch(&rx, b);
		struct udpio_dgram d;

		assert_true(n > 0 && n <= UDPIO_BATCH);
		for (int i = 0; i < n; i++) {
			char want[16];
			snprintf(want, sizeof(want), "m%d", got + i);
			assert_true(udpio_rx_next(&rx, &d));
			assert_int_equal(d.len, strlen(want));
			assert_memory_equal(d.data, want, strlen(want));
			assert_true(addr_equal((const struct sockaddr *)d.from,
					       (struct sockaddr *)&a_addr));
		}
		assert_false(udpio_rx_next(&rx, &d));
		got += n;
	}
	assert_int_equal(got, 100);
	assert_int_equal(udpio_rx_batch(&rx, b), 0); /* nothing more: 0, not an error */
	udpio_rx_fini(&rx);
	udpio_txq_fini(&q);
	close(a);
	close(b);
}

/* Runs of one size to one address leave as UDP GSO sends; the receiver
 * still sees each datagram alone, in order, a shorter last one included,
 * and a run broken by another address or size is split correctly, whether
 * the kernel cuts the runs (no GRO) or hands them whole (GRO). */
static void gso_runs_arrive_as_separate_datagrams(bool is_gro)
{
	struct sockaddr_storage a_addr, b_addr, c_addr;
	socklen_t a_len, b_len, c_len;
	int a = open_loopback(&a_addr, &a_len);
	int b = open_loopback(&b_addr, &b_len);
	int c = open_loopback(&c_addr, &c_len);
	struct udpio_txq q;
	struct udpio_rx rx;
	struct udpio_dgram d;
	uint8_t msg[1400];
	int got = 0, bufs = 0;

	assert_int_equal(udpio_txq_init(&q, 256), 0);
	assert_int_equal(udpio_rx_init(&rx, is_gro), 0);
	if (is_gro) {
		assert_int_equal(udpio_enable_gro(b), 0);
	}
	for (int i = 0; i < 150; i++) {
		size_t len = i == 99 || i == 149 ? 500 : 1400;

		memset(msg, i, sizeof(msg));
		assert_int_equal(udpio_txq_send(&q, a, (struct sockaddr *)&b_addr, b_len, msg, len),
				 0);
		if (i == 120) { /* one for another address inside the run */
			assert_int_equal(
				udpio_txq_send(&q, a, (struct sockaddr *)&c_addr, c_len, msg, 7),
				0);
		}
	}
	assert_true(udpio_txq_flush(&q));
	assert_false(q.is_gso_off);
	for (int round = 0; round < 20 && got < 150; round++) {
		wait_readable(b);
		int n = udpio_rx_batch(&rx, b);

		assert_true(n > 0);
		bufs += n;
		while (udpio_rx_next(&rx, &d)) {
			assert_false(d.is_truncated);
			assert_int_equal(d.len, got == 99 || got == 149 ? 500 : 1400);
			assert_int_equal(d.data[0], (uint8_t)got);
			assert_int_equal(d.data[d.len - 1], (uint8_t)got);
			assert_true(addr_equal((const struct sockaddr *)d.from,
					       (struct sockaddr *)&a_addr));
			got++;
		}
	}
	assert_int_equal(got, 150);
	/* With GRO the runs came as a few buffers, not one per datagram. */
	assert_true(is_gro ? bufs < 150 : bufs == 150);
	wait_readable(c);
	assert_int_equal(udpio_rx_batch(&rx, c), 1);
	assert_true(udpio_rx_next(&rx, &d));
	assert_int_equal(d.len, 7);
	assert_false(udpio_rx_next(&rx, &d));
	udpio_rx_fini(&rx);
	udpio_txq_fini(&q);
	close(a);
	close(b);
	close(c);
}

static void test_udpio_gso_runs_arrive_as_separate_datagrams(void **state)
{
	(void)state;
	gso_runs_arrive_as_separate_datagrams(false);
}

static void test_udpio_gro_runs_are_cut_into_the_datagrams_sent(void **state)
{
	(void)state;
	gso_runs_arrive_as_separate_datagrams(true);
}

/* Message i of a batch as recvmmsg would leave it: len bytes, and when
 * seg > 0 the UDP_GRO control message with that segment size. */
static void fake_msg(struct udpio_rx *rx, int i, size_t len, int seg, bool is_trunc)
{
	struct msghdr *h = &rx->msgs[i].msg_hdr;
	uint8_t *buf = rx->bufs + (size_t)i * rx->slot_size;

	for (size_t k = 0; k < len; k++) {
		buf[k] = (uint8_t)(k / 100); /* datagram boundaries every 100 bytes */
	}
	memset(h, 0, sizeof(*h));
	h->msg_name = &rx->from[i];
	h->msg_flags = is_trunc ? MSG_TRUNC : 0;
	rx->msgs[i].msg_len = (unsigned)len;
	if (seg > 0) {
		struct cmsghdr *c;

		memset(rx->ctl[i].buf, 0, sizeof(rx->ctl[i].buf));
		h->msg_control = rx->ctl[i].buf;
		h->msg_controllen = sizeof(rx->ctl[i].buf);
		c = CMSG_FIRSTHDR(h);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_GRO;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
}

/* The cutting rule on its own, edges included: a run with a shorter last
 * datagram, an exact multiple, a run of one, a plain datagram, an empty
 * one, and a truncated run (handed out whole, marked, never cut). */
static void test_udpio_rx_next_cuts_runs_at_the_segment_size(void **state)
{
	static const struct {
		size_t len;
		int seg;
		bool is_trunc;
		size_t want[5];
		size_t n_want;
	} msgs[] = {
		{350, 100, false, {100, 100, 100, 50}, 4},
		{300, 100, false, {100, 100, 100}, 3},
		{80, 100, false, {80}, 1},
		{100, 0, false, {100}, 1},
		{0, 0, false, {0}, 1},
		{UDPIO_GRO_SLOT_SIZE, 100, true, {UDPIO_GRO_SLOT_SIZE}, 1},
		{250, 100, false, {100, 100, 50}, 3},
	};
	struct udpio_rx rx;
	struct udpio_dgram d;

	(void)state;
	assert_int_equal(udpio_rx_init(&rx, true), 0);
	for (size_t i = 0; i < WH_ARRAY_LEN(msgs); i++) {
		fake_msg(&rx, (int)i, msgs[i].len, msgs[i].seg, msgs[i].is_trunc);
	}
	rx.n_msgs = (int)WH_ARRAY_LEN(msgs);
	rx.cur_msg = 0;
	rx.cur_off = 0;
	for (size_t i = 0; i < WH_ARRAY_LEN(msgs); i++) {
		for (size_t k = 0; k < msgs[i].n_want; k++) {
			assert_true(udpio_rx_next(&rx, &d));
			assert_int_equal(d.len, msgs[i].want[k]);
			assert_true(d.from == &rx.from[i]);
			assert_int_equal(d.is_truncated, msgs[i].is_trunc);
			if (d.len > 0 && !d.is_truncated) {
				/* Each piece starts at its own datagram boundary. */
				assert_int_equal(d.data[0], (uint8_t)k);
				assert_int_equal(d.data[d.len - 1], (uint8_t)k);
			}
		}
	}
	assert_false(udpio_rx_next(&rx, &d));
	assert_false(udpio_rx_next(&rx, &d)); /* stays used up */
	udpio_rx_fini(&rx);
}

static void test_udpio_counts_pushes_into_a_full_queue(void **state)
{
	struct udpio_txq q;
	struct sockaddr_storage dst;
	socklen_t len;

	(void)state;
	assert_int_equal(addr_parse("127.0.0.1:9", &dst, &len), 0);
	assert_int_equal(udpio_txq_init(&q, 2), 0);
	assert_int_equal(udpio_txq_send(&q, -1, (struct sockaddr *)&dst, len, "x", 1), 0);
	assert_int_equal(udpio_txq_send(&q, -1, (struct sockaddr *)&dst, len, "y", 1), 0);
	assert_int_equal(udpio_txq_send(&q, -1, (struct sockaddr *)&dst, len, "z", 1), -ENOBUFS);
	assert_int_equal(q.dropped_full, 1);
	/* A bad fd refuses each datagram: counted, dropped, and the queue drains. */
	assert_true(udpio_txq_flush(&q));
	assert_int_equal(q.send_errors, 2);
	udpio_txq_fini(&q);
}

/* Queue n datagrams for fd (a connected socket: no address), each longer
 * than the one before (so no two share a GSO send), all starting with tag. */
static void queue_n(struct udpio_txq *q, int fd, int n, char tag)
{
	struct sockaddr_storage none;
	char msg[16];

	memset(&none, 0, sizeof(none));
	memset(msg, tag, sizeof(msg));
	for (int i = 0; i < n && i < (int)sizeof(msg); i++) {
		assert_int_equal(
			udpio_txq_send(q, fd, (struct sockaddr *)&none, 0, msg, (size_t)i + 1), 0);
	}
}

/* A socket without room (its peer never reads: a dead uplink's full
 * buffer) does not hold back another socket's datagrams queued behind its
 * own: its run is dropped and counted. Alone in the queue, it is waited for. */
static void test_udpio_a_full_socket_does_not_block_the_others(void **state)
{
	int stuck[2], free_[2];
	struct udpio_txq q;
	char buf[16];
	int got = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, stuck), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, free_), 0);
	assert_int_equal(udpio_txq_init(&q, 4096), 0);
	/* Fill the stuck socket until it says EAGAIN. */
	for (int i = 0; i < 100000 && send(stuck[0], "f", 1, MSG_DONTWAIT) == 1; i++) {
	}
	queue_n(&q, stuck[0], 5, 's');
	assert_false(udpio_txq_flush(&q)); /* alone: wait for room */
	assert_int_equal(q.n, 5);
	assert_int_equal(q.dropped_blocked, 0);
	queue_n(&q, free_[0], 3, 'o');
	assert_true(udpio_txq_flush(&q));
	assert_int_equal(q.n, 0);
	assert_int_equal(q.dropped_blocked, 5);
	for (ssize_t n; (n = recv(free_[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0;) {
		assert_int_equal(n, got + 1);
		assert_int_equal(buf[0], 'o');
		got++;
	}
	assert_int_equal(got, 3);
	udpio_txq_fini(&q);
	close(stuck[0]);
	close(stuck[1]);
	close(free_[0]);
	close(free_[1]);
}

/* A GSO run the kernel refuses for its destination (here a broadcast
 * without SO_BROADCAST: EACCES; an uplink whose interface is down gets
 * ENETUNREACH) is dropped and counted; GSO stays on for the runs after it,
 * as the kernel did not refuse GSO itself. */
static void test_udpio_a_refused_run_does_not_turn_gso_off(void **state)
{
	struct sockaddr_storage a_addr, b_addr, bcast;
	socklen_t a_len, b_len, bcast_len;
	int a = open_loopback(&a_addr, &a_len);
	int b = open_loopback(&b_addr, &b_len);
	struct udpio_txq q;
	uint8_t msg[100], buf[200];
	int got = 0;

	(void)state;
	memset(msg, 'x', sizeof(msg));
	assert_int_equal(addr_parse("255.255.255.255:9", &bcast, &bcast_len), 0);
	assert_int_equal(udpio_txq_init(&q, 16), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(udpio_txq_send(&q, a, (struct sockaddr *)&bcast, bcast_len, msg,
						sizeof(msg)),
				 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
			udpio_txq_send(&q, a, (struct sockaddr *)&b_addr, b_len, msg, sizeof(msg)),
			0);
	}
	assert_true(udpio_txq_flush(&q));
	assert_int_equal(q.n, 0);
	assert_int_equal(q.send_errors, 3);
	assert_false(q.is_gso_off);
	wait_readable(b);
	while (recv(b, buf, sizeof(buf), MSG_DONTWAIT) == (ssize_t)sizeof(msg)) {
		got++;
	}
	assert_int_equal(got, 2);
	udpio_txq_fini(&q);
	close(a);
	close(b);
}

static void test_udpio_refuses_datagrams_larger_than_a_buffer(void **state)
{
	static uint8_t big[UDPIO_BUF_SIZE + 1];
	struct udpio_txq q;
	struct sockaddr_storage dst;
	socklen_t len;

	(void)state;
	assert_int_equal(addr_parse("127.0.0.1:9", &dst, &len), 0);
	assert_int_equal(udpio_txq_init(&q, 2), 0);
	assert_int_equal(udpio_txq_send(&q, -1, (struct sockaddr *)&dst, len, big, sizeof(big)),
			 -EMSGSIZE);
	assert_int_equal(q.n, 0);
	udpio_txq_fini(&q);
}

static void test_udpio_open_names_the_address_when_bind_fails(void **state)
{
	struct sockaddr_storage a_addr;
	socklen_t a_len;
	int a = open_loopback(&a_addr, &a_len);
	struct diag d;
	char buf[256], want[128], text[ADDR_TEXT_MAX];

	(void)state;
	diag_clear(&d);
	assert_int_equal(udpio_open((struct sockaddr *)&a_addr, a_len, NULL, &d), -EADDRINUSE);
	snprintf(want, sizeof(want), "bind %s: Address already in use",
		 addr_format((struct sockaddr *)&a_addr, text, sizeof(text)));
	assert_string_equal(diag_format(&d, buf, sizeof(buf)), want);
	close(a);
}

static void test_udpio_ipv4_sockets_send_with_df_clear(void **state)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int fd = open_loopback(&addr, &len);
	int val = -1;
	socklen_t vlen = sizeof(val);

	(void)state;
	/* IP_PMTUDISC_DONT: routers may fragment (no PMTU black hole). */
	assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &val, &vlen), 0);
	assert_int_equal(val, IP_PMTUDISC_DONT);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udpio_sends_a_queued_batch_and_receives_it_in_order),
		cmocka_unit_test(test_udpio_gso_runs_arrive_as_separate_datagrams),
		cmocka_unit_test(test_udpio_gro_runs_are_cut_into_the_datagrams_sent),
		cmocka_unit_test(test_udpio_rx_next_cuts_runs_at_the_segment_size),
		cmocka_unit_test(test_udpio_counts_pushes_into_a_full_queue),
		cmocka_unit_test(test_udpio_a_full_socket_does_not_block_the_others),
		cmocka_unit_test(test_udpio_a_refused_run_does_not_turn_gso_off),
		cmocka_unit_test(test_udpio_refuses_datagrams_larger_than_a_buffer),
		cmocka_unit_test(test_udpio_open_names_the_address_when_bind_fails),
		cmocka_unit_test(test_udpio_ipv4_sockets_send_with_df_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
