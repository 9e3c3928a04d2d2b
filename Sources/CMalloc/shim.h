#ifndef CMALLOC_SHIM_H
#define CMALLOC_SHIM_H
// glibc's allocator controls (mallopt, malloc_trim, mallinfo2): not part of Swift's Glibc module.
#include <malloc.h>
#endif
