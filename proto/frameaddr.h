/* frameaddr: struct frame_addr (the wire's address) <-> struct sockaddr.
 * Plain conversions, no I/O. */
#ifndef WH_FRAMEADDR_H
#define WH_FRAMEADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include "proto/frame.h"

/* out = sa's IP (IPv4 or IPv6) with its port. Returns false (out zeroed,
 * family 0) for any other family. */
bool frameaddr_from_sockaddr(struct frame_addr *out, const struct sockaddr *sa);
/* out = a as a sockaddr; family AF_UNSPEC when a's family is not IPv4/6. */
void frameaddr_to_sockaddr(const struct frame_addr *a, struct sockaddr_storage *out);
/* Same IP (ports not compared); false when either has no family. */
bool frameaddr_same_ip(const struct frame_addr *a, const struct frame_addr *b);

#endif
