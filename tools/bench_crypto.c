/* bench_crypto: seal+open throughput of 1400-byte packets through the
 * session transport (proto/session: header, counter nonce, replay window,
 * key checks) next to raw libsodium ChaCha20-Poly1305 IETF encrypt+decrypt
 * of the same sizes (same 16-byte AD), measured in the same run in
 * alternating rounds; the best round of each is compared. Prints the
 * overhead of our transport on top of the AEAD (issue #3 acceptance 4).
 * Exit 0 after printing; 1 if setup fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/monotime.h"
#include "proto/session.h"

#define PKT_LEN 1400
#define ROUNDS 10
#define ROUND_TARGET_US 100000 /* ~100 ms per round and side: ~2 s in all */
#define T0 1000000000ull

struct bench {
	struct session *a;
	struct session *b;
	uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint8_t pt[PKT_LEN];
	uint8_t pkt[WIRE_MAX_PACKET];
	uint8_t out[WIRE_MAX_PACKET];
	uint64_t raw_counter;
};

static int setup_sessions(struct bench *bn)
{
	struct noise_keypair ka;
	struct noise_keypair kb;
	struct session_pending p;
	uint8_t init[WIRE_INIT_LEN];
	uint8_t resp[WIRE_RESP_LEN];

	if (noise_keypair_generate(&ka) != 0 || noise_keypair_generate(&kb) != 0) {
		return -EIO;
	}
	bn->a = session_new(&ka, kb.pub, NULL);
	bn->b = session_new(&kb, ka.pub, NULL);
	if (!bn->a || !bn->b) {
		return -ENOMEM;
	}
	if (session_initiation_create(bn->a, 1, 1, T0, init) != 0 ||
	    session_initiation_consume(&kb, init, sizeof(init), &p) != 0 ||
	    session_response_create(bn->b, &p, 2, T0, resp) != 0 ||
	    session_on_response(bn->a, resp, sizeof(resp), T0) != 0) {
		return -EPROTO;
	}
	sodium_memzero(&ka, sizeof(ka));
	sodium_memzero(&kb, sizeof(kb));
	return 0;
}

/* n packets through session seal + open; returns elapsed µs or 0 on error. */
static uint64_t run_session(struct bench *bn, uint64_t n)
{
	uint64_t start = monotime_now_us();
	size_t len;
	size_t out_len;

	for (uint64_t i = 0; i < n; i++) {
		if (session_seal(bn->a, T0, bn->pt, PKT_LEN, bn->pkt, sizeof(bn->pkt), &len) != 0 ||
		    session_open(bn->b, T0, bn->pkt, len, bn->out, sizeof(bn->out), &out_len) !=
			    0 ||
		    out_len != PKT_LEN) {
			return 0;
		}
	}
	return monotime_now_us() - start + 1;
}

/* n packets through raw libsodium encrypt + decrypt, same sizes and AD. */
static uint64_t run_raw(struct bench *bn, uint64_t n)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
	const uint8_t *ad = bn->pkt;
	uint8_t *ct = bn->pkt + WIRE_TRANSPORT_HEADER_LEN;
	uint64_t start = monotime_now_us();
	unsigned long long ct_len;
	unsigned long long pt_len;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t c = bn->raw_counter++;

		for (int j = 0; j < 8; j++) {
			nonce[4 + j] = (uint8_t)(c >> (8 * j));
		}
		if (crypto_aead_chacha20poly1305_ietf_encrypt(ct, &ct_len, bn->pt, PKT_LEN, ad,
							      WIRE_TRANSPORT_HEADER_LEN, NULL,
							      nonce, bn->key) != 0 ||
		    crypto_aead_chacha20poly1305_ietf_decrypt(bn->out, &pt_len, NULL, ct, ct_len,
							      ad, WIRE_TRANSPORT_HEADER_LEN, nonce,
							      bn->key) != 0) {
			return 0;
		}
	}
	return monotime_now_us() - start + 1;
}

/* Packets that take about ROUND_TARGET_US through the raw AEAD. */
static uint64_t calibrate(struct bench *bn)
{
	uint64_t n = 1000;
	uint64_t us = run_raw(bn, n);

	if (us == 0) {
		return 0;
	}
	n = n * ROUND_TARGET_US / us;
	return n < 1000 ? 1000 : n;
}

static double mbps(uint64_t n, uint64_t us)
{
	return (double)n * PKT_LEN / (double)us; /* bytes per µs = MB/s */
}

int main(void)
{
	static struct bench bn;
	uint64_t n;
	uint64_t best_raw = UINT64_MAX;
	uint64_t best_sess = UINT64_MAX;

	if (sodium_init() < 0 || setup_sessions(&bn) != 0) {
		fprintf(stderr, "bench_crypto: setup failed\n");
		return 1;
	}
	randombytes_buf(bn.key, sizeof(bn.key));
	randombytes_buf(bn.pt, sizeof(bn.pt));
	n = calibrate(&bn);
	if (n == 0 || run_session(&bn, n / 10) == 0) {
		fprintf(stderr, "bench_crypto: warm-up failed\n");
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t raw = run_raw(&bn, n);
		uint64_t sess = run_session(&bn, n);

		if (raw == 0 || sess == 0) {
			fprintf(stderr, "bench_crypto: round %d failed\n", r);
			return 1;
		}
		best_raw = raw < best_raw ? raw : best_raw;
		best_sess = sess < best_sess ? sess : best_sess;
	}
	printf("bench_crypto: %d rounds x %llu packets of %d bytes, seal+open, best round\n",
	       ROUNDS, (unsigned long long)n, PKT_LEN);
	printf("  raw libsodium chacha20poly1305-ietf: %8.1f MB/s  %8.0f pkt/s\n",
	       mbps(n, best_raw), (double)n * 1e6 / (double)best_raw);
	printf("  session transport (proto/session):   %8.1f MB/s  %8.0f pkt/s\n",
	       mbps(n, best_sess), (double)n * 1e6 / (double)best_sess);
	printf("overhead %.1f%% (goal < 10%%)\n",
	       100.0 * ((double)best_sess - (double)best_raw) / (double)best_raw);
	session_free(bn.a);
	session_free(bn.b);
	return 0;
}
