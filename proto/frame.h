/* frame: the frames inside a transport packet's encryption (DESIGN §3).
 *
 * Layout: a decrypted packet is a sequence of TLV frames
 *     type u8 | length u16 (big-endian) | value[length]
 * Extension rule: a frame type's value layout never changes once released;
 * a new feature gets a new type number. A reader skips any frame whose type it
 * does not know (FRAME_PADDING included) by its length, so an older peer keeps
 * working with a newer one. The protocol version in the handshake payload
 * (WIRE_PROTOCOL_VERSION) says which frame set a peer speaks.
 *
 * Frames decode into plain value structs, validated there (lengths, counts,
 * enum ranges, name characters). Fields marked "borrowed" point into the packet
 * buffer and are valid while that buffer lives. */
#ifndef WH_FRAME_H
#define WH_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/wire.h"
#include "proto/wire_const.h"

enum frame_type {
	FRAME_PADDING = 0x00, /* ignored; lets a sender pad a packet */
	FRAME_DATAGRAM = 0x01,
	FRAME_STREAM = 0x02,
	FRAME_STREAM_ACK = 0x03,
	FRAME_PING = 0x04,
	FRAME_PONG = 0x05,
	FRAME_PATH = 0x06,
	FRAME_CC = 0x07,
	FRAME_ROUTE = 0x08,	 /* server -> client */
	FRAME_JOIN = 0x09,	 /* client -> server */
	FRAME_REGISTER = 0x0A,	 /* client -> server */
	FRAME_PEER = 0x0B,	 /* server -> client */
	FRAME_SYNC = 0x0C,	 /* both ways: end of a route set / its ack */
	FRAME_RELAY_BIND = 0x0D, /* client -> server on a relay port, and its ack */
	FRAME_FLOW_OPTS = 0x0E,	 /* server -> client, part of a route set */
	/* 0x0F: unused */
	FRAME_PUNCH = 0x10,	    /* server -> client: run a punch attempt */
	FRAME_CC_ECHO = 0x11,	    /* congestion feedback: delay echo, beside FRAME_CC */
	FRAME_PATH_STATS = 0x12,    /* client -> server: the path to a peer, measured */
	FRAME_FLOW_JOIN = 0x13,	    /* client -> server: add me to a joinable flow */
	FRAME_FLOW_JOIN_ACK = 0x14, /* server -> client: the answer to FLOW_JOIN */
	FRAME_FLOW_STATS = 0x15,    /* client -> server: a flow's counters, for the API */
	FRAME_LINK_MTU = 0x16,	    /* client -> peer: the largest packet its links take */
	FRAME_IN_USE = 0x17,	    /* server -> client: another process holds this identity */
	FRAME_LEAVE = 0x18,	    /* client -> server: this process stops (no fields) */
	FRAME_TYPE_COUNT
};

/* A client or flow name: [A-Za-z0-9][A-Za-z0-9_.-]{0,31}, NUL-terminated.
 * len 0 means "no name" where a field is optional. */
struct frame_name {
	uint8_t len;
	char text[WIRE_NAME_MAX + 1];
};

enum frame_addr_family {
	FRAME_ADDR_IPV4 = 4,
	FRAME_ADDR_IPV6 = 6,
};

/* Wire: family u8 | ip (4 or 16 bytes) | port u16. */
struct frame_addr {
	uint8_t family; /* enum frame_addr_family */
	uint8_t ip[16]; /* IPv4 uses the first 4 bytes */
	uint16_t port;
};

#define FRAME_STREAM_FIN 0x01
#define FRAME_STREAM_RST 0x02
#define FRAME_STREAM_FLAGS_ALL (FRAME_STREAM_FIN | FRAME_STREAM_RST)

/* A datagram going back from a sink to the source it answers (DESIGN §4). */
#define FRAME_DATAGRAM_REPLY 0x01
/* The sender put this datagram on more than one path (a direct path in
 * doubt and the relay; a redundant flow): the receiver drops the copies it
 * has already delivered. */
