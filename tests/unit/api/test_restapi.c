/* test_restapi: a client's JSON object (restapi_client_json) keeps its
 * fields and lists its uplinks and, per peer path, the uplink pairs
 * (PROTOCOL.md "Multipath (server)"). No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/restapi.h"

static const cJSON *item(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j) {
		fail_msg("no \"%s\"", key);
	}
	return j;
}

static void test_restapi_client_json_lists_uplinks_and_uplink_paths(void **state)
{
	struct restapi_client *c = calloc(1, sizeof(*c));
	struct restapi_path *p;
	const cJSON *u, *path, *up;
	cJSON *o;

	(void)state;
	assert_non_null(c);
	strcpy(c->id, "drone3");
	c->is_online = true;
	strcpy(c->addr, "198.51.100.1:40001");
	c->natclass = "port-restricted-cone";
	c->last_seen_ms_ago = 12;
	c->n_uplinks = 2;
	c->uplinks[0].id = 0;
	strcpy(c->uplinks[0].addr, "198.51.100.1:40001");
	c->uplinks[0].natclass = "port-restricted-cone";
	c->uplinks[0].last_seen_ms_ago = 12;
	c->uplinks[1].id = 1;
	strcpy(c->uplinks[1].name, "lte");
	strcpy(c->uplinks[1].addr, "192.0.2.77:50001");
	c->uplinks[1].natclass = "symmetric";
	c->uplinks[1].port_step = -2;
	c->uplinks[1].last_seen_ms_ago = UINT64_MAX;
	c->uplinks[1].rx_packets = 77;
	c->n_paths = 1;
	p = &c->paths[0];
	strcpy(p->peer, "gcs4");
	p->kind = "direct";
	p->relay_port = 2001;
	p->n_uplink_paths = 2;
	p->uplink_paths[0] = (struct restapi_uplink_path){0, 0, "relay", "none"};
	p->uplink_paths[1] = (struct restapi_uplink_path){1, 0, "direct", "spray"};

	o = restapi_client_json(c);
	assert_non_null(o);
	/* Existing fields stay. */
	assert_string_equal(item(o, "id")->valuestring, "drone3");
	assert_string_equal(item(o, "mapped_address")->valuestring, "198.51.100.1:40001");
	assert_string_equal(item(o, "nat_class")->valuestring, "port-restricted-cone");
	assert_int_equal(item(o, "last_seen_ms_ago")->valuedouble, 12);
	u = item(o, "uplinks");
	assert_int_equal(cJSON_GetArraySize(u), 2);
	assert_int_equal(item(cJSON_GetArrayItem(u, 0), "id")->valuedouble, 0);
	assert_string_equal(item(cJSON_GetArrayItem(u, 0), "name")->valuestring, "");
	assert_string_equal(item(cJSON_GetArrayItem(u, 1), "name")->valuestring, "lte");
	assert_string_equal(item(cJSON_GetArrayItem(u, 1), "address")->valuestring,
			    "192.0.2.77:50001");
	assert_string_equal(item(cJSON_GetArrayItem(u, 1), "nat")->valuestring, "symmetric");
	/* The port step: null when not sequential, else the step. */
	assert_true(cJSON_IsNull(item(o, "nat_port_step")));
	assert_true(cJSON_IsNull(item(cJSON_GetArrayItem(u, 0), "nat_port_step")));
	assert_int_equal(item(cJSON_GetArrayItem(u, 1), "nat_port_step")->valuedouble, -2);
	assert_true(cJSON_IsNull(item(cJSON_GetArrayItem(u, 1), "last_seen_ms_ago")));
	assert_int_equal(item(cJSON_GetArrayItem(u, 0), "last_seen_ms_ago")->valuedouble, 12);
	assert_int_equal(item(cJSON_GetArrayItem(u, 1), "rx_packets")->valuedouble, 77);
	path = cJSON_GetArrayItem(item(o, "paths"), 0);
	assert_string_equal(item(path, "peer")->valuestring, "gcs4");
	assert_string_equal(item(path, "kind")->valuestring, "direct");
	assert_int_equal(item(path, "relay_port")->valuedouble, 2001);
	assert_int_equal(cJSON_GetArraySize(item(path, "paths")), 2);
	up = cJSON_GetArrayItem(item(path, "paths"), 1);
	assert_int_equal(item(up, "uplink")->valuedouble, 1);
	assert_int_equal(item(up, "peer_uplink")->valuedouble, 0);
	assert_string_equal(item(up, "kind")->valuestring, "direct");
	assert_string_equal(item(up, "strategy")->valuestring, "spray");
	assert_true(cJSON_IsNull(item(o, "identity_conflict")));
	cJSON_Delete(o);

	/* A second process with its id and key was refused. */
	c->refusals = 3;
	snprintf(c->refused_addr, sizeof(c->refused_addr), "198.51.100.4:40002");
	c->refused_ms_ago = 1500;
	o = restapi_client_json(c);
	assert_non_null(o);
	assert_int_equal(item(item(o, "identity_conflict"), "refusals")->valuedouble, 3);
	assert_string_equal(item(item(o, "identity_conflict"), "last_address")->valuestring,
			    "198.51.100.4:40002");
	assert_int_equal(item(item(o, "identity_conflict"), "last_ms_ago")->valuedouble, 1500);
	cJSON_Delete(o);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restapi_client_json_lists_uplinks_and_uplink_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
