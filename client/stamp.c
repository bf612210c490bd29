/* stamp: initiation stamps that grow strictly within the process
 * (PROTOCOL.md "Stamps"). The wall clock is read here only to build stamps;
 * it never enters timing decisions, which use monotime (STYLE §6). */
#include "stamp.h"

void stamp_init(struct stamp *st)
{
	st->last = 0;
}

uint64_t stamp_next(struct stamp *st, uint64_t wall_us, uint64_t mono_us)
{
	/* A drone without a real-time clock boots in 1970: its wall clock says
	 * nothing, so the monotonic clock stands in until NTP sets it. */
	uint64_t v = wall_us > STAMP_WALL_MIN_US ? wall_us : mono_us;

	if (v <= st->last) {
		v = st->last + 1;
	}
	st->last = v;
	return v;
}
