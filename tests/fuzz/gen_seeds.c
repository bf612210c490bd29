/* gen_seeds: writes the seed corpora for the proto fuzz targets
 * (tests/fuzz/corpus/{wire,frame,handshake,demux}/). Not part of the build:
 *   cc -std=c11 -D_GNU_SOURCE -I. tests/fuzz/gen_seeds.c build/release/wh_proto.a \
 *      build/release/wh_common.a -lsodium -o build/gen_seeds && build/gen_seeds
 * The handshake seeds are initiations to fuzz_handshake's fixed responder
 * key (private key bytes 1..32) from a fixed initiator key (bytes 33..64). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/frame.h"
#include "proto/msg.h"
#include "proto/session.h"
#include "tests/rfc5769.h"

#define CORPUS "tests/fuzz/corpus/"

static void put(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), CORPUS "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void keypair(struct noise_keypair *kp, uint8_t first)
{
	uint8_t priv[NOISE_KEY_LEN];

	for (size_t i = 0; i < sizeof(priv); i++) {
		priv[i] = (uint8_t)(first + i);
	}
	if (noise_keypair_from_private(kp, priv) != 0) {
		exit(1);
	}
}

static void set_name(struct frame_name *n, const char *text)
{
	if (frame_name_set(n, text) != 0) {
		exit(1);
	}
}

static size_t one_frame(uint8_t *buf, size_t cap, const struct frame *f)
{
	struct wire_writer w;
	size_t len = 0;

	wire_writer_init(&w, buf, cap);
	if (frame_write(&w, f) != 0 || wire_writer_done(&w, &len) != 0) {
		exit(1);
	}
	return len;
}

static void frame_seeds(void)
{
	static const uint8_t data[] = "hello";
	uint8_t buf[1024];
	uint8_t all[4096];
	size_t n = 0;
	struct frame f[19];
	const uint8_t unknown[] = {0x7e, 0, 2, 1, 2, 0x00, 0, 1, 0, FRAME_PING, 0, 12,
				   0,	 0, 0, 1, 0, 0,	   0, 0, 0, 0,		0, 9};
	char name[32];

	memset(f, 0, sizeof(f));
	f[0].type = FRAME_DATAGRAM;
	f[0].u.datagram = (struct frame_datagram){7, FRAME_DATAGRAM_REPLY, 1, data, 5};
	f[1].type = FRAME_STREAM;
	f[1].u.stream = (struct frame_stream){3, 100, FRAME_STREAM_FIN, data, 5};
	f[2].type = FRAME_STREAM_ACK;
	f[2].u.stream_ack.ack_offset = 10;
	f[2].u.stream_ack.sack_count = 1;
	f[2].u.stream_ack.sack[0] = (struct frame_sack){20, 30};
	f[3].type = FRAME_PATH;
	f[3].u.path.op = FRAME_PATH_PUNCH_GO;
	set_name(&f[3].u.path.peer, "drone3");
	f[3].u.path.addr_count = 1;
	f[3].u.path.addrs[0] = (struct frame_addr){FRAME_ADDR_IPV4, {192, 0, 2, 1}, 7400};
	f[4].type = FRAME_ROUTE;
	f[4].u.route.proto = FRAME_PROTO_TCP;
	set_name(&f[4].u.route.flow, "video");
	f[4].u.route.listen_port = 5600;
	f[4].u.route.deliver = (struct frame_addr){FRAME_ADDR_IPV4, {127, 0, 0, 1}, 5600};
	f[4].u.route.member_count = 1;
	set_name(&f[4].u.route.members[0].name, "gcs4");
	f[4].u.route.members[0].roles = FRAME_ROLE_SINK;
	f[6].type = FRAME_PEER;
	set_name(&f[6].u.peer.peer, "gcs4");
	f[6].u.peer.relay_port = 2000;
	f[7].type = FRAME_SYNC;
	f[7].u.sync = (struct frame_sync){1, 2, 25};
	f[8].type = FRAME_RELAY_BIND;
	set_name(&f[8].u.relay_bind.peer, "gcs4");
	f[8].u.relay_bind.relay_port = 2000;
	f[5].type = FRAME_JOIN;
	set_name(&f[5].u.join.client, "drone3");
	f[5].u.join.version = WIRE_PROTOCOL_VERSION;
	f[9].type = FRAME_FLOW_OPTS;
	f[9].u.flow_opts = (struct frame_flow_opts){
		.generation = 1,
		.flow_id = 0x01020304,
		.multipath = FRAME_MULTIPATH_REDUNDANT,
		.flags = FRAME_FLOW_OPTS_IMPAIR | FRAME_FLOW_OPTS_HAS_SEED,
		.loss_ppb = 100000000,
		.loss_burst_ppb = 500000000,
		.corrupt_ppb = 50000000,
		.delay_ms = 50,
		.jitter_ms = 10,
		.rate_kbps = 10000,
		.seed = 42,
	};
	f[10].type = FRAME_CC_ECHO;
	f[10].u.cc_echo = (struct frame_cc_echo){7, 1000, 250};
	f[11].type = FRAME_PUNCH;
	f[11].u.punch.token = 0x0102030405060708ull;
	set_name(&f[11].u.punch.peer, "gcs4");
	f[11].u.punch.strategy = FRAME_PUNCH_SPRAY;
	f[11].u.punch.role = FRAME_PUNCH_ROLE_SCAN;
	f[11].u.punch.delay_ms = 356;
	f[11].u.punch.count = 977;
	f[11].u.punch.addr_count = 1;
	f[11].u.punch.addrs[0] = (struct frame_addr){FRAME_ADDR_IPV4, {198, 51, 100, 1}, 40000};
	f[12].type = FRAME_PATH_STATS;
	set_name(&f[12].u.path_stats.peer, "drone3");
	f[12].u.path_stats.kind = FRAME_PATH_KIND_DIRECT;
	f[12].u.path_stats.rtt_us = 21000;
	f[12].u.path_stats.loss_ppm = 500;
	f[12].u.path_stats.relay_rtt_us = 48000;
	f[13].type = FRAME_FLOW_JOIN;
	f[13].u.flow_join.request_id = 1;
	set_name(&f[13].u.flow_join.flow, "video");
	f[13].u.flow_join.role = FRAME_JOIN_ROLE_TO;
	f[14].type = FRAME_FLOW_JOIN_ACK;
	f[14].u.flow_join_ack.request_id = 1;
	f[14].u.flow_join_ack.status = FRAME_JOIN_NOT_JOINABLE;
	frame_join_ack_set_msg(&f[14].u.flow_join_ack, "flow \"video\" is not joinable by drone3");
	f[15].type = FRAME_FLOW_STATS;
	set_name(&f[15].u.flow_stats.flow, "video");
	f[15].u.flow_stats.flags = FRAME_FLOW_STATS_SATURATED | FRAME_FLOW_STATS_MEASURED;
	f[15].u.flow_stats.tx_packets = 1000;
	f[15].u.flow_stats.tx_bytes = 1200000;
	f[15].u.flow_stats.capacity_kbps = 9900;
	f[15].u.flow_stats.loss_ppm = 12000;
	f[16].type = FRAME_LINK_MTU;
	f[16].u.link_mtu.mtu = 1280;
	f[17].type = FRAME_IN_USE;
	f[17].u.in_use.flags = FRAME_IN_USE_CHECKING;
	f[17].u.in_use.retry_ms = 1500;
	f[17].u.in_use.n_holder = 1;
	f[17].u.in_use.holder[0].family = FRAME_ADDR_IPV4;
	memcpy(f[17].u.in_use.holder[0].ip, (const uint8_t[]){198, 51, 100, 7}, 4);
	f[17].u.in_use.holder[0].port = 40001;
	f[18].type = FRAME_LEAVE;
	for (size_t i = 0; i < WH_ARRAY_LEN(f); i++) {
		size_t len = one_frame(buf, sizeof(buf), &f[i]);

		snprintf(name, sizeof(name), "type_%02x", f[i].type);
		put("frame", name, buf, len);
		memcpy(all + n, buf, len);
		n += len;
	}
	put("frame", "all_types", all, n);
	{
		/* PREDICT's parts: REGISTER with its step, PUNCH, PATH MAPPING. */
		struct frame g[3];
		uint8_t parts[1024];
		size_t m = 0;

		memset(g, 0, sizeof(g));
		g[0].type = FRAME_REGISTER;
		g[0].u.reg.natclass = FRAME_NAT_SYMMETRIC;
		g[0].u.reg.boot_id = 7;
		g[0].u.reg.alloc_step = -2;
		g[1] = f[11];
		g[1].u.punch.strategy = FRAME_PUNCH_PREDICT;
		g[1].u.punch.role = FRAME_PUNCH_ROLE_PREDICT_ODD;
		g[1].u.punch.count = 64;
		g[2] = f[3];
		g[2].u.path.op = FRAME_PATH_MAPPING;
		g[2].u.path.addr_count = 2;
		g[2].u.path.addrs[0] = f[11].u.punch.addrs[0];
		g[2].u.path.addrs[1] = f[11].u.punch.addrs[0];
		g[2].u.path.addrs[1].port++;
		for (size_t i = 0; i < WH_ARRAY_LEN(g); i++) {
			size_t len = one_frame(buf, sizeof(buf), &g[i]);

			memcpy(parts + m, buf, len);
			m += len;
		}
		put("frame", "predict_parts", parts, m);
	}
	put("frame", "unknown_and_padding", unknown, sizeof(unknown));
	put("frame", "truncated", all, 7);
}

