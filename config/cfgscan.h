/* cfgscan: checks on raw libconfig text before libconfig sees it, for the
 * traps libconfig 1.5 does not catch itself. */
#ifndef WH_CFGSCAN_H
#define WH_CFGSCAN_H

#include <stddef.h>

struct diag;

#define CFGSCAN_DEPTH_MAX 32
#define CFGSCAN_LINES_MAX 65535 /* libconfig keeps source lines as unsigned short */

/* Refuse, with "FILE:LINE: message" in d: NUL bytes, any @include
 * directive, integers that do not fit the type libconfig would give them
 * (it silently wraps 4294981846 to 14550; the message names the L suffix
 * when one would make the integer fit), more than max_settings settings,
 * nesting deeper than CFGSCAN_DEPTH_MAX, more than CFGSCAN_LINES_MAX
 * lines, and a block comment that is never closed (at its first line). Strings and comments are
 * skipped. Returns 0 or -EINVAL. */
int cfgscan_check(const char *text, size_t len, const char *file, size_t max_settings,
		  struct diag *d);

#endif
