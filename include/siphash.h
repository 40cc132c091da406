/*
 * SipHash (Aumasson and Bernstein) as inline steps over 64-bit words, so
 * a caller that already holds its input as words (rrl_key) hashes them
 * without first copying bytes into a buffer. cookie_siphash24 (cookie.h)
 * is the byte-string form, SipHash-2-4 as RFC 9018 requires for cookies;
 * the rate limiter's bucket key uses SipHash-1-3 (DESIGN §10), enough to
 * keep spoofed sources from aiming at a chosen bucket at half the cost.
 */
#ifndef AHD_SIPHASH_H
#define AHD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash {
	uint64_t v0, v1, v2, v3;
};

static inline uint64_t siphash_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void siphash_round(struct siphash *s)
{
	s->v0 += s->v1;
	s->v1 = siphash_rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = siphash_rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = siphash_rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = siphash_rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = siphash_rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = siphash_rotl(s->v2, 32);
}

/* k0, k1: the 128-bit key as two little-endian words. */
static inline void siphash_init(struct siphash *s, uint64_t k0, uint64_t k1)
{
	s->v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	s->v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	s->v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	s->v3 = UINT64_C(0x7465646279746573) ^ k1;
}

/* One message word m with c compression rounds. */
static inline void siphash_word(struct siphash *s, uint64_t m, unsigned c)
{
	s->v3 ^= m;
	for (unsigned i = 0; i < c; i++)
		siphash_round(s);
	s->v0 ^= m;
}

/* The last word b (length << 56 | the 0-7 bytes left), then d
 * finalization rounds: the hash. */
static inline uint64_t siphash_final(struct siphash *s, uint64_t b, unsigned c, unsigned d)
{
	siphash_word(s, b, c);
	s->v2 ^= 0xff;
	for (unsigned i = 0; i < d; i++)
		siphash_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

#endif
