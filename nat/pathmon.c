/* pathmon: path liveness, RTT and loss (see pathmon.h). */
#include "nat/pathmon.h"

#include <string.h>

#define PATHMON_LOSS_WAIT_MIN_US 200000u

void pathmon_init(struct pathmon *pm, uint64_t now_us, uint64_t interval_us, uint64_t doubt_us,
		  uint64_t dead_us)
{
	memset(pm, 0, sizeof(*pm));
	pm->interval_us = interval_us;
	pm->doubt_us = doubt_us;
	pm->dead_us = dead_us;
	pm->last_life_us = now_us;
	pm->next_ping_us = now_us;
	pm->next_id = 1;
}

bool pathmon_ping_due(const struct pathmon *pm, uint64_t now_us)
{
	return now_us >= pm->next_ping_us;
}

uint32_t pathmon_on_ping_sent(struct pathmon *pm, uint64_t now_us)
{
	uint32_t id = pm->next_id++;
	struct pathmon_ping *slot = &pm->ring[id % PATHMON_RING];

	if (pm->next_id == 0 || (pm->next_id & 0x80000000u)) {
		pm->next_id = 1; /* ids with the top bit are nat/pmtu's probes */
	}
	slot->id = id;
	slot->tx_us = now_us;
	slot->is_answered = false;
	pm->pings_sent++;
	/* On the beat (a late timer does not move the next ping), unless the
	 * beat was missed altogether. */
	pm->next_ping_us += pm->interval_us;
	if (pm->next_ping_us <= now_us) {
		pm->next_ping_us = now_us + pm->interval_us;
	}
	return id;
}

static void rtt_sample(struct pathmon *pm, uint32_t rtt_us)
{
	pm->last_rtt_us = rtt_us;
	if (pm->srtt_us == 0) {
		pm->srtt_us = rtt_us ? rtt_us : 1;
		pm->rttvar_us = rtt_us / 2;
		return;
	}
	/* RFC 6298: rttvar = 3/4 rttvar + 1/4 |srtt - r|; srtt = 7/8 srtt + 1/8 r */
	uint32_t diff = pm->srtt_us > rtt_us ? pm->srtt_us - rtt_us : rtt_us - pm->srtt_us;

	pm->rttvar_us = (3 * pm->rttvar_us + diff) / 4;
	pm->srtt_us = (7 * pm->srtt_us + rtt_us) / 8;
	if (pm->srtt_us == 0) {
		pm->srtt_us = 1;
	}
}

bool pathmon_on_pong(struct pathmon *pm, uint32_t id, uint64_t echo_tx_us, uint32_t hold_us,
		     uint64_t now_us)
{
	struct pathmon_ping *slot = &pm->ring[id % PATHMON_RING];
	uint64_t rtt;

	if (id == 0 || slot->id != id || slot->tx_us != echo_tx_us || now_us < echo_tx_us) {
		return false;
	}
	if (!slot->is_answered) {
		slot->is_answered = true;
		pm->pongs_received++;
		rtt = now_us - echo_tx_us;
		rtt = rtt > hold_us ? rtt - hold_us : rtt;
		rtt_sample(pm, rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt);
	}
	if (now_us > pm->last_life_us) {
		pm->last_life_us = now_us;
	}
	return true;
}

bool pathmon_owe_pong(struct pathmon *pm, uint32_t id, uint64_t tx_us, uint64_t now_us)
{
	if (pm->pings_sent < PATHMON_PROMPT_PINGS || pm->owed.is_set ||
	    pm->next_ping_us > now_us + pm->interval_us) {
		return false;
	}
	pm->owed.is_set = true;
	pm->owed.id = id;
	pm->owed.echo_tx_us = tx_us;
	pm->owed.rx_us = now_us;
	return true;
}

bool pathmon_take_pong(struct pathmon *pm, uint64_t now_us, uint32_t *id, uint64_t *echo_tx_us,
		       uint32_t *hold_us)
{
	uint64_t hold;

	if (!pm->owed.is_set) {
		return false;
	}
	hold = now_us > pm->owed.rx_us ? now_us - pm->owed.rx_us : 0;
	*id = pm->owed.id;
	*echo_tx_us = pm->owed.echo_tx_us;
	*hold_us = hold > UINT32_MAX ? UINT32_MAX : (uint32_t)hold;
	pm->owed.is_set = false;
	return true;
}

enum pathmon_state pathmon_state(const struct pathmon *pm, uint64_t now_us)
{
	uint64_t quiet = now_us > pm->last_life_us ? now_us - pm->last_life_us : 0;

	if (quiet >= pm->dead_us) {
		return PATHMON_DEAD;
	}
	return quiet >= pm->doubt_us ? PATHMON_DOUBT : PATHMON_UP;
}

uint64_t pathmon_next_event_us(const struct pathmon *pm, uint64_t now_us)
{
	uint64_t t = pm->next_ping_us;
	uint64_t doubt = pm->last_life_us + pm->doubt_us;
	uint64_t dead = pm->last_life_us + pm->dead_us;

	if (doubt > now_us && doubt < t) {
		t = doubt;
	}
	if (dead > now_us && dead < t) {
		t = dead;
	}
	return t;
}

double pathmon_loss(const struct pathmon *pm, uint64_t now_us)
{
	uint64_t wait = 4ull * pm->srtt_us;
	unsigned old = 0, lost = 0;

	if (wait < PATHMON_LOSS_WAIT_MIN_US) {
		wait = PATHMON_LOSS_WAIT_MIN_US;
	}
	wait += pm->interval_us; /* the peer may hold its PONG that long */
	for (unsigned i = 0; i < PATHMON_RING; i++) {
		const struct pathmon_ping *s = &pm->ring[i];

		if (s->id == 0 || s->tx_us + wait > now_us) {
			continue;
		}
		old++;
		lost += !s->is_answered;
	}
	return old ? (double)lost / (double)old : 0.0;
}

double pathmon_rtt_ms(const struct pathmon *pm)
{
	return (double)pm->srtt_us / 1000.0;
}
