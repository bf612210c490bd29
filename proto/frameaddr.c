/* frameaddr: wire addresses <-> sockaddrs (see frameaddr.h). */
#include "proto/frameaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

bool frameaddr_from_sockaddr(struct frame_addr *out, const struct sockaddr *sa)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		out->family = FRAME_ADDR_IPV4;
		memcpy(out->ip, &in->sin_addr, 4);
		out->port = ntohs(in->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		out->family = FRAME_ADDR_IPV6;
		memcpy(out->ip, &in6->sin6_addr, 16);
		out->port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

void frameaddr_to_sockaddr(const struct frame_addr *a, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == FRAME_ADDR_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)out;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->ip, 4);
		sin->sin_port = htons(a->port);
	} else if (a->family == FRAME_ADDR_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)out;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->ip, 16);
		sin6->sin6_port = htons(a->port);
	}
}

bool frameaddr_same_ip(const struct frame_addr *a, const struct frame_addr *b)
{
	size_t n = a->family == FRAME_ADDR_IPV4 ? 4 : 16;

	return a->family != 0 && a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}
