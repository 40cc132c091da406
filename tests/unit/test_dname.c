#include <criterion/criterion.h>
#include <string.h>

#include "dname.h"

/* Expected wire forms are written out by hand. */
#define W(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

Test(dname, from_text_lowercases_and_adds_root)
{
	uint8_t out[AHD_MAX_NAME_WIRE];
	static const uint8_t want[] = "\3www\7example\3com";

	cr_assert_eq(dname_from_text("WWW.Example.COM", out, sizeof(out)), 17);
	cr_assert_eq(memcmp(out, want, 17), 0); /* includes the final 0 */
	cr_assert_eq(dname_from_text("www.example.com.", out, sizeof(out)), 17);
	cr_assert_eq(memcmp(out, want, 17), 0);
	cr_assert_eq(dname_from_text("", out, sizeof(out)), 1);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(dname_from_text(".", out, sizeof(out)), 1);
}

Test(dname, from_text_rejects_bad_names)
{
	uint8_t out[AHD_MAX_NAME_WIRE];
	char label64[80], name256[300];

	memset(label64, 'a', 64);
	label64[64] = '\0';
	cr_assert_eq(dname_from_text(label64, out, sizeof(out)), -1);
	label64[63] = '\0';
	cr_assert_eq(dname_from_text(label64, out, sizeof(out)), 65);
	cr_assert_eq(dname_from_text("a..b", out, sizeof(out)), -1);
	cr_assert_eq(dname_from_text(".a", out, sizeof(out)), -1);
	cr_assert_eq(dname_from_text("a..", out, sizeof(out)), -1);
	/* 4 x (63 + 1) = 256 > 255 */
	memset(name256, 'a', sizeof(name256));
	for (int i = 63; i < 256; i += 64)
		name256[i] = '.';
	name256[255] = '\0';
	cr_assert_eq(dname_from_text(name256, out, sizeof(out)), -1);
	/* 253 characters of text fit: 255 bytes of wire. */
	name256[253] = '\0';
	cr_assert_eq(dname_from_text(name256, out, sizeof(out)), 255);
	cr_assert_eq(dname_from_text("abc", out, 4), -1);
	cr_assert_eq(dname_from_text("abc", out, 5), 5);
}

Test(dname, to_text)
{
	char buf[64];

	cr_assert_eq(dname_to_text(W("\3www\7example\3com\0"), buf, sizeof(buf)), 15);
	cr_assert_str_eq(buf, "www.example.com");
	cr_assert_eq(dname_to_text(W("\0"), buf, sizeof(buf)), 1);
	cr_assert_str_eq(buf, ".");
	cr_assert_eq(dname_to_text(W("\1\001\1z\0"), buf, sizeof(buf)), 6);
	cr_assert_str_eq(buf, "\\001.z");
	cr_assert_eq(dname_to_text(W("\3www\0"), buf, 3), -1);
	cr_assert_eq(dname_to_text(W("\3ww"), buf, sizeof(buf)), -1);
}

Test(dname, parse_question_name)
{
	/* 2 bytes of junk, then "Www.Ex." and a trailing type */
	static const uint8_t pkt[] = "xx\3Www\2Ex\0\0\1";
	uint8_t lower[AHD_MAX_NAME_WIRE], offs[DNAME_MAX_LABELS];
	unsigned n = 99;

	cr_assert_eq(dname_parse(pkt, sizeof(pkt) - 1, 2, lower, offs, &n), 8);
	cr_assert_eq(n, 2);
	cr_assert_eq(offs[0], 0);
	cr_assert_eq(offs[1], 4);
	cr_assert_eq(memcmp(lower, "\3www\2ex\0", 8), 0);
}

Test(dname, parse_rejects_malformed)
{
	uint8_t lower[AHD_MAX_NAME_WIRE], offs[DNAME_MAX_LABELS], pkt[400];
	unsigned n;

	/* truncated inside a label, and before the root */
	cr_assert_eq(dname_parse((const uint8_t *)"\3ww", 3, 0, lower, offs, &n), -1);
	cr_assert_eq(dname_parse((const uint8_t *)"\3www", 4, 0, lower, offs, &n), -1);
	cr_assert_eq(dname_parse((const uint8_t *)"", 0, 0, lower, offs, &n), -1);
	/* compression pointer, reserved label types 01 and 10 */
	cr_assert_eq(dname_parse((const uint8_t *)"\3www\xc0\x0c", 6, 0, lower, offs, &n), -1);
	cr_assert_eq(dname_parse((const uint8_t *)"\x41" "a\0", 3, 0, lower, offs, &n), -1);
	cr_assert_eq(dname_parse((const uint8_t *)"\x81" "a\0", 3, 0, lower, offs, &n), -1);
	/* label of 64 would need type bits 01: covered; name of 256 bytes */
	memset(pkt, 0, sizeof(pkt));
	for (int i = 0; i < 4; i++) {
		pkt[i * 64] = 63;
		memset(pkt + i * 64 + 1, 'a', 63);
	}
	pkt[256] = 0; /* 4 x 64 + 1 = 257 bytes */
	cr_assert_eq(dname_parse(pkt, sizeof(pkt), 0, lower, offs, &n), -1);
	/* 3 x 64 + 62 + 1 = 255: the largest legal name */
	pkt[192] = 61;
	pkt[192 + 62] = 0;
	cr_assert_eq(dname_parse(pkt, sizeof(pkt), 0, lower, offs, &n), 255);
	cr_assert_eq(n, 4);
}

