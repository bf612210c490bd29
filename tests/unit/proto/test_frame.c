/* test_frame: every frame type round-trips through writer and reader; the
 * extension rule (unknown types and padding skipped by length); and the
 * validation of lengths, counts, enum ranges and name characters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"

static const uint8_t payload[] = "flow payload bytes";

static void name(struct frame_name *n, const char *s)
{
	assert_int_equal(frame_name_set(n, s), 0);
}

static void addr4(struct frame_addr *a, uint8_t last, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = FRAME_ADDR_IPV4;
	a->ip[0] = 198;
	a->ip[1] = 51;
	a->ip[2] = 100;
	a->ip[3] = last;
	a->port = port;
}

static void addr6(struct frame_addr *a, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = FRAME_ADDR_IPV6;
	a->ip[0] = 0x20;
	a->ip[1] = 0x01;
	a->ip[2] = 0x0d;
	a->ip[3] = 0xb8;
	a->ip[15] = 1;
	a->port = port;
}

/* Valid, fully populated samples: the data-path frames... */
static bool sample_data(struct frame *f, enum frame_type t)
{
	switch (t) {
	case FRAME_DATAGRAM:
		f->u.datagram = (struct frame_datagram){7, FRAME_DATAGRAM_REPLY, 0xfffffff0,
							payload, sizeof(payload)};
		return true;
	case FRAME_STREAM:
		f->u.stream = (struct frame_stream){3, 1ull << 40, FRAME_STREAM_FIN, payload, 5};
		return true;
	case FRAME_STREAM_ACK:
		f->u.stream_ack.stream_id = 3;
		f->u.stream_ack.ack_offset = 1000;
		f->u.stream_ack.window = 65536;
		f->u.stream_ack.sack_count = 2;
		f->u.stream_ack.sack[0] = (struct frame_sack){1200, 1300};
		f->u.stream_ack.sack[1] = (struct frame_sack){1400, 2000};
		return true;
	case FRAME_PING:
		f->u.ping = (struct frame_ping){42, 123456789};
		return true;
	case FRAME_PONG:
		f->u.pong = (struct frame_pong){42, 123456789, 250};
		return true;
	case FRAME_CC:
		f->u.cc = (struct frame_cc){9, 100000, 950, 50, 1234567, 8000000};
		return true;
	case FRAME_CC_ECHO:
		f->u.cc_echo = (struct frame_cc_echo){9, 0xfffffffe, 1500};
		return true;
	case FRAME_LINK_MTU:
		f->u.link_mtu.mtu = 1280;
		return true;
	default:
		return false;
	}
}

