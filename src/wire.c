#include "wire.h"

#include <string.h>

void wire_reader_init(struct wire_reader *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
}

size_t wire_reader_left(const struct wire_reader *r)
{
	return r->pos <= r->len ? r->len - r->pos : 0;
}

int wire_get_u8(struct wire_reader *r, uint8_t *v)
{
	if (wire_reader_left(r) < 1)
		return -1;
	*v = r->data[r->pos++];
	return 0;
}

int wire_get_u16(struct wire_reader *r, uint16_t *v)
{
	if (wire_reader_left(r) < 2)
		return -1;
	*v = wire_load_u16(r->data + r->pos);
	r->pos += 2;
	return 0;
}

int wire_get_u32(struct wire_reader *r, uint32_t *v)
{
	const uint8_t *p;

	if (wire_reader_left(r) < 4)
		return -1;
	p = r->data + r->pos;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	r->pos += 4;
	return 0;
}

int wire_get_bytes(struct wire_reader *r, void *dst, size_t n)
{
	if (wire_reader_left(r) < n)
		return -1;
	if (n)
		memcpy(dst, r->data + r->pos, n);
	r->pos += n;
	return 0;
}

int wire_skip(struct wire_reader *r, size_t n)
{
	if (wire_reader_left(r) < n)
		return -1;
	r->pos += n;
	return 0;
}

void wire_writer_init(struct wire_writer *w, uint8_t *data, size_t cap)
{
	w->data = data;
	w->cap = cap;
	w->pos = 0;
}

size_t wire_writer_left(const struct wire_writer *w)
{
	return w->pos <= w->cap ? w->cap - w->pos : 0;
}

int wire_put_u8(struct wire_writer *w, uint8_t v)
{
	if (wire_writer_left(w) < 1)
		return -1;
	w->data[w->pos++] = v;
	return 0;
}

int wire_put_u16(struct wire_writer *w, uint16_t v)
{
	if (wire_writer_left(w) < 2)
		return -1;
	wire_store_u16(w->data + w->pos, v);
	w->pos += 2;
	return 0;
}

int wire_put_u32(struct wire_writer *w, uint32_t v)
{
	if (wire_writer_left(w) < 4)
		return -1;
	wire_store_u32(w->data + w->pos, v);
	w->pos += 4;
	return 0;
}

int wire_put_bytes(struct wire_writer *w, const void *src, size_t n)
{
	if (wire_writer_left(w) < n)
		return -1;
	if (n)
		memcpy(w->data + w->pos, src, n);
	w->pos += n;
	return 0;
}

int wire_put_u16_at(struct wire_writer *w, size_t pos, uint16_t v)
{
	if (pos > w->pos || w->pos - pos < 2)
		return -1;
	wire_store_u16(w->data + pos, v);
	return 0;
}
