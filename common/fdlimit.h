/* fdlimit: the process's open-file limit (RLIMIT_NOFILE). A daemon holds a
 * socket per relay port, flow, peer path and TCP connection: the soft limit
 * that many systems start services with (1024) is reached long before the
 * hard one, so the daemons raise the soft limit to the hard one at start. */
#ifndef WH_FDLIMIT_H
#define WH_FDLIMIT_H

#include <stdbool.h>

/* Raise the soft limit to the hard limit. Returns the soft limit in force
 * afterwards (0 when it cannot be read). */
unsigned long fdlimit_raise(void);

/* The soft limit in force (0 when it cannot be read). */
unsigned long fdlimit_current(void);

/* True for the errors that say this process (or the system) is out of file
 * descriptors, not that one address or port is unusable. */
bool fdlimit_is_exhausted(int err);

#endif
