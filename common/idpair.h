/* idpair: what the server's tables of client pairs (server/relay.c,
 * server/punchcoord.c) share to find a pair by its two ids: the hash of the
 * ids, and the size of an open-addressing index kept at most half full (so
 * every probe ends at a free slot). The tables themselves stay their own. */
#ifndef WH_IDPAIR_H
#define WH_IDPAIR_H

#include <stddef.h>

/* FNV-1a over lo, a NUL and hi: the two ids of a pair in its order. */
size_t idpair_hash(const char *lo, const char *hi);

/* The capacity an index of cap slots (a power of two, or 0) needs for want
 * entries: cap when it has room, else the next power of two (at least 32)
 * at least twice want. */
size_t idpair_index_cap(size_t cap, size_t want);

#endif
