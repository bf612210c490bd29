/* client: owns the client daemon's state and its loop (DESIGN §1, §8): the
 * identity from client.ini, the static key, the main socket, the server
 * connection, the NAT watch, the peers and the flows, built in order and
 * torn down in reverse. Protocol work lives in srvconn.c, uplink.c, natwatch.c,
 * peer.c, flow_udp.c and inbound.c; this file only wires them together. */
#include "client.h"

#include "client/flow_tcp.h"
#include "client/flow_udp.h"
#include "client/flowstats.h"
#include "client/inbound.h"
#include "client/localapi.h"
#include "client/peer.h"
#include "common/addr.h"
#include "common/b64key.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/client_ini.h"
#include "nat/nat64.h"
#include "proto/frameaddr.h"
#include "proto/rstream.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>

static void stop_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("client: signal %d, stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

/* An uplink after the first may open a socket of family (uplink_family):
 * one bound to an interface, or to a source address of that family. */
static bool is_family_of_an_uplink(const struct client_ini *ini, int family)
{
	for (size_t i = 1; i < ini->n_uplinks; i++) {
		if (ini->uplinks[i].has_interface || ini->uplinks[i].source.ss_family == family) {
			return true;
		}
	}
	return false;
}

/* Our static key pair in guarded memory, the cookie checker for it. */
static int init_keys(struct client *cl, struct diag *d)
{
	char fp[B64KEY_FINGERPRINT_MAX];

	cl->self = sodium_malloc(sizeof(*cl->self));
	if (!cl->self) {
		diag_set(d, cl->ini->path, 0, "out of memory for the key");
		return -ENOMEM;
	}
	if (noise_keypair_from_private(cl->self, cl->ini->key) != 0) {
		diag_set(d, cl->ini->path, 0, "the private key is not usable");
		return -EINVAL;
	}
	if (cookie_checker_init(&cl->cookies, cl->self->pub) != 0) {
		diag_set(d, cl->ini->path, 0, "cannot derive the cookie keys");
		return -EIO;
	}
	b64key_fingerprint(cl->self->pub, fp);
	log_info("client %s: key %s…, %zu server address(es), %zu uplink(s)", cl->ini->id, fp,
		 cl->ini->n_servers, cl->ini->n_uplinks);
	for (size_t i = 0; i < cl->ini->n_servers; i++) {
		char text[ADDR_TEXT_MAX];

		if (!cl->ini->server_names[i][0] &&
		    cl->ini->servers[i].ss_family != cl->ini->family &&
		    !is_family_of_an_uplink(cl->ini, cl->ini->servers[i].ss_family)) {
			log_warn(
				"%s: server %s is not used: the client's sockets take the first "
				"address's family (IPv%c), and no other uplink may take its family",
				cl->ini->path,
				addr_format((const struct sockaddr *)&cl->ini->servers[i], text,
					    sizeof(text)),
				cl->ini->family == AF_INET6 ? '6' : '4');
		}
	}
	return 0;
}

int client_init(struct client *cl, struct ev_loop *loop, const char *ini_path, struct diag *d)
{
	int rc;

	memset(cl, 0, sizeof(*cl));
	cl->loop = loop;
	cl->ms.fd = -1;
	cl->stream_mss = RSTREAM_MSS;
	cl->started_us = monotime_now_us();
	do {
		randombytes_buf(&cl->boot_id, sizeof(cl->boot_id));
	} while (cl->boot_id == 0);
	stamp_init(&cl->stamp);
	srvaddr_init(&cl->sa);
	srvconn_init(&cl->srv);
	netwatch_init(&cl->nw);
	joinwait_init(&cl->jw);
	flowstats_init(&cl->fs);
	ev_signal_init(&cl->sigint_watch, stop_signal_cb, SIGINT);
	ev_signal_init(&cl->sigterm_watch, stop_signal_cb, SIGTERM);
	cl->ini = client_ini_load(ini_path, d);
	if (!cl->ini) {
		return -EINVAL;
	}
	cl->family = cl->ini->family;
	if (cl->ini->is_key_exposed) {
		log_warn("config %s: %s can be read by other users (chmod 600 it)", ini_path,
			 cl->ini->has_key_file ? "key file" : "this file holding the private key");
	}
	rc = init_keys(cl, d);
	if (rc != 0) {
		return rc;
	}
	if (idxmap_init(&cl->idx) != 0 || udpio_rx_init(&cl->rx, true) != 0 ||
	    routeintake_init(&cl->rs) != 0) {
		diag_set(d, ini_path, 0, "out of memory");
		return -ENOMEM;
	}
	uplink_init_all(cl);
	return mainsock_init(&cl->ms, loop, cl->ini, &cl->rx, inbound_on_datagram, d);
}

void client_run(struct client *cl)
{
	struct diag d;

	diag_clear(&d);
	ev_signal_start(cl->loop, &cl->sigint_watch);
	ev_signal_start(cl->loop, &cl->sigterm_watch);
	mainsock_start(&cl->ms);
	if (srvaddr_start(cl, &d) != 0) {
		log_error("client %s: %s", cl->ini->id, d.msg);
		return;
	}
	uplink_start_all(cl);
	if (srvconn_start(cl) != 0) {
		log_error("client %s: out of memory for the server session", cl->ini->id);
		return;
	}
	netwatch_start(cl);
	localapi_start(cl);
	flowstats_start(cl);
	log_info("client %s: running", cl->ini->id);
	ev_run(cl->loop, 0);
	/* Stopped by a signal: the server frees our identity at once. */
	srvconn_leave(cl, monotime_now_us());
	mainsock_flush(&cl->ms);
}

static void log_counters(const struct client *cl)
{
	log_debug("client %s: server_tx=%llu server_rx=%llu reconnects=%llu drop_demux=%llu "
		  "drop_stun=%llu drop_bad_mac=%llu drop_no_owner=%llu drop_auth=%llu "
		  "drop_frames=%llu rx_truncated=%llu txq_full=%llu send_errors=%llu",
		  cl->ini->id, (unsigned long long)cl->srv.tx_packets,
		  (unsigned long long)cl->srv.rx_packets, (unsigned long long)cl->srv.reconnects,
		  (unsigned long long)cl->drop_demux, (unsigned long long)cl->drop_stun,
		  (unsigned long long)cl->drop_bad_mac, (unsigned long long)cl->drop_no_owner,
		  (unsigned long long)cl->drop_auth, (unsigned long long)cl->drop_frames,
		  (unsigned long long)cl->ms.rx_truncated,
		  (unsigned long long)cl->ms.txq.dropped_full,
		  (unsigned long long)cl->ms.txq.send_errors);
}

void client_fini(struct client *cl)
{
	if (cl->loop) {
		ev_signal_stop(cl->loop, &cl->sigint_watch);
		ev_signal_stop(cl->loop, &cl->sigterm_watch);
	}
	if (cl->ini) {
		log_counters(cl);
	}
	/* Joins in flight hold local API requests: answer them first. */
	joinwait_fini(cl);
	/* The local API reads all of the below: its threads end first. */
	localapi_stop(cl);
	flowstats_stop(cl);
	/* Flows borrow peers, peers use the server session: free in that order,
	 * before the index table and the socket they use. */
	flow_tcp_free_all(cl);
	flow_udp_free_all(cl);
	peer_free_all(cl);
	netwatch_fini(cl);
	uplink_fini_all(cl);
	srvconn_fini(cl);
	srvaddr_fini(cl);
	mainsock_fini(&cl->ms);
	routeintake_fini(&cl->rs);
	udpio_rx_fini(&cl->rx);
	idxmap_fini(&cl->idx);
	if (cl->self) {
		cookie_checker_fini(&cl->cookies);
		sodium_free(cl->self); /* sodium_free wipes it */
		cl->self = NULL;
	}
	client_ini_free(cl->ini);
	cl->ini = NULL;
}

const struct sockaddr_storage *client_server_addr(const struct client *cl)
{
	const struct sockaddr_storage *a =
		srvaddr_addr_of(cl, cl->srv.server_i, uplink_family(cl, cl->ctl));

	return a ? a : &cl->sa.addrs[cl->srv.server_i];
}

/* The relay's ports are bound on every server address: use the one the
 * session runs through. */
void client_relay_addr(const struct client *cl, uint16_t port, struct sockaddr_storage *out)
{
	*out = *client_server_addr(cl);
	addr_set_port(out, port);
}

void client_relay_addr_of(const struct client *cl, int family, uint16_t port,
			  struct sockaddr_storage *out)
{
	const struct sockaddr_storage *a = srvaddr_for_family(cl, cl->srv.server_i, family);

	memset(out, 0, sizeof(*out));
	if (a) {
		*out = *a;
		addr_set_port(out, port);
	}
}

void client_peer_addr(const struct client *cl, uint8_t uplink, const struct frame_addr *a,
		      struct sockaddr_storage *out)
{
	struct sockaddr_storage ss;

	frameaddr_to_sockaddr(a, &ss);
	nat64_reach(&cl->sa.pref64, uplink_family(cl, uplink), &ss, out);
}
