#include <criterion/criterion.h>
#include <string.h>

#include "query.h"

/* ID 0xbeef, RD, QDCOUNT 1, "Www.Example.com." A IN */
static const uint8_t good[] = {
	0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	3, 'W', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x01, 0x00, 0x01,
};

Test(query, parses_a_good_query)
{
	struct query q;

	cr_assert_eq(query_parse(good, sizeof(good), &q), QUERY_OK);
	cr_assert_eq(q.id, 0xbeef);
	cr_assert_eq(q.opcode, 0);
	cr_assert(q.rd);
	cr_assert_eq(q.qtype, 1);
	cr_assert_eq(q.qclass, 1);
	cr_assert_eq(q.qname_len, 17);
	cr_assert_eq(q.question_len, 21);
	cr_assert_eq(q.n_labels, 3);
	cr_assert_eq(q.label_off[0], 0);
	cr_assert_eq(q.label_off[1], 4);
	cr_assert_eq(q.label_off[2], 12);
	cr_assert_eq(memcmp(q.qname, "\3www\7example\3com", 17), 0);
}

Test(query, trailing_sections_are_ignored)
{
	uint8_t pkt[sizeof(good) + 11];
	struct query q;

	memcpy(pkt, good, sizeof(good));
	pkt[11] = 1; /* ARCOUNT 1: an OPT the core does not read yet */
	memcpy(pkt + sizeof(good), "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_OK);
}

/* Bytes after the last counted RR are FORMERR (the original, BIND and
 * Knot do the same); the OPT, which parsed, is kept for the response. */
Test(query, trailing_bytes_are_formerr)
{
	static const uint8_t opt[] = {0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0};
	uint8_t pkt[sizeof(good) + sizeof(opt) + 1];
	struct query q;

	memcpy(pkt, good, sizeof(good));
	pkt[sizeof(good)] = 0;
	cr_assert_eq(query_parse(pkt, sizeof(good) + 1, &q), QUERY_FORMERR);
	cr_assert_not(q.edns.present);
	memcpy(pkt + sizeof(good), opt, sizeof(opt));
	pkt[11] = 1;
	pkt[sizeof(pkt) - 1] = 0xff;
	cr_assert_eq(query_parse(pkt, sizeof(pkt) - 1, &q), QUERY_OK);
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_FORMERR);
	cr_assert(q.edns.present);
	cr_assert(q.edns.do_bit);
	cr_assert_eq(q.edns.payload, 1232);
	/* a cookie request (no question) with a byte too many */
	{
		static const uint8_t cq[] = {
			0xbe, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
			0, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
			0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0,
		};

		cr_assert_eq(query_parse(cq, sizeof(cq) - 1, &q), QUERY_NO_QUESTION);
		cr_assert_eq(query_parse(cq, sizeof(cq), &q), QUERY_FORMERR);
		cr_assert(q.edns.present);
		cr_assert_eq(q.edns.cookie_len, 8);
	}
}

Test(query, short_or_response_is_dropped)
{
	uint8_t pkt[sizeof(good)];
	struct query q;

	cr_assert_eq(query_parse(good, 11, &q), QUERY_DROP);
	cr_assert_eq(query_parse(good, 0, &q), QUERY_DROP);
	memcpy(pkt, good, sizeof(good));
	pkt[2] |= 0x80;
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_DROP);
}

Test(query, header_only_is_formerr)
{
	struct query q;

	cr_assert_eq(query_parse(good, 12, &q), QUERY_FORMERR);
	cr_assert_eq(q.id, 0xbeef);
}

Test(query, opcode_other_than_query_is_notimp)
{
	uint8_t pkt[sizeof(good)];
	struct query q;

	memcpy(pkt, good, sizeof(good));
	pkt[2] = 0x21; /* opcode 4 (NOTIFY), RD */
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_NOTIMP);
	cr_assert_eq(q.opcode, 4);
	cr_assert(q.rd);
	pkt[2] = 0x10; /* opcode 2 (STATUS) */
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_NOTIMP);
	cr_assert_eq(q.opcode, 2);
	cr_assert_not(q.rd);
}

