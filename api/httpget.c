/* httpget: a minimal blocking HTTP client for the local APIs. Sends one
 * GET (or a POST with a small JSON body) with Connection: close, reads until the peer closes
 * (bounded in size and time), and splits the status line from the body. No chunked decoding: httpd
 * answers with Content-Length and closes. */
#include "api/httpget.h"

#include "common/addr.h"
#include "common/monotime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Wait for fd to be ready for events until deadline_us. 0 or -ETIMEDOUT. */
static int wait_fd(int fd, short events, uint64_t deadline_us)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t now = monotime_now_us();
		struct pollfd p = {.fd = fd, .events = events};
		int n;

		if (now >= deadline_us) {
			return -ETIMEDOUT;
		}
		n = poll(&p, 1, (int)((deadline_us - now + 999) / 1000));
		if (n > 0) {
			return 0;
		}
		if (n < 0 && errno != EINTR) {
			return -errno;
		}
	}
	return -ETIMEDOUT;
}

static int connect_to(const struct sockaddr_storage *addr, uint64_t deadline_us)
{
	int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (const struct sockaddr *)addr, addr_len(addr)) == 0) {
		return fd;
	}
	if (errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	err = wait_fd(fd, POLLOUT, deadline_us);
	if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err != 0) {
		err = -err;
	}
	if (err != 0) {
		close(fd);
		return err;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n, uint64_t deadline_us)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		int err = wait_fd(fd, POLLOUT, deadline_us);
		if (err != 0) {
			return err;
		}
	}
	return 0;
}

static int recv_all(int fd, char *buf, size_t cap, size_t *used, uint64_t deadline_us)
{
	for (;;) {
		ssize_t k;

		if (*used == cap) {
			return -EFBIG;
		}
		k = recv(fd, buf + *used, cap - *used, 0);
		if (k == 0) {
			return 0;
		}
		if (k > 0) {
			*used += (size_t)k;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		int err = wait_fd(fd, POLLIN, deadline_us);
		if (err != 0) {
			return err;
		}
	}
}

/* "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" -> status, body. */
static int split(char *buf, size_t used, int *status, char **body, size_t *len)
{
	char *end = memmem(buf, used, "\r\n\r\n", 4);
	int code = 0;

	buf[used] = '\0';
	if (!end || sscanf(buf, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
		return -EPROTO;
	}
	end += 4;
	*len = used - (size_t)(end - buf);
	*body = malloc(*len + 1);
	if (!*body) {
		return -ENOMEM;
	}
	memcpy(*body, end, *len);
	(*body)[*len] = '\0';
	*status = code;
	return 0;
}

/* One request: method path [with a JSON body], then read the answer. */
static int request(const struct sockaddr_storage *addr, const char *method, const char *path,
		   const char *json, unsigned timeout_ms, int *status, char **body, size_t *len)
{
	uint64_t deadline_us = monotime_now_us() + (uint64_t)timeout_ms * 1000u;
	char host[ADDR_TEXT_MAX];
	char req[HTTPGET_REQUEST_MAX];
	size_t json_len = json ? strlen(json) : 0;
	char *buf;
	size_t used = 0;
	int fd, err, n;

	addr_format((const struct sockaddr *)addr, host, sizeof(host));
	if (json) {
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s",
			     method, path, host, json_len, json);
	} else {
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
			     "Connection: close\r\n\r\n",
			     method, path, host);
	}
	if (n < 0 || n >= (int)sizeof(req)) {
		return -ENAMETOOLONG;
	}
	fd = connect_to(addr, deadline_us);
	if (fd < 0) {
		return fd;
	}
	buf = malloc(HTTPGET_REPLY_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	err = send_all(fd, req, (size_t)n, deadline_us);
	if (err == 0) {
		err = recv_all(fd, buf, HTTPGET_REPLY_MAX, &used, deadline_us);
	}
	close(fd);
	if (err == 0) {
		err = split(buf, used, status, body, len);
	}
	free(buf);
	return err;
}

int httpget(const struct sockaddr_storage *addr, const char *path, unsigned timeout_ms, int *status,
	    char **body, size_t *len)
{
	return request(addr, "GET", path, NULL, timeout_ms, status, body, len);
}

int httpget_post(const struct sockaddr_storage *addr, const char *path, const char *json,
		 unsigned timeout_ms, int *status, char **body, size_t *len)
{
	return request(addr, "POST", path, json, timeout_ms, status, body, len);
}
