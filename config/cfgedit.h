/* cfgedit: surgical edits of routes.conf TEXT for API write-back (DESIGN
 * §6): one flow group of the `flows` list or one client entry of the
 * `clients` group is replaced, added or removed; every byte outside that
 * range (comments, blank lines, layout, other flows) stays as it was.
 * cfglex finds the ranges, skipping strings and comments. The result
 * is not validated here: the caller parses it like a file reload.
 *
 * Each function takes text[0..len), writes a new NUL-terminated buffer to
 * *out (caller frees) and its length to *out_len, and returns 0, -ENOENT
 * (no such flow/client), -EPROTO (the text's structure is not understood:
 * e.g. a syntax error) or -ENOMEM. */
#ifndef WH_CFGEDIT_H
#define WH_CFGEDIT_H

#include <stddef.h>

/* What a flow says by leaving these settings out (flowdef.c): a setting
 * written by hand at its default stays through an API edit of its flow. */
extern const char cfgedit_flow_defaults[];

/* Replace the group of flow `name` by group (text "{ ... }"): merged into
 * the old group by cfgmerge, so the settings that keep their value keep
 * their bytes, comments and lines (and those at their default stay, with
 * cfgedit_flow_defaults); group is spliced in whole when the old one
 * cannot be merged. */
int cfgedit_flow_replace(const char *text, size_t len, const char *name, const char *group,
			 char **out, size_t *out_len);
/* Append group as the last element of `flows` (created at the end when missing). */
int cfgedit_flow_add(const char *text, size_t len, const char *group, char **out, size_t *out_len);
/* Remove flow `name` with its separating comma (and its line when it is alone there). */
int cfgedit_flow_remove(const char *text, size_t len, const char *name, char **out,
			size_t *out_len);
/* Set client id's value to value (text "{ key = \"...\"; }"): replaced when
 * the client exists, added at the end of `clients` otherwise. */
int cfgedit_client_set(const char *text, size_t len, const char *id, const char *value, char **out,
		       size_t *out_len);
/* Remove client id's entry. */
int cfgedit_client_remove(const char *text, size_t len, const char *id, char **out,
			  size_t *out_len);

#endif
