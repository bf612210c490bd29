/* flowdef: one group of the `flows` list in routes.conf -> struct routes_flow. */
#ifndef WH_FLOWDEF_H
#define WH_FLOWDEF_H

#include <libconfig.h>
#include <stddef.h>

#include "config/cfgread.h"
#include "config/routes.h"

/* Parse and validate flow number index (0-based) from group s into f
 * (zeroed by the caller). r must hold the parsed clients (members are
 * checked against them) and flows[0..index) (names must be unique).
 * Returns 0, -EINVAL or -ENOMEM with the diag set; on failure f may hold
 * allocations: call flowdef_fini. */
int flowdef_parse(const struct cfgread *cr, const config_setting_t *s, size_t index,
		  const struct routes *r, struct routes_flow *f);

/* Free the lists f owns. */
void flowdef_fini(struct routes_flow *f);

#endif
