#include <stddef.h>
/* Number of malloc/calloc/realloc calls since the program started (the bench counts
   allocations per parsed message with it). */
size_t nautilus_alloc_count(void);
