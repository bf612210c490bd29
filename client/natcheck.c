/* natcheck: drive the nat/natclass engine from a real socket with poll(),
 * for the one-shot `wormhole-client natcheck` command (one classification per
 * uplink, in turn). The engine decides what to send and when; this file only
 * moves datagrams and keeps time, and prints the results. */
#include "natcheck.h"

#include "client/mainsock.h"
#include "client/resolver.h"

#include "common/addr.h"
#include "common/cliopt.h"
#include "common/diag.h"
#include "common/monotime.h"
#include "common/udpio.h"
#include "config/client_ini.h"
#include "nat/natclass.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void natcheck_local_addrs(int fd, struct natclass_params *p)
{
	struct sockaddr_storage self;
	socklen_t len;
	struct ifaddrs *ifs = NULL;
	uint16_t port;

	if (udpio_local_addr(fd, &self, &len) != 0) {
		return;
	}
	port = addr_port((struct sockaddr *)&self);
	if (self.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&self)->sin_addr.s_addr != htonl(INADDR_ANY)) {
		p->local[p->n_local++] = self;
		return;
	}
	if (getifaddrs(&ifs) != 0) {
		return;
	}
	for (struct ifaddrs *i = ifs; i && p->n_local < NATCLASS_LOCAL_MAX; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != self.ss_family) {
			continue;
		}
		struct sockaddr_storage a;
		memset(&a, 0, sizeof(a));
		memcpy(&a, i->ifa_addr, addr_len((struct sockaddr_storage *)(void *)i->ifa_addr));
		addr_set_port(&a, port);
		p->local[p->n_local++] = a;
	}
	freeifaddrs(ifs);
}

/* Wait for one datagram or until wake_us; feed it to the engine. */
static void wait_and_feed(struct natclass *nc, int fd, uint64_t wake_us)
{
	uint8_t buf[UDPIO_BUF_SIZE];
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	uint64_t now_us = monotime_now_us();
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int timeout_ms = wake_us > now_us ? (int)((wake_us - now_us + 999) / 1000) : 0;

	if (poll(&pfd, 1, timeout_ms) <= 0) {
		return;
	}
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
	if (n > 0) {
		natclass_on_packet(nc, monotime_now_us(), buf, (size_t)n, (struct sockaddr *)&from);
	}
}

static int drive(struct natclass *nc, int fd, struct natclass_result *res, struct diag *d)
{
	struct natclass_send send;
	/* The engine bounds its own run; this bound only guards against a bug. */
	uint64_t deadline_us = monotime_now_us() + NATCLASS_MAX_RUN_US + 2000000u;

	for (unsigned steps = 0; steps < 100000; steps++) {
		uint64_t now_us = monotime_now_us();
		if (now_us > deadline_us) {
			break;
		}
		switch (natclass_next(nc, now_us, &send)) {
		case NATCLASS_SEND:
			/* A refused send is like a lost one: the engine retries or gives up. */
			(void)sendto(fd, send.buf, send.len, 0, (struct sockaddr *)&send.to,
				     addr_len(&send.to));
			break;
		case NATCLASS_WAIT:
			wait_and_feed(nc, fd, send.wake_us);
			break;
		case NATCLASS_DONE:
			return natclass_get_result(nc, res);
		}
	}
	diag_set(d, NULL, 0, "natcheck: classification did not finish in time");
	return -ETIMEDOUT;
}

int natcheck_run(const struct client_ini *ini, size_t uplink, const struct sockaddr_storage *server,
		 const struct nat64_prefix *pref64, struct natclass_result *res, struct diag *d)
{
	struct natclass_params p;
	struct natclass *nc = NULL;
	int fd, err;

	memset(&p, 0, sizeof(p));
	p.server = *server;
	if (pref64) {
		p.pref64 = *pref64;
	}
	fd = mainsock_open_fd(ini, server->ss_family, uplink, d);
	if (fd < 0) {
		return fd;
	}
	natcheck_local_addrs(fd, &p);
	randombytes_buf(p.seed, sizeof(p.seed));
	err = natclass_new(&p, monotime_now_us(), &nc);
	if (err != 0) {
		diag_set(d, NULL, 0, "natcheck: cannot start: %s", strerror(-err));
		close(fd);
		return err;
	}
	err = drive(nc, fd, res, d);
	natclass_free(nc);
	close(fd);
	return err;
}

