/* flowstats: each flow's counters and congestion state to the server
 * (FRAME_FLOW_STATS), for its API and metrics — on a direct path the
 * server sees none of the traffic. Once a second, a flow whose counters or
 * saturated state changed since its last report is reported; an unchanged
 * one every keepalive interval. Embedded in struct client; one timer. */
#ifndef WH_FLOWSTATS_H
#define WH_FLOWSTATS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire_const.h"

struct client;

#define FLOWSTATS_PERIOD_S 1.0
/* Flows reported and remembered: every flow a client can hold (the first 64
 * alone were, and the others' counters never reached the server). */
#define FLOWSTATS_FLOWS_MAX 256

struct flowstats_last {
	char name[WIRE_NAME_MAX + 1];
	uint64_t tx_packets;
	uint64_t rx_packets;
	uint64_t drops;
	bool saturated;
	uint64_t sent_us;
};

struct flowstats {
	ev_timer timer;
	struct flowstats_last last[FLOWSTATS_FLOWS_MAX];
	size_t n_last;
	uint64_t sent; /* reports sent */
};

void flowstats_init(struct flowstats *fr);
void flowstats_start(struct client *cl);
void flowstats_stop(struct client *cl);

#endif
