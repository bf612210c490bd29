/* flowreport: one flow's congestion and traffic state as the client's local
 * API shows it (DESIGN §8-§9, issue #9): the objects of GET /api/v1/flows
 * and the data of the /api/v1/events stream. A TCP flow has the same
 * fields (never saturated, no capacity estimate or impairment: its streams
 * run their own congestion control) and "connections". A plain struct the daemon fills
 * (api/ never includes client/ headers) and its JSON. */
#ifndef WH_FLOWREPORT_H
#define WH_FLOWREPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define FLOWREPORT_NAME_SIZE 33

/* The impairment counters of a flow, named as client/impair.h names them. */
struct flowreport_impair {
	uint64_t dropped, corrupted, duplicated, reordered, delayed, rate_dropped, pool_dropped;
};

struct flowreport_flow {
	char name[FLOWREPORT_NAME_SIZE];
	const char *proto;    /* "udp" or "tcp" (static string) */
	uint32_t connections; /* tcp: open connections (JSON only for tcp) */
	bool is_saturated;
	uint32_t capacity_kbps; /* 0: not measured yet (JSON null) */
	uint32_t send_kbps;
	double loss;	 /* 0..1 */
	uint32_t rtt_ms; /* 0: unknown (JSON null) */
	bool has_impair; /* false: JSON "impair": null */
	struct flowreport_impair impair;
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, drops;
};

/* The JSON object of f: a new object (caller frees with cJSON_Delete), NULL
 * when out of memory. */
cJSON *flowreport_json(const struct flowreport_flow *f);
/* The same, printed unformatted on one line: a new string (caller frees),
 * NULL when out of memory. */
char *flowreport_text(const struct flowreport_flow *f);

#endif
