/* relay_fixture: real UDP ports on 127.0.0.1 for the relay's unit tests. */
#ifndef WH_TEST_RELAY_FIXTURE_H
#define WH_TEST_RELAY_FIXTURE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socket holding port p on 127.0.0.1 (another program), or -1. */
static inline int fix_hold(uint16_t p)
{
	struct sockaddr_in in;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(p);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&in, sizeof(in)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The first port of n (at most 64) consecutive ports that are all free on
 * 127.0.0.1 right now, searched in slots of `stride` from lo up to hi, or
 * 0. The search starts at a slot picked by the PID: two copies of a test
 * run at once (the release and the sanitizer build) would otherwise both
 * find the first slot free and then race for it. */
static inline uint16_t fix_free_ports(unsigned n, uint16_t lo, uint16_t hi, unsigned stride)
{
	const unsigned slots = (unsigned)(hi - lo) / stride;
	unsigned first = (unsigned)getpid() % slots;

	for (unsigned k = 0; k < slots && n <= 64; k++) {
		uint16_t base = (uint16_t)(lo + ((first + k) % slots) * stride);
		int fds[64];
		size_t held = 0;
		bool ok = true;

		for (; held < n && ok; held++) {
			fds[held] = fix_hold((uint16_t)(base + held));
			ok = fds[held] >= 0;
		}
		for (size_t i = 0; i < held; i++) {
			if (fds[i] >= 0) {
				close(fds[i]);
			}
		}
		if (ok) {
			return base;
		}
	}
	return 0;
}

#endif