/* ...and the control frames. */
static bool sample_control(struct frame *f, enum frame_type t)
{
	switch (t) {
	case FRAME_FLOW_STATS:
		name(&f->u.flow_stats.flow, "video.main");
		f->u.flow_stats.flags = FRAME_FLOW_STATS_SATURATED | FRAME_FLOW_STATS_MEASURED;
		f->u.flow_stats.tx_packets = 1ull << 40;
		f->u.flow_stats.tx_bytes = 5;
		f->u.flow_stats.rx_packets = 6;
		f->u.flow_stats.rx_bytes = UINT64_MAX;
		f->u.flow_stats.drops = 7;
		f->u.flow_stats.capacity_kbps = 9800;
		f->u.flow_stats.send_kbps = 10500;
		f->u.flow_stats.loss_ppm = 31000;
		return true;
	case FRAME_IN_USE:
		f->u.in_use.flags = FRAME_IN_USE_CHECKING;
		f->u.in_use.retry_ms = 1500;
		f->u.in_use.n_holder = 1;
		addr4(&f->u.in_use.holder[0], 1, 40001);
		return true;
	case FRAME_PATH_STATS:
		name(&f->u.path_stats.peer, "gcs-4");
		f->u.path_stats.kind = FRAME_PATH_KIND_DIRECT;
		f->u.path_stats.rtt_us = 23456;
		f->u.path_stats.loss_ppm = 12000;
		f->u.path_stats.relay_rtt_us = 45678;
		f->u.path_stats.relay_loss_ppm = 1000000;
		return true;
	case FRAME_PUNCH:
		f->u.punch.token = 0x1112131415161718ull;
		name(&f->u.punch.peer, "gcs-4");
		f->u.punch.strategy = FRAME_PUNCH_SPRAY;
		f->u.punch.role = FRAME_PUNCH_ROLE_SCAN;
		f->u.punch.delay_ms = 150;
		f->u.punch.count = 1024;
		f->u.punch.addr_count = 2;
		addr4(&f->u.punch.addrs[0], 9, 40001);
		addr6(&f->u.punch.addrs[1], 40002);
		return true;
	case FRAME_PATH:
		f->u.path.op = FRAME_PATH_UP;
		f->u.path.token = 0x0102030405060708ull;
		name(&f->u.path.peer, "drone3");
		f->u.path.addr_count = 2;
		addr4(&f->u.path.addrs[0], 7, 7400);
		addr6(&f->u.path.addrs[1], 7401);
		return true;
	case FRAME_ROUTE:
		f->u.route.generation = 77;
		f->u.route.flow_id = 5;
		name(&f->u.route.flow, "video.main");
		f->u.route.proto = FRAME_PROTO_UDP;
		f->u.route.port = 5600;
		f->u.route.listen_port = 15600;
		addr6(&f->u.route.deliver, 5601);
		f->u.route.mtu = 1400;
		f->u.route.member_count = 2;
		name(&f->u.route.members[0].name, "drone3");
		f->u.route.members[0].roles = FRAME_ROLE_SOURCE;
		name(&f->u.route.members[1].name, "gcs-4");
		f->u.route.members[1].roles = FRAME_ROLE_SOURCE | FRAME_ROLE_SINK;
		return true;
	case FRAME_PEER:
		f->u.peer.generation = 77;
		name(&f->u.peer.peer, "gcs-4");
		memset(f->u.peer.key, 0x5a, WIRE_KEY_LEN);
		f->u.peer.relay_port = 3007;
		return true;
	case FRAME_SYNC:
		f->u.sync = (struct frame_sync){77, 3, 25};
		return true;
	case FRAME_LEAVE:
		return true; /* no fields */
	case FRAME_FLOW_OPTS:
		f->u.flow_opts = (struct frame_flow_opts){
			.generation = 77,
			.flow_id = 5,
			.multipath = FRAME_MULTIPATH_REDUNDANT,
			.flags = FRAME_FLOW_OPTS_IMPAIR | FRAME_FLOW_OPTS_HAS_SEED,
			.loss_ppb = 100000000,
			.loss_burst_ppb = 500000000,
			.corrupt_ppb = 1000000,
			.duplicate_ppb = 2000000,
			.reorder_ppb = FRAME_PPB_ONE,
			.delay_ms = 50,
			.jitter_ms = 10,
			.rate_kbps = 10000,
			.seed = 0x0123456789abcdefull,
		};
		return true;
	case FRAME_RELAY_BIND:
		name(&f->u.relay_bind.peer, "drone3");
		f->u.relay_bind.relay_port = 2007;
		f->u.relay_bind.flags = FRAME_RELAY_BIND_PRIMARY; /* the control uplink's */
		return true;
	case FRAME_FLOW_JOIN:
		f->u.flow_join.request_id = 0xA1B2C3D4u;
		name(&f->u.flow_join.flow, "video");
		f->u.flow_join.role = FRAME_JOIN_ROLE_TO;
		return true;
	case FRAME_FLOW_JOIN_ACK:
		f->u.flow_join_ack.request_id = 0xA1B2C3D4u;
		f->u.flow_join_ack.status = FRAME_JOIN_NOT_JOINABLE;
		frame_join_ack_set_msg(&f->u.flow_join_ack, "flow \"%s\" is not joinable by %s",
				       "video", "drone3");
		return true;
	case FRAME_JOIN:
		name(&f->u.join.client, "drone_3");
		f->u.join.version = WIRE_PROTOCOL_VERSION;
		f->u.join.uplink_id = 2;
		f->u.join.caps = 0x3;
		return true;
	case FRAME_REGISTER:
		f->u.reg.uplink_id = 1;
		f->u.reg.natclass = FRAME_NAT_PORT_RESTRICTED;
		f->u.reg.addr_count = 1;
		addr4(&f->u.reg.addrs[0], 20, 40000);
		return true;
	default:
		return false;
	}
}

/* A sample of type t, or false for a number this build has no frame for
 * (0x0F is unused). */