Test(query, qdcount_not_one_is_formerr)
{
	uint8_t pkt[sizeof(good)];
	struct query q;

	memcpy(pkt, good, sizeof(good));
	pkt[5] = 0;
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_FORMERR);
	pkt[5] = 2;
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_FORMERR);
	pkt[4] = 1;
	pkt[5] = 1; /* 257 */
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_FORMERR);
}

Test(query, truncated_question_is_formerr)
{
	struct query q;

	/* inside the name, before the root, inside type, inside class */
	cr_assert_eq(query_parse(good, 15, &q), QUERY_FORMERR);
	cr_assert_eq(query_parse(good, 28, &q), QUERY_FORMERR);
	cr_assert_eq(query_parse(good, 30, &q), QUERY_FORMERR);
	cr_assert_eq(query_parse(good, 32, &q), QUERY_FORMERR);
	cr_assert_eq(query_parse(good, 33, &q), QUERY_OK);
}

Test(query, bad_names_are_formerr)
{
	uint8_t pkt[400];
	struct query q;
	size_t n;

	/* a compression pointer in the question */
	memcpy(pkt, good, 12);
	memcpy(pkt + 12, "\3www\xc0\x0c\0\1\0\1", 10);
	cr_assert_eq(query_parse(pkt, 22, &q), QUERY_FORMERR);
	/* label type 01 (extended, RFC 6891) and 10 (reserved) */
	memcpy(pkt + 12, "\x41www\0\0\1\0\1", 9);
	cr_assert_eq(query_parse(pkt, 21, &q), QUERY_FORMERR);
	memcpy(pkt + 12, "\x83www\0\0\1\0\1", 9);
	cr_assert_eq(query_parse(pkt, 21, &q), QUERY_FORMERR);
	/* name of 257 bytes: 4 labels of 63 */
	n = 12;
	for (int i = 0; i < 4; i++) {
		pkt[n++] = 63;
		memset(pkt + n, 'a', 63);
		n += 63;
	}
	pkt[n++] = 0;
	memcpy(pkt + n, "\0\1\0\1", 4);
	n += 4;
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	/* one label shorter: 255 bytes, fine */
	pkt[12 + 192] = 61;
	pkt[12 + 192 + 62] = 0;
	memcpy(pkt + 12 + 255, "\0\1\0\1", 4);
	cr_assert_eq(query_parse(pkt, 12 + 259, &q), QUERY_OK);
	cr_assert_eq(q.qname_len, 255);
}

Test(query, root_name_parses)
{
	static const uint8_t pkt[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1 };
	struct query q;

	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_OK);
	cr_assert_eq(q.n_labels, 0);
	cr_assert_eq(q.qname_len, 1);
	cr_assert_eq(q.qtype, 2);
}

/* good + an OPT: payload 4096, version 0, DO, a COOKIE and an NSID. */
Test(query, edns_fields_exposed)
{
	static const uint8_t opt[] = {
		0, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x10,
		0x00, 0x03, 0x00, 0x00,
		0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
	};
	uint8_t pkt[sizeof(good) + sizeof(opt)];
	struct query q;

	memcpy(pkt, good, sizeof(good));
	memcpy(pkt + sizeof(good), opt, sizeof(opt));
	cr_assert_eq(query_parse(pkt, sizeof(good), &q), QUERY_OK);
	cr_assert_not(q.edns.present);
	cr_assert_not(q.edns.do_bit);
	pkt[11] = 1;
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_OK);
	cr_assert(q.edns.present);
	cr_assert(q.edns.do_bit);
	cr_assert_eq(q.edns.payload, 4096);
	cr_assert_eq(q.edns.version, 0);
	cr_assert(q.edns.nsid);
	cr_assert_eq(q.edns.cookie_len, 8);
	cr_assert_eq(q.edns.cookie[7], 8);
	/* truncated anywhere inside the OPT: FORMERR, edns cleared */
	for (size_t cut = sizeof(good); cut < sizeof(pkt); cut++) {
		cr_assert_eq(query_parse(pkt, cut, &q), QUERY_FORMERR, "cut at %zu", cut);
		cr_assert_not(q.edns.present);
	}
	/* ARCOUNT 2 with one OPT: the second RR is missing */
	pkt[11] = 2;
	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_FORMERR);
}

