/* cfgmerge: rewrite one group of routes.conf text (a flow's `{ ... }`) so
 * that it says what a freshly rendered group says, touching only the
 * settings that differ (DESIGN §6 write-back). An API edit that adds a
 * member to a flow written over several lines with comments changes the
 * `members` value and nothing else: the other settings keep their bytes,
 * their comments and their lines. A setting the fresh group lacks is
 * removed (with its line when it is alone there, and its comment on that
 * line); one the old group lacks is added after the last setting, indented
 * like it. Nested groups (`impair`, `deliver`, `listen`) are merged the same
 * way, and so are lists written over several lines (`to = [` one member per
 * line with comments): elements kept keep their lines, removed ones go
 * with their comma, comment and line, new ones get lines of their own at
 * the end. Any other value that differs is replaced whole. Numbers compare by
 * value (0x3856 is 14422), other values as token sequences, so spacing and
 * comments never count as a change. */
#ifndef WH_CFGMERGE_H
#define WH_CFGMERGE_H

#include "config/cfglex.h"

#include <stddef.h>

/* Merge the group at text[old] with fresh (the text "{ ... }"): *out (NUL
 * terminated, caller frees) is the text to put in place of text[old], and
 * it says exactly what fresh says (checked before returning: the same
 * settings with equivalent values, group order aside). defaults (a group
 * text, or NULL) are the values fresh may leave out: an old setting that
 * fresh lacks and whose value (not a group) says only what its default
 * says is kept as written (`mtu = 1400;` by hand stays). Returns 0, -EPROTO when a group is not
 * understood or the check fails (the caller then writes fresh as it is) or
 * -ENOMEM. */
int cfgmerge_group(const char *text, struct cfgspan old, const char *fresh, const char *defaults,
		   char **out, size_t *out_len);

#endif
