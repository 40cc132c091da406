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
	/* an OPT without the cookie option: FORMERR */
	{
		uint8_t bare[23];

		memcpy(bare, pkt, sizeof(bare));
		bare[22] = 0; /* RDLENGTH 0 */
		cr_assert_eq(query_parse(bare, sizeof(bare), &q), QUERY_FORMERR);
		cr_assert_not(q.edns.present);
	}
	/* a version 1 OPT: FORMERR too (no question to answer BADVERS for) */
	{
		uint8_t v1[sizeof(pkt)];

		memcpy(v1, pkt, sizeof(pkt));
		v1[18] = 1;
		cr_assert_eq(query_parse(v1, sizeof(v1), &q), QUERY_FORMERR);
	}
}
