/* addr: numeric "ip:port" text <-> struct sockaddr_storage for IPv4 and
 * bracketed IPv6, the syntax of "name:port", and address comparison. Pure
 * functions: no DNS (names are never resolved here), no sockets, no
 * logging. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Longest IP text we accept inside the brackets or before the colon. */
#define ADDR_IP_MAX 46

/* Parse a decimal port 1..65535: digits only, no sign, no leading zeros
 * beyond "0" (which is out of range anyway). */
static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 5) {
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v < 1 || v > 65535 || s[0] == '0') {
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

/* Parse ip (no brackets) as IPv4 or IPv6 into out with the given port. */
static int parse_ip(const char *ip, uint16_t port, bool want_v6, struct sockaddr_storage *out,
		    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof(*out));
	if (!want_v6 && inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (len) {
			*len = sizeof(*sin);
		}
		return 0;
	}
	if (want_v6 && inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		/* An IPv4-mapped address (::ffff:a.b.c.d) is IPv4: every socket
		 * here is of one family (IPV6_V6ONLY), so as IPv6 it would reach
		 * nothing, and it would not equal the same address written as
		 * IPv4 (a listen address listed twice, a peer's address). */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			struct in_addr v4;

			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			memset(out, 0, sizeof(*out));
			sin->sin_family = AF_INET;
			sin->sin_addr = v4;
			sin->sin_port = htons(port);
			if (len) {
				*len = sizeof(*sin);
			}
			return 0;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (len) {
			*len = sizeof(*sin6);
		}
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int addr_parse(const char *text, struct sockaddr_storage *out, socklen_t *len)
{
	char ip[ADDR_IP_MAX];
	const char *colon;
	size_t ip_len;
	uint16_t port;
	bool is_v6 = false;

	memset(out, 0, sizeof(*out));
	if (!text) {
		return -EINVAL;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':') {
			return -EINVAL;
		}
		text++;
		ip_len = (size_t)(close - text);
		colon = close + 1;
		is_v6 = true;
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text))) {
			return -EINVAL; /* IPv6 needs brackets */
		}
		ip_len = (size_t)(colon - text);
	}
	if (ip_len == 0 || ip_len >= sizeof(ip) || parse_port(colon + 1, &port) != 0) {
		return -EINVAL;
	}
	memcpy(ip, text, ip_len);
	ip[ip_len] = '\0';
	return parse_ip(ip, port, is_v6, out, len);
}

/* One label of a host name (RFC 1123 §2.1): letters, digits and inner
 * hyphens, 1..63 characters. */
static bool is_label(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-')) {
			return false;
		}
	}
	return true;
}

int addr_parse_name(const char *text, char *name, size_t name_size, uint16_t *port)
{
	const char *colon, *label;
	size_t n;
	bool is_numeric_tail = true;

	if (!text || !name || name_size == 0) {
		return -EINVAL;
	}
	name[0] = '\0';
	colon = strrchr(text, ':');
	if (!colon || parse_port(colon + 1, port) != 0) {
		return -EINVAL;
	}
	n = (size_t)(colon - text);
	if (n > 0 && text[n - 1] == '.') {
		n--; /* a fully qualified "name.:port" */
	}
	if (n == 0 || n > ADDR_NAME_MAX - 1 || n >= name_size) {
		return -EINVAL;
	}
	label = text;
	for (const char *dot; label < text + n; label = dot + 1) {
		dot = memchr(label, '.', (size_t)(text + n - label));
		if (!dot) {
			dot = text + n;
		}
		if (!is_label(label, (size_t)(dot - label))) {
			return -EINVAL;
		}
		is_numeric_tail = strspn(label, "0123456789") >= (size_t)(dot - label);
		if (dot == text + n) {
			break;
		}
	}
	if (text[n - 1] == '.' || is_numeric_tail) {
		return -EINVAL; /* "a..b", "a.", or digits last: a broken IPv4 address */
	}
	memcpy(name, text, n);
	name[n] = '\0';
	return 0;
}

int addr_parse_ip(const char *text, struct sockaddr_storage *out, socklen_t *len)
{
	char ip[ADDR_IP_MAX];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!text) {
		return -EINVAL;
	}
	n = strlen(text);
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(ip)) {
		return -EINVAL;
	}
	memcpy(ip, text, n);
	ip[n] = '\0';
	if (strchr(ip, ':')) {
		return parse_ip(ip, 0, true, out, len);
	}
	return parse_ip(ip, 0, false, out, len);
}

const char *addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int n = -1;

	if (len == 0) {
		return buf;
	}
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		n = snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		n = snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(sin6->sin6_port));
	}
	if (n < 0 || (size_t)n >= len) {
		snprintf(buf, len, "%s", len >= 2 ? "?" : "");
	}
	return buf;
}

bool addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (!a || !b || a->sa_family != b->sa_family) {
		return false;
	}
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

bool addr_is_unspecified(const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET) {
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr ==
		       INADDR_ANY;
	}
	if (sa && sa->sa_family == AF_INET6) {
		return IN6_IS_ADDR_UNSPECIFIED(
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	}
	return false;
}

bool addr_is_link_local(const struct sockaddr *sa)
{
	return sa && sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
}

uint16_t addr_port(const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET) {
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	}
	if (sa && sa->sa_family == AF_INET6) {
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	return 0;
}

size_t addr_ip_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa && sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 16;
	}
	return 0;
}

void addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	} else if (ss->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	}
}

socklen_t addr_len(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		return sizeof(struct sockaddr_in);
	}
	if (ss->ss_family == AF_INET6) {
		return sizeof(struct sockaddr_in6);
	}
	return 0;
}
