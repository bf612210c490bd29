/* serverdef: the `server` group of routes.conf -> struct routes_server. */
#ifndef WH_SERVERDEF_H
#define WH_SERVERDEF_H

#include <libconfig.h>
#include <stdbool.h>

#include "config/cfgread.h"
#include "config/routes.h"

/* Parse and validate group s into *out (zeroed by the caller). key_file is
 * resolved against base_dir and read when load_keys is true. Returns 0,
 * -EINVAL or -ENOMEM with the diag set. On failure *out may hold
 * allocations: call serverdef_fini. */
int serverdef_parse(const struct cfgread *cr, const config_setting_t *s, const char *base_dir,
		    bool load_keys, struct routes_server *out);

/* Free the token lists and wipe the key. */
void serverdef_fini(struct routes_server *srv);

#endif
