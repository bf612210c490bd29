/* compiler: project-wide macros (STYLE §2: WH_ prefix). */
#ifndef WH_COMPILER_H
#define WH_COMPILER_H

#include <stddef.h>

#define WH_MUST_CHECK __attribute__((warn_unused_result))
#define WH_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

#endif