Test(query, opt_placement_and_owner)
{
	uint8_t pkt[sizeof(good) + 40];
	struct query q;
	size_t n = sizeof(good);

	memcpy(pkt, good, sizeof(good));
	/* two OPTs */
	memcpy(pkt + n, "\0\0\x29\x04\xd0\0\0\0\0\0\0\0\0\x29\x04\xd0\0\0\0\0\0\0", 22);
	pkt[11] = 2;
	cr_assert_eq(query_parse(pkt, n + 22, &q), QUERY_FORMERR);
	/* the OPT counted in the answer or authority section */
	pkt[11] = 0;
	pkt[7] = 1;
	cr_assert_eq(query_parse(pkt, n + 11, &q), QUERY_FORMERR);
	pkt[7] = 0;
	pkt[9] = 1;
	cr_assert_eq(query_parse(pkt, n + 11, &q), QUERY_FORMERR);
	/* owner "a." */
	pkt[9] = 0;
	pkt[11] = 1;
	memcpy(pkt + n, "\1a\0\0\x29\x04\xd0\0\0\0\0\0\0", 13);
	cr_assert_eq(query_parse(pkt, n + 13, &q), QUERY_FORMERR);
	/* a non-OPT additional record with a compressed owner is skipped */
	memcpy(pkt + n, "\xc0\x0c\0\x01\0\x01\0\0\0\0\0\0", 12);
	cr_assert_eq(query_parse(pkt, n + 12, &q), QUERY_OK);
	cr_assert_not(q.edns.present);
}

Test(query, no_question_with_cookie)
{
	static const uint8_t pkt[] = {
		0xbe, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
		0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
	};
	struct query q;

	cr_assert_eq(query_parse(pkt, sizeof(pkt), &q), QUERY_NO_QUESTION);
	cr_assert_eq(q.id, 0xbeef);
	cr_assert_eq(q.edns.cookie_len, 8);
	/* an OPT without the cookie option: FORMERR, the sound OPT kept
	 * for the response (RFC 6891 section 6.1.1) */
	{
		uint8_t bare[23];

		memcpy(bare, pkt, sizeof(bare));
		bare[22] = 0; /* RDLENGTH 0 */
		cr_assert_eq(query_parse(bare, sizeof(bare), &q), QUERY_FORMERR);
		cr_assert(q.edns.present);
		cr_assert_eq(q.edns.payload, 1232);
		cr_assert_eq(q.edns.cookie_len, 0);
	}
	/* a version 1 OPT: FORMERR, version kept (answered BADVERS) */
	{
		uint8_t v1[sizeof(pkt)];

		memcpy(v1, pkt, sizeof(pkt));
		v1[18] = 1;
		cr_assert_eq(query_parse(v1, sizeof(v1), &q), QUERY_FORMERR);
		cr_assert(q.edns.present);
		cr_assert_eq(q.edns.version, 1);
	}
	/* ARCOUNT 2: the message does not parse, nothing kept */
	{
		uint8_t two[sizeof(pkt)];

		memcpy(two, pkt, sizeof(pkt));
		two[11] = 2;
		cr_assert_eq(query_parse(two, sizeof(two), &q), QUERY_FORMERR);
		cr_assert_not(q.edns.present);
	}
}

