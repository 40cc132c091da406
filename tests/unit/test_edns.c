#include <criterion/criterion.h>
#include <string.h>

#include <ldns/ldns.h>

#include "edns.h"

/* OPT from TYPE on: class 1232, TTL ext 0 / version 0 / DO, rdata. */
Test(edns, parses_payload_version_do_and_options)
{
	static const uint8_t rr[] = {
		0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x16,
		0x00, 0x03, 0x00, 0x00,                         /* NSID, empty */
		0xfd, 0xe9, 0x00, 0x02, 0xaa, 0xbb,             /* unknown 65001 */
		0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, /* COOKIE */
	};
	struct edns_query e;

	cr_assert_eq(edns_parse(rr, sizeof(rr), &e), 0);
	cr_assert(e.present);
	cr_assert_eq(e.payload, 1232);
	cr_assert_eq(e.version, 0);
	cr_assert(e.do_bit);
	cr_assert(e.nsid);
	cr_assert_eq(e.cookie_len, 8);
	cr_assert_eq(memcmp(e.cookie, "\1\2\3\4\5\6\7\10", 8), 0);
}

Test(edns, malformed_is_refused)
{
	uint8_t rr[64] = { 0x00, 0x29, 0x10, 0x00, 0, 0, 0, 0, 0x00, 0x04,
			   0x00, 0x0a, 0x00, 0x09 };
	struct edns_query e;

	/* option length past the RDATA */
	cr_assert_eq(edns_parse(rr, 14, &e), -1);
	/* RDLENGTH not matching the RR */
	cr_assert_eq(edns_parse(rr, 13, &e), -1);
	cr_assert_eq(edns_parse(rr, 9, &e), -1);
	/* half an option header */
	rr[9] = 2;
	cr_assert_eq(edns_parse(rr, 12, &e), -1);
	/* COOKIE of 9, 7, 15, 41 bytes: FORMERR; 8, 16, 40 fine */
	for (unsigned n = 0; n <= 44; n++) {
		bool ok = n == 8 || (n >= 16 && n <= 40);

		rr[9] = (uint8_t)(4 + n);
		rr[13] = (uint8_t)n;
		cr_assert_eq(edns_parse(rr, 14 + n, &e), ok ? 0 : -1, "cookie of %u", n);
		if (ok)
			cr_assert_eq(e.cookie_len, n);
	}
}

/* RFC 6891 section 7, RFC 7873 section 5.2.2: bad options still leave
 * the fixed part usable, so the FORMERR can carry an OPT; nothing of the
 * options (not even a sound NSID before the bad one) is kept. */
Test(edns, malformed_options_keep_fixed_fields)
{
	/* payload 4096, DO; NSID, then an option of 40 bytes in 2 */
	static const uint8_t past[] = {
		0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x0a,
		0x00, 0x03, 0x00, 0x00,
		0xfd, 0xe9, 0x00, 0x28, 0x01, 0x02,
	};
	/* payload 1232; a COOKIE of 7 bytes after a good one of 8 */
	static const uint8_t cookie7[] = {
		0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17,
		0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
		0x00, 0x0a, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7,
	};
	/* 3 bytes of an option header */
	static const uint8_t stub[] = {
		0x00, 0x29, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
		0x00, 0x03, 0x00,
	};
	struct edns_query e;

	cr_assert_eq(edns_parse(past, sizeof(past), &e), -1);
	cr_assert(e.present);
	cr_assert(e.malformed);
	cr_assert_eq(e.payload, 4096);
	cr_assert_eq(e.version, 0);
	cr_assert(e.do_bit);
	cr_assert_not(e.nsid);
	cr_assert_eq(e.cookie_len, 0);

	cr_assert_eq(edns_parse(cookie7, sizeof(cookie7), &e), -1);
	cr_assert(e.present);
	cr_assert(e.malformed);
	cr_assert_eq(e.payload, 1232);
	cr_assert_not(e.do_bit);
	cr_assert_eq(e.cookie_len, 0);

	cr_assert_eq(edns_parse(stub, sizeof(stub), &e), -1);
	cr_assert(e.malformed);
	cr_assert_eq(e.payload, 512);

	/* an RR that does not parse (RDLENGTH 10, 4 bytes given) is not
	 * "malformed options": e is left alone */
	memset(&e, 0, sizeof(e));
	cr_assert_eq(edns_parse(past, 14, &e), -1);
	cr_assert_not(e.present);
	cr_assert_not(e.malformed);
	/* the good COOKIE alone: sound */
	{
		uint8_t ok[22];

		memcpy(ok, cookie7, sizeof(ok));
		ok[9] = 12;
		cr_assert_eq(edns_parse(ok, sizeof(ok), &e), 0);
		cr_assert_not(e.malformed);
		cr_assert_eq(e.cookie_len, 8);
	}
}

