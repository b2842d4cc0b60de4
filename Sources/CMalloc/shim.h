#ifndef NAUTILUS_CMALLOC_SHIM_H
#define NAUTILUS_CMALLOC_SHIM_H
// glibc's malloc tuning (mallopt), which Swift's Glibc module leaves out.
#include <malloc.h>

// One malloc arena for the whole process instead of one per thread (up to 8 per core): the onboard
// programs allocate little, and every arena a thread touches stays resident (docs/performance.md).
static inline void nautilus_single_malloc_arena(void) { mallopt(M_ARENA_MAX, 1); }
#endif