/* good + one A record in the answer section owned by owner[0..olen). */
static size_t query_with_answer_rr(uint8_t *pkt, const uint8_t *owner, size_t olen)
{
	static const uint8_t rest[] = { 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9 };

	memcpy(pkt, good, sizeof(good));
	pkt[7] = 1;
	memcpy(pkt + sizeof(good), owner, olen);
	memcpy(pkt + sizeof(good) + olen, rest, sizeof(rest));
	return sizeof(good) + olen + sizeof(rest);
}

#define OWNER(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

/* RFC 1035 section 4.1.4: a pointer points to a prior occurrence, so
 * to a byte after the header and before the name holding it. The RR
 * starts at offset 33 (0x21). */
Test(query, pointers_in_sections_point_backwards)
{
	static const uint8_t second[] = {
		0xc0, 0x21, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 10,
	};
	uint8_t pkt[128];
	struct query q;
	size_t n;

	n = query_with_answer_rr(pkt, OWNER(0xc0, 0x21)); /* itself */
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	n = query_with_answer_rr(pkt, OWNER(0xc0, 0x30)); /* forward */
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	n = query_with_answer_rr(pkt, OWNER(0xc0, 0x02)); /* the header */
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	n = query_with_answer_rr(pkt, OWNER(0xc0, 0x0b)); /* its last byte */
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	/* a label, then a pointer to that name's own start: a loop */
	n = query_with_answer_rr(pkt, OWNER(1, 'a', 0xc0, 0x21));
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	/* a label, then a pointer into that label */
	n = query_with_answer_rr(pkt, OWNER(1, 'a', 0xc0, 0x22));
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	/* all 14 offset bits count: 0x3f21 is past everything */
	n = query_with_answer_rr(pkt, OWNER(0xff, 0x21));
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	/* backwards: the question name, its "example.com", the byte just
	 * before the RR (skipped, not followed: where it lands is not read) */
	n = query_with_answer_rr(pkt, OWNER(0xc0, 0x0c));
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_OK);
	n = query_with_answer_rr(pkt, OWNER(0xc0, 0x10));
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_OK);
	n = query_with_answer_rr(pkt, OWNER(1, 'a', 0xc0, 0x20));
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_OK);
	/* a second RR (at 51 = 0x33) pointing at the first one's owner */
	n = query_with_answer_rr(pkt, OWNER(1, 'a', 0xc0, 0x0c));
	cr_assert_eq(n, 51);
	memcpy(pkt + n, second, sizeof(second));
	pkt[7] = 2;
	cr_assert_eq(query_parse(pkt, n + sizeof(second), &q), QUERY_OK);
	pkt[n + 1] = 0x33; /* ... or at itself */
	cr_assert_eq(query_parse(pkt, n + sizeof(second), &q), QUERY_FORMERR);
}

/* RFC 6891 section 7, RFC 7873 section 5.2.2: an OPT whose options are
 * malformed is a FORMERR that still carries an OPT, so its fixed part
 * is kept; a message that does not parse keeps nothing. */
