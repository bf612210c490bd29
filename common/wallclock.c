/* wallclock: the wall clock in µs (see wallclock.h). */
#include "common/wallclock.h"

#include <time.h>

uint64_t wallclock_now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		return 0;
	}
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
