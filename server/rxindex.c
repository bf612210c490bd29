/* rxindex: receiver index -> owner, for the server's sessions (PROTOCOL.md
 * "Receiver indices"). Open addressing with linear probing; deletion shifts
 * the rest of a probe run back, so lookups never cross tombstones and the
 * table never degrades. Indices are random, so their low bits are the hash.
 * Must not: own or free what it points to, allocate outside rxindex_reserve. */
#include "rxindex.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static size_t home_of(size_t mask, uint32_t index)
{
	return (size_t)index & mask;
}

static void put(struct rxindex_slot *slots, size_t mask, uint32_t index, void *owner)
{
	size_t i = home_of(mask, index);

	while (slots[i].index != 0) {
		i = (i + 1) & mask;
	}
	slots[i].index = index;
	slots[i].owner = owner;
}

static struct rxindex_slot *slot_for(const struct rxindex *t, uint32_t index)
{
	size_t i;

	if (!t->slots || index == 0) {
		return NULL;
	}
	for (i = home_of(t->mask, index); t->slots[i].index != 0; i = (i + 1) & t->mask) {
		if (t->slots[i].index == index) {
			return &t->slots[i];
		}
	}
	return NULL;
}

int rxindex_reserve(struct rxindex *t, size_t want)
{
	size_t n = 64;
	struct rxindex_slot *ns;

	while (n < want * 2) {
		n *= 2;
	}
	if (t->slots && n <= t->mask + 1) {
		return 0;
	}
	ns = calloc(n, sizeof(*ns));
	if (!ns) {
		return -ENOMEM;
	}
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		if (t->slots[i].index != 0) {
			put(ns, n - 1, t->slots[i].index, t->slots[i].owner);
		}
	}
	free(t->slots);
	t->slots = ns;
	t->mask = n - 1;
	return 0;
}

void rxindex_fini(struct rxindex *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->n_used = 0;
}

int rxindex_add(struct rxindex *t, uint32_t index, void *owner)
{
	if (index == 0 || !t->slots || (t->n_used + 1) * 2 > t->mask + 1) {
		return -ENOSPC;
	}
	if (slot_for(t, index)) {
		return -EEXIST;
	}
	put(t->slots, t->mask, index, owner);
	t->n_used++;
	return 0;
}

void *rxindex_find(const struct rxindex *t, uint32_t index)
{
	struct rxindex_slot *s = slot_for(t, index);

	return s ? s->owner : NULL;
}

void rxindex_del(struct rxindex *t, uint32_t index)
{
	struct rxindex_slot *s = slot_for(t, index);
	size_t i, j;

	if (!s) {
		return;
	}
	i = (size_t)(s - t->slots);
	for (j = (i + 1) & t->mask; t->slots[j].index != 0; j = (j + 1) & t->mask) {
		size_t home = home_of(t->mask, t->slots[j].index);
		/* Entry j may move back to the hole at i unless its home lies
		 * cyclically in (i, j]: then it would be found before i. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);

		if (!stays) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].index = 0;
	t->slots[i].owner = NULL;
	t->n_used--;
}
