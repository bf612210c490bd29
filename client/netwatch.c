/* netwatch: act on address, link and route changes (see netwatch.h). */
#include "client/netwatch.h"

#include "client/client.h"
#include "client/srvconn.h"
#include "client/uplink.h"
#include "common/compiler.h"
#include "common/log.h"
#include "common/monotime.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads per callback: a burst larger than this waits for the next loop pass. */
#define NETWATCH_READS_MAX 16

void netwatch_init(struct netwatch *nw)
{
	memset(nw, 0, sizeof(*nw));
	nw->fd = -1;
}

static void kick(struct client *cl, uint64_t now_us)
{
	struct netwatch *nw = &cl->nw;

	nw->last_kick_us = now_us;
	nw->kicks++;
	/* With a session this is routine (an IPv6 router advertisement
	 * refreshes the default route every few minutes): debug only. */
	if (srvconn_is_up(cl)) {
		log_debug("network: addresses or routes changed: pinging the server, checking "
			  "the NAT mapping");
	} else {
		log_info("network: addresses or routes changed: connecting to the server now, "
			 "checking the NAT mapping");
	}
	srvconn_on_network_change(cl, now_us);
	for (size_t i = 0; i < cl->n_up; i++) {
		if (uplink_is_open(cl, (uint8_t)i)) {
			natwatch_probe_now(&cl->up[i].nw, now_us);
		}
	}
}

static void settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct netwatch *nw = container_of(w, struct netwatch, settle);
	struct client *cl = container_of(nw, struct client, nw);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	ev_timer_stop(cl->loop, &nw->settle);
	if (nw->last_kick_us != 0 && now_us < nw->last_kick_us + NETWATCH_KICK_GAP_US) {
		ev_timer_set(&nw->settle,
			     (double)(nw->last_kick_us + NETWATCH_KICK_GAP_US - now_us) / 1e6, 0.);
		ev_timer_start(cl->loop, &nw->settle);
		return;
	}
	kick(cl, now_us);
}

/* True for the messages that can change how we reach the server. */
static bool is_relevant(uint16_t type)
{
	return type == RTM_NEWADDR || type == RTM_DELADDR || type == RTM_NEWROUTE ||
	       type == RTM_DELROUTE || type == RTM_NEWLINK || type == RTM_DELLINK;
}

static void readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct netwatch *nw = container_of(w, struct netwatch, io);
	char buf[8192] __attribute__((aligned(__alignof__(struct nlmsghdr))));
	bool is_changed = false;

	(void)revents;
	for (int round = 0; round < NETWATCH_READS_MAX; round++) {
		ssize_t n = recv(nw->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == ENOBUFS) {
			is_changed = true; /* the kernel dropped some: something changed */
			continue;
		}
		if (n <= 0) {
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (is_relevant(h->nlmsg_type)) {
				nw->events++;
				is_changed = true;
			}
		}
	}
	if (is_changed) {
		ev_timer_stop(loop, &nw->settle);
		ev_timer_set(&nw->settle, NETWATCH_SETTLE_US / 1e6, 0.);
		ev_timer_start(loop, &nw->settle);
	}
}

void netwatch_start(struct client *cl)
{
	struct netwatch *nw = &cl->nw;
	struct sockaddr_nl sa;

	nw->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nw->fd < 0) {
		log_debug("network: no rtnetlink (%s): changes are noticed on timers only",
			  strerror(errno));
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR |
		       RTMGRP_IPV6_ROUTE;
	if (bind(nw->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		log_debug("network: rtnetlink bind: %s: changes are noticed on timers only",
			  strerror(errno));
		close(nw->fd);
		nw->fd = -1;
		return;
	}
	ev_io_init(&nw->io, readable_cb, nw->fd, EV_READ);
	ev_timer_init(&nw->settle, settle_cb, NETWATCH_SETTLE_US / 1e6, 0.);
	ev_io_start(cl->loop, &nw->io);
}

void netwatch_fini(struct client *cl)
{
	struct netwatch *nw = &cl->nw;

	if (nw->fd < 0) {
		return;
	}
	ev_io_stop(cl->loop, &nw->io);
	ev_timer_stop(cl->loop, &nw->settle);
	close(nw->fd);
	nw->fd = -1;
}
