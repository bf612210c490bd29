/* pmtu: full-size packets on a path, probed (see pmtu.h). */
#include "nat/pmtu.h"

#include <string.h>

void pmtu_start(struct pmtu *pm, uint64_t now_us)
{
	memset(pm, 0, sizeof(*pm));
	pm->state = PMTU_SEARCHING;
	pm->next_us = now_us;
}

uint32_t pmtu_probe_due(struct pmtu *pm, uint16_t size, uint64_t now_us)
{
	if (pm->state == PMTU_FULL && size > pm->ok_size && pm->id == 0) {
		/* A larger size than the one confirmed (a link's MTU grew). */
		pm->state = PMTU_SEARCHING;
		pm->lost = 0;
		pm->next_us = now_us;
	}
	if (pm->id != 0 || now_us < pm->next_us) {
		return 0;
	}
	pm->seq++;
	pm->is_used = false;
	pm->id = PMTU_ID_BIT | (pm->seq & ~PMTU_ID_BIT);
	pm->size = size;
	pm->sent_us = now_us;
	pm->judge_us = now_us + PMTU_PROBE_WAIT_US;
	return pm->id;
}

bool pmtu_is_probe_id(uint32_t id)
{
	return (id & PMTU_ID_BIT) != 0;
}

bool pmtu_on_pong(struct pmtu *pm, uint32_t id, uint64_t now_us)
{
	bool was_full = pm->state == PMTU_FULL;

	if (pm->id == 0 || id != pm->id) {
		return false; /* late (its probe counted lost) or not ours */
	}
	pm->id = 0;
	pm->lost = 0;
	pm->state = PMTU_FULL;
	pm->ok_size = pm->size;
	pm->next_us = now_us + PMTU_CONFIRM_US;
	return !was_full;
}

bool pmtu_on_timer(struct pmtu *pm, uint64_t life_us, uint64_t now_us)
{
	if (pm->id == 0 || now_us < pm->judge_us) {
		return false;
	}
	if (life_us <= pm->sent_us) {
		/* Nothing came back since: a held pong on its way, or an
		 * outage, which says nothing of the size. */
		if (now_us < pm->sent_us + PMTU_LIFE_WAIT_US) {
			pm->judge_us = now_us + PMTU_LIFE_POLL_US;
			return false;
		}
		pm->id = 0;
		pm->next_us = now_us;
		return false;
	}
	pm->id = 0;
	if (pm->state == PMTU_BASE) {
		pm->next_us = now_us + PMTU_RAISE_US;
		return false;
	}
	if (++pm->lost < PMTU_MAX_PROBES) {
		pm->next_us = now_us; /* the next one at once */
		return false;
	}
	pm->state = PMTU_BASE;
	pm->ok_size = 0;
	pm->next_us = now_us + PMTU_RAISE_US;
	return true;
}

void pmtu_suspect(struct pmtu *pm, uint64_t now_us)
{
	if (pm->state == PMTU_FULL && pm->id == 0 && pm->next_us > now_us &&
	    now_us >= pm->sent_us + PMTU_PROBE_WAIT_US) {
		pm->next_us = now_us;
		pm->is_used = true; /* probed even if idle: the stream may move here */
	}
}

void pmtu_note_sent(struct pmtu *pm, uint64_t traffic, uint64_t now_us)
{
	if (traffic != pm->traffic) {
		pm->traffic = traffic;
		pm->is_used = true;
	}
	if (pm->state != PMTU_SEARCHING && pm->id == 0 && now_us >= pm->next_us && !pm->is_used) {
		pm->next_us = now_us + (pm->state == PMTU_FULL ? PMTU_CONFIRM_US : PMTU_RAISE_US);
	}
}

uint64_t pmtu_next_us(const struct pmtu *pm)
{
	return pm->id != 0 ? pm->judge_us : pm->next_us;
}

bool pmtu_carries(const struct pmtu *pm, uint16_t size)
{
	return pm->state == PMTU_FULL && pm->ok_size >= size;
}

const char *pmtu_state_name(const struct pmtu *pm)
{
	switch (pm->state) {
	case PMTU_FULL:
		return "full";
	case PMTU_BASE:
		return "base";
	default:
		return "searching";
	}
}
