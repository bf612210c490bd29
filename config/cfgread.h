/* cfgread: typed, range-checked reads of libconfig settings, each failure one
 * "FILE:LINE: <what> ..." diag at the setting's own line. Used by the
 * routes.conf parser; no routes.conf semantics here.
 *
 * `what` names the setting for the message, e.g. `flow "video": port` or
 * `server.alt_port`. Every function returns 0 or -EINVAL (diag set), or
 * -ENOMEM (diag set). */
#ifndef WH_CFGREAD_H
#define WH_CFGREAD_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/routes.h"

struct diag;

struct cfgread {
	const char *file; /* diag file name (borrowed) */
	struct diag *d;	  /* borrowed */
};

/* The setting's source line (0 when unknown). */
int cfgread_line(const config_setting_t *s);

/* Record "FILE:LINE: message" at setting s (s may be NULL: line 0). */
void cfgread_fail(const struct cfgread *cr, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Every member of group must be named in allowed (NULL-terminated);
 * otherwise `<what>: unknown key "x"`. */
int cfgread_check_keys(const struct cfgread *cr, const config_setting_t *group, const char *what,
		       const char *const *allowed);

/* Check the setting is a group / a list or array; `<what> must be a group`. */
int cfgread_group(const struct cfgread *cr, const config_setting_t *s, const char *what);
int cfgread_is_list(const struct cfgread *cr, const config_setting_t *s, const char *what);

/* Integer in lo..hi (32- or 64-bit setting); a float or string is an error. */
int cfgread_int(const struct cfgread *cr, const config_setting_t *s, const char *what, int64_t lo,
		int64_t hi, int64_t *out);
/* A number (int or float) in 0..1. */
int cfgread_prob(const struct cfgread *cr, const config_setting_t *s, const char *what,
		 double *out);
int cfgread_bool(const struct cfgread *cr, const config_setting_t *s, const char *what, bool *out);
/* Borrowed string, valid while the config_t lives. Must be non-empty. */
int cfgread_string(const struct cfgread *cr, const config_setting_t *s, const char *what,
		   const char **out);
/* A client id / flow name (routes_name_is_valid). */
int cfgread_name(const struct cfgread *cr, const config_setting_t *s, const char *what,
		 char out[ROUTES_NAME_SIZE]);
/* A list/array of names, no duplicates; *out is a new array (may be NULL
 * when empty) the caller frees. */
int cfgread_name_list(const struct cfgread *cr, const config_setting_t *s, const char *what,
		      char (**out)[ROUTES_NAME_SIZE], size_t *n);
/* "IP:PORT" (common/addr.h). */
int cfgread_addr(const struct cfgread *cr, const config_setting_t *s, const char *what,
		 struct sockaddr_storage *out, socklen_t *len);
/* A base64 X25519 key (common/b64key.h). */
int cfgread_key(const struct cfgread *cr, const config_setting_t *s, const char *what,
		uint8_t out[32]);
/* "LO-HI", 1 <= LO <= HI <= 65535. */
int cfgread_port_range(const struct cfgread *cr, const config_setting_t *s, const char *what,
		       struct routes_port_range *out);

#endif
