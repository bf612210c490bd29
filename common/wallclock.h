/* wallclock: the wall clock (CLOCK_REALTIME) in µs, for what must order
 * across restarts and machines: stamps, a state file's age, a notice. Never
 * for timing (common/monotime.h): it jumps when the clock is set. */
#ifndef WH_WALLCLOCK_H
#define WH_WALLCLOCK_H

#include <stdint.h>

/* Now, in µs since the epoch; 0 when the clock cannot be read. */
uint64_t wallclock_now_us(void);

#endif
