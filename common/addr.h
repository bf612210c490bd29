/* addr: numeric "ip:port" text <-> struct sockaddr_storage, for IPv4
 * ("203.0.113.10:7400") and bracketed IPv6 ("[2001:db8::1]:7400"), and the
 * syntax of "name:port". No DNS: names are never resolved here. */
#ifndef WH_ADDR_H
#define WH_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text addr_format writes: "[" + INET6_ADDRSTRLEN + "]:65535" + NUL. */
#define ADDR_TEXT_MAX 64

/* Parse "1.2.3.4:7400" or "[::1]:7400" (numeric only, port 1..65535, no
 * spaces). Fills *out (zeroed first) and *len (may be NULL).
 * Returns 0 or -EINVAL. */
int addr_parse(const char *text, struct sockaddr_storage *out, socklen_t *len);

/* Longest host name addr_parse_name accepts, with its NUL (RFC 1035: 253
 * characters of text). */
#define ADDR_NAME_MAX 254

/* Parse "name:port" where name is a host name: dot-separated labels of
 * letters, digits and inner hyphens (1..63 each, 253 in all, one trailing
 * dot allowed and dropped), the last label not all digits (so that a
 * mistyped IPv4 address is not taken for a name). Copies the name into
 * name[name_size] and the port (1..65535) into *port. Syntax only: nothing
 * is resolved. Returns 0 or -EINVAL. */
int addr_parse_name(const char *text, char *name, size_t name_size, uint16_t *port);

/* Parse a bare IP address without a port: "10.20.0.2", "2001:db8::2" or
 * "[2001:db8::2]". The port is set to 0. Returns 0 or -EINVAL. */
int addr_parse_ip(const char *text, struct sockaddr_storage *out, socklen_t *len);

/* Format as "1.2.3.4:7400" / "[::1]:7400" into buf and return buf. An
 * unknown family or a too-small buffer gives "?" (or an empty string when
 * len < 2). Never fails. */
const char *addr_format(const struct sockaddr *sa, char *buf, size_t len);

/* Same family, IP and port (IPv6 also compares the scope id). */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* 0.0.0.0 or :: (any port); false for an unknown family. */
bool addr_is_unspecified(const struct sockaddr *sa);
/* An IPv6 link-local address (fe80::/10): it needs an interface (a zone),
 * which no address in our config files can name. */
bool addr_is_link_local(const struct sockaddr *sa);

/* The port in host order, or 0 for an unknown family. */
uint16_t addr_port(const struct sockaddr *sa);

/* Set the port (host order); no-op for an unknown family. */
void addr_set_port(struct sockaddr_storage *ss, uint16_t port);

/* Copy the IP address's bytes (4 for IPv4, 16 for IPv6, in network order)
 * to out and return how many; 0 for an unknown family. */
size_t addr_ip_bytes(const struct sockaddr *sa, uint8_t out[16]);

/* The socklen_t matching ss->ss_family (0 for an unknown family). */
socklen_t addr_len(const struct sockaddr_storage *ss);

#endif