/* The family uplink's socket takes: its source address's, else the client's
 * (AF_UNSPEC when nothing fixes it: the server's names decide). */
static int uplink_family(const struct client_ini *ini, size_t uplink)
{
	if (uplink < ini->n_uplinks && !ini->uplinks[uplink].has_interface) {
		return ini->uplinks[uplink].source.ss_family;
	}
	return ini->is_family_auto ? AF_UNSPEC : ini->family;
}

/* The ini's server address i for uplink, looked up here and now when it is
 * a name (a one-shot command may block); with no family fixed, to an
 * address of either that has a route. False (said on stderr when the lookup
 * failed) when there is none of the uplink's family. */
static bool server_address(const struct client_ini *ini, size_t i, size_t uplink,
			   struct sockaddr_storage *server)
{
	int family = uplink_family(ini, uplink);

	*server = ini->servers[i];
	if (ini->server_names[i][0]) {
		int rc = resolver_lookup(ini->server_names[i], ini->server_ports[i], family,
					 ini->family, client_ini_interface(ini, uplink), NULL,
					 server, NULL, NULL);

		if (rc != 0) {
			fprintf(stderr, "wormhole-client: natcheck: cannot resolve %s:%u: %s\n",
				ini->server_names[i], (unsigned)ini->server_ports[i],
				gai_strerror(rc));
			return false;
		}
	}
	return server->ss_family == family || family == AF_UNSPEC;
}

/* Classify uplink's NAT: each server address of its family in turn, until
 * one answers ("udp-blocked" from a dead first address says nothing).
 * n64 is the NAT64 prefix, looked up once for all uplinks. Returns 0 with
 * *res filled, or a negative errno with d set. */
static int check_uplink(const struct client_ini *ini, size_t uplink, struct resolver_nat64 *n64,
			bool *has_n64, struct natclass_result *res, struct diag *d)
{
	bool has_run = false;

	for (size_t i = 0; i < ini->n_servers; i++) {
		struct sockaddr_storage server;
		int err;

		if (!server_address(ini, i, uplink, &server)) {
			continue;
		}
		if (ini->is_family_auto && server.ss_family == AF_INET6 && !*has_n64) {
			resolver_lookup_nat64(n64); /* as the daemon: an IPv6-only network */
			*has_n64 = true;
		}
		has_run = true;
		diag_clear(d);
		err = natcheck_run(ini, uplink, &server, &n64->prefix, res, d);
		if (err != 0) {
			return err;
		}
		if (res->type != NATCLASS_UDP_BLOCKED) {
			break;
		}
	}
	if (!has_run) {
		diag_set(d, NULL, 0, "natcheck: no server address to ask");
		return -EDESTADDRREQ;
	}
	return 0;
}

static int print_result(const struct natclass_result *res, bool is_json)
{
	char out[NATCLASS_TEXT_MAX > NATCLASS_JSON_MAX ? NATCLASS_TEXT_MAX : NATCLASS_JSON_MAX];
	int err = is_json ? natclass_result_format_json(res, out, sizeof(out))
			  : natclass_result_format_text(res, out, sizeof(out));

	if (err != 0) {
		fprintf(stderr, "wormhole-client: natcheck: result does not fit\n");
		return CLIOPT_EXIT_FAILURE;
	}
	fputs(out, stdout);
	if (out[0] && out[strlen(out) - 1] != '\n') {
		fputc('\n', stdout);
	}
	return CLIOPT_EXIT_OK;
}

/* s as the inside of a JSON string: diag text is one line of UTF-8 whose
 * control characters are already \xHH, so only '"' and '\\' need escaping. */
static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			putchar('\\');
		}
		putchar(*s);
	}
	putchar('"');
}

/* What one uplink's check found. */
struct uplink_check {
	struct natclass_result res;
	struct diag d;
	bool is_ok;
};

