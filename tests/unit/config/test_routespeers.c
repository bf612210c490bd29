/* test_routespeers: the indexes of a parsed routes.conf
 * (config/routespeers.c) against their definitions: a and b share a flow
 * when one is a source of it and the other a sink (any two members of an
 * N:N flow), with the flow's multipath kind; a client's flows are those it
 * is a member of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/b64key.h"
#include "common/diag.h"
#include "config/routes.h"
#include "routes_fixture.h"

#define N_CLIENTS 40
#define N_FLOWS 60
#define TEXT_MAX (64 * 1024)

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* A routes.conf with N_CLIENTS clients (c0..) and N_FLOWS random flows:
 * from/to or members, 1-6 of each, any multipath kind, some clients in
 * several flows with one another, some in none. */
static struct routes *random_routes(uint32_t seed)
{
	static const char *const kinds[] = {"failover", "redundant", "balance"};
	char *t = malloc(TEXT_MAX);
	size_t n = 0;
	struct diag d;
	struct routes *r;

	assert_non_null(t);
	n += (size_t)snprintf(t + n, TEXT_MAX - n, "%sclients: {\n", FIX_SERVER);
	for (int i = 0; i < N_CLIENTS; i++) {
		uint8_t sk[32], pk[32];
		char b64[B64KEY_TEXT_MAX];

		memset(sk, i + 1, sizeof(sk));
		assert_int_equal(crypto_scalarmult_base(pk, sk), 0);
		b64key_encode(pk, b64);
		n += (size_t)snprintf(t + n, TEXT_MAX - n, "  c%d = { key = \"%s\"; };\n", i, b64);
	}
	n += (size_t)snprintf(t + n, TEXT_MAX - n, "};\nflows: (\n");
	for (int f = 0; f < N_FLOWS; f++) {
		/* Members drawn from the first 30 clients: the last 10 share nothing. */
		int used[N_CLIENTS] = {0};
		int k = 1 + (int)(rnd(&seed) % 6), k2 = 1 + (int)(rnd(&seed) % 6);
		bool is_nn = rnd(&seed) % 3 == 0;

		n += (size_t)snprintf(
			t + n, TEXT_MAX - n,
			"%s  { name = \"f%d\"; proto = \"udp\"; port = %d; multipath = "
			"\"%s\"; %s = [",
			f ? ",\n" : "", f, 10000 + f, kinds[rnd(&seed) % 3],
			is_nn ? "members" : "from");
		for (int side = 0; side < (is_nn ? 1 : 2); side++) {
			int want = side ? k2 : (is_nn ? k + 1 : k);

			for (int j = 0; j < want; j++) {
				int c;

				do {
					c = (int)(rnd(&seed) % 30);
				} while (used[c]);
				used[c] = 1;
				n += (size_t)snprintf(t + n, TEXT_MAX - n, "%s\"c%d\"",
						      j ? ", " : "", c);
			}
			n += (size_t)snprintf(t + n, TEXT_MAX - n,
					      side || is_nn ? "]; }" : "]; to = [");
		}
	}
	n += (size_t)snprintf(t + n, TEXT_MAX - n, "\n);\n");
	assert_true(n < TEXT_MAX);
	diag_clear(&d);
	r = routes_parse_text(t, n, "random.conf", NULL, false, &d);
	if (!r) {
		char line[512];
		fail_msg("%s", diag_format(&d, line, sizeof(line)));
	}
	free(t);
	return r;
}

/* The definition: every flow one of them sends into and the other
 * receives from. */
static unsigned brute_modes(const struct routes *r, const char *a, const char *b)
{
	unsigned modes = 0;

	if (strcmp(a, b) == 0) {
		return 0;
	}
	for (size_t i = 0; i < r->n_flows; i++) {
		const struct routes_flow *f = &r->flows[i];

		if ((routes_flow_is_source(f, a) && routes_flow_is_sink(f, b)) ||
		    (routes_flow_is_sink(f, a) && routes_flow_is_source(f, b))) {
			modes |= 1u << r->flows[i].multipath;
		}
	}
	return modes;
}

