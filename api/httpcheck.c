/* httpcheck: request-target, Host and Content-Type checks for httpd.
 * No I/O, no civetweb: every input here comes straight off the network. */
#include "api/httpcheck.h"

#include "api/httpd.h"

#include <netinet/in.h>
#include <string.h>
#include <strings.h>

bool httpcheck_target(const char *uri)
{
	size_t n = 0;

	if (!uri || uri[0] != '/') {
		return false;
	}
	for (; uri[n] != '\0'; n++) {
		unsigned char c = (unsigned char)uri[n];

		if (n >= HTTPD_URI_MAX || c < 0x20 || c == 0x7f) {
			return false;
		}
		if (c == '/' && uri[n + 1] == '/') {
			return false;
		}
	}
	return true;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
		return (c | 0x20) - 'a' + 10;
	}
	return -1;
}

bool httpcheck_decode_path(const char *raw, char *out, size_t out_size)
{
	size_t n = 0;

	for (size_t i = 0; raw[i] != '\0'; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '%') {
			int hi = hex_value(raw[i + 1]);
			int lo = hi < 0 ? -1 : hex_value(raw[i + 2]);

			if (lo < 0) {
				return false;
			}
			c = (unsigned char)(hi * 16 + lo);
			if (c < 0x20 || c == 0x7f || c == '/') {
				return false;
			}
			i += 2;
		}
		if (n + 1 >= out_size) {
			return false;
		}
		out[n++] = (char)c;
	}
	if (out_size == 0) {
		return false;
	}
	out[n] = '\0';
	return true;
}

bool httpcheck_host(const char *host, const char (*allowed)[80], size_t n_allowed)
{
	if (!host) {
		return false;
	}
	for (size_t i = 0; i < n_allowed; i++) {
		if (strcasecmp(host, allowed[i]) == 0) {
			return true;
		}
	}
	return false;
}

bool httpcheck_json_type(const char *content_type)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	if (!content_type || strncasecmp(content_type, json, n) != 0) {
		return false;
	}
	return content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ';
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	return p;
}

bool httpcheck_if_match(const char *header, const char *etag)
{
	size_t n = strlen(etag);
	bool is_match = false, is_any = false;
	const char *p = skip_ows(header);

	/* "*" stands alone: If-Match = "*" / #entity-tag. */
	if (*p == '*') {
		return *skip_ows(p + 1) == '\0';
	}
	/* Elements separated by commas (empty ones allowed, as #rule says),
	 * each [W/]"etagc*"; anything else makes the list malformed. */
	while (*p) {
		const char *end;
		bool is_weak = false;

		if (*p == ',') {
			p = skip_ows(p + 1);
			continue;
		}
		if (p[0] == 'W' && p[1] == '/') {
			is_weak = true;
			p += 2;
		}
		/* An entity tag is quoted; a comma may be inside the quotes. */
		end = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (!end) {
			return false;
		}
		is_any = true;
		is_match = is_match ||
			   (!is_weak && (size_t)(end + 1 - p) == n && memcmp(p, etag, n) == 0);
		p = skip_ows(end + 1);
		if (*p != ',' && *p != '\0') {
			return false; /* two tags with no comma between them */
		}
	}
	return is_any && is_match;
}

bool httpcheck_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}
