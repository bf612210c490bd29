/* linkmtu: the size of the stream segments a client sends, from its links'
 * MTU. A sealed full-size segment is WIRE_MAX_PACKET (1452) bytes of UDP: a
 * 1480-byte IPv4 packet. A modem or tunnel link with a smaller MTU (LTE
 * often has 1428 or less) made the kernel fragment every one of them: twice
 * the packets, a datagram lost with either fragment, and some carrier NATs
 * drop fragments outright. The client asks the kernel for the route MTU
 * towards the server from each open uplink (a connected UDP socket's
 * IP_MTU / IPV6_MTU: the interface's MTU, or a smaller one learnt from
 * ICMP) and keeps stream segments within the smallest, whichever path a
 * stream takes. Only this client's own links are known: a narrower link
 * further on (the peer's) still fragments what we send. */
#ifndef WH_LINKMTU_H
#define WH_LINKMTU_H

#include <stdint.h>

struct client;

/* The stream segment size whose sealed packet fits an MTU of mtu bytes for
 * family (AF_INET, AF_INET6): at most RSTREAM_MSS, at least
 * RSTREAM_MSS_MIN. */
uint32_t linkmtu_mss_for(int family, unsigned mtu);

/* Measure every open uplink's route MTU to the server and set
 * cl->stream_mss (RSTREAM_MSS when nothing is known); log a change. Opens
 * and closes a socket per uplink; sends nothing. */
void linkmtu_refresh(struct client *cl);

#endif
