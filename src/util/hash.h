/* Small integer hashes. */
#ifndef HL_HASH_H
#define HL_HASH_H

#include <stdint.h>

/* splitmix64's finaliser: a bijective 64-bit mix. */
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64: one step of the generator from state x. */
static inline uint64_t splitmix64(uint64_t x) {
    return mix64(x + 0x9e3779b97f4a7c15ull);
}

#endif