Test(dname, check)
{
	cr_assert_eq(dname_check(W("\3www\7example\0")), 2);
	cr_assert_eq(dname_check(W("\0")), 0);
	cr_assert_eq(dname_check(W("\3www")), -1);
	cr_assert_eq(dname_check(W("\3www\0\0")), -1);
	cr_assert_eq(dname_check(W("\x40" "a\0")), -1);
}

Test(dname, equal_and_subdomain_ignore_case)
{
	cr_assert(dname_equal(W("\3WwW\2eX\0"), W("\3www\2ex\0")));
	cr_assert_not(dname_equal(W("\3wwx\2ex\0"), W("\3www\2ex\0")));
	cr_assert(dname_is_subdomain(W("\1a\3WWW\2ex\0"), W("\3www\2ex\0")));
	cr_assert(dname_is_subdomain(W("\2ex\0"), W("\2EX\0")));
	cr_assert(dname_is_subdomain(W("\2ex\0"), W("\0")));
	/* not label aligned: "xample" is not "example" */
	cr_assert_not(dname_is_subdomain(W("\7example\3com\0"), W("\6xample\3com\0")));
	cr_assert_not(dname_is_subdomain(W("\2ex\0"), W("\1a\2ex\0")));
}

/* RFC 4034 section 6.1, the example list, in order. */
static const struct {
	const uint8_t *w;
	size_t len;
} rfc4034_order[] = {
	{ W("\7example\0") },
	{ W("\1a\7example\0") },
	{ W("\10yljkjljk\1a\7example\0") },
	{ W("\1Z\1a\7example\0") },
	{ W("\4zABC\1a\7EXAMPLE\0") },
	{ W("\1z\7example\0") },
	{ W("\1\001\1z\7example\0") },
	{ W("\1*\1z\7example\0") },
	{ W("\1\200\1z\7example\0") },
};

Test(dname, canonical_order_rfc4034_example)
{
	size_t n = AHD_ARRAY_LEN(rfc4034_order);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int c = dname_canonical_cmp(rfc4034_order[i].w, rfc4034_order[i].len,
						    rfc4034_order[j].w, rfc4034_order[j].len);

			if (i < j)
				cr_assert_lt(c, 0, "%zu vs %zu", i, j);
			else if (i > j)
				cr_assert_gt(c, 0, "%zu vs %zu", i, j);
			else
				cr_assert_eq(c, 0);
		}
	}
	cr_assert_eq(dname_canonical_cmp(W("\1A\0"), W("\1a\0")), 0);
}

Test(dname, key_form)
{
	uint8_t key[AHD_MAX_NAME_WIRE];

	cr_assert_eq(dname_key(W("\3API\2v1\0"), key, sizeof(key)), 7);
	cr_assert_eq(memcmp(key, "v1\0api\0", 7), 0);
	cr_assert_eq(dname_key(W("\0"), key, sizeof(key)), 0);
	cr_assert_eq(dname_key(W("\3api\2v1\0"), key, 6), -1);
	cr_assert_eq(dname_key(W("\3api\2v1"), key, sizeof(key)), -1);
}

/* For LDH names the key order is the canonical order (the binary search
 * of the image relies on it). */
