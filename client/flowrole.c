/* flowrole: the member and role rules of a flow (DESIGN §4), pure. Used by
 * flow_udp.c to pick sockets and destinations; owns nothing. */
#include "flowrole.h"

#include "client/routeintake.h"

#include <string.h>

uint8_t flowrole_self(const struct frame_route *r, const char *self)
{
	return routeintake_member_roles(r, self);
}

bool flowrole_listens(const struct frame_route *r, const char *self)
{
	return (flowrole_self(r, self) & FRAME_ROLE_SOURCE) && r->listen_port != 0;
}

bool flowrole_delivers(const struct frame_route *r, const char *self)
{
	return (flowrole_self(r, self) & FRAME_ROLE_SINK) && r->deliver.family != 0;
}

bool flowrole_is_remote_source(const struct frame_route *r, const char *self, size_t i)
{
	return i < r->member_count && flowrole_delivers(r, self) &&
	       (r->members[i].roles & FRAME_ROLE_SOURCE) &&
	       strcmp(r->members[i].name.text, self) != 0;
}

bool flowrole_is_remote_sink(const struct frame_route *r, const char *self, size_t i)
{
	return i < r->member_count && (r->members[i].roles & FRAME_ROLE_SINK) &&
	       strcmp(r->members[i].name.text, self) != 0;
}

enum flowrole_verdict flowrole_on_datagram(const struct frame_route *r, const char *self,
					   const char *sender, uint8_t flags)
{
	uint8_t theirs = routeintake_member_roles(r, sender);
	uint8_t ours = flowrole_self(r, self);

	if (theirs == 0 || ours == 0 || strcmp(sender, self) == 0) {
		return FLOWROLE_DROP_NOT_MEMBER;
	}
	if (flags & FRAME_DATAGRAM_REPLY) {
		/* A sink answers the source it got data from. */
		if (!(ours & FRAME_ROLE_SOURCE) || !(theirs & FRAME_ROLE_SINK)) {
			return FLOWROLE_DROP_NOT_SOURCE;
		}
		return FLOWROLE_REPLY;
	}
	if (!(ours & FRAME_ROLE_SINK) || !(theirs & FRAME_ROLE_SOURCE) || r->deliver.family == 0) {
		return FLOWROLE_DROP_NOT_SINK;
	}
	return FLOWROLE_DELIVER;
}

size_t flowrole_payload_max(const struct frame_route *r)
{
	size_t mtu = r->mtu;

	if (mtu == 0) {
		return FLOWROLE_PAYLOAD_MAX;
	}
	return mtu < FLOWROLE_PAYLOAD_MAX ? mtu : FLOWROLE_PAYLOAD_MAX;
}
