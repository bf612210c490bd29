/* noise_vectors: run Noise test-vector files (the cacophony/snow JSON layout:
 * {"vectors": [{protocol_name, init_*, resp_*, handshake_hash, messages}]})
 * against proto/noise and proto/aead. Every supported vector is replayed with
 * its fixed ephemerals: handshake messages alternate initiator/responder, then
 * transport messages follow with the sender chosen by index parity (one-way
 * patterns: initiator only), nonces counting from 0. Each ciphertext must match
 * byte for byte and decrypt to its payload on the other side.
 * Usage: noise_vectors FILE...  Exit 0 all passed, 1 a failure or nothing ran,
 * 2 unreadable or malformed file. */
#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/aead.h"
#include "proto/noise.h"

#define BUF_MAX (NOISE_MAX_MSG + 1)

enum result {
	RESULT_PASS = 0,
	RESULT_FAIL,
	RESULT_SKIP,
	RESULT_MALFORMED,
};

struct side {
	struct noise_keypair s, e;
	bool has_s, has_e, has_rs;
	uint8_t rs[NOISE_KEY_LEN];
	uint8_t prologue[BUF_MAX];
	size_t prologue_len;
	uint8_t psks[NOISE_MAX_PSKS * NOISE_PSK_LEN];
	size_t psk_count;
	struct noise_handshake hs;
	uint8_t send_key[NOISE_KEY_LEN], recv_key[NOISE_KEY_LEN];
	uint64_t send_n, recv_n;
};

struct run {
	const char *file;
	int index;
	const char *name;
	struct side init, resp;
	uint8_t payload[BUF_MAX], ct[BUF_MAX], out[BUF_MAX], got[BUF_MAX];
	size_t payload_len, ct_len;
};

static int hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 != 0 || n / 2 > cap) {
		return -EINVAL;
	}
	if (sodium_hex2bin(out, cap, hex, n, NULL, len, NULL) != 0 || *len != n / 2) {
		return -EINVAL;
	}
	return 0;
}

/* A hex field: 0 and *present=false if absent, -EINVAL if not a hex string. */
static int hex_field(const cJSON *obj, const char *key, uint8_t *out, size_t cap, size_t *len,
		     bool *present)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, key);

	*present = f != NULL;
	*len = 0;
	if (f == NULL) {
		return 0;
	}
	if (!cJSON_IsString(f) || f->valuestring == NULL) {
		return -EINVAL;
	}
	return hex_decode(f->valuestring, out, cap, len);
}

static int key_field(const cJSON *obj, const char *key, uint8_t out[NOISE_KEY_LEN], bool *present)
{
	size_t len;
	int rc = hex_field(obj, key, out, NOISE_KEY_LEN, &len, present);

	if (rc == 0 && *present && len != NOISE_KEY_LEN) {
		rc = -EINVAL;
	}
	return rc;
}

/* "<side>_psks": [hex...] or the older "<side>_psk": hex. */
static int psk_fields(const cJSON *v, const char *pfx, struct side *sd)
{
	char key[32];
	const cJSON *arr, *it;
	size_t len;
	bool present;

	snprintf(key, sizeof(key), "%s_psks", pfx);
	arr = cJSON_GetObjectItemCaseSensitive(v, key);
	if (arr == NULL) {
		snprintf(key, sizeof(key), "%s_psk", pfx);
		if (hex_field(v, key, sd->psks, NOISE_PSK_LEN, &len, &present) != 0 ||
		    (present && len != NOISE_PSK_LEN)) {
			return -EINVAL;
		}
		sd->psk_count = present ? 1 : 0;
		return 0;
	}
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > NOISE_MAX_PSKS) {
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) ||
		    hex_decode(it->valuestring, sd->psks + sd->psk_count * NOISE_PSK_LEN,
			       NOISE_PSK_LEN, &len) != 0 ||
		    len != NOISE_PSK_LEN) {
			return -EINVAL;
		}
		sd->psk_count++;
	}
	return 0;
}

