#include <criterion/criterion.h>
#include <string.h>

#include "wire.h"

Test(wire, get_in_network_order)
{
	static const uint8_t buf[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xaa, 0xbb };
	struct wire_reader r;
	uint8_t b, two[2];
	uint16_t s;
	uint32_t l;

	wire_reader_init(&r, buf, sizeof(buf));
	cr_assert_eq(wire_get_u8(&r, &b), 0);
	cr_assert_eq(b, 0x01);
	cr_assert_eq(wire_get_u16(&r, &s), 0);
	cr_assert_eq(s, 0x0203);
	cr_assert_eq(wire_get_u32(&r, &l), 0);
	cr_assert_eq(l, 0x04050607u);
	cr_assert_eq(wire_reader_left(&r), 2);
	cr_assert_eq(wire_get_bytes(&r, two, 2), 0);
	cr_assert_eq(two[0], 0xaa);
	cr_assert_eq(two[1], 0xbb);
	cr_assert_eq(r.pos, 9);
}

Test(wire, every_get_fails_past_the_end_and_keeps_position)
{
	static const uint8_t buf[3] = { 1, 2, 3 };
	struct wire_reader r;
	uint8_t b, dst[4];
	uint16_t s;
	uint32_t l;

	wire_reader_init(&r, buf, 0);
	cr_assert_eq(wire_get_u8(&r, &b), -1);
	cr_assert_eq(wire_get_u16(&r, &s), -1);
	cr_assert_eq(wire_get_u32(&r, &l), -1);
	cr_assert_eq(wire_get_bytes(&r, dst, 1), -1);
	cr_assert_eq(wire_skip(&r, 1), -1);
	cr_assert_eq(wire_get_bytes(&r, dst, 0), 0);

	wire_reader_init(&r, buf, 3);
	cr_assert_eq(wire_get_u32(&r, &l), -1);
	cr_assert_eq(r.pos, 0);
	cr_assert_eq(wire_skip(&r, 2), 0);
	cr_assert_eq(wire_get_u16(&r, &s), -1);
	cr_assert_eq(r.pos, 2);
	cr_assert_eq(wire_get_bytes(&r, dst, 2), -1);
	cr_assert_eq(r.pos, 2);
	cr_assert_eq(wire_skip(&r, 2), -1);
	cr_assert_eq(wire_skip(&r, SIZE_MAX), -1);
	cr_assert_eq(wire_get_bytes(&r, dst, SIZE_MAX), -1);
	cr_assert_eq(wire_get_u8(&r, &b), 0);
	cr_assert_eq(b, 3);
	cr_assert_eq(wire_get_u8(&r, &b), -1);
	cr_assert_eq(wire_reader_left(&r), 0);
}

Test(wire, put_in_network_order)
{
	uint8_t buf[16];
	static const uint8_t want[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 'x', 'y' };
	struct wire_writer w;

	memset(buf, 0xee, sizeof(buf));
	wire_writer_init(&w, buf, sizeof(buf));
	cr_assert_eq(wire_put_u8(&w, 0x01), 0);
	cr_assert_eq(wire_put_u16(&w, 0x0203), 0);
	cr_assert_eq(wire_put_u32(&w, 0x04050607u), 0);
	cr_assert_eq(wire_put_bytes(&w, "xy", 2), 0);
	cr_assert_eq(w.pos, 9);
	cr_assert_eq(memcmp(buf, want, sizeof(want)), 0);
	cr_assert_eq(buf[9], 0xee);
	cr_assert_eq(wire_put_u16_at(&w, 1, 0xbeef), 0);
	cr_assert_eq(buf[1], 0xbe);
	cr_assert_eq(buf[2], 0xef);
	cr_assert_eq(wire_writer_left(&w), 7);
}

Test(wire, every_put_fails_past_the_end_and_keeps_position)
{
	uint8_t buf[3];
	struct wire_writer w;

	memset(buf, 0xee, sizeof(buf));
	wire_writer_init(&w, buf, 0);
	cr_assert_eq(wire_put_u8(&w, 1), -1);
	cr_assert_eq(wire_put_u16(&w, 1), -1);
	cr_assert_eq(wire_put_u32(&w, 1), -1);
	cr_assert_eq(wire_put_bytes(&w, "a", 1), -1);
	cr_assert_eq(buf[0], 0xee);

	wire_writer_init(&w, buf, 3);
	cr_assert_eq(wire_put_u32(&w, 0x01020304u), -1);
	cr_assert_eq(w.pos, 0);
	cr_assert_eq(wire_put_u16(&w, 0x0102), 0);
	cr_assert_eq(wire_put_u16(&w, 0x0304), -1);
	cr_assert_eq(wire_put_bytes(&w, "ab", 2), -1);
	cr_assert_eq(wire_put_bytes(&w, "ab", SIZE_MAX), -1);
	cr_assert_eq(w.pos, 2);
	cr_assert_eq(buf[2], 0xee);
	/* put_at only over bytes already written */
	cr_assert_eq(wire_put_u16_at(&w, 1, 0xffff), -1);
	cr_assert_eq(wire_put_u16_at(&w, 2, 0xffff), -1);
	cr_assert_eq(wire_put_u16_at(&w, SIZE_MAX, 0xffff), -1);
	cr_assert_eq(wire_put_u8(&w, 9), 0);
	cr_assert_eq(wire_put_u8(&w, 9), -1);
	cr_assert_eq(buf[0], 0x01);
	cr_assert_eq(buf[1], 0x02);
	cr_assert_eq(buf[2], 9);
}
