/* monotime: CLOCK_BOOTTIME in microseconds. Only daemons call it; engines
 * in proto/ and nat/ take now_us as an argument.
 *
 * CLOCK_BOOTTIME is CLOCK_MONOTONIC plus the time the machine spent
 * suspended (as WireGuard's timers use). A GCS laptop that slept for an hour
 * thus wakes with every age right: its session keys are past
 * REJECT_AFTER_TIME, so nothing is sealed or opened under them any more (on
 * CLOCK_MONOTONIC they would still count as fresh: the datagrams that queued
 * in its sockets while it slept, minutes old, would reach its apps), and its
 * paths and server session look as silent as they have been. libev's timers
 * run on CLOCK_MONOTONIC: after a suspend they fire late by the time slept,
 * and each callback then reads this clock and acts on every deadline
 * passed. */
#include "monotime.h"

#include <time.h>

uint64_t monotime_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