#define FRAME_DATAGRAM_COPY 0x02
#define FRAME_DATAGRAM_FLAGS_ALL (FRAME_DATAGRAM_REPLY | FRAME_DATAGRAM_COPY)

/* flow_id u32 | flags u8 | seq u32 | payload (rest) */
struct frame_datagram {
	uint32_t flow_id;
	uint8_t flags; /* FRAME_DATAGRAM_REPLY, FRAME_DATAGRAM_COPY */
	uint32_t seq;
	const uint8_t *payload; /* borrowed */
	size_t payload_len;
};

/* stream_id u32 | offset u64 | flags u8 | data (rest). RST carries no data;
 * offset + data length never wraps. */
struct frame_stream {
	uint32_t stream_id;
	uint64_t offset;
	uint8_t flags;
	const uint8_t *data; /* borrowed */
	size_t data_len;
};

/* A received byte range [start, end) above the cumulative ack. */
struct frame_sack {
	uint64_t start;
	uint64_t end;
};

/* stream_id u32 | ack_offset u64 | window u32 | n u8 | n x (gap u32, len u32):
 * range i starts gap bytes above the end of range i-1 (range 0: above
 * ack_offset) and holds len bytes. In memory the ranges are absolute;
 * they are ascending, disjoint, non-empty and above ack_offset (gap and len
 * at least 1). */
struct frame_stream_ack {
	uint32_t stream_id;
	uint64_t ack_offset; /* every byte below this was received */
	uint32_t window;     /* receive window in bytes, from ack_offset */
	uint8_t sack_count;
	struct frame_sack sack[WIRE_SACK_MAX];
};

/* id u32 | tx_us u64 (sender's monotonic clock) */
struct frame_ping {
	uint32_t id;
	uint64_t tx_us;
};

/* id u32 | echo_tx_us u64 (the ping's tx_us) | hold_us u32 (ping rx -> pong tx) */
struct frame_pong {
	uint32_t id;
	uint64_t echo_tx_us;
	uint32_t hold_us;
};

enum frame_path_op {
	FRAME_PATH_PROBE = 1,
	FRAME_PATH_PROBE_ACK = 2,
	FRAME_PATH_PUNCH_REQUEST = 3, /* client -> server: help me reach peer */
	FRAME_PATH_PUNCH_GO = 4,      /* reserved (FRAME_PUNCH carries the attempt) */
	FRAME_PATH_UP = 5,	      /* client -> server: direct path to peer up, via addrs[0] */
	FRAME_PATH_DOWN = 6,	      /* client -> server and peer: direct path gone, on relay */
	/* peer -> peer (relay), in a PREDICT attempt: addrs[0] the mapping its
	 * NAT just made, addrs[1] the one it predicts next (same IP; the port
	 * difference is the NAT's allocation step). */
	FRAME_PATH_MAPPING = 7,
	FRAME_PATH_OP_MAX = FRAME_PATH_MAPPING
};

/* Uplinks of a client (DESIGN §5.5): index 0 is the main socket (the first
 * [uplink], or the default route); at most WIRE_UPLINKS_MAX. */
#define WIRE_UPLINKS_MAX 8

/* op u8 | token u64 | peer name (len u8, 0 = none) | n u8 | n x addr
 * [| uplink u8 | peer_uplink u8]: the optional tail names the path's uplinks
 * (the sender's, the peer's); absent = both 0, and written only when one is
 * not 0, so single-uplink encodings are unchanged. */
struct frame_path {
	uint8_t op; /* enum frame_path_op */
	uint64_t token;
	struct frame_name peer;
	uint8_t addr_count;
	struct frame_addr addrs[WIRE_ADDR_MAX];
	uint8_t uplink;	     /* < WIRE_UPLINKS_MAX */
	uint8_t peer_uplink; /* < WIRE_UPLINKS_MAX */
};

/* Punch strategies (DESIGN §5.3), chosen by the server from both NAT
 * classes. */
