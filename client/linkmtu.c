/* linkmtu: route MTU per uplink -> stream segment size (linkmtu.h). */
#include "client/linkmtu.h"

#include "client/client.h"
#include "client/mainsock.h"
#include "client/srvaddr.h"
#include "client/uplink.h"
#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "config/client_ini.h"
#include "proto/rstream.h"
#include "proto/wire_const.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

uint32_t linkmtu_mss_for(int family, unsigned mtu)
{
	unsigned hdr = (family == AF_INET6 ? 40u : 20u) + 8u; /* IP and UDP */
	unsigned over = hdr + WIRE_TRANSPORT_MIN_LEN + RSTREAM_FRAME_OVERHEAD;

	if (mtu < over + RSTREAM_MSS_MIN) {
		return RSTREAM_MSS_MIN;
	}
	return mtu - over < RSTREAM_MSS ? mtu - over : RSTREAM_MSS;
}

/* The route MTU from uplink u's address or interface to dst, or 0. */
static unsigned route_mtu(const struct client *cl, uint8_t u, const struct sockaddr_storage *dst)
{
	struct diag d;
	int fd, mtu = 0;
	socklen_t len = sizeof(mtu);

	diag_clear(&d);
	fd = mainsock_open_fd(cl->ini, u, &d);
	if (fd < 0) {
		return 0;
	}
	if (connect(fd, (const struct sockaddr *)dst, addr_len(dst)) != 0 ||
	    getsockopt(fd, dst->ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       dst->ss_family == AF_INET6 ? IPV6_MTU : IP_MTU, &mtu, &len) != 0 ||
	    mtu < 0) {
		mtu = 0;
	}
	close(fd);
	return (unsigned)mtu;
}

void linkmtu_refresh(struct client *cl)
{
	const struct sockaddr_storage *dst = client_server_addr(cl);
	uint32_t mss = RSTREAM_MSS;
	unsigned least = 0;
	uint8_t at = 0;

	if (!srvaddr_is_usable(cl, cl->srv.server_i)) {
		return;
	}
	for (uint8_t u = 0; u < cl->n_up; u++) {
		unsigned mtu = uplink_is_open(cl, u) ? route_mtu(cl, u, dst) : 0;

		if (mtu != 0 && linkmtu_mss_for(dst->ss_family, mtu) < mss) {
			mss = linkmtu_mss_for(dst->ss_family, mtu);
			least = mtu;
			at = u;
		}
	}
	if (mss == cl->stream_mss) {
		return;
	}
	if (least != 0) {
		log_info(
			"link mtu: %u bytes on uplink %s: stream segments of %u bytes (was %u), so "
			"that packets leave unfragmented",
			least, uplink_label(cl, at), (unsigned)mss, (unsigned)cl->stream_mss);
	} else {
		log_info("link mtu: stream segments of %u bytes again (was %u)", (unsigned)mss,
			 (unsigned)cl->stream_mss);
	}
	cl->stream_mss = mss;
}
