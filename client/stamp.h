/* stamp: the 64-bit stamps our handshake initiations carry (PROTOCOL.md
 * "Stamps"): wall clock in µs when it is after 2024-01-01, else the
 * monotonic clock; never repeating or going back within the process.
 * Pure: the clocks come in as arguments. */
#ifndef WH_STAMP_H
#define WH_STAMP_H

#include <stdint.h>

/* 2024-01-01T00:00:00Z in µs since the Unix epoch. */
#define STAMP_WALL_MIN_US 1704067200000000ull

struct stamp {
	uint64_t last; /* last stamp handed out; 0 = none yet */
};

void stamp_init(struct stamp *st);

/* The next stamp: wall_us if it is after STAMP_WALL_MIN_US, else mono_us,
 * raised to last + 1 when it would not grow. */
uint64_t stamp_next(struct stamp *st, uint64_t wall_us, uint64_t mono_us);

#endif