enum frame_punch_strategy {
	FRAME_PUNCH_RELAY = 0,	 /* no direct attempt: stay on the relay */
	FRAME_PUNCH_DIRECT = 1,	 /* one side is reachable: the other connects */
	FRAME_PUNCH_SIMUL = 2,	 /* both cone: simultaneous probes to mapped endpoints */
	FRAME_PUNCH_SPRAY = 3,	 /* cone + symmetric: 256 sockets meet random probes */
	FRAME_PUNCH_PREDICT = 4, /* symmetric with sequential ports: probe predicted ports */
	FRAME_PUNCH_LAN = 5,	 /* same public IP: local addresses first */
	FRAME_PUNCH_STRATEGY_MAX = FRAME_PUNCH_LAN
};

/* What this client does in an attempt. */
enum frame_punch_role {
	FRAME_PUNCH_ROLE_PROBE = 1, /* probe every candidate address from the main socket */
	FRAME_PUNCH_ROLE_SPRAY = 2, /* open count sockets, each probing candidate 0 */
	FRAME_PUNCH_ROLE_SCAN = 3,  /* probe count random ports of candidate 0's IP */
	/* PREDICT (nat/punch.h), two sequential symmetric NATs: learn our
	 * NAT's next port, swap it with the peer (PATH MAPPING), then make
	 * count new mappings, the k-th towards the peer's k-th predicted port
	 * (PREDICT) or its (2k-1)-th (PREDICT_ODD). */
	FRAME_PUNCH_ROLE_PREDICT = 4,
	FRAME_PUNCH_ROLE_PREDICT_ODD = 5,
	/* PREDICT, a cone NAT and a sequential symmetric one: the symmetric
	 * side learns its NAT's next port, tells the peer, and probes candidate
	 * 0 (one new mapping); the cone side probes the peer's predicted ports
	 * 1..count. */
	FRAME_PUNCH_ROLE_PREDICT_OPEN = 6,
	FRAME_PUNCH_ROLE_PREDICT_SCAN = 7,
	FRAME_PUNCH_ROLE_MAX = FRAME_PUNCH_ROLE_PREDICT_SCAN
};

/* token u64 | peer name | strategy u8 | role u8 | delay_ms u16 | count u16 |
 * n u8 | n x addr (the peer's candidates: mapped address first)
 * [| uplink u8 | peer_uplink u8] (tail as in PATH: the recipient's uplink
 * to punch from and the peer's uplink the candidates belong to).
 * Sent to both clients of a pair at once; each starts delay_ms after it
 * arrives, so both begin at about the same moment. */
struct frame_punch {
	uint64_t token;
	struct frame_name peer;
	uint8_t strategy; /* enum frame_punch_strategy */
	uint8_t role;	  /* enum frame_punch_role */
	uint16_t delay_ms;
	uint16_t count; /* sockets (SPRAY) or probes (SCAN); 0 otherwise */
	uint8_t addr_count;
	struct frame_addr addrs[WIRE_ADDR_MAX];
	uint8_t uplink;
	uint8_t peer_uplink;
};

enum frame_path_kind { FRAME_PATH_KIND_RELAY = 0, FRAME_PATH_KIND_DIRECT = 1 };

/* peer name | kind u8 | rtt_us u32 | loss_ppm u32 | relay_rtt_us u32 |
 * relay_loss_ppm u32. What a client measures on its way to a peer (the path
 * in use, and the relay), sent to the server every keepalive interval and
 * when the path changes, for the API. rtt 0 = not measured; loss in parts
 * per million (0..1000000). */
struct frame_path_stats {
	struct frame_name peer;
	uint8_t kind; /* enum frame_path_kind */
	uint32_t rtt_us;
	uint32_t loss_ppm;
	uint32_t relay_rtt_us;
	uint32_t relay_loss_ppm;
};

#define FRAME_FLOW_STATS_SATURATED 0x01 /* the flow is saturated (congestion reports) */
#define FRAME_FLOW_STATS_MEASURED 0x02	/* capacity_kbps holds an estimate */
#define FRAME_FLOW_STATS_FLAGS_ALL (FRAME_FLOW_STATS_SATURATED | FRAME_FLOW_STATS_MEASURED)

