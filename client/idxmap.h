/* idxmap: the client's receiver indices (PROTOCOL.md "Receiver indices"):
 * one table for every session the client runs, index -> owner. Client
 * indices are random, non-zero, unique, with the top bit clear. Fixed-size
 * open addressing with linear probing; nothing is allocated after init.
 * Owners keep the indices they hold in a struct idxmap_owned and release
 * those their session no longer uses before taking a new one. */
#ifndef WH_IDXMAP_H
#define WH_IDXMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define IDXMAP_SLOTS 4096  /* power of two; at most half are used */
#define IDXMAP_OWNED_MAX 6 /* current, previous, next, handshake + slack */
#define IDXMAP_TOP_BIT 0x80000000u

enum idxmap_kind {
	IDXMAP_NONE = 0,
	IDXMAP_SERVER, /* owner: struct srvconn */
	IDXMAP_PEER,   /* owner: struct peer */
};

struct idxmap_slot {
	uint32_t index; /* 0 = empty */
	uint8_t kind;	/* enum idxmap_kind */
	void *owner;	/* borrowed */
};

struct idxmap {
	struct idxmap_slot *slots; /* owns: IDXMAP_SLOTS */
	size_t used;
	/* Source of candidate indices; tests inject one. NULL: randombytes. */
	uint32_t (*rand_fn)(void *ctx);
	void *rand_ctx;
};

/* The indices one owner holds. */
struct idxmap_owned {
	uint32_t idx[IDXMAP_OWNED_MAX];
	size_t n;
};

/* Returns 0 or -ENOMEM. */
WH_MUST_CHECK int idxmap_init(struct idxmap *m);
/* Frees the table; safe on a zeroed or finished map. */
void idxmap_fini(struct idxmap *m);

/* A new index for owner: random, top bit clear, non-zero, not in use.
 * Returns 0 with *out set, or -ENOSPC when the table is half full. */
WH_MUST_CHECK int idxmap_add(struct idxmap *m, uint8_t kind, void *owner, uint32_t *out);
/* Remove index (no-op when absent). */
void idxmap_del(struct idxmap *m, uint32_t index);
/* The owner of index (borrowed) with *kind set, or NULL. */
void *idxmap_find(const struct idxmap *m, uint32_t index, uint8_t *kind);

/* Take a new index for owner into o: first release the indices in o for
 * which keep(owner, idx) is false (keep may be NULL: release none), and the
 * oldest one if o is still full. Returns 0 or -ENOSPC. */
WH_MUST_CHECK int idxmap_take(struct idxmap *m, struct idxmap_owned *o, uint8_t kind, void *owner,
			      bool (*keep)(void *owner, uint32_t idx), uint32_t *out);
/* Release every index in o. */
void idxmap_release_all(struct idxmap *m, struct idxmap_owned *o);

#endif
