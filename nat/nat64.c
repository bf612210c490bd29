/* nat64: RFC 6052 address embedding and RFC 7050 prefix discovery (nat64.h). */
#include "nat/nat64.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Where the four bytes of the IPv4 address sit for each prefix length (RFC
 * 6052 §2.2): byte 8 (bits 64-71, the "u" octet) is never one of them. */
static const uint8_t *v4_bytes(unsigned len)
{
	static const uint8_t at32[4] = {4, 5, 6, 7}, at40[4] = {5, 6, 7, 9},
			     at48[4] = {6, 7, 9, 10}, at56[4] = {7, 9, 10, 11},
			     at64[4] = {9, 10, 11, 12}, at96[4] = {12, 13, 14, 15};

	switch (len) {
	case 32:
		return at32;
	case 40:
		return at40;
	case 48:
		return at48;
	case 56:
		return at56;
	case 64:
		return at64;
	case 96:
		return at96;
	default:
		return NULL;
	}
}

bool nat64_len_ok(unsigned len)
{
	return v4_bytes(len) != NULL;
}

void nat64_embed(const struct nat64_prefix *p, const struct in_addr *v4, struct in6_addr *out)
{
	const uint8_t *at = v4_bytes(p->len);
	const uint8_t *b = (const uint8_t *)&v4->s_addr;

	memset(out, 0, sizeof(*out));
	if (!at) {
		return;
	}
	memcpy(out->s6_addr, p->prefix.s6_addr, p->len / 8u);
	for (unsigned i = 0; i < 4; i++) {
		out->s6_addr[at[i]] = b[i];
	}
}

void nat64_extract(const struct in6_addr *a, unsigned len, struct in_addr *out)
{
	const uint8_t *at = v4_bytes(len);
	uint8_t *b = (uint8_t *)&out->s_addr;

	memset(out, 0, sizeof(*out));
	if (!at) {
		return;
	}
	for (unsigned i = 0; i < 4; i++) {
		b[i] = a->s6_addr[at[i]];
	}
}

bool nat64_prefix_of_wka(const struct in6_addr *a, struct nat64_prefix *out)
{
	static const unsigned lens[] = {96, 64, 56, 48, 40, 32};

	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct in_addr v4;
		uint32_t h;

		nat64_extract(a, lens[k], &v4);
		h = ntohl(v4.s_addr);
		if ((h != 0xC00000AAu && h != 0xC00000ABu) ||
		    (lens[k] < 96 && a->s6_addr[8] != 0)) {
			continue;
		}
		memcpy(out->prefix.s6_addr, a->s6_addr, lens[k] / 8u);
		out->len = (uint8_t)lens[k];
		return true;
	}
	return false;
}

void nat64_reach(const struct nat64_prefix *p, int family, const struct sockaddr_storage *in,
		 struct sockaddr_storage *out)
{
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;

	if (in->ss_family != AF_INET || family != AF_INET6 || !nat64_len_ok(p->len)) {
		*out = *in;
		return;
	}
	memcpy(&v4, in, sizeof(v4));
	memset(&v6, 0, sizeof(v6));
	v6.sin6_family = AF_INET6;
	v6.sin6_port = v4.sin_port;
	nat64_embed(p, &v4.sin_addr, &v6.sin6_addr);
	memset(out, 0, sizeof(*out));
	memcpy(out, &v6, sizeof(v6));
}

const char *nat64_prefix_format(const struct nat64_prefix *p, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(AF_INET6, &p->prefix, text, sizeof(text))) {
		snprintf(buf, len, "?");
	} else {
		snprintf(buf, len, "%s/%u", text, (unsigned)p->len);
	}
	return buf;
}
