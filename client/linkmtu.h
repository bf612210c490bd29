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

#include <stdint.h>

struct client;
struct frame_link_mtu;
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
uint32_t linkmtu_peer_mss(const struct peer *p);

#endif
