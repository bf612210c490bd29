/* fuzz_client_ini: libFuzzer target for the client.ini parser. Calls the
 * same client_ini_parse_text the client uses (without reading key files),
 * so any input must give either a struct or one diag, never a crash. */
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "config/client_ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d;
	struct client_ini *c;

	diag_clear(&d);
	c = client_ini_parse_text((const char *)data, size, "fuzz.ini", NULL, false, &d);
	/* Exactly one of: a result, or an error. */
	if ((c == NULL) != d.is_set) {
		__builtin_trap();
	}
	client_ini_free(c);
	return 0;
}
