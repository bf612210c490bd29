/* rxindex: the server's receiver-index table (PROTOCOL.md "Receiver
 * indices"): index -> borrowed owner pointer, open addressing with linear
 * probing and backward-shift deletion (no tombstones). Sized from the number
 * of clients; nothing is allocated per packet. The table never owns or frees
 * what it points to. */
#ifndef WH_RXINDEX_H
#define WH_RXINDEX_H

#include "common/compiler.h"

#include <stddef.h>
#include <stdint.h>

struct rxindex_slot {
	uint32_t index; /* 0 = free */
	void *owner;	/* borrowed */
};

struct rxindex {
	struct rxindex_slot *slots; /* owns */
	size_t mask;		    /* slot count - 1 (a power of two); 0 when empty */
	size_t n_used;
};

/* Make room for at least want entries at a load of at most 1/2, keeping
 * every entry. Returns 0 or -ENOMEM (the table is then unchanged). */
WH_MUST_CHECK int rxindex_reserve(struct rxindex *t, size_t want);
/* Free the slots. Safe on a zeroed table. */
void rxindex_fini(struct rxindex *t);
/* Add index (not 0, not present) for owner. Returns 0, -EEXIST or -ENOSPC
 * (the table is half full: reserve more first). */
WH_MUST_CHECK int rxindex_add(struct rxindex *t, uint32_t index, void *owner);
/* The owner of index, or NULL. */
void *rxindex_find(const struct rxindex *t, uint32_t index);
/* Remove index; absent is a no-op. */
void rxindex_del(struct rxindex *t, uint32_t index);

#endif