/* flow name | flags u8 | tx_packets u64 | tx_bytes u64 | rx_packets u64 |
 * rx_bytes u64 | drops u64 | capacity_kbps u32 | send_kbps u32 |
 * loss_ppm u32. A client's counters for one flow since it was added
 * (tx: from its local apps into the flow; rx: delivered to them), sent to
 * the server about every second while they change, for the API: on a
 * direct path the server sees none of the traffic. */
struct frame_flow_stats {
	struct frame_name flow;
	uint8_t flags;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t drops;
	uint32_t capacity_kbps;
	uint32_t send_kbps;
	uint32_t loss_ppm; /* 0..1000000 */
};

/* flow_id u32 | interval_us u32 | rx_packets u32 | lost_packets u32 |
 * rx_bytes u64 | rate_bps u64 (receiver's suggested send rate, 0 = none) */
struct frame_cc {
	uint32_t flow_id;
	uint32_t interval_us;
	uint32_t rx_packets;
	uint32_t lost_packets;
	uint64_t rx_bytes;
	uint64_t rate_bps;
};

/* flow_id u32 | echo_seq u32 | echo_hold_us u32. Sent with each FRAME_CC by
 * the receiver of a flow's datagrams: the highest sequence number received
 * from the sender so far and how long ago (receiver's clock) it arrived. The
 * sender, which remembers when it sent that datagram, gets a round-trip
 * sample (now - sent - hold) from it whose growth is the queueing delay on
 * the path; no clock is shared and DATAGRAM carries no timestamp. */
struct frame_cc_echo {
	uint32_t flow_id;
	uint32_t echo_seq;
	uint32_t echo_hold_us;
};

/* mtu u16: the largest IP packet the sender's own links take whole (the
 * smallest route MTU over its uplinks); the peer keeps its stream segments
 * within it. 576..65535. */
#define FRAME_LINK_MTU_MIN 576
struct frame_link_mtu {
	uint16_t mtu;
};

/* flags u8 | retry_ms u32 | holder (addrs: count 0 or 1). The answer to
 * the first packet of a session the server refuses: another process with
 * this client's id and key holds its session (PROTOCOL.md "One identity,
 * two processes"), and this session's keys are already dropped. CHECKING:
 * the server is checking whether that process still answers (a restarted
 * client's predecessor does not); initiate again after retry_ms
 * (FRAME_IN_USE_RETRY_MIN_MS..MAX). holder: where the other process's
 * session runs from, for the operator. */
#define FRAME_IN_USE_CHECKING 0x01
#define FRAME_IN_USE_FLAGS_ALL FRAME_IN_USE_CHECKING
#define FRAME_IN_USE_RETRY_MIN_MS 100u
#define FRAME_IN_USE_RETRY_MAX_MS 600000u
struct frame_in_use {
	uint8_t flags;
	uint32_t retry_ms;
	uint8_t n_holder; /* 0 or 1 */
	struct frame_addr holder[WIRE_ADDR_MAX];
};

enum frame_proto { FRAME_PROTO_UDP = 1, FRAME_PROTO_TCP = 2, FRAME_PROTO_MAX = FRAME_PROTO_TCP };

/* Roles of a flow member (a bit set). */
#define FRAME_ROLE_SOURCE 0x01
#define FRAME_ROLE_SINK 0x02
#define FRAME_ROLES_ALL (FRAME_ROLE_SOURCE | FRAME_ROLE_SINK)

struct frame_member {
	struct frame_name name;
	uint8_t roles; /* FRAME_ROLE_* */
};

/* Route distribution (issue #4). The server sends each client its whole
 * route set, tagged with a generation: one ROUTE per flow the client is in,
 * one FLOW_OPTS after a ROUTE whose flow has non-default options, one PEER
 * per client it shares a flow with, then SYNC with the generation and the
 * number of ROUTE+FLOW_OPTS+PEER frames in the set. The client applies a set
 * only when it has all of them, and acks with SYNC (same generation and
 * count); the server resends the set until acked. Anything the set does not
 * name is gone. */