static bool sample(struct frame *f, enum frame_type t)
{
	memset(f, 0, sizeof(*f));
	f->type = t;
	if (sample_data(f, t) || sample_control(f, t)) {
		return true;
	}
	if (t == 0x0F) {
		return false;
	}
	fail();
	return false;
}

/* Compare two frames, following borrowed pointers by content. */
static void assert_frames_equal(const struct frame *a, const struct frame *b)
{
	struct frame x = *a;
	struct frame y = *b;

	assert_int_equal(x.type, y.type);
	if (x.type == FRAME_DATAGRAM) {
		assert_int_equal(x.u.datagram.payload_len, y.u.datagram.payload_len);
		assert_memory_equal(x.u.datagram.payload, y.u.datagram.payload,
				    x.u.datagram.payload_len);
		x.u.datagram.payload = y.u.datagram.payload = NULL;
	}
	if (x.type == FRAME_STREAM) {
		assert_int_equal(x.u.stream.data_len, y.u.stream.data_len);
		assert_memory_equal(x.u.stream.data, y.u.stream.data, x.u.stream.data_len);
		x.u.stream.data = y.u.stream.data = NULL;
	}
	assert_memory_equal(&x, &y, sizeof(x));
}

static void test_frame_every_type_round_trips(void **state)
{
	(void)state;
	for (int t = FRAME_DATAGRAM; t < FRAME_TYPE_COUNT; t++) {
		uint8_t buf[WIRE_MAX_PLAINTEXT];
		struct wire_writer w;
		struct frame_reader fr;
		struct frame in;
		struct frame out;
		size_t len = 0;

		if (!sample(&in, (enum frame_type)t)) {
			continue;
		}
		wire_writer_init(&w, buf, sizeof(buf));
		assert_int_equal(frame_write(&w, &in), 0);
		assert_int_equal(wire_writer_done(&w, &len), 0);
		assert_int_equal(len, frame_size(&in));
		assert_int_equal(buf[0], t);
		frame_reader_init(&fr, buf, len);
		assert_int_equal(frame_read_next(&fr, &out), 1);
		assert_frames_equal(&in, &out);
		assert_int_equal(frame_read_next(&fr, &out), 0);
	}
}

static void test_frame_packet_of_many_frames_reads_in_order(void **state)
{
	uint8_t buf[WIRE_MAX_PLAINTEXT];
	struct wire_writer w;
	struct frame_reader fr;
	struct frame f;
	size_t len = 0;
	int types[FRAME_TYPE_COUNT];
	int n_types = 0;
	int n = 0;

	(void)state;
	wire_writer_init(&w, buf, sizeof(buf));
	for (int t = FRAME_DATAGRAM; t < FRAME_TYPE_COUNT; t++) {
		if (!sample(&f, (enum frame_type)t)) {
			continue;
		}
		assert_int_equal(frame_write(&w, &f), 0);
		types[n_types++] = t;
	}
	assert_int_equal(wire_writer_done(&w, &len), 0);
	frame_reader_init(&fr, buf, len);
	while (frame_read_next(&fr, &f) == 1) {
		assert_true(n < n_types);
		assert_int_equal(f.type, types[n]);
		n++;
	}
	assert_int_equal(n, n_types);
}

static void test_frame_unknown_types_and_padding_are_skipped_by_length(void **state)
{
	/* unknown 0x7e (3 bytes), padding (2 bytes), ping, unknown 0xff (0 bytes) */
	const uint8_t buf[] = {0x7e, 0, 3, 1, 2, 3, 0x00, 0, 2, 0, 0, FRAME_PING, 0, 12, 0,
			       0,    0, 9, 0, 0, 0, 0,	  0, 0, 0, 5, 0xff,	  0, 0};
	struct frame_reader fr;
	struct frame f;

	(void)state;
	frame_reader_init(&fr, buf, sizeof(buf));
	assert_int_equal(frame_read_next(&fr, &f), 1);
	assert_int_equal(f.type, FRAME_PING);
	assert_int_equal(f.u.ping.id, 9);
	assert_true(f.u.ping.tx_us == 5);
	assert_int_equal(frame_read_next(&fr, &f), 0);
	assert_int_equal(fr.skipped, 3);
}

static void test_frame_padding_writer_fills_exactly(void **state)
{
	uint8_t buf[16];
	struct wire_writer w;
	struct frame_reader fr;
	struct frame f;
	size_t len = 0;

	(void)state;
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write_padding(&w, 2), -EINVAL);
	assert_int_equal(frame_write_padding(&w, 16), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, 16);
	frame_reader_init(&fr, buf, len);
	assert_int_equal(frame_read_next(&fr, &f), 0);
}

