/* monotime: the one clock protocol state may use (STYLE §6). */
#ifndef WH_MONOTIME_H
#define WH_MONOTIME_H

#include <stdint.h>

/* Microseconds on CLOCK_BOOTTIME (monotonic, and counting while the machine
 * is suspended). Never the wall clock. */
uint64_t monotime_now_us(void);

#endif