/* generation u64 | flow_id u32 | flow name | proto u8 | port u16 |
 * listen_port u16 | deliver: family u8 (0 = none) [ip port] | mtu u16 |
 * n u8 | n x (name, roles u8).
 * listen_port: where this client listens for the flow on 127.1.0.1 (0 when
 * it is not a source); deliver: where it delivers as a sink (family 0 when it
 * is not one). members lists every member, this client included. */
struct frame_route {
	uint64_t generation;
	uint32_t flow_id;
	struct frame_name flow;
	uint8_t proto; /* enum frame_proto */
	uint16_t port;
	uint16_t listen_port;
	struct frame_addr deliver; /* family 0: not a sink */
	uint16_t mtu;
	uint8_t member_count;
	struct frame_member members[WIRE_MEMBERS_MAX];
};

/* generation u64 | peer name | key[32] | relay_port u16 [| uplinks u8]
 * relay_port: this client's side of the pair's relay, on the server's
 * primary address. uplinks: bit i set = the peer's uplink i is registered;
 * absent (0) = its main uplink only; written only when not 0 or 1. */
struct frame_peer {
	uint64_t generation;
	struct frame_name peer;
	uint8_t key[WIRE_KEY_LEN];
	uint16_t relay_port;
	uint8_t uplinks;
	uint64_t boot_id; /* the peer process's (its REGISTER's); 0: unknown */
};

/* generation u64 | count u16 | keepalive_s u16
 * keepalive_s: server -> client, how often the client must show signs of
 * life (routes.conf server.keepalive_s); 0 in the client's ack. */
struct frame_sync {
	uint64_t generation;
	uint16_t count;
	uint16_t keepalive_s;
};

#define FRAME_RELAY_BIND_ACK 0x01
/* From the client's control uplink: the relay forwards to this address
 * while it is heard about as lately as any other of the client's
 * (RELAY_PRIMARY_LAG_US), not to whichever was heard last. */
#define FRAME_RELAY_BIND_PRIMARY 0x02

/* peer name | relay_port u16 | flags u8. Sent by a client, inside its session
 * with the server, to the relay port itself: the only way a relay port learns
 * (or, after a NAT rebinding, relearns) the client's address. The server acks
 * from the same port. */
struct frame_relay_bind {
	struct frame_name peer;
	uint16_t relay_port;
	uint8_t flags; /* FRAME_RELAY_BIND_ACK, FRAME_RELAY_BIND_PRIMARY */
};

enum frame_multipath {
	FRAME_MULTIPATH_FAILOVER = 0,
	FRAME_MULTIPATH_REDUNDANT = 1,
	FRAME_MULTIPATH_BALANCE = 2,
	FRAME_MULTIPATH_MAX = FRAME_MULTIPATH_BALANCE
};

#define FRAME_FLOW_OPTS_IMPAIR 0x01   /* the impair fields are set */
#define FRAME_FLOW_OPTS_HAS_SEED 0x02 /* impair.seed was given (needs IMPAIR) */
#define FRAME_FLOW_OPTS_FLAGS_ALL (FRAME_FLOW_OPTS_IMPAIR | FRAME_FLOW_OPTS_HAS_SEED)
#define FRAME_PPB_ONE 1000000000u	   /* probabilities: parts per billion */
#define FRAME_FLOW_OPTS_MS_MAX 60000u	   /* delay_ms, jitter_ms */
#define FRAME_FLOW_OPTS_KBPS_MAX 10000000u /* rate_kbps (10 Gbit/s) */

/* Per-flow options of a route set (issue #9), one after the flow's ROUTE
 * when the flow has any that are not the defaults; counted in SYNC's count.
 * generation u64 | flow_id u32 | multipath u8 | flags u8 |
 * loss_ppb u32 | loss_burst_ppb u32 | corrupt_ppb u32 | duplicate_ppb u32 |
 * reorder_ppb u32 | delay_ms u32 | jitter_ms u32 | rate_kbps u32 | seed u64.
 * Without FRAME_FLOW_OPTS_IMPAIR every impair field is 0. */
