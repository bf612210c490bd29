/* fuzz_handshake: arbitrary bytes as a handshake initiation to a responder
 * with a fixed static key, through the production path: mac1 check, step 1
 * (session_initiation_consume), and when that authenticates, step 2
 * (session_response_create) on a session for the key it revealed. The seed
 * corpus holds a valid initiation to this key (private key bytes 1..32). */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/cookie.h"
#include "proto/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct noise_keypair responder;
static struct cookie_checker checker;
static int ready;

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

static void setup(void)
{
	uint8_t priv[NOISE_KEY_LEN];

	for (size_t i = 0; i < sizeof(priv); i++) {
		priv[i] = (uint8_t)(i + 1);
	}
	check(sodium_init() >= 0);
	check(noise_keypair_from_private(&responder, priv) == 0);
	check(cookie_checker_init(&checker, responder.pub) == 0);
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t src[] = {192, 0, 2, 7, 0x1c, 0xe8};
	struct session_pending pend;
	uint8_t resp[WIRE_RESP_LEN];
	struct session *s;
	int rc;

	if (!ready) {
		setup();
	}
	(void)cookie_check(&checker, data, size, src, sizeof(src), 1000);
	rc = session_initiation_consume(&responder, data, size, &pend);
	check(rc == 0 || rc == -EPROTO || rc == -EBADMSG || rc == -EPROTONOSUPPORT);
	if (rc != 0) {
		check(!pend.is_valid);
		return 0;
	}
	s = session_new(&responder, pend.remote_pub, NULL);
	if (!s) {
		session_pending_wipe(&pend);
		return 0;
	}
	check(session_response_create(s, &pend, 1, 1000, resp) == 0);
	check(session_state(s) == SESSION_IDLE && session_owns_index(s, 1));
	session_free(s);
	return 0;
}
