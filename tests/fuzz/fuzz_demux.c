/* fuzz_demux: classify arbitrary datagrams as the receive path does
 * (demux_classify), then hand each to the message reader its kind names
 * (the restart notice's reader checks its mac too);
 * a datagram demux accepts must have the size its reader expects. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/demux.h"
#include "proto/msg.h"
#include "proto/restarted.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum demux_reason reason = DEMUX_REASON_COUNT;
	enum demux_kind kind = demux_classify(data, size, &reason);
	struct msg_initiation init;
	struct msg_response resp;
	struct msg_cookie_reply reply;
	struct msg_transport tr;

	check((kind == DEMUX_DROP) == (reason != DEMUX_OK));
	check(reason < DEMUX_REASON_COUNT);
	switch (kind) {
	case DEMUX_INITIATION:
		check(msg_read_initiation(data, size, &init) == 0);
		break;
	case DEMUX_RESPONSE:
		check(msg_read_response(data, size, &resp) == 0);
		break;
	case DEMUX_COOKIE_REPLY:
		check(msg_read_cookie_reply(data, size, &reply) == 0);
		break;
	case DEMUX_TRANSPORT:
		check(msg_read_transport(data, size, &tr) == 0);
		check(tr.ciphertext + tr.ciphertext_len == data + size);
		break;
	case DEMUX_STUN:
		check(size >= WIRE_STUN_HEADER_LEN && data[0] <= 3);
		break;
	case DEMUX_RESTARTED: {
		/* The right size and type; the mac under a made-up key is not. */
		static const uint8_t key[WIRE_KEY_LEN] = {1};
		uint64_t stamp;

		check(restarted_read(data, size, key, &stamp) != -EPROTO);
		break;
	}
	default:
		break;
	}
	return 0;
}