static void test_frame_truncated_frame_fails_the_packet(void **state)
{
	uint8_t buf[WIRE_MAX_PLAINTEXT];
	struct wire_writer w;
	struct frame_reader fr;
	struct frame f;
	size_t len = 0;

	(void)state;
	for (int t = FRAME_DATAGRAM; t < FRAME_TYPE_COUNT; t++) {
		if (!sample(&f, (enum frame_type)t)) {
			continue;
		}
		wire_writer_init(&w, buf, sizeof(buf));
		assert_int_equal(frame_write(&w, &f), 0);
		assert_int_equal(wire_writer_done(&w, &len), 0);
		for (size_t cut = 1; cut < len; cut++) {
			frame_reader_init(&fr, buf, cut);
			assert_int_equal(frame_read_next(&fr, &f), -EPROTO);
			assert_int_equal(frame_read_next(&fr, &f), -EPROTO);
		}
	}
}

/* Rewrite a sample's value length by +1 (a spare trailing byte inside). */
static void test_frame_trailing_bytes_inside_a_value_are_refused(void **state)
{
	uint8_t buf[64];
	struct wire_writer w;
	struct frame_reader fr;
	struct frame f;
	size_t len = 0;

	(void)state;
	sample(&f, FRAME_PING);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write(&w, &f), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	buf[2]++;
	buf[len] = 0;
	frame_reader_init(&fr, buf, len + 1);
	assert_int_equal(frame_read_next(&fr, &f), -EPROTO);
}

static void test_frame_names_follow_the_character_rule(void **state)
{
	const char *good[] = {
		"a", "Z9", "drone3", "gcs-4.main_b", "0abc", "abcdefghijklmnopqrstuvwxyz012345"};
	const char *bad[] = {"",
			     "-a",
			     ".a",
			     "_a",
			     "a b",
			     "a/b",
			     "drone\xc3\xa9",
			     "abcdefghijklmnopqrstuvwxyz0123456",
			     "a\n"};
	struct frame_name n;

	(void)state;
	for (size_t i = 0; i < WH_ARRAY_LEN(good); i++) {
		assert_int_equal(frame_name_set(&n, good[i]), 0);
		assert_string_equal(n.text, good[i]);
	}
	for (size_t i = 0; i < WH_ARRAY_LEN(bad); i++) {
		assert_int_equal(frame_name_set(&n, bad[i]), -EINVAL);
	}
}

static void test_frame_bad_name_on_the_wire_is_refused(void **state)
{
	uint8_t buf[64];
	struct wire_writer w;
	struct frame_reader fr;
	struct frame f;
	size_t len = 0;

	(void)state;
	sample(&f, FRAME_JOIN);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write(&w, &f), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	buf[4] = '!'; /* first name character */
	frame_reader_init(&fr, buf, len);
	assert_int_equal(frame_read_next(&fr, &f), -EPROTO);
}

