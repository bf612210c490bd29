/* monotime: CLOCK_MONOTONIC in microseconds. Only daemons call it; engines
 * in proto/ and nat/ take now_us as an argument. */
#include "monotime.h"

#include <time.h>

uint64_t monotime_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
