/* flowreport: a flow's congestion and traffic state as JSON for the client's
 * local API (DESIGN §8-§9, issue #9). Pure rendering: no state, no I/O.
 * Unknown measurements are JSON null rather than 0, so an encoder never
 * mistakes "not measured yet" for "no capacity". */
#include "api/flowreport.h"

#include <stdlib.h>
#include <string.h>

static bool add_num_or_null(cJSON *o, const char *key, double v, bool is_known)
{
	return is_known ? cJSON_AddNumberToObject(o, key, v) != NULL
			: cJSON_AddNullToObject(o, key) != NULL;
}

static bool add_impair(cJSON *o, const struct flowreport_flow *f)
{
	const struct flowreport_impair *c = &f->impair;
	cJSON *imp;

	if (!f->has_impair) {
		return cJSON_AddNullToObject(o, "impair") != NULL;
	}
	imp = cJSON_AddObjectToObject(o, "impair");
	return imp && cJSON_AddNumberToObject(imp, "dropped", (double)c->dropped) &&
	       cJSON_AddNumberToObject(imp, "corrupted", (double)c->corrupted) &&
	       cJSON_AddNumberToObject(imp, "duplicated", (double)c->duplicated) &&
	       cJSON_AddNumberToObject(imp, "reordered", (double)c->reordered) &&
	       cJSON_AddNumberToObject(imp, "delayed", (double)c->delayed) &&
	       cJSON_AddNumberToObject(imp, "rate_dropped", (double)c->rate_dropped) &&
	       cJSON_AddNumberToObject(imp, "pool_dropped", (double)c->pool_dropped);
}

/* loss as a share 0..1 (JSON has no NaN). */
static double share(double v)
{
	if (!(v > 0)) {
		return 0;
	}
	return v > 1 ? 1 : v;
}

cJSON *flowreport_json(const struct flowreport_flow *f)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "name", f->name) &&
		  cJSON_AddStringToObject(o, "proto", f->proto ? f->proto : "udp") &&
		  cJSON_AddBoolToObject(o, "saturated", f->is_saturated) &&
		  add_num_or_null(o, "capacity_kbps", f->capacity_kbps, f->capacity_kbps > 0) &&
		  cJSON_AddNumberToObject(o, "send_kbps", f->send_kbps) &&
		  cJSON_AddNumberToObject(o, "loss", share(f->loss)) &&
		  add_num_or_null(o, "rtt_ms", f->rtt_ms, f->rtt_ms > 0) && add_impair(o, f) &&
		  cJSON_AddNumberToObject(o, "tx_packets", (double)f->tx_packets) &&
		  cJSON_AddNumberToObject(o, "tx_bytes", (double)f->tx_bytes) &&
		  cJSON_AddNumberToObject(o, "rx_packets", (double)f->rx_packets) &&
		  cJSON_AddNumberToObject(o, "rx_bytes", (double)f->rx_bytes) &&
		  cJSON_AddNumberToObject(o, "drops", (double)f->drops);

	if (ok && f->proto && strcmp(f->proto, "tcp") == 0) {
		ok = cJSON_AddNumberToObject(o, "connections", f->connections) != NULL;
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *flowreport_text(const struct flowreport_flow *f)
{
	cJSON *o = flowreport_json(f);
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	return text;
}