static void test_frame_writer_refuses_invalid_frames(void **state)
{
	uint8_t buf[WIRE_MAX_PLAINTEXT];
	struct wire_writer w;
	struct frame f;

	(void)state;
	wire_writer_init(&w, buf, sizeof(buf));
	sample(&f, FRAME_STREAM);
	f.u.stream.flags = 0x80;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	f.u.stream.flags = FRAME_STREAM_RST; /* RST with data */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	f.u.stream.flags = 0;
	f.u.stream.offset = UINT64_MAX - 2; /* range would wrap */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_STREAM_ACK);
	f.u.stream_ack.sack[1].start = 1250; /* overlaps the first range */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_STREAM_ACK);
	f.u.stream_ack.sack[0].start = 1000; /* touches the cumulative ack */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_STREAM_ACK);
	f.u.stream_ack.sack_count = WIRE_SACK_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_LINK_MTU);
	f.u.link_mtu.mtu = FRAME_LINK_MTU_MIN - 1; /* below any link's */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_IN_USE);
	f.u.in_use.retry_ms = FRAME_IN_USE_RETRY_MIN_MS - 1; /* a retry storm */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_IN_USE);
	f.u.in_use.n_holder = 2;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_IN_USE);
	f.u.in_use.flags = 0x80;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_PATH);
	f.u.path.op = 0;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_PATH);
	f.u.path.addrs[1].family = 5;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_ROUTE);
	f.u.route.proto = 3;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_ROUTE);
	f.u.route.members[1].roles = 0; /* a member has at least one role */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_ROUTE);
	f.u.route.deliver.family = 5;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_PEER);
	f.u.peer.relay_port = 0;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_RELAY_BIND);
	f.u.relay_bind.flags = 0x80;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	f.u.relay_bind.flags = 0x04; /* the first bit not defined */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_DATAGRAM);
	f.u.datagram.flags = 0x80;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_ROUTE);
	f.u.route.flow.len = 0;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_REGISTER);
	f.u.reg.natclass = FRAME_NAT_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_OPTS);
	f.u.flow_opts.loss_ppb = FRAME_PPB_ONE + 1; /* probability over 1 */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_OPTS);
	f.u.flow_opts.multipath = FRAME_MULTIPATH_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_OPTS);
	f.u.flow_opts.delay_ms = FRAME_FLOW_OPTS_MS_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_OPTS);
	f.u.flow_opts.rate_kbps = FRAME_FLOW_OPTS_KBPS_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_OPTS);
	f.u.flow_opts.flags = 0x80;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_OPTS);
	f.u.flow_opts.flags = FRAME_FLOW_OPTS_IMPAIR; /* a seed without HAS_SEED */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_OPTS);
	f.u.flow_opts.flags = 0; /* impair values without the IMPAIR flag */
	f.u.flow_opts.seed = 0;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_JOIN);
	f.u.flow_join.role = FRAME_JOIN_ROLE_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_JOIN);
	f.u.flow_join.flow.len = 0; /* a join names its flow */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_JOIN_ACK);
	f.u.flow_join_ack.status = FRAME_JOIN_STATUS_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_JOIN_ACK);
	f.u.flow_join_ack.msg[2] = '\033'; /* no control characters for a terminal */
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_FLOW_JOIN_ACK);
	f.u.flow_join_ack.msg_len = WIRE_JOIN_MSG_MAX + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	f.type = FRAME_PADDING;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	assert_int_equal(frame_size(&f), 0);
	assert_int_equal(w.len, 0);
}

static void test_frame_counts_over_the_limit_on_the_wire_are_refused(void **state)
{
	/* stream ack with sack_count WIRE_SACK_MAX + 1 */
	uint8_t buf[3 + 17] = {FRAME_STREAM_ACK, 0, 17};
	struct frame_reader fr;
	struct frame f;

	(void)state;
	buf[3 + 16] = WIRE_SACK_MAX + 1;
	frame_reader_init(&fr, buf, sizeof(buf));
	assert_int_equal(frame_read_next(&fr, &f), -EPROTO);
}

static void test_frame_writer_overflow_is_enospc(void **state)
{
	uint8_t buf[20];
	struct wire_writer w;
	struct frame f;

	(void)state;
	sample(&f, FRAME_DATAGRAM);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write(&w, &f), -ENOSPC);
	assert_true(w.err);
}

/* Options without impairment are all zeros past the flags, and read back as
 * such; a probability over one on the wire fails the packet. */
static void test_frame_flow_opts_without_impair_and_bad_probability(void **state)
{
	uint8_t buf[128];
	struct wire_writer w;
	struct frame_reader fr;
	struct frame f;
	struct frame out;
	size_t len = 0;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.type = FRAME_FLOW_OPTS;
	f.u.flow_opts.generation = 3;
	f.u.flow_opts.flow_id = 0xdeadbeef;
	f.u.flow_opts.multipath = FRAME_MULTIPATH_BALANCE;
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write(&w, &f), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, 3 + 54);
	frame_reader_init(&fr, buf, len);
	assert_int_equal(frame_read_next(&fr, &out), 1);
	assert_memory_equal(&f, &out, sizeof(f));

	sample(&f, FRAME_FLOW_OPTS);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write(&w, &f), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	/* loss_ppb sits after the header (3), generation, flow id, multipath, flags */
	buf[3 + 14] = 0xff;
	frame_reader_init(&fr, buf, len);
	assert_int_equal(frame_read_next(&fr, &out), -EPROTO);
}

