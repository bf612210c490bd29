/* pathsched: how a `balance` flow spreads its datagrams over the live paths
 * (DESIGN §5.5): each path's weight from what its pings measure, (1 - loss)
 * / (RTT + PATHSCHED_RTT_BIAS_US) — equal links share equally, a link whose
 * queue builds (its RTT and loss grow) gets less — and a smooth weighted
 * round robin that interleaves the paths in proportion to their weights
 * without bursts (each pick adds every weight to its path's credit, takes
 * the largest credit and subtracts the total from it). No I/O, no time. */
#ifndef WH_PATHSCHED_H
#define WH_PATHSCHED_H

#include <stddef.h>
#include <stdint.h>

#define PATHSCHED_RTT_BIAS_US 20000u

/* Weight of a path with loss (0..1) and smoothed RTT srtt_us (0: not
 * measured yet, counted as 0): at least 1. */
int64_t pathsched_weight(double loss, uint32_t srtt_us);

/* One pick among n paths: weight[i] > 0 for the eligible ones (0: skip).
 * Updates credit[] (kept by the caller between picks, 0 to start) and
 * returns the chosen index, or -1 when none is eligible. */
int pathsched_pick(int64_t credit[], const int64_t weight[], size_t n);

#endif