struct frame_flow_opts {
	uint64_t generation;
	uint32_t flow_id;
	uint8_t multipath; /* enum frame_multipath */
	uint8_t flags;	   /* FRAME_FLOW_OPTS_* */
	uint32_t loss_ppb; /* each probability 0..FRAME_PPB_ONE */
	uint32_t loss_burst_ppb;
	uint32_t corrupt_ppb;
	uint32_t duplicate_ppb;
	uint32_t reorder_ppb;
	uint32_t delay_ms;  /* 0..FRAME_FLOW_OPTS_MS_MAX */
	uint32_t jitter_ms; /* 0..FRAME_FLOW_OPTS_MS_MAX */
	uint32_t rate_kbps; /* 0 = unlimited, ..FRAME_FLOW_OPTS_KBPS_MAX */
	uint64_t seed;
};

/* client name | version u8 | uplink_id u8 | caps u32 */
struct frame_join {
	struct frame_name client;
	uint8_t version;
	uint8_t uplink_id;
	uint32_t caps;
};

/* The role a FLOW_JOIN asks for. DEFAULT lets the server pick: member for
 * an N:N flow, to (a sink) for a from/to flow. */
enum frame_join_role {
	FRAME_JOIN_ROLE_DEFAULT = 0,
	FRAME_JOIN_ROLE_FROM = 1,
	FRAME_JOIN_ROLE_TO = 2,
	FRAME_JOIN_ROLE_MEMBER = 3,
	FRAME_JOIN_ROLE_MAX = FRAME_JOIN_ROLE_MEMBER
};

/* request_id u32 | flow name | role u8 (enum frame_join_role).
 * Asks the server to add the sending client to a flow that allows it
 * (routes.conf `joinable`); the identity is the session's. */
struct frame_flow_join {
	uint32_t request_id; /* chosen by the client, echoed in the ack */
	struct frame_name flow;
	uint8_t role;
};

/* Answers to FLOW_JOIN. OK and ALREADY are successes. */
enum frame_join_status {
	FRAME_JOIN_OK = 0,	     /* added; routes.conf written */
	FRAME_JOIN_ALREADY = 1,	     /* already in that role; nothing written */
	FRAME_JOIN_NO_FLOW = 2,	     /* no such flow */
	FRAME_JOIN_NOT_JOINABLE = 3, /* the flow's joinable does not allow this client */
	FRAME_JOIN_BAD_ROLE = 4,     /* role does not fit the flow (or a TCP flow's sink) */
	FRAME_JOIN_INVALID = 5,	     /* the edited routes.conf does not validate */
	FRAME_JOIN_RATE_LIMITED = 6, /* too soon after this client's last join */
	FRAME_JOIN_SERVER_ERROR = 7, /* routes.conf could not be read or written */
	FRAME_JOIN_STATUS_MAX = FRAME_JOIN_SERVER_ERROR
};

/* request_id u32 | status u8 | message (len u8 + text, printable ASCII,
 * at most WIRE_JOIN_MSG_MAX bytes): what happened, for people
 * ("joined video as to", "flow \"video\" is not joinable by drone3"). */
struct frame_flow_join_ack {
	uint32_t request_id;
	uint8_t status; /* enum frame_join_status */
	uint8_t msg_len;
	char msg[WIRE_JOIN_MSG_MAX + 1]; /* NUL-terminated */
};

enum frame_natclass {
	FRAME_NAT_UNKNOWN = 0,
	FRAME_NAT_OPEN = 1,
	FRAME_NAT_FULL_CONE = 2,
	FRAME_NAT_RESTRICTED = 3,
	FRAME_NAT_PORT_RESTRICTED = 4,
	FRAME_NAT_SYMMETRIC = 5,
	FRAME_NAT_MAX = FRAME_NAT_SYMMETRIC
};