static int side_fields(const cJSON *v, const char *pfx, struct side *sd)
{
	char key[32];
	uint8_t priv[NOISE_KEY_LEN];
	bool present;
	int rc;

	snprintf(key, sizeof(key), "%s_prologue", pfx);
	rc = hex_field(v, key, sd->prologue, sizeof(sd->prologue), &sd->prologue_len, &present);
	snprintf(key, sizeof(key), "%s_static", pfx);
	if (rc == 0 && (rc = key_field(v, key, priv, &sd->has_s)) == 0 && sd->has_s) {
		rc = noise_keypair_from_private(&sd->s, priv);
	}
	snprintf(key, sizeof(key), "%s_ephemeral", pfx);
	if (rc == 0 && (rc = key_field(v, key, priv, &sd->has_e)) == 0 && sd->has_e) {
		rc = noise_keypair_from_private(&sd->e, priv);
	}
	snprintf(key, sizeof(key), "%s_remote_static", pfx);
	if (rc == 0) {
		rc = key_field(v, key, sd->rs, &sd->has_rs);
	}
	if (rc == 0) {
		rc = psk_fields(v, pfx, sd);
	}
	sodium_memzero(priv, sizeof(priv));
	return rc;
}

static void fail_msg(const struct run *r, const char *what, int msg)
{
	if (msg >= 0) {
		printf("%s: vector %d (%s): message %d: %s\n", r->file, r->index, r->name, msg,
		       what);
	} else {
		printf("%s: vector %d (%s): %s\n", r->file, r->index, r->name, what);
	}
}

static int load_message(struct run *r, const cJSON *m)
{
	bool present_p, present_c;

	if (!cJSON_IsObject(m) ||
	    hex_field(m, "payload", r->payload, sizeof(r->payload), &r->payload_len, &present_p) !=
		    0 ||
	    hex_field(m, "ciphertext", r->ct, sizeof(r->ct), &r->ct_len, &present_c) != 0 ||
	    !present_p || !present_c) {
		return -EINVAL;
	}
	return 0;
}

/* Compare what the writer produced with the vector, then read it on the other side. */
static bool check_output(struct run *r, int i, const uint8_t *got, size_t got_len,
			 const uint8_t *plain, size_t plain_len)
{
	if (got_len != r->ct_len || memcmp(got, r->ct, got_len) != 0) {
		fail_msg(r, "ciphertext differs from the vector", i);
		return false;
	}
	if (plain_len != r->payload_len || memcmp(plain, r->payload, plain_len) != 0) {
		fail_msg(r, "decrypted payload differs from the vector", i);
		return false;
	}
	return true;
}

static bool handshake_step(struct run *r, int i, struct side *w, struct side *rd)
{
	size_t out_len, got_len;
	int rc;

	rc = noise_write_message(&w->hs, r->payload, r->payload_len, r->out, sizeof(r->out),
				 &out_len);
	if (rc != 0) {
		fail_msg(r, "write failed", i);
		return false;
	}
	rc = noise_read_message(&rd->hs, r->out, out_len, r->got, sizeof(r->got), &got_len);
	if (rc != 0) {
		fail_msg(r, "read failed", i);
		return false;
	}
	return check_output(r, i, r->out, out_len, r->got, got_len);
}

static bool transport_step(struct run *r, int i, struct side *w, struct side *rd)
{
	if (r->payload_len + AEAD_TAG_LEN > sizeof(r->out) ||
	    aead_seal(w->send_key, w->send_n++, NULL, 0, r->payload, r->payload_len, r->out) != 0) {
		fail_msg(r, "transport seal failed", i);
		return false;
	}
	if (aead_open(rd->recv_key, rd->recv_n++, NULL, 0, r->out, r->payload_len + AEAD_TAG_LEN,
		      r->got) != 0) {
		fail_msg(r, "transport open failed", i);
		return false;
	}
	return check_output(r, i, r->out, r->payload_len + AEAD_TAG_LEN, r->got, r->payload_len);
}