static void test_routespeers_match_the_flows_pair_by_pair(void **state)
{
	(void)state;
	for (uint32_t seed = 1; seed <= 20; seed++) {
		struct routes *r = random_routes(seed);
		size_t with_peers = 0;

		for (size_t i = 0; i < r->n_clients; i++) {
			size_t n = 0, k = 0;
			const struct routes_peer *p = routes_peers_of(r, i, &n);

			with_peers += n > 0;
			for (size_t j = 0; j < r->n_clients; j++) {
				const char *a = r->clients[i].id, *b = r->clients[j].id;
				unsigned want = brute_modes(r, a, b);

				assert_int_equal(routes_shared_modes(r, a, b), want);
				if (want) {
					/* Listed once, in ascending order, with its modes. */
					assert_true(k < n);
					assert_int_equal(p[k].client, j);
					assert_int_equal(p[k].modes, want);
					k++;
				}
			}
			assert_int_equal(k, n);
			/* Its flows: exactly those it is a member of, in file order. */
			const uint32_t *fl = routes_flows_of(r, i, &n);

			k = 0;
			for (size_t f = 0; f < r->n_flows; f++) {
				if (routes_flow_has_member(&r->flows[f], r->clients[i].id)) {
					assert_true(k < n);
					assert_int_equal(fl[k], f);
					k++;
				}
			}
			assert_int_equal(k, n);
		}
		assert_true(with_peers > 0 && with_peers <= 30);
		routes_free(r);
	}
}

/* A GCS sending to three drones, and two of them sending to a second GCS:
 * the drones are no peers of each other (they exchange nothing), and the
 * two GCSs neither. */
static void test_routespeers_sinks_of_one_flow_are_no_peers(void **state)
{
	static const char *const ids[] = {"gcs", "d1", "d2", "d3", "gcs2"};
	char t[2048];
	struct diag d;
	struct routes *r;
	size_t n = 0, len = 0;

	(void)state;
	len += (size_t)snprintf(t, sizeof(t), "%sclients: {", FIX_SERVER);
	for (int i = 0; i < 5; i++) {
		uint8_t sk[32], pk[32];
		char b64[B64KEY_TEXT_MAX];

		memset(sk, 0x40 + i, sizeof(sk));
		assert_int_equal(crypto_scalarmult_base(pk, sk), 0);
		b64key_encode(pk, b64);
		len += (size_t)snprintf(t + len, sizeof(t) - len, " %s = { key = \"%s\"; };",
					ids[i], b64);
	}
	len += (size_t)snprintf(
		t + len, sizeof(t) - len,
		" };\nflows: ( { name = \"down\"; proto = \"udp\"; port = 5600; from = [\"gcs\"]; "
		"to = [\"d1\", \"d2\", \"d3\"]; },\n"
		"  { name = \"up\"; proto = \"udp\"; port = 5601; multipath = \"redundant\"; "
		"from = [\"d1\", \"d2\"]; to = [\"gcs2\"]; } );\n");
	assert_true(len < sizeof(t));
	diag_clear(&d);
	r = routes_parse_text(t, len, "fleet.conf", NULL, false, &d);
	assert_non_null(r);
	assert_int_equal(routes_shared_modes(r, "gcs", "d1"), 1u << ROUTES_MULTIPATH_FAILOVER);
	assert_int_equal(routes_shared_modes(r, "d3", "gcs"), 1u << ROUTES_MULTIPATH_FAILOVER);
	assert_int_equal(routes_shared_modes(r, "d2", "gcs2"), 1u << ROUTES_MULTIPATH_REDUNDANT);
	assert_int_equal(routes_shared_modes(r, "d1", "d2"), 0);
	assert_int_equal(routes_shared_modes(r, "d2", "d3"), 0);
	assert_int_equal(routes_shared_modes(r, "gcs", "gcs2"), 0);
	assert_int_equal(routes_shared_modes(r, "d3", "gcs2"), 0);
	(void)routes_peers_of(r, routes_client_index(r, "d1"), &n);
	assert_int_equal(n, 2); /* gcs and gcs2 */
	(void)routes_peers_of(r, routes_client_index(r, "gcs"), &n);
	assert_int_equal(n, 3); /* the three drones */
	routes_free(r);
}

static void test_routespeers_unknown_clients_share_nothing(void **state)
{
	struct routes *r = random_routes(7);
	size_t n = 1;

	(void)state;
	assert_int_equal(routes_shared_modes(r, "c1", "nobody"), 0);
	assert_int_equal(routes_shared_modes(r, "nobody", "c1"), 0);
	assert_int_equal(routes_client_index(r, "nobody"), SIZE_MAX);
	assert_null(routes_peers_of(r, SIZE_MAX, &n));
	assert_int_equal(n, 0);
	n = 1;
	assert_null(routes_flows_of(r, SIZE_MAX, &n));
	assert_int_equal(n, 0);
	routes_free(r);
}

/* A routes.conf where gcs is in n_flows flows with per_flow drones each
 * (of n_drones, round robin), one flow per line after the clients. */
