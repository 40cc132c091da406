#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cookie.h"

static size_t hex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static size_t ip(const char *text, uint8_t addr[16])
{
	if (inet_pton(AF_INET, text, addr) == 1)
		return 4;
	cr_assert_eq(inet_pton(AF_INET6, text, addr), 1);
	return 16;
}

/* The vector of the SipHash paper (appendix A): key 00..0f, message
 * 00..0e. */
Test(cookie, siphash_paper_vector)
{
	uint8_t key[16], msg[15];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	cr_assert_eq(cookie_siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
}

/* Every message length from 0 to 64 against OpenSSL's SIPHASH MAC. */
Test(cookie, siphash_matches_openssl)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	uint8_t key[16], msg[64];
	size_t size = 8;

	cr_assert_not_null(mac);
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0xa5 ^ (i * 7));
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)(i * 31 + 3);
	for (size_t len = 0; len <= 64; len++) {
		EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
			OSSL_PARAM_construct_end(),
		};
		uint8_t out[8];
		size_t outl = 0;
		uint64_t want = 0, got = cookie_siphash24(key, msg, len);

		cr_assert_not_null(c);
		cr_assert_eq(EVP_MAC_init(c, key, 16, params), 1);
		cr_assert_eq(EVP_MAC_update(c, msg, len), 1);
		cr_assert_eq(EVP_MAC_final(c, out, &outl, sizeof(out)), 1);
		cr_assert_eq(outl, 8);
		for (int i = 7; i >= 0; i--)
			want = want << 8 | out[i];
		cr_assert_eq(got, want, "length %zu", len);
		EVP_MAC_CTX_free(c);
	}
	EVP_MAC_free(mac);
}

struct vec {
	const char *secret, *client, *ip;
	uint32_t ts;
	const char *server;
};

/* RFC 9018 Appendix A: the server cookies the server returns. */
static const struct vec rfc9018[] = {
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100",
	  1559731985, "010000005cf79f111f8130c3eee29480" },
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100",
	  1559734385, "010000005cf7a871d4a564a1442aca77" },
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86", "203.0.113.203",
	  1559734700, "010000005cf7a9acf73a7810aca2381e" },
	{ "445536bcd2513298075a5d379663c962", "22681ab97d52c298",
	  "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
	  "010000005cf7c609a6bb79d16625507a" },
};

Test(cookie, rfc9018_appendix_a_server_cookies)
{
	for (size_t i = 0; i < sizeof(rfc9018) / sizeof(rfc9018[0]); i++) {
		const struct vec *v = &rfc9018[i];
		uint8_t secret[16], client[8], addr[16], want[16], got[16];
		size_t ip_len = ip(v->ip, addr);

		hex(v->secret, secret);
		hex(v->client, client);
		hex(v->server, want);
		cookie_make(secret, client, v->ts, addr, ip_len, got);
		cr_assert_eq(memcmp(got, want, 16), 0, "vector A.%zu", i + 1);
	}
}

/* The exchanges of Appendix A as the server sees them: verdict and
 * reply option. */
static void exchange(const char *secret_hex, const char *query_hex, const char *ip_text,
		     uint32_t now, enum cookie_verdict want_v, const char *reply_hex)
{
	uint8_t secret[16], q[40], addr[16], want[24], got[24];
	size_t qlen, ip_len = ip(ip_text, addr);

	hex(secret_hex, secret);
	qlen = hex(query_hex, q);
	hex(reply_hex, want);
	cr_assert_eq(cookie_check(secret, q, qlen, now, addr, ip_len), want_v);
	cr_assert_eq(cookie_reply(secret, q, qlen, now, addr, ip_len, got), want_v);
	cr_assert_eq(memcmp(got, want, 24), 0, "reply to %s", query_hex);
}

