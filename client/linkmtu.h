/* linkmtu: the size of the stream segments a client sends, from its links'
 * MTU. A sealed full-size segment is WIRE_MAX_PACKET (1452) bytes of UDP: a
 * 1480-byte IPv4 packet. A modem or tunnel link with a smaller MTU (LTE
 * often has 1428 or less) made the kernel fragment every one of them: twice
 * the packets, a datagram lost with either fragment, and some carrier NATs
 * drop fragments outright. The client asks the kernel for the route MTU
 * towards the server from each open uplink (a connected UDP socket's
 * IP_MTU / IPV6_MTU: the interface's MTU, or a smaller one learnt from
 * ICMP) and keeps stream segments within the smallest, whichever path a
 * stream takes. Each client also tells its peers its smallest link MTU
 * (FRAME_LINK_MTU, end to end in the peer session, when the session comes
 * up and when it changes), and a stream towards a peer keeps within the
 * peer's links too, and on the relay path within the server's links (the
 * server sends its MTU after each REGISTER). A narrower link in between is
 * not known: a router fragments what does not fit it. */
#ifndef WH_LINKMTU_H
#define WH_LINKMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;
struct direct_path;
struct frame_link_mtu;
struct pmtu;
struct peer;

/* The stream segment size whose sealed packet fits an MTU of mtu bytes for
 * family (AF_INET, AF_INET6): at most RSTREAM_MSS, at least
 * RSTREAM_MSS_MIN. */
uint32_t linkmtu_mss_for(int family, unsigned mtu);

/* Measure every open uplink's route MTU to the server and set
 * cl->link_mtu and cl->stream_mss (RSTREAM_MSS when nothing is known); log
 * a change, and tell the peers. Opens and closes a socket per uplink. */
void linkmtu_refresh(struct client *cl);

/* Tell p our link MTU (once its session is up, when known). */
void linkmtu_tell_peer(struct peer *p, uint64_t now_us);
/* p told us its link MTU. Ours goes back unless it went out less than
 * LINKMTU_ANSWER_GAP_US ago: a peer that restarted, or whose copy of ours
 * was lost, learns it, and two peers never answer each other in a loop. */
#define LINKMTU_ANSWER_GAP_US 5000000ull
void linkmtu_on_frame(struct peer *p, const struct frame_link_mtu *m, uint64_t now_us);
/* A stream with p is open: tell p our link MTU again if that was
 * LINKMTU_RETELL_US ago (a lost one is made good while it matters). */
#define LINKMTU_RETELL_US 30000000ull
void linkmtu_keep_told(struct peer *p, uint64_t now_us);
/* The server told its own links' MTU: the relay forwards through them. */
void linkmtu_on_relay(struct client *cl, const struct frame_link_mtu *m);
/* The segment size for streams to p: within our links and p's, and the
 * server's while p is reached through the relay. */
uint32_t linkmtu_peer_mss(const struct peer *p, uint64_t now_us);

/* Path MTU probing (nat/pmtu.h). linkmtu_peer_mss is the full size only
 * when the path a stream to p takes (direct_failover_path, else the relay)
 * has answered a PING padded to a packet of that size. Until then, or
 * after one was lost PMTU_MAX_PROBES times in a row, streams to p send
 * segments of the base size (packets of PMTU_BASE_MTU bytes, IP included):
 * a narrower link in the middle that drops larger packets without an ICMP
 * error, or a middlebox that drops fragments, does not stall them. A path
 * found dropping them bumps p->mtu_drops: streams resend what they had in
 * flight, cut to the base size. */
/* Probe work of direct path s (up) / of the relay path (by the control
 * uplink): send what is due, time out what was lost. Return the next
 * deadline. */
uint64_t linkmtu_probe_direct(struct peer *p, struct direct_path *s, uint64_t now_us);
uint64_t linkmtu_probe_relay(struct peer *p, uint64_t now_us);
/* A stream to p timed out: probe its paths that carry full-size packets
 * at their next timer pass (within a ping interval), not at their next
 * confirmation (pmtu_suspect). */
void linkmtu_suspect(struct peer *p, uint64_t now_us);
/* What status shows of path pm's probes: "searching", "full" or "base"
 * (pmtu_state_name); NULL when the links allow no more than the base size
 * (nothing is probed). */
const char *linkmtu_probe_text(const struct peer *p, const struct pmtu *pm, bool is_relay);
/* The largest app datagram (DATAGRAM payload) a base-size packet carries:
 * what gets through a path that drops full-size packets. */
size_t linkmtu_base_payload(const struct client *cl);
/* A path datagrams of multipath mode take to p was found dropping
 * full-size packets (probes in state "base": failover's path or the relay;
 * with balance, any direct path up). */
bool linkmtu_is_narrow(const struct peer *p, uint8_t mode, uint64_t now_us);
/* A PONG answered probe id (pmtu_is_probe_id) of path pm. */
void linkmtu_on_probe_answer(struct peer *p, struct pmtu *pm, uint32_t id, uint64_t now_us);

#endif