static struct routes *gcs_with(int n_flows, int n_drones, int per_flow, struct diag *d)
{
	int next = 0;
	size_t cap = 256 * 1024, n = 0;
	char *t = malloc(cap);
	struct routes *r;

	assert_non_null(t);
	n += (size_t)snprintf(t + n, cap - n, "%sclients: {\n", FIX_SERVER);
	for (int i = 0; i <= n_drones; i++) {
		uint8_t sk[32], pk[32];
		char b64[B64KEY_TEXT_MAX];

		memset(sk, 0x55, sizeof(sk)); /* bytes 1, 2: X25519 clamps byte 0 */
		sk[1] = (uint8_t)i;
		sk[2] = (uint8_t)(i >> 8);
		assert_int_equal(crypto_scalarmult_base(pk, sk), 0);
		b64key_encode(pk, b64);
		if (i == n_drones) {
			n += (size_t)snprintf(t + n, cap - n, "  gcs = { key = \"%s\"; };\n", b64);
		} else {
			n += (size_t)snprintf(t + n, cap - n, "  d%d = { key = \"%s\"; };\n", i,
					      b64);
		}
	}
	n += (size_t)snprintf(t + n, cap - n, "};\nflows: (\n");
	for (int f = 0; f < n_flows; f++) {
		n += (size_t)snprintf(t + n, cap - n,
				      "%s  { name = \"f%d\"; proto = \"udp\"; port = %d; members = "
				      "[\"gcs\"",
				      f ? ",\n" : "", f, 10000 + f);
		for (int k = 0; k < per_flow; k++) {
			n += (size_t)snprintf(t + n, cap - n, ", \"d%d\"", next);
			next = (next + 1) % n_drones;
		}
		n += (size_t)snprintf(t + n, cap - n, "]; }");
	}
	n += (size_t)snprintf(t + n, cap - n, "\n);\n");
	assert_true(n < cap);
	diag_clear(d);
	r = routes_parse_text(t, n, "gcs.conf", NULL, false, d);
	free(t);
	return r;
}

/* A client's route set holds at most ROUTES_CLIENT_FLOWS_MAX flows and
 * ROUTES_CLIENT_PEERS_MAX peers (what a client takes): more is refused at
 * the flow past the limit, or at the client. The server used to accept it,
 * say "applied", and the client refused the whole set, for good. */
static void test_routespeers_a_route_set_over_the_limits_is_refused(void **state)
{
	struct diag d;
	struct routes *r;
	char line[512];
	/* Line 1 + FIX_SERVER's newlines is "clients: {", then the drones,
	 * gcs, "};", "flows: (" and flow 0. */
	int clients_line = 1;

	(void)state;
	r = gcs_with(ROUTES_CLIENT_FLOWS_MAX, 16, 1, &d);
	assert_non_null(r);
	routes_free(r);
	r = gcs_with(ROUTES_CLIENT_FLOWS_MAX + 1, 16, 1, &d);
	assert_null(r);
	(void)diag_format(&d, line, sizeof(line));
	assert_non_null(
		strstr(line, "flow \"f256\": client \"gcs\" is in 257 flows (at most 256)"));
	for (const char *s = FIX_SERVER; *s; s++) {
		clients_line += *s == '\n';
	}
	assert_int_equal(d.line, clients_line + 16 + 1 + 3 + ROUTES_CLIENT_FLOWS_MAX);

	/* 9 flows of 32 members: 279 places for 256 drones, then for 260. */
	r = gcs_with(9, ROUTES_CLIENT_PEERS_MAX, 31, &d);
	assert_non_null(r);
	assert_int_equal(r->peer_start[r->n_clients] - r->peer_start[r->n_clients - 1],
			 ROUTES_CLIENT_PEERS_MAX);
	routes_free(r);
	r = gcs_with(9, ROUTES_CLIENT_PEERS_MAX + 4, 31, &d);
	assert_null(r);
	(void)diag_format(&d, line, sizeof(line));
	assert_non_null(
		strstr(line, "client \"gcs\": shares flows with 260 clients (at most 256)"));
	assert_int_equal(d.line, clients_line + ROUTES_CLIENT_PEERS_MAX + 4 + 1); /* gcs */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routespeers_match_the_flows_pair_by_pair),
		cmocka_unit_test(test_routespeers_sinks_of_one_flow_are_no_peers),
		cmocka_unit_test(test_routespeers_unknown_clients_share_nothing),
		cmocka_unit_test(test_routespeers_a_route_set_over_the_limits_is_refused),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
