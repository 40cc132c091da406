/*
 * Bounds-checked packet buffers (DESIGN §8, habit 4): every get and put
 * can fail, none asserts on input, and a failed call leaves the position
 * where it was. Multi-byte integers are in network byte order.
 */
#ifndef AHD_WIRE_H
#define AHD_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wire_reader {
	const uint8_t *data;
	size_t len;
	size_t pos;
};

struct wire_writer {
	uint8_t *data;
	size_t cap;
	size_t pos;
};

void wire_reader_init(struct wire_reader *r, const uint8_t *data, size_t len);
size_t wire_reader_left(const struct wire_reader *r);
int wire_get_u8(struct wire_reader *r, uint8_t *v);
int wire_get_u16(struct wire_reader *r, uint16_t *v);
int wire_get_u32(struct wire_reader *r, uint32_t *v);
int wire_get_bytes(struct wire_reader *r, void *dst, size_t n);
int wire_skip(struct wire_reader *r, size_t n);

void wire_writer_init(struct wire_writer *w, uint8_t *data, size_t cap);
size_t wire_writer_left(const struct wire_writer *w);
int wire_put_u8(struct wire_writer *w, uint8_t v);
int wire_put_u16(struct wire_writer *w, uint16_t v);
int wire_put_u32(struct wire_writer *w, uint32_t v);
int wire_put_bytes(struct wire_writer *w, const void *src, size_t n);
/* Overwrite 2 bytes already written (a count, a length) at pos. */
int wire_put_u16_at(struct wire_writer *w, size_t pos, uint16_t v);

/* Raw big-endian helpers for callers that checked bounds themselves. */
static inline uint16_t wire_load_u16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
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