static bool check_hash(struct run *r, const cJSON *v)
{
	uint8_t want[NOISE_HASH_MAX], got_i[NOISE_HASH_MAX], got_r[NOISE_HASH_MAX];
	size_t want_len, len_i, len_r;
	bool present;

	if (hex_field(v, "handshake_hash", want, sizeof(want), &want_len, &present) != 0) {
		fail_msg(r, "handshake_hash is not a hex string of at most 64 bytes", -1);
		return false;
	}
	if (!present) {
		return true;
	}
	noise_handshake_hash(&r->init.hs, got_i, &len_i);
	noise_handshake_hash(&r->resp.hs, got_r, &len_r);
	if (len_i != want_len || len_r != want_len || memcmp(got_i, want, want_len) != 0 ||
	    memcmp(got_r, want, want_len) != 0) {
		fail_msg(r, "handshake_hash differs from the vector", -1);
		return false;
	}
	return true;
}

/* Both sides complete: check the handshake hash, then split into transport keys. */
static bool finish_handshake(struct run *r, const cJSON *v, int i)
{
	if (!noise_handshake_is_complete(&r->resp.hs)) {
		fail_msg(r, "initiator complete but responder not", i);
		return false;
	}
	if (!check_hash(r, v)) {
		return false;
	}
	if (noise_split(&r->init.hs, r->init.send_key, r->init.recv_key) != 0 ||
	    noise_split(&r->resp.hs, r->resp.send_key, r->resp.recv_key) != 0) {
		fail_msg(r, "split failed", i);
		return false;
	}
	return true;
}

/* One-way patterns (N, K, X) have a one-letter base name: only the initiator sends. */
static bool is_one_way(const char *name)
{
	const char *p = name + strlen("Noise_");

	return strlen(name) > strlen("Noise_") + 1 && p[0] >= 'A' && p[0] <= 'Z' &&
	       !(p[1] >= 'A' && p[1] <= 'Z');
}

static enum result run_messages(struct run *r, const cJSON *v, const cJSON *msgs)
{
	bool one_way = is_one_way(r->name), done = false, ok = true;
	int i = 0;
	const cJSON *m;

	cJSON_ArrayForEach(m, msgs)
	{
		bool by_init = one_way || i % 2 == 0;
		struct side *w = by_init ? &r->init : &r->resp;
		struct side *rd = by_init ? &r->resp : &r->init;

		if (load_message(r, m) != 0) {
			return RESULT_MALFORMED;
		}
		if (!done) {
			ok = handshake_step(r, i, w, rd);
		} else {
			ok = transport_step(r, i, w, rd);
		}
		if (!ok) {
			return RESULT_FAIL;
		}
		if (!done && noise_handshake_is_complete(&r->init.hs)) {
			if (!finish_handshake(r, v, i)) {
				return RESULT_FAIL;
			}
			done = true;
		}
		i++;
	}
	if (!done) {
		fail_msg(r, "vector ends before the handshake completes", -1);
		return RESULT_FAIL;
	}
	return RESULT_PASS;
}

static int side_init(struct run *r, struct side *sd, bool is_initiator)
{
	return noise_handshake_init_psks(&sd->hs, r->name, is_initiator, sd->prologue,
					 sd->prologue_len, sd->has_s ? &sd->s : NULL,
					 sd->has_e ? &sd->e : NULL, sd->has_rs ? sd->rs : NULL,
					 sd->psk_count > 0 ? sd->psks : NULL, sd->psk_count);
}

/* Vectors for features outside the Noise core we implement. */
static bool uses_unsupported_fields(const cJSON *v)
{
	static const char *const keys[] = {"hybrid", "fallback", "fallback_pattern",
					   "init_remote_ephemeral", "resp_remote_ephemeral"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(v, keys[i]) != NULL) {
			return true;
		}
	}
	return false;
}