static void handshake_seeds(uint8_t init[WIRE_INIT_LEN])
{
	struct noise_keypair resp;
	struct noise_keypair initiator;
	struct session_pending pend;
	struct session *s;
	uint8_t bad[WIRE_INIT_LEN];

	keypair(&resp, 1);
	keypair(&initiator, 33);
	s = session_new(&initiator, resp.pub, NULL);
	if (!s || session_initiation_create(s, 0x11223344, 1, 1000, init) != 0) {
		exit(1);
	}
	session_free(s);
	/* The seed must get through step 1 at fuzz_handshake's responder. */
	if (session_initiation_consume(&resp, init, WIRE_INIT_LEN, &pend) != 0) {
		fprintf(stderr, "gen_seeds: initiation seed does not authenticate\n");
		exit(1);
	}
	session_pending_wipe(&pend);
	put("handshake", "valid_initiation", init, WIRE_INIT_LEN);
	memcpy(bad, init, sizeof(bad));
	bad[60] ^= 1;
	put("handshake", "flipped_static", bad, sizeof(bad));
	put("handshake", "truncated", init, WIRE_INIT_LEN - 1);
	randombytes_buf(bad, sizeof(bad));
	bad[0] = WIRE_MSG_INITIATION;
	bad[1] = bad[2] = bad[3] = 0;
	put("handshake", "garbage", bad, sizeof(bad));
}