/* Largest port step a NAT's sequential allocation may report (REGISTER). */
#define WIRE_ALLOC_STEP_MAX 64

/* uplink_id u8 | natclass u8 | n u8 | n x addr (local candidates)
 * [| uplink name [| boot_id u64 [| alloc_step i8]]]. uplink_id 0 registers
 * the client (on its main socket); another id registers one more uplink,
 * sent from that uplink's socket: the server notes the source as that
 * uplink's address. Each tail is written when it or a later one is not the
 * default: the name (the [uplink NAME] of client.ini; len 0 = none), the
 * process's boot id, and the port step between new mappings when the NAT
 * allocates them sequentially (0: not sequential, or not known). */
struct frame_register {
	uint8_t uplink_id; /* < WIRE_UPLINKS_MAX */
	uint8_t natclass;  /* enum frame_natclass */
	uint8_t addr_count;
	struct frame_addr addrs[WIRE_ADDR_MAX];
	struct frame_name name; /* len 0: none */
	uint64_t boot_id;	/* random per client process; 0: none */
	int8_t alloc_step;	/* -WIRE_ALLOC_STEP_MAX..WIRE_ALLOC_STEP_MAX */
};

struct frame {
	enum frame_type type;
	union {
		struct frame_datagram datagram;
		struct frame_stream stream;
		struct frame_stream_ack stream_ack;
		struct frame_ping ping;
		struct frame_pong pong;
		struct frame_path path;
		struct frame_punch punch;
		struct frame_cc cc;
		struct frame_cc_echo cc_echo;
		struct frame_link_mtu link_mtu;
		struct frame_in_use in_use;
		struct frame_path_stats path_stats;
		struct frame_flow_stats flow_stats;
		struct frame_flow_opts flow_opts;
		struct frame_route route;
		struct frame_join join;
		struct frame_register reg;
		struct frame_peer peer;
		struct frame_sync sync;
		struct frame_relay_bind relay_bind;
		struct frame_flow_join flow_join;
		struct frame_flow_join_ack flow_join_ack;
	} u;
};

/* Reads the frames of one decrypted packet (borrowed buffer). */
struct frame_reader {
	struct wire_reader r;
	uint32_t skipped; /* unknown or padding frames skipped so far */
};

void frame_reader_init(struct frame_reader *fr, const uint8_t *buf, size_t len);

/* Decode the next known frame into *f, skipping unknown types and padding.
 * Returns 1 with *f filled, 0 at the end of the packet, or -EPROTO if the
 * packet is malformed (the reader then stays failed: drop the rest). */
WH_MUST_CHECK int frame_read_next(struct frame_reader *fr, struct frame *f);

/* Check a decoded or to-be-written frame: 0 or -EINVAL. */
WH_MUST_CHECK int frame_validate(const struct frame *f);

/* Encoded size of f including its 3-byte header; 0 if f->type is unknown.
 * Lets the sender size a packet before encrypting. */
size_t frame_size(const struct frame *f);

/* Validate and append f to w. Returns 0, -EINVAL (invalid frame or value over
 * 65535 bytes) or -ENOSPC (w is full; w->err is then set). */
WH_MUST_CHECK int frame_write(struct wire_writer *w, const struct frame *f);

/* Append a padding frame of total size len (>= WIRE_FRAME_HEADER_LEN). */
WH_MUST_CHECK int frame_write_padding(struct wire_writer *w, size_t len);

/* Set a's message from printf-style text, cut at WIRE_JOIN_MSG_MAX bytes;
 * characters outside printable ASCII become '?'. */
void frame_join_ack_set_msg(struct frame_flow_join_ack *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True if s[0..len) is a valid name: [A-Za-z0-9][A-Za-z0-9_.-]{0,31}. */
bool frame_name_valid(const char *s, size_t len);

/* Set n from a NUL-terminated string. Returns 0 or -EINVAL (invalid name). */
WH_MUST_CHECK int frame_name_set(struct frame_name *n, const char *s);

#endif