Test(edns, later_version_options_not_interpreted)
{
	/* version 1 with a cookie of a bad length: BADVERS, not FORMERR */
	static const uint8_t rr[] = { 0x00, 0x29, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00,
				      0x00, 0x05, 0x00, 0x0a, 0x00, 0x01, 0xff };
	struct edns_query e;

	cr_assert_eq(edns_parse(rr, sizeof(rr), &e), 0);
	cr_assert_eq(e.version, 1);
	cr_assert_eq(e.cookie_len, 0);
}

Test(edns, udp_limit)
{
	struct edns_query e = { 0 };

	cr_assert_eq(edns_udp_limit(&e, 1232), 512);
	e.present = true;
	e.payload = 4096;
	cr_assert_eq(edns_udp_limit(&e, 1232), 1232);
	cr_assert_eq(edns_udp_limit(&e, 4096), 4096);
	e.payload = 1400;
	cr_assert_eq(edns_udp_limit(&e, 4096), 1400);
	e.payload = 100; /* below 512 counts as 512 */
	cr_assert_eq(edns_udp_limit(&e, 1232), 512);
	e.payload = 0;
	cr_assert_eq(edns_udp_limit(&e, 1232), 512);
	e.payload = 4096;
	cr_assert_eq(edns_udp_limit(&e, 100), 512);
}

Test(edns, writes_opt_exact_bytes)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x01, 0x00, 0x80, 0x00, 0x00, 0x0f,
		0x00, 0x03, 0x00, 0x03, 'n', 's', '1',
		0x00, 0x0a, 0x00, 0x04, 9, 8, 7, 6,
	};
	struct edns_reply r = { .payload = 1232, .ext_rcode = 1, .do_bit = true,
				.nsid = (const uint8_t *)"ns1", .nsid_len = 3,
				.cookie = (const uint8_t *)"\11\10\7\6", .cookie_len = 4 };
	uint8_t out[64];

	cr_assert_eq(edns_reply_len(&r), sizeof(want));
	cr_assert_eq(edns_write(&r, out, sizeof(want) - 1), 0);
	cr_assert_eq(edns_write(&r, out, sizeof(out)), sizeof(want));
	cr_assert_eq(memcmp(out, want, sizeof(want)), 0);
}

Test(edns, plain_opt_per_ldns)
{
	/* A header with ARCOUNT 1 and the OPT: ldns reads size and DO. */
	uint8_t pkt[12 + EDNS_OPT_FIXED] = { 0x12, 0x34, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct edns_reply r = { .payload = 4096, .do_bit = true };
	ldns_pkt *p = NULL;

	cr_assert_eq(edns_write(&r, pkt + 12, EDNS_OPT_FIXED), EDNS_OPT_FIXED);
	cr_assert_eq(ldns_wire2pkt(&p, pkt, sizeof(pkt)), LDNS_STATUS_OK);
	cr_assert_eq(ldns_pkt_edns_udp_size(p), 4096);
	cr_assert(ldns_pkt_edns_do(p));
	cr_assert_eq(ldns_pkt_edns_version(p), 0);
	ldns_pkt_free(p);
}