static enum result run_vector(struct run *r, const cJSON *v)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "protocol_name");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
	int rc_i, rc_r;

	if (!cJSON_IsObject(v) || !cJSON_IsString(name) || !cJSON_IsArray(msgs)) {
		return RESULT_MALFORMED;
	}
	r->name = name->valuestring;
	if (uses_unsupported_fields(v)) {
		return RESULT_SKIP;
	}
	if (side_fields(v, "init", &r->init) != 0 || side_fields(v, "resp", &r->resp) != 0) {
		return RESULT_MALFORMED;
	}
	rc_i = side_init(r, &r->init, true);
	rc_r = side_init(r, &r->resp, false);
	if (rc_i == -EPROTONOSUPPORT || rc_r == -EPROTONOSUPPORT) {
		return RESULT_SKIP;
	}
	if (rc_i != 0 || rc_r != 0) {
		printf("%s: vector %d (%s): init failed: initiator %s, responder %s\n", r->file,
		       r->index, r->name, strerror(-rc_i), strerror(-rc_r));
		return RESULT_FAIL;
	}
	return run_messages(r, v, msgs);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int saved_errno;

	if (f == NULL) {
		return NULL;
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;
			cap = cap == 0 ? 65536 : cap * 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			break;
		}
	}
	saved_errno = ferror(f) ? (errno != 0 ? errno : EIO) : 0;
	fclose(f);
	if (saved_errno != 0) {
		free(buf);
		errno = saved_errno;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct tally {
	int pass, fail, skip;
};

/* Returns 0, or 2 for an unreadable or malformed file (message printed). */
static int run_file(const char *path, struct run *r, struct tally *total)
{
	struct tally t = {0, 0, 0};
	size_t len = 0;
	char *text = read_file(path, &len);
	int read_errno = errno;
	cJSON *root = text != NULL ? cJSON_ParseWithLength(text, len) : NULL;
	const cJSON *vectors = cJSON_GetObjectItemCaseSensitive(root, "vectors");
	const cJSON *v;
	int status = 0;

	if (text == NULL) {
		fprintf(stderr, "noise_vectors: %s: cannot read: %s\n", path, strerror(read_errno));
		return 2;
	}
	free(text);
	if (!cJSON_IsArray(vectors)) {
		fprintf(stderr,
			"noise_vectors: %s: not a Noise vectors file (no \"vectors\" array)\n",
			path);
		cJSON_Delete(root);
		return 2;
	}
	r->index = 0;
	cJSON_ArrayForEach(v, vectors)
	{
		memset(&r->init, 0, sizeof(r->init));
		memset(&r->resp, 0, sizeof(r->resp));
		r->file = path;
		r->name = "?";
		enum result res = run_vector(r, v);
		if (res == RESULT_MALFORMED) {
			fprintf(stderr, "noise_vectors: %s: vector %d: malformed\n", path,
				r->index);
			status = 2;
			break;
		}
		t.pass += res == RESULT_PASS;
		t.fail += res == RESULT_FAIL;
		t.skip += res == RESULT_SKIP;
		r->index++;
	}
	cJSON_Delete(root);
	printf("%s: PASS %d  FAIL %d  SKIP %d (unsupported protocol)\n", path, t.pass, t.fail,
	       t.skip);
	total->pass += t.pass;
	total->fail += t.fail;
	total->skip += t.skip;
	return status;
}

int main(int argc, char **argv)
{
	struct tally total = {0, 0, 0};
	struct run *r;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: noise_vectors FILE...\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "noise_vectors: sodium_init failed\n");
		return 1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		fprintf(stderr, "noise_vectors: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (run_file(argv[i], r, &total) != 0) {
			status = 2;
		}
	}
	free(r);
	printf("total: PASS %d  FAIL %d  SKIP %d (unsupported protocol)\n", total.pass, total.fail,
	       total.skip);
	if (status != 0) {
		return status;
	}
	return (total.fail > 0 || total.pass == 0) ? 1 : 0;
}
