/* idxmap: receiver index -> session owner for all of the client's sessions
 * (PROTOCOL.md "Receiver indices"). Borrowed pointers only: removing an owner
 * releases its indices first (STYLE §3). Deletion shifts later entries of
 * the probe run back, so there are no tombstones. */
#include "idxmap.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MASK (IDXMAP_SLOTS - 1u)

_Static_assert((IDXMAP_SLOTS & (IDXMAP_SLOTS - 1)) == 0, "slots must be a power of two");

int idxmap_init(struct idxmap *m)
{
	memset(m, 0, sizeof(*m));
	m->slots = calloc(IDXMAP_SLOTS, sizeof(*m->slots));
	return m->slots ? 0 : -ENOMEM;
}

void idxmap_fini(struct idxmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->used = 0;
}

static size_t home(uint32_t index)
{
	/* Indices are random already; a multiplicative mix guards tests that
	 * inject sequential ones. */
	return (size_t)((index * 2654435761u) & MASK);
}

static size_t probe(const struct idxmap *m, uint32_t index)
{
	size_t i = home(index);

	while (m->slots[i].index != 0 && m->slots[i].index != index) {
		i = (i + 1) & MASK;
	}
	return i;
}

static uint32_t candidate(struct idxmap *m)
{
	uint32_t v = m->rand_fn ? m->rand_fn(m->rand_ctx) : randombytes_random();

	/* PROTOCOL.md: clients' indices always have the top bit clear, so a
	 * relay port tells peer traffic from server traffic without decrypting. */
	return v & ~IDXMAP_TOP_BIT;
}

int idxmap_add(struct idxmap *m, uint8_t kind, void *owner, uint32_t *out)
{
	if (m->used >= IDXMAP_SLOTS / 2) {
		return -ENOSPC;
	}
	for (;;) {
		uint32_t index = candidate(m);
		size_t i;

		if (index == 0) {
			continue;
		}
		i = probe(m, index);
		if (m->slots[i].index == index) {
			continue;
		}
		m->slots[i].index = index;
		m->slots[i].kind = kind;
		m->slots[i].owner = owner;
		m->used++;
		*out = index;
		return 0;
	}
}

void idxmap_del(struct idxmap *m, uint32_t index)
{
	size_t i;
	size_t j;

	if (index == 0 || !m->slots) {
		return;
	}
	i = probe(m, index);
	if (m->slots[i].index != index) {
		return;
	}
	m->slots[i].index = 0;
	m->used--;
	/* Backward-shift: move later members of the run into the hole when
	 * their home slot does not lie cyclically in (i, j]. */
	j = i;
	for (;;) {
		size_t h;

		j = (j + 1) & MASK;
		if (m->slots[j].index == 0) {
			return;
		}
		h = home(m->slots[j].index);
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].index = 0;
			i = j;
		}
	}
}

void *idxmap_find(const struct idxmap *m, uint32_t index, uint8_t *kind)
{
	size_t i;

	if (index == 0 || (index & IDXMAP_TOP_BIT) || !m->slots) {
		return NULL;
	}
	i = probe(m, index);
	if (m->slots[i].index != index) {
		return NULL;
	}
	if (kind) {
		*kind = m->slots[i].kind;
	}
	return m->slots[i].owner;
}

static void owned_remove_at(struct idxmap *m, struct idxmap_owned *o, size_t k)
{
	idxmap_del(m, o->idx[k]);
	memmove(&o->idx[k], &o->idx[k + 1], (o->n - k - 1) * sizeof(o->idx[0]));
	o->n--;
}

int idxmap_take(struct idxmap *m, struct idxmap_owned *o, uint8_t kind, void *owner,
		bool (*keep)(void *owner, uint32_t idx), uint32_t *out)
{
	int rc;

	for (size_t k = 0; keep && k < o->n;) {
		if (keep(owner, o->idx[k])) {
			k++;
		} else {
			owned_remove_at(m, o, k);
		}
	}
	if (o->n == IDXMAP_OWNED_MAX) {
		owned_remove_at(m, o, 0);
	}
	rc = idxmap_add(m, kind, owner, out);
	if (rc != 0) {
		return rc;
	}
	o->idx[o->n++] = *out;
	return 0;
}

void idxmap_release_all(struct idxmap *m, struct idxmap_owned *o)
{
	for (size_t k = 0; k < o->n; k++) {
		idxmap_del(m, o->idx[k]);
	}
	o->n = 0;
}
