/*
 * Big-endian loads and stores for packet and image bytes. They check
 * nothing: the caller has checked the length first (DESIGN §8, habit 4:
 * every read of a packet is preceded by a check of the bytes left, so no
 * input can reach past the buffer or trip an assertion).
 */
#ifndef AHD_WIRE_H
#define AHD_WIRE_H

#include <stdint.h>

static inline uint16_t wire_load_u16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t wire_load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_store_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