static void demux_seeds(const uint8_t init[WIRE_INIT_LEN])
{
	uint8_t buf[WIRE_RESP_LEN];
	uint8_t garbage[64];

	put("demux", "stun_rfc5769_request", rfc5769_request, sizeof(rfc5769_request));
	put("demux", "initiation", init, WIRE_INIT_LEN);
	memset(buf, 0x5a, sizeof(buf));
	buf[0] = WIRE_MSG_RESPONSE;
	buf[1] = buf[2] = buf[3] = 0;
	put("demux", "response", buf, WIRE_RESP_LEN);
	buf[0] = WIRE_MSG_COOKIE_REPLY;
	put("demux", "cookie_reply", buf, WIRE_COOKIE_REPLY_LEN);
	buf[0] = WIRE_MSG_TRANSPORT;
	put("demux", "transport", buf, WIRE_TRANSPORT_MIN_LEN + 8);
	randombytes_buf(garbage, sizeof(garbage));
	garbage[0] = 0x42;
	put("demux", "garbage", garbage, sizeof(garbage));
}

static void wire_seeds(void)
{
	/* cap, op count, ops (op, n) ..., then the buffer read */
	const uint8_t all_ops[] = {64, 14, 0,  0,  1,  0,  2,  0,  3,  0,  4, 3, 5,
				   2,  6,  1,  1,  2,  3,  4,  5,  6,  7,  8, 9, 10,
				   11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
	const uint8_t short_read[] = {4, 2, 3, 0, 1, 2};

	put("wire", "all_ops", all_ops, sizeof(all_ops));
	put("wire", "short_read", short_read, sizeof(short_read));
}

int main(void)
{
	uint8_t init[WIRE_INIT_LEN];

	if (sodium_init() < 0) {
		return 1;
	}
	wire_seeds();
	frame_seeds();
	handshake_seeds(init);
	demux_seeds(init);
	return 0;
}
