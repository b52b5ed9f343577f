/* swar.h - eight bytes at a time in a 64-bit word ("SIMD within a
 * register"), for the scans that look at every byte of a message body.
 *
 * Why: a byte-at-a-time loop with a few comparisons per byte costs a
 * branch per byte; these tests answer for eight bytes with a handful of
 * arithmetic operations and no branch, so a scan runs near memory speed
 * and falls back to bytes only where something is found.
 *
 * Words are loaded little-endian whatever the machine, so byte k of the
 * text is bits 8k..8k+7 and "the next byte" is a shift right by 8.
 */
#ifndef POSTROOM_CORE_SWAR_H
#define POSTROOM_CORE_SWAR_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGH 0x8080808080808080ULL
#define SWAR_LOW7 0x7f7f7f7f7f7f7f7fULL

/* The 8 bytes at p (any alignment). */
static inline uint64_t
swar_load(const void *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return le64toh(w);
}

/* Whether any byte of w is zero (exact either way). */
static inline bool
swar_has_zero(uint64_t w)
{
	return ((w - SWAR_ONES) & ~w & SWAR_HIGH) != 0;
}

/* The high bit of each byte of w equal to b, and no other bit: exact per
 * byte (no borrow crosses bytes), so the mask can be shifted and combined. */
static inline uint64_t
swar_eq_mask(uint64_t w, uint8_t b)
{
	uint64_t v = w ^ (SWAR_ONES * b);
	return ~(((v & SWAR_LOW7) + SWAR_LOW7) | v | SWAR_LOW7);
}

/* The index of the first byte marked in a nonzero mask. */
static inline size_t
swar_first(uint64_t mask)
{
	return (size_t)__builtin_ctzll(mask) >> 3;
}

#endif