Test(query, malformed_options_keep_edns)
{
	/* payload 4096, DO; option 65001 of 40 bytes in an RDATA of 6 */
	static const uint8_t past[] = {
		0, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x06,
		0xfd, 0xe9, 0x00, 0x28, 0x01, 0x02,
	};
	/* payload 1232; a COOKIE of 7 bytes */
	static const uint8_t cookie7[] = {
		0, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b,
		0x00, 0x0a, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7,
	};
	static const uint8_t opt_plain[] = { 0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	uint8_t pkt[sizeof(good) + 64];
	size_t n = sizeof(good) + sizeof(cookie7);
	struct query q;

	memcpy(pkt, good, sizeof(good));
	pkt[11] = 1;
	memcpy(pkt + sizeof(good), past, sizeof(past));
	cr_assert_eq(query_parse(pkt, sizeof(good) + sizeof(past), &q), QUERY_FORMERR);
	cr_assert(q.edns.present);
	cr_assert(q.edns.malformed);
	cr_assert_eq(q.edns.payload, 4096);
	cr_assert(q.edns.do_bit);
	cr_assert_eq(q.id, 0xbeef);

	memcpy(pkt + sizeof(good), cookie7, sizeof(cookie7));
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	cr_assert(q.edns.present);
	cr_assert(q.edns.malformed);
	cr_assert_eq(q.edns.payload, 1232);
	cr_assert_eq(q.edns.cookie_len, 0);
	cr_assert_not(q.edns.do_bit);

	/* the rest must parse too: a second RR counted but missing */
	pkt[11] = 2;
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	cr_assert_not(q.edns.present);
	/* a second OPT after the bad one */
	memcpy(pkt + n, opt_plain, sizeof(opt_plain));
	cr_assert_eq(query_parse(pkt, n + sizeof(opt_plain), &q), QUERY_FORMERR);
	cr_assert_not(q.edns.present);
	/* RDLENGTH past the end of the message */
	pkt[11] = 1;
	pkt[sizeof(good) + 10] = 0x32;
	cr_assert_eq(query_parse(pkt, n, &q), QUERY_FORMERR);
	cr_assert_not(q.edns.present);
	cr_assert_not(q.edns.malformed);
}

/* RFC 6891 section 6.1.1: a NOTIMP answers an OPT with one, so the
 * sections of any opcode are walked for it. */
Test(query, notimp_finds_the_opt)
{
	/* UPDATE (opcode 5), RD: zone example.com SOA IN, one update
	 * "www" A 192.0.2.9 (owner compressed), then an OPT with DO */
	static const uint8_t update[] = {
		0xbe, 0xef, 0x29, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x06, 0x00, 0x01,
		3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9,
		0, 0x00, 0x29, 0x05, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
	};
	static const uint8_t bad_option[] = { 0xfd, 0xe9, 0x00, 0x09 };
	static const uint8_t root_soa[] = { 0, 0x00, 0x06, 0x00, 0x01 };
	static const uint8_t ptr_soa[] = { 0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01 };
	const uint8_t *opt = update + sizeof(update) - 11;
	uint8_t pkt[sizeof(update) + 8];
	struct query q;

	cr_assert_eq(query_parse(update, sizeof(update), &q), QUERY_NOTIMP);
	cr_assert_eq(q.opcode, 5);
	cr_assert(q.edns.present);
	cr_assert_not(q.edns.malformed);
	cr_assert_eq(q.edns.payload, 1280);
	cr_assert(q.edns.do_bit);
	/* an option running past the RDATA: NOTIMP still, OPT kept */
	memcpy(pkt, update, sizeof(update));
	pkt[sizeof(update) - 1] = 4;
	memcpy(pkt + sizeof(update), bad_option, sizeof(bad_option));
	cr_assert_eq(query_parse(pkt, sizeof(update) + 4, &q), QUERY_NOTIMP);
	cr_assert(q.edns.present);
	cr_assert(q.edns.malformed);
	/* cut inside the OPT: the message does not parse, no OPT */
	cr_assert_eq(query_parse(update, sizeof(update) - 1, &q), QUERY_NOTIMP);
	cr_assert_not(q.edns.present);
	/* a zone section whose name is a pointer (nothing before it) */
	memcpy(pkt, update, 12);
	pkt[9] = 0;
	memcpy(pkt + 12, ptr_soa, sizeof(ptr_soa));
	memcpy(pkt + 18, opt, 11);
	cr_assert_eq(query_parse(pkt, 29, &q), QUERY_NOTIMP);
	cr_assert_not(q.edns.present);
	/* the same OPT behind a sound zone section is found */
	memcpy(pkt + 12, root_soa, sizeof(root_soa));
	memcpy(pkt + 17, opt, 11);
	cr_assert_eq(query_parse(pkt, 28, &q), QUERY_NOTIMP);
	cr_assert(q.edns.present);
	/* QDCOUNT 2 with one entry: does not parse */
	pkt[5] = 2;
	cr_assert_eq(query_parse(pkt, 28, &q), QUERY_NOTIMP);
	cr_assert_not(q.edns.present);
}