/* Known answer: the FLOW_JOIN layout is request_id u32 | name | role u8. */
static void test_frame_flow_join_has_the_documented_layout(void **state)
{
	static const uint8_t want[] = {
		FRAME_FLOW_JOIN,   0, 11, 0xA1, 0xB2, 0xC3, 0xD4, 5, 'v', 'i', 'd', 'e', 'o',
		FRAME_JOIN_ROLE_TO};
	uint8_t buf[64];
	struct wire_writer w;
	struct frame f;
	size_t len = 0;

	(void)state;
	sample(&f, FRAME_FLOW_JOIN);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write(&w, &f), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

/* SACK ranges travel as (gap, length) u32 pairs from the end of the range
 * before (the first from the cumulative ack): 8 bytes a range. */
static void test_frame_stream_ack_has_the_documented_layout(void **state)
{
	static const uint8_t want[] = {FRAME_STREAM_ACK,
				       0,
				       33,
				       0,
				       0,
				       0,
				       3,
				       0,
				       0,
				       0,
				       0,
				       0,
				       0,
				       0x03,
				       0xE8,
				       0,
				       1,
				       0,
				       0,
				       2,
				       0,
				       0,
				       0,
				       0xC8,
				       0,
				       0,
				       0,
				       0x64, /* gap 200 len 100 */
				       0,
				       0,
				       0,
				       0x64,
				       0,
				       0,
				       0x02,
				       0x58 /* gap 100 len 600 */};
	struct frame_reader fr;
	uint8_t buf[64];
	struct wire_writer w;
	struct frame f, back;
	size_t len = 0;

	(void)state;
	sample(&f, FRAME_STREAM_ACK);
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(frame_write(&w, &f), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* A gap or a length past u32 cannot be written. */
	f.u.stream_ack.sack[1].start = f.u.stream_ack.sack[0].end + UINT32_MAX + 1ull;
	f.u.stream_ack.sack[1].end = f.u.stream_ack.sack[1].start + 1;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	sample(&f, FRAME_STREAM_ACK);
	f.u.stream_ack.sack[1].end = f.u.stream_ack.sack[1].start + UINT32_MAX + 1ull;
	assert_int_equal(frame_write(&w, &f), -EINVAL);
	/* On the wire: an empty range (gap 0 or length 0) and ranges past
	 * 2^64 are refused. */
	for (int bad = 0; bad < 3; bad++) {
		memcpy(buf, want, sizeof(want));
		if (bad == 0) {
			buf[3 + 17 + 3] = 0; /* gap 0: touches the cumulative ack */
		} else if (bad == 1) {
			buf[3 + 17 + 8 + 7] = 0;
			buf[3 + 17 + 8 + 6] = 0; /* length 0 */
		} else {
			memset(buf + 3 + 4, 0xFF, 8); /* ack offset 2^64 - 1 */
		}
		frame_reader_init(&fr, buf, sizeof(want));
		assert_int_equal(frame_read_next(&fr, &back), -EPROTO);
	}
}

/* Encode f, decode it back and compare; returns the encoded length. */
static size_t encode_decode(const struct frame *f, uint8_t *buf, size_t cap)
{
	struct wire_writer w;
	struct frame_reader fr;
	struct frame back;
	size_t len = 0;

	wire_writer_init(&w, buf, cap);
	assert_int_equal(frame_write(&w, f), 0);
	assert_int_equal(wire_writer_done(&w, &len), 0);
	assert_int_equal(len, frame_size(f));
	frame_reader_init(&fr, buf, len);
	assert_int_equal(frame_read_next(&fr, &back), 1);
	assert_frames_equal(f, &back);
	return len;
}

/* The multipath tails (uplinks of PATH and PUNCH, the uplink mask of PEER,
 * the uplink name of REGISTER) are written only when not the default, so
 * single-uplink encodings keep their size; set, they survive a round trip;
 * out of range, they are refused. */
static void test_frame_uplink_tails_are_optional_and_round_trip(void **state)
{
	static const enum frame_type types[] = {FRAME_PATH, FRAME_PUNCH, FRAME_PEER,
						FRAME_REGISTER};
	uint8_t buf[WIRE_MAX_PLAINTEXT];

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct frame f;
		size_t plain, tailed;

		sample(&f, types[i]);
		plain = encode_decode(&f, buf, sizeof(buf));
		switch (types[i]) {
		case FRAME_PATH:
			f.u.path.uplink = 1;
			f.u.path.peer_uplink = 7;
			break;
		case FRAME_PUNCH:
			f.u.punch.uplink = 0;
			f.u.punch.peer_uplink = 2;
			break;
		case FRAME_PEER:
			f.u.peer.uplinks = 0x05;
			break;
		default:
			f.u.reg.uplink_id = 3;
			name(&f.u.reg.name, "lte2");
			break;
		}
		tailed = encode_decode(&f, buf, sizeof(buf));
		assert_int_equal(tailed, plain + (types[i] == FRAME_PEER       ? 1
						  : types[i] == FRAME_REGISTER ? 5
									       : 2));
	}
	{
		struct frame f;

		sample(&f, FRAME_PATH);
		f.u.path.peer_uplink = WIRE_UPLINKS_MAX;
		assert_int_equal(frame_validate(&f), -EINVAL);
		sample(&f, FRAME_REGISTER);
		f.u.reg.uplink_id = WIRE_UPLINKS_MAX;
		assert_int_equal(frame_validate(&f), -EINVAL);
	}
}

/* The boot id tails of REGISTER and PEER: absent when 0 (old encodings
 * keep their size), 8 bytes after the earlier tails (written as defaults
 * when only the boot id is set), and round trip; a cut tail is refused. */
static void test_frame_boot_id_tails_are_optional_and_round_trip(void **state)
{
	uint8_t buf[WIRE_MAX_PLAINTEXT];
	struct frame f, back;
	struct frame_reader fr;
	size_t plain, len;

	(void)state;
	sample(&f, FRAME_REGISTER);
	plain = encode_decode(&f, buf, sizeof(buf));
	f.u.reg.boot_id = 0x0123456789ABCDEFull;
	assert_int_equal(encode_decode(&f, buf, sizeof(buf)), plain + 1 + 8); /* empty name, id */
	name(&f.u.reg.name, "lte2");
	assert_int_equal(encode_decode(&f, buf, sizeof(buf)), plain + 5 + 8);

	sample(&f, FRAME_PEER);
	plain = encode_decode(&f, buf, sizeof(buf));
	f.u.peer.boot_id = 42;
	len = encode_decode(&f, buf, sizeof(buf)); /* the uplinks byte, then the id */
	assert_int_equal(len, plain + 1 + 8);
	/* The frame's length field says 3 bytes fewer: a cut boot id. */
	buf[2] = (uint8_t)(buf[2] - 3);
	frame_reader_init(&fr, buf, len - 3);
	assert_int_equal(frame_read_next(&fr, &back), -EPROTO);
}

/* PREDICT's wire parts: REGISTER's allocation step tail (after the boot id,
 * written with the earlier tails as defaults), the PATH MAPPING op and the
 * two PREDICT roles; out of range, each is refused. */
static void test_frame_predict_parts_round_trip(void **state)
{
	uint8_t buf[WIRE_MAX_PLAINTEXT];
	struct frame f;
	size_t plain;

	(void)state;
	sample(&f, FRAME_REGISTER);
	plain = encode_decode(&f, buf, sizeof(buf));
	f.u.reg.alloc_step = -3;
	assert_int_equal(encode_decode(&f, buf, sizeof(buf)), plain + 1 + 8 + 1);
	f.u.reg.alloc_step = WIRE_ALLOC_STEP_MAX;
	(void)encode_decode(&f, buf, sizeof(buf));
	f.u.reg.alloc_step = WIRE_ALLOC_STEP_MAX + 1;
	assert_int_equal(frame_validate(&f), -EINVAL);
	f.u.reg.alloc_step = -WIRE_ALLOC_STEP_MAX - 1;
	assert_int_equal(frame_validate(&f), -EINVAL);

	sample(&f, FRAME_PATH);
	f.u.path.op = FRAME_PATH_MAPPING;
	addr4(&f.u.path.addrs[1], 7, 7401);
	(void)encode_decode(&f, buf, sizeof(buf));
	f.u.path.op = FRAME_PATH_MAPPING + 1;
	assert_int_equal(frame_validate(&f), -EINVAL);

	sample(&f, FRAME_PUNCH);
	f.u.punch.strategy = FRAME_PUNCH_PREDICT;
	f.u.punch.role = FRAME_PUNCH_ROLE_PREDICT_ODD;
	f.u.punch.count = 64;
	(void)encode_decode(&f, buf, sizeof(buf));
	f.u.punch.role = FRAME_PUNCH_ROLE_PREDICT_SCAN;
	(void)encode_decode(&f, buf, sizeof(buf));
	f.u.punch.role = FRAME_PUNCH_ROLE_MAX + 1;
	assert_int_equal(frame_validate(&f), -EINVAL);
}

static void test_frame_join_ack_message_is_cut_and_made_printable(void **state)
{
	char long_text[400];
	struct frame_flow_join_ack a;

	(void)state;
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	memset(&a, 0, sizeof(a));
	frame_join_ack_set_msg(&a, "%s", long_text);
	assert_int_equal(a.msg_len, WIRE_JOIN_MSG_MAX);
	assert_int_equal(strlen(a.msg), WIRE_JOIN_MSG_MAX);
	frame_join_ack_set_msg(&a, "bad\nline\t%s", "ok");
	assert_string_equal(a.msg, "bad?line?ok");
	assert_int_equal(a.msg_len, 11);
}

static void test_frame_join_ack_with_long_or_control_message_on_the_wire_is_refused(void **state)
{
	/* request_id | status 0 | len 3 | "a\nb" */
	uint8_t ctl[] = {FRAME_FLOW_JOIN_ACK, 0, 9, 0, 0, 0, 1, 0, 3, 'a', '\n', 'b'};
	uint8_t big[3 + 6 + WIRE_JOIN_MSG_MAX + 1] = {FRAME_FLOW_JOIN_ACK, 0,
						      6 + WIRE_JOIN_MSG_MAX + 1};
	struct frame_reader fr;
	struct frame f;

	(void)state;
	frame_reader_init(&fr, ctl, sizeof(ctl));
	assert_int_equal(frame_read_next(&fr, &f), -EPROTO);
	big[3 + 5] = WIRE_JOIN_MSG_MAX + 1;
	memset(big + 9, 'a', WIRE_JOIN_MSG_MAX + 1);
	frame_reader_init(&fr, big, sizeof(big));
	assert_int_equal(frame_read_next(&fr, &f), -EPROTO);
	/* Exactly WIRE_JOIN_MSG_MAX bytes is fine. */
	big[2] = 6 + WIRE_JOIN_MSG_MAX;
	big[3 + 5] = WIRE_JOIN_MSG_MAX;
	frame_reader_init(&fr, big, sizeof(big) - 1);
	assert_int_equal(frame_read_next(&fr, &f), 1);
	assert_int_equal(f.u.flow_join_ack.msg_len, WIRE_JOIN_MSG_MAX);
}

static void test_frame_empty_packet_has_no_frames(void **state)
{
	struct frame_reader fr;
	struct frame f;

	(void)state;
	frame_reader_init(&fr, NULL, 0);
	assert_int_equal(frame_read_next(&fr, &f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_every_type_round_trips),
		cmocka_unit_test(test_frame_uplink_tails_are_optional_and_round_trip),
		cmocka_unit_test(test_frame_boot_id_tails_are_optional_and_round_trip),
		cmocka_unit_test(test_frame_predict_parts_round_trip),
		cmocka_unit_test(test_frame_packet_of_many_frames_reads_in_order),
		cmocka_unit_test(test_frame_unknown_types_and_padding_are_skipped_by_length),
		cmocka_unit_test(test_frame_padding_writer_fills_exactly),
		cmocka_unit_test(test_frame_truncated_frame_fails_the_packet),
		cmocka_unit_test(test_frame_trailing_bytes_inside_a_value_are_refused),
		cmocka_unit_test(test_frame_names_follow_the_character_rule),
		cmocka_unit_test(test_frame_bad_name_on_the_wire_is_refused),
		cmocka_unit_test(test_frame_writer_refuses_invalid_frames),
		cmocka_unit_test(test_frame_counts_over_the_limit_on_the_wire_are_refused),
		cmocka_unit_test(test_frame_writer_overflow_is_enospc),
		cmocka_unit_test(test_frame_flow_opts_without_impair_and_bad_probability),
		cmocka_unit_test(test_frame_empty_packet_has_no_frames),
		cmocka_unit_test(test_frame_flow_join_has_the_documented_layout),
		cmocka_unit_test(test_frame_stream_ack_has_the_documented_layout),
		cmocka_unit_test(test_frame_join_ack_message_is_cut_and_made_printable),
		cmocka_unit_test(
			test_frame_join_ack_with_long_or_control_message_on_the_wire_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