Test(dname, key_order_is_canonical_order_for_ldh)
{
	static const char *const names[] = {
		"", "a", "yljkjljk.a", "z.a", "zabc.a", "a-b", "a0", "b", "x.b",
		"a.x.b", "z.x.b", "b-c", "zz",
	};
	size_t n = AHD_ARRAY_LEN(names);
	uint8_t w[2][AHD_MAX_NAME_WIRE], k[2][AHD_MAX_NAME_WIRE];
	int wl[2], kl[2];

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int c1, c2;

			wl[0] = dname_from_text(names[i], w[0], sizeof(w[0]));
			wl[1] = dname_from_text(names[j], w[1], sizeof(w[1]));
			kl[0] = dname_key(w[0], (size_t)wl[0], k[0], sizeof(k[0]));
			kl[1] = dname_key(w[1], (size_t)wl[1], k[1], sizeof(k[1]));
			c1 = dname_canonical_cmp(w[0], (size_t)wl[0], w[1], (size_t)wl[1]);
			c2 = dname_key_cmp(k[0], (size_t)kl[0], k[1], (size_t)kl[1]);
			cr_assert_eq((c1 > 0) - (c1 < 0), (c2 > 0) - (c2 < 0), "%s vs %s",
				     names[i], names[j]);
		}
	}
	/* and the hand-checked facts behind it */
	cr_assert_lt(dname_key_cmp((const uint8_t *)"a\0", 2, (const uint8_t *)"a\0z\0", 4), 0);
	cr_assert_lt(dname_key_cmp((const uint8_t *)"a\0z\0", 4, (const uint8_t *)"a-b\0", 4), 0);
}

/* dname_from_key inverts dname_key below an apex, and refuses keys that no
 * valid name has (they may come from a corrupt slot). */
Test(dname, from_key_inverts_key)
{
	static const uint8_t apex[] = "\7example\3com";      /* + root 0 */
	static const uint8_t key[] = { 'v', '1', 0, 'a', 'p', 'i', 0 }; /* api.v1 */
	static const uint8_t want[] = "\3api\2v1\7example\3com";
	uint8_t out[AHD_MAX_NAME_WIRE], bad[70];

	cr_assert_eq(dname_from_key(key, sizeof(key), apex, sizeof(apex), out), sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	/* the apex itself: empty key */
	cr_assert_eq(dname_from_key(key, 0, apex, sizeof(apex), out), sizeof(apex));
	/* an empty label ("\0" alone) and a 64-byte label are refused */
	cr_assert_eq(dname_from_key((const uint8_t *)"\0", 1, apex, sizeof(apex), out), 0);
	memset(bad, 'a', sizeof(bad));
	bad[64] = 0;
	cr_assert_eq(dname_from_key(bad, 65, apex, sizeof(apex), out), 0);
	/* longer than 255 in all */
	cr_assert_eq(dname_from_key(bad, 250, apex, sizeof(apex), out), 0);
}

/* The command line's name rules (--hosted-zone, --ns, --alias-zones and
 * the resolution map's keys): the reasons are the ones users read. */
Test(dname, text_problem)
{
	char label63[80], label64[80], name253[300], name254[300];

	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	/* Labels of 63, 63, 63 and 61 (or 62) characters: 253 (254) in all. */
	memset(name253, 'a', 253);
	name253[63] = name253[127] = name253[191] = '.';
	name253[253] = '\0';
	memcpy(name254, name253, 253);
	name254[253] = 'a';
	name254[254] = '\0';

	cr_assert_null(dname_text_problem("example.com"));
	cr_assert_null(dname_text_problem("com"));
	cr_assert_null(dname_text_problem("Xn--a-1.EXAMPLE.com"));
	cr_assert_null(dname_text_problem(label63));
	cr_assert_null(dname_text_problem(name253));
	cr_assert_str_eq(dname_text_problem(""), "it is empty");
	cr_assert_str_eq(dname_text_problem(name254), "it is longer than 253 characters");
	cr_assert_str_eq(dname_text_problem("example.com."),
			 "it ends with a dot (give names without the trailing dot)");
	cr_assert_str_eq(dname_text_problem("a..b"), "it has an empty label");
	cr_assert_str_eq(dname_text_problem(".a"), "it has an empty label");
	cr_assert_str_eq(dname_text_problem(label64),
			 "it has a label longer than 63 characters");
	cr_assert_str_eq(dname_text_problem("a-.b"), "a label ends with a hyphen");
	cr_assert_str_eq(dname_text_problem("a.-b"), "a label starts with a hyphen");
	cr_assert_str_eq(dname_text_problem("a_b.c"),
			 "it has a character other than ASCII letters, digits, hyphens and dots");
	cr_assert_str_eq(dname_text_problem("a b"),
			 "it has a character other than ASCII letters, digits, hyphens and dots");
}

Test(dname, text_labels_and_within)
{
	cr_assert_eq(dname_text_labels("com"), 1);
	cr_assert_eq(dname_text_labels("ns1.example.com"), 3);
	cr_assert(dname_text_within("example.com", "example.com"));
	cr_assert(dname_text_within("a.b.example.com", "example.com"));
	cr_assert_not(dname_text_within("badexample.com", "example.com"));
	cr_assert_not(dname_text_within("example.com", "a.example.com"));
	cr_assert_not(dname_text_within("example.org", "example.com"));
}
