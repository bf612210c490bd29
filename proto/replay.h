/* replay: sliding anti-replay window (RFC 6479 bitmap ring, as in WireGuard).
 * REPLAY_WINDOW_BITS of ring, one word kept as slack, so counters up to
 * REPLAY_WINDOW_SIZE below the highest accepted one are still judged exactly.
 * No allocation; embed struct replay in the receive key state. */
#ifndef WH_REPLAY_H
#define WH_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_WORD_BITS 64
#define REPLAY_WINDOW_BITS 8192
#define REPLAY_WINDOW_WORDS (REPLAY_WINDOW_BITS / REPLAY_WORD_BITS)
/* Effective window: highest - REPLAY_WINDOW_SIZE .. highest are judged. */
#define REPLAY_WINDOW_SIZE (REPLAY_WINDOW_BITS - REPLAY_WORD_BITS)

_Static_assert((REPLAY_WINDOW_WORDS & (REPLAY_WINDOW_WORDS - 1)) == 0,
	       "replay ring must be a power of two words");
_Static_assert(REPLAY_WINDOW_SIZE >= 2048, "DESIGN §3: replay window of at least 2048 packets");

struct replay {
	uint64_t top; /* highest accepted counter + 1; 0 = nothing accepted yet */
	uint64_t bitmap[REPLAY_WINDOW_WORDS];
};

/* Reset to "nothing seen". */
void replay_init(struct replay *r);

/* Predicate without update: true if counter would be accepted now (new highest,
 * or inside the window and not seen). It does not apply the reject-after limit.
 * Use it before decrypting to drop obvious replays cheaply. */
bool replay_check(const struct replay *r, uint64_t counter);

/* Accept counter once and record it. Call only after the packet authenticated
 * (AEAD opened). False for duplicates, counters older than the window, and
 * counters >= reject_after_messages; a false result leaves r unchanged. */
bool replay_check_and_update(struct replay *r, uint64_t counter, uint64_t reject_after_messages);

#endif