/* Several uplinks, text: a block per uplink, its name first. */
static int print_text_blocks(const struct client_ini *ini, const struct uplink_check *uc)
{
	char out[NATCLASS_TEXT_MAX], line[1024];

	for (size_t u = 0; u < ini->n_uplinks; u++) {
		printf("%suplink %s:\n", u > 0 ? "\n" : "", ini->uplinks[u].name);
		if (!uc[u].is_ok) {
			printf("  error: %s\n", diag_format(&uc[u].d, line, sizeof(line)));
			continue;
		}
		if (natclass_result_format_text(&uc[u].res, out, sizeof(out)) != 0) {
			fprintf(stderr, "wormhole-client: natcheck: result does not fit\n");
			return CLIOPT_EXIT_FAILURE;
		}
		for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
			printf("  %s\n", l);
		}
	}
	return CLIOPT_EXIT_OK;
}

/* Several uplinks, JSON: the first classified uplink's fields at the top (as
 * with one), and "uplinks": one object per uplink, its "name" and the same
 * fields, or "error". Nothing when no uplink was classified. */
static int print_json_uplinks(const struct client_ini *ini, const struct uplink_check *uc)
{
	char out[NATCLASS_JSON_MAX], line[1024];
	size_t first = ini->n_uplinks;

	for (size_t u = ini->n_uplinks; u-- > 0;) {
		first = uc[u].is_ok ? u : first;
	}
	if (first == ini->n_uplinks) {
		return CLIOPT_EXIT_OK;
	}
	/* A natclass object is "{...}": the top one loses its "}", each array
	 * element its "{". */
	if (natclass_result_format_json(&uc[first].res, out, sizeof(out)) != 0) {
		fprintf(stderr, "wormhole-client: natcheck: result does not fit\n");
		return CLIOPT_EXIT_FAILURE;
	}
	printf("%.*s,\"uplinks\":[", (int)strlen(out) - 1, out);
	for (size_t u = 0; u < ini->n_uplinks; u++) {
		printf("%s{\"name\":", u > 0 ? "," : "");
		put_json_string(ini->uplinks[u].name);
		if (uc[u].is_ok) {
			if (natclass_result_format_json(&uc[u].res, out, sizeof(out)) != 0) {
				return CLIOPT_EXIT_FAILURE;
			}
			printf(",%s", out + 1);
		} else {
			fputs(",\"error\":", stdout);
			put_json_string(diag_format(&uc[u].d, line, sizeof(line)));
			putchar('}');
		}
	}
	fputs("]}\n", stdout);
	return CLIOPT_EXIT_OK;
}

int natcheck_main(const struct client_ini *ini, bool is_json)
{
	struct uplink_check uc[CLIENT_INI_UPLINKS_MAX];
	char line[1024];
	struct resolver_nat64 n64;
	bool has_n64 = false, is_all_ok = true;
	size_t n = ini->n_uplinks > 1 ? ini->n_uplinks : 1;
	int rc;

	memset(&n64, 0, sizeof(n64)); /* no NAT64 prefix unless looked up */
	/* Each uplink in turn, from its own socket: every modem has its NAT. */
	for (size_t u = 0; u < n; u++) {
		diag_clear(&uc[u].d);
		uc[u].is_ok = check_uplink(ini, u, &n64, &has_n64, &uc[u].res, &uc[u].d) == 0;
		if (!uc[u].is_ok) {
			is_all_ok = false;
			if (n > 1) {
				fprintf(stderr,
					"wormhole-client: uplink %s: ", ini->uplinks[u].name);
			} else {
				fputs("wormhole-client: ", stderr);
			}
			fprintf(stderr, "%s\n", diag_format(&uc[u].d, line, sizeof(line)));
		}
	}
	if (n == 1) {
		return uc[0].is_ok ? print_result(&uc[0].res, is_json) : CLIOPT_EXIT_FAILURE;
	}
	rc = is_json ? print_json_uplinks(ini, uc) : print_text_blocks(ini, uc);
	return rc == CLIOPT_EXIT_OK && !is_all_ok ? CLIOPT_EXIT_FAILURE : rc;
}
