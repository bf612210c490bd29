/* fuzz_stun: nat/stun on arbitrary bytes — the parser the client uses
 * (stun_read) and the server's answer (stun_server_answer) from each of its
 * four sockets. Checks the one promise a fuzzer can: a reply is never larger
 * than STUN_RESPONSE_MAX and names one of the four sockets, and a drop
 * leaves nothing to send. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void set4(struct sockaddr_storage *ss, uint32_t ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(ip);
	sin->sin_port = htons(port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_server_addrs a;
	struct sockaddr_storage from;
	struct stun_msg msg;
	uint8_t out[STUN_PADDED_MAX];

	/* The client's parse: a decoded message always says where it maps to
	 * or that it does not. */
	if (stun_read(data, size, &msg, NULL) == 0 && stun_msg_mapped(&msg) != NULL &&
	    msg.has_xor_mapped == false && msg.has_mapped == false) {
		abort();
	}
	set4(&from, 0xCB007105u, 40000); /* 203.0.113.5 */
	set4(&a.local[STUN_SOCK_PRIMARY_MAIN], 0xC0000201u, 3478);
	set4(&a.local[STUN_SOCK_PRIMARY_ALT], 0xC0000201u, 3479);
	set4(&a.local[STUN_SOCK_ALT_MAIN], 0xC0000202u, 3478);
	set4(&a.local[STUN_SOCK_ALT_ALT], 0xC0000202u, 3479);
	for (int on = 0; on < STUN_SOCK_COUNT; on++) {
		size_t out_len;
		int idx;

		a.received_on = on;
		if (stun_server_answer(data, size, (struct sockaddr *)&from, &a, out, sizeof(out),
				       &out_len, &idx) == STUN_DROP_NONE) {
			/* No reply larger than the bound or, padded, the request. */
			if (out_len > (size > STUN_RESPONSE_MAX ? size : STUN_RESPONSE_MAX) ||
			    idx < 0 || idx >= STUN_SOCK_COUNT ||
			    stun_read(out, out_len, &msg, NULL) != 0) {
				abort();
			}
		} else if (out_len != 0) {
			abort();
		}
	}
	return 0;
}