Test(cookie, rfc9018_appendix_a_exchanges)
{
	/* A.1: client cookie only */
	exchange("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100",
		 1559731985, COOKIE_CLIENT_ONLY,
		 "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
	/* A.2: 40 minutes later, valid but over half an hour old: renewed */
	exchange("e5e973e5a6b2a43f48e7dc849e37bfcf",
		 "2464c4abcf10c957010000005cf79f111f8130c3eee29480", "198.51.100.100",
		 1559734385, COOKIE_STALE,
		 "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
	/* A.3: reserved bytes set; 1 h 52 min old, so outside the window */
	exchange("e5e973e5a6b2a43f48e7dc849e37bfcf",
		 "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", "203.0.113.203",
		 1559734700, COOKIE_BAD,
		 "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
	/* A.4: made with the old secret, checked with the new one */
	exchange("445536bcd2513298075a5d379663c962",
		 "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
		 "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961, COOKIE_BAD,
		 "22681ab97d52c298010000005cf7c609a6bb79d16625507a");
}

Test(cookie, appendix_a_cookies_verify_when_young)
{
	uint8_t secret[16], q[24], addr[16];
	size_t ip_len;

	/* A.3's cookie, with its reserved bytes hashed, at its own time */
	hex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret);
	hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", q);
	ip_len = ip("203.0.113.203", addr);
	cr_assert_eq(cookie_check(secret, q, 24, 1559727985, addr, ip_len), COOKIE_VALID);
	/* the same from another address is not ours */
	ip_len = ip("203.0.113.204", addr);
	cr_assert_eq(cookie_check(secret, q, 24, 1559727985, addr, ip_len), COOKIE_BAD);
	/* A.4's with the old secret, a moment after it was made */
	hex("dd3bdf9344b678b185a6f5cb60fca715", secret);
	hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8", q);
	ip_len = ip("2001:db8:220:1:59de:d0f4:8769:82b8", addr);
	cr_assert_eq(cookie_check(secret, q, 24, 1559741961, addr, ip_len), COOKIE_VALID);
}

Test(cookie, valid_fresh_cookie_is_echoed)
{
	uint8_t secret[16] = { 1, 2, 3 }, q[24], out[24];
	const uint8_t addr[4] = { 127, 0, 0, 1 };

	memcpy(q, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	cookie_make(secret, q, 1000000, addr, 4, q + 8);
	/* 10 minutes later: valid, echoed byte for byte */
	cr_assert_eq(cookie_reply(secret, q, 24, 1000600, addr, 4, out), COOKIE_VALID);
	cr_assert_eq(memcmp(out, q, 24), 0);
	/* 31 minutes: renewed with the new time stamp */
	cr_assert_eq(cookie_reply(secret, q, 24, 1001860, addr, 4, out), COOKIE_STALE);
	cr_assert_eq(memcmp(out, q, 8), 0);
	cr_assert_eq(memcmp(out + 8, "\x01\0\0\0\x00\x0f\x49\x84", 8), 0);
}

Test(cookie, timestamp_window)
{
	static const struct {
		uint32_t ts, now;
		enum cookie_verdict v;
	} cases[] = {
		{ 5000000, 5000000, COOKIE_VALID },
		{ 5000000 - 1800, 5000000, COOKIE_VALID },
		{ 5000000 - 1801, 5000000, COOKIE_STALE },
		{ 5000000 - 3600, 5000000, COOKIE_STALE },
		{ 5000000 - 3601, 5000000, COOKIE_BAD },
		{ 5000000 + 300, 5000000, COOKIE_VALID },
		{ 5000000 + 301, 5000000, COOKIE_BAD },
		{ 4294964696u, 1000, COOKIE_STALE }, /* 3600 s across the wrap */
		{ 1000, 4294964696u, COOKIE_BAD },
	};
	uint8_t secret[16] = { 9 }, q[24];
	const uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	memcpy(q, "abcdefgh", 8);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cookie_make(secret, q, cases[i].ts, addr, 16, q + 8);
		cr_assert_eq(cookie_check(secret, q, 24, cases[i].now, addr, 16), cases[i].v,
			     "case %zu", i);
	}
}

Test(cookie, foreign_formats_are_bad)
{
	uint8_t secret[16] = { 0 }, q[40];
	const uint8_t addr[4] = { 192, 0, 2, 1 };

	memset(q, 0x5a, sizeof(q));
	cr_assert_eq(cookie_check(secret, q, 8, 100, addr, 4), COOKIE_CLIENT_ONLY);
	cr_assert_eq(cookie_check(secret, q, 16, 100, addr, 4), COOKIE_BAD);
	cr_assert_eq(cookie_check(secret, q, 40, 100, addr, 4), COOKIE_BAD);
	cookie_make(secret, q, 100, addr, 4, q + 8);
	cr_assert_eq(cookie_check(secret, q, 24, 100, addr, 4), COOKIE_VALID);
	q[8] = 2; /* version 2 */
	cr_assert_eq(cookie_check(secret, q, 24, 100, addr, 4), COOKIE_BAD);
	q[8] = 1;
	q[23] ^= 1; /* hash */
	cr_assert_eq(cookie_check(secret, q, 24, 100, addr, 4), COOKIE_BAD);
}

Test(cookie, client_ip_forms)
{
	uint8_t a[16] = { 0 };
	const uint8_t *p;

	a[10] = a[11] = 0xff;
	a[12] = 192;
	cr_assert_eq(cookie_client_ip(AF_INET6, a, &p), 4);
	cr_assert_eq(p, a + 12);
	a[10] = 0;
	cr_assert_eq(cookie_client_ip(AF_INET6, a, &p), 16);
	cr_assert_eq(p, a);
	cr_assert_eq(cookie_client_ip(AF_INET, a, &p), 4);
	cr_assert_eq(cookie_client_ip(0, a, &p), 0);
}
