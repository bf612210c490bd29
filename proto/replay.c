/* replay: the receive-side anti-replay window (DESIGN §3), RFC 6479 style: a
 * ring of REPLAY_WINDOW_WORDS u64 words; advancing clears whole words instead of
 * shifting bits, and one word of slack keeps the ring from aliasing. The logic
 * follows WireGuard's counter_validate(): r->top holds highest + 1 so that an
 * all-zero struct means "nothing seen" and counter 0 is still accepted once.
 * Owns nothing; no allocation, no I/O, no clock. */
#include "proto/replay.h"

#include <string.h>

#define RING_MASK (REPLAY_WINDOW_WORDS - 1)
#define WORD_SHIFT 6 /* log2(REPLAY_WORD_BITS) */

_Static_assert((1u << WORD_SHIFT) == REPLAY_WORD_BITS, "word shift");

void replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
}

/* The bit of the ring that records counter (held as counter + 1). */
static uint64_t bit_of(uint64_t c1)
{
	return (uint64_t)1 << (c1 & (REPLAY_WORD_BITS - 1));
}

static uint64_t word_of(uint64_t c1)
{
	return (c1 >> WORD_SHIFT) & RING_MASK;
}

bool replay_check(const struct replay *r, uint64_t counter)
{
	uint64_t c1;

	if (counter == UINT64_MAX) {
		return false; /* cannot be held as counter + 1; never a valid nonce */
	}
	c1 = counter + 1;
	if (c1 > r->top) {
		return true; /* new highest */
	}
	/* Too old: more than REPLAY_WINDOW_SIZE below the highest accepted. */
	if (r->top - c1 > REPLAY_WINDOW_SIZE) {
		return false;
	}
	return (r->bitmap[word_of(c1)] & bit_of(c1)) == 0;
}

/* Move the top to c1, clearing the ring words between the old top's word and
 * the new one. A jump of a whole ring or more clears every word, once. */
static void advance(struct replay *r, uint64_t c1)
{
	uint64_t cur = r->top >> WORD_SHIFT;
	uint64_t diff = (c1 >> WORD_SHIFT) - cur;

	if (diff > REPLAY_WINDOW_WORDS) {
		diff = REPLAY_WINDOW_WORDS;
	}
	for (uint64_t i = 1; i <= diff; i++) {
		r->bitmap[(cur + i) & RING_MASK] = 0;
	}
	r->top = c1;
}

bool replay_check_and_update(struct replay *r, uint64_t counter, uint64_t reject_after_messages)
{
	uint64_t c1;

	/* Noise spec §5.1 / WireGuard: never accept a counter at or past the limit. */
	if (counter >= reject_after_messages || !replay_check(r, counter)) {
		return false;
	}
	c1 = counter + 1;
	if (c1 > r->top) {
		advance(r, c1);
	}
	r->bitmap[word_of(c1)] |= bit_of(c1);
	return true;
}
