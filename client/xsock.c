/* xsock: extra sockets for punching (see xsock.h). */
#include "client/xsock.h"

#include "client/client.h"
#include "client/inbound.h"
#include "client/mainsock.h"
#include "common/diag.h"
#include "common/monotime.h"
#include "common/udpio.h"

#include <stdlib.h>
#include <unistd.h>

static void readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xsock *xs = container_of(w, struct xsock, io);
	struct client *cl = xs->cl;
	uint64_t now_us = monotime_now_us();
	struct udpio_dgram d;

	(void)loop;
	(void)revents;
	if (udpio_rx_batch(&cl->rx, xs->fd) <= 0) {
		return;
	}
	while (udpio_rx_next(&cl->rx, &d)) {
		if (d.is_truncated) {
			continue;
		}
		bool alive = true;

		/* The handler may close extra sockets (a winner is kept, the
		 * others go), maybe this one: then the batch ends here. */
		xs->alive = &alive;
		inbound_dispatch(cl, xs->fd, d.data, d.len, d.from, now_us);
		if (!alive) {
			return;
		}
		xs->alive = NULL;
	}
}

struct xsock *xsock_open(struct client *cl, uint8_t uplink, struct diag *d)
{
	struct xsock *xs = calloc(1, sizeof(*xs));
	int fd;

	if (!xs) {
		diag_set(d, NULL, 0, "out of memory");
		return NULL;
	}
	fd = mainsock_open_fd(cl->ini, uplink_family(cl, uplink), uplink, d);
	if (fd < 0) {
		free(xs);
		return NULL;
	}
	xs->cl = cl;
	xs->fd = fd;
	(void)udpio_enable_gro(fd); /* read through the client's GRO rx */
	ev_io_init(&xs->io, readable_cb, fd, EV_READ);
	ev_io_start(cl->loop, &xs->io);
	return xs;
}

void xsock_close(struct xsock *xs)
{
	if (!xs) {
		return;
	}
	if (xs->alive) {
		*xs->alive = false;
	}
	ev_io_stop(xs->cl->loop, &xs->io);
	mainsock_forget_fd(&xs->cl->ms, xs->fd);
	close(xs->fd);
	free(xs);
}
