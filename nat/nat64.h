/* nat64: IPv4-embedded IPv6 addresses (RFC 6052 §2.2) and a network's NAT64
 * prefix found from the AAAA records a DNS64 server synthesizes for
 * ipv4only.arpa (RFC 7050). A client on an IPv6-only network reaches an IPv4
 * peer through its carrier's NAT64 at the peer's address embedded in that
 * prefix. Pure functions: the lookup itself is the caller's. */
#ifndef WH_NAT64_H
#define WH_NAT64_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The well-known name (RFC 7050 §2.2): only IPv4 records, 192.0.0.170 and
 * 192.0.0.171; a DNS64 server answers AAAA queries for it with them
 * embedded in its NAT64 prefix. */
#define NAT64_WKA_NAME "ipv4only.arpa"

struct nat64_prefix {
	struct in6_addr prefix; /* the bits past len are zero */
	uint8_t len;		/* 32, 40, 48, 56, 64 or 96; 0: none */
};

/* len is one of RFC 6052's prefix lengths. */
bool nat64_len_ok(unsigned len);
/* v4 embedded in p (p->len valid): RFC 6052 §2.2, bits 64-71 zero, the
 * suffix zero. */
void nat64_embed(const struct nat64_prefix *p, const struct in_addr *v4, struct in6_addr *out);
/* The IPv4 address embedded in a at prefix length len (valid). */
void nat64_extract(const struct in6_addr *a, unsigned len, struct in_addr *out);
/* The prefix of a, an AAAA record of ipv4only.arpa: the first length, /96
 * first then /64 down to /32, at which a embeds 192.0.0.170 or 192.0.0.171
 * with bits 64-71 zero (RFC 7050 §3). False when there is none. */
bool nat64_prefix_of_wka(const struct in6_addr *a, struct nat64_prefix *out);
/* in as a socket of family reaches it: an IPv4 address, for an IPv6 socket
 * with a prefix p (len not 0), embedded in p with in's port; anything else
 * as it is. */
void nat64_reach(const struct nat64_prefix *p, int family, const struct sockaddr_storage *in,
		 struct sockaddr_storage *out);
/* "2001:db8:ffff::/96" into buf (at least INET6_ADDRSTRLEN + 4 bytes). */
const char *nat64_prefix_format(const struct nat64_prefix *p, char *buf, size_t len);

#endif
