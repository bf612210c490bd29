/* routes_fixture: shared text and helpers for the routes.conf unit tests. */
#ifndef WH_TEST_ROUTES_FIXTURE_H
#define WH_TEST_ROUTES_FIXTURE_H

/* Public keys (demo keys, also in config/examples and tests/config/keys). */
#define FIX_KEY_SERVER_PUB "sAP/x6Ttb9C6h0z8Igo5KKaW/R6Gy3wCcU6Kbot3pgY="
#define FIX_KEY_DRONE3 "MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM="
#define FIX_KEY_GCS4 "PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8="
#define FIX_KEY_GCS5 "3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0="

/* Line 1: server; line 2: clients; flows start on line 3. */
#define FIX_SERVER                                                            \
	"server: { listen = [\"203.0.113.10:7400\", \"203.0.113.11:7400\"]; " \
	"key_file = \"server.key\"; };\n"
#define FIX_CLIENTS                                                                             \
	"clients: { drone3 = { key = \"" FIX_KEY_DRONE3 "\"; }; gcs4 = { key = \"" FIX_KEY_GCS4 \
	"\"; }; gcs5 = { key = \"" FIX_KEY_GCS5 "\"; }; };\n"
#define FIX_HEAD FIX_SERVER FIX_CLIENTS

#endif
