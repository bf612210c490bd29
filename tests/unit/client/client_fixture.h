/* client_fixture: small builders of ROUTE and PEER frames for the client's
 * unit tests. */
#ifndef WH_TEST_CLIENT_FIXTURE_H
#define WH_TEST_CLIENT_FIXTURE_H

#include <string.h>

#include "proto/frame.h"

static inline void fixture_name(struct frame_name *n, const char *s)
{
	memset(n, 0, sizeof(*n));
	n->len = (uint8_t)strlen(s);
	memcpy(n->text, s, n->len);
}

/* A UDP flow; members as "name:roles" pairs with roles 1 src, 2 sink, 3 both. */
static inline struct frame_route fixture_route(uint64_t gen, uint32_t id, const char *name,
					       uint16_t listen_port, uint16_t deliver_port,
					       size_t n, const char *const *names,
					       const uint8_t *roles)
{
	struct frame_route r;

	memset(&r, 0, sizeof(r));
	r.generation = gen;
	r.flow_id = id;
	fixture_name(&r.flow, name);
	r.proto = FRAME_PROTO_UDP;
	r.port = 5600;
	r.listen_port = listen_port;
	if (deliver_port) {
		r.deliver.family = FRAME_ADDR_IPV4;
		r.deliver.ip[0] = 127;
		r.deliver.ip[3] = 1;
		r.deliver.port = deliver_port;
	}
	r.mtu = 1400;
	r.member_count = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		fixture_name(&r.members[i].name, names[i]);
		r.members[i].roles = roles[i];
	}
	return r;
}

static inline struct frame_peer fixture_peer(uint64_t gen, const char *name, uint8_t key_byte,
					     uint16_t relay_port)
{
	struct frame_peer p;

	memset(&p, 0, sizeof(p));
	p.generation = gen;
	fixture_name(&p.peer, name);
	memset(p.key, key_byte, sizeof(p.key));
	p.relay_port = relay_port;
	return p;
}

#endif
