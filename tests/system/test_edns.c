/*
 * EDNS from the outside (the "Transports" issue's Done-when): NSID as
 * kdig shows it (RFC 5001), DNS cookies as dig shows them (RFC 7873,
 * RFC 9018) including an anycast pair sharing --cookie-secret, payload
 * sizes and truncation against --edns-size, BADVERS and no-EDNS answers
 * (RFC 6891).
 *
 * Expected values come from the RFCs: server cookies are recomputed here
 * with OpenSSL's SipHash-2-4 (checked against RFC 9018 Appendix A first),
 * message sizes from the wire format.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sysutil.h"

#define ZONE "example.test"
#define SECRET_1 "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define SECRET_2 "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
#define NSID_TEXT "ns-test-1"
#define BIG_N 40
#define MID_N 78
#define HUGE_N 90
#define W20_N 20

/*
 * Response sizes with EDNS and no options (dig +nocookie), the owners
 * compressed to a pointer: header 12, question 22 (23 for "huge"), 16 per
 * A record, OPT 11.
 *	big  (40): 12 + 22 + 640 + 11 =  685  > 512, fits 1232
 *	mid  (78): 12 + 22 + 1248 + 11 = 1293 > 1232, fits 1400
 *	huge (90): 12 + 23 + 1440 + 11 = 1486 > 1400
 *	w20  (20): 12 + 22 + 320 + 11 =  365  fits 512
 */
#define BIG_SIZE 685
#define MID_SIZE 1293
#define HUGE_SIZE 1486
#define W20_SIZE 365

/* The test's address from the server's side, as the cookie hash uses it
 * (sys_client_addr: 127.0.0.1, or C's end of the veth in XDP mode). */
static const uint8_t *client_ip(void)
{
	static uint8_t ip[4];

	cr_assert_eq(inet_pton(AF_INET, sys_client_addr(), ip), 1);
	return ip;
}

static char zone_json[8192];

static void add_list(size_t *n, const char *name, const char *prefix, int first, int count)
{
	*n += (size_t)snprintf(zone_json + *n, sizeof(zone_json) - *n, "%s\"%s\": [",
			       *n > 1 ? ", " : "", name);
	for (int i = 0; i < count; i++)
		*n += (size_t)snprintf(zone_json + *n, sizeof(zone_json) - *n, "%s\"%s%d\"",
				       i > 0 ? ", " : "", prefix, first + i);
	*n += (size_t)snprintf(zone_json + *n, sizeof(zone_json) - *n, "]");
}

static const char *zone_resolutions(void)
{
	size_t n = 0;

	n += (size_t)snprintf(zone_json, sizeof(zone_json), "{");
	add_list(&n, "www", "192.0.2.", 1, 1);
	add_list(&n, "big", "198.51.100.", 1, BIG_N);
	add_list(&n, "w20", "198.51.100.", 101, W20_N);
	add_list(&n, "mid", "203.0.113.", 1, MID_N);
	add_list(&n, "huge", "192.0.2.", 100, HUGE_N);
	snprintf(zone_json + n, sizeof(zone_json) - n, "}");
	cr_assert_lt(n + 2, sizeof(zone_json));
	return zone_json;
}

/* Starts a server with the zone, one worker, then extra flags. */
static void start(struct sys_server *s, const char *const *extra)
{
	const char *args[64];
	size_t n = 0;
	const char *const base[] = {
		"--hosted-zone", ZONE,
		"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
		"--zone-resolutions", zone_resolutions(),
		"--user", "nobody",
		"--workers", "1",
	};

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		args[n++] = base[i];
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cr_assert_eq(sys_server_start(s, args), 0, "the server did not start");
}

static void stop(struct sys_server *s)
{
	cr_assert_eq(sys_server_stop(s), 0, "the server did not exit cleanly");
}

static char *dig(uint16_t port, const char *const *args)
{
	char *out = sys_dig(port, args);

	cr_assert_not_null(out, "dig failed");
	return out;
}

static char *kdig(uint16_t port, const char *const *args)
{
	const char *argv[32];
	char at[64], p[8];
	char *out = NULL;
	size_t n = 0;
	int st;

	snprintf(at, sizeof(at), "@%s", sys_addr());
	snprintf(p, sizeof(p), "%u", port);
	argv[n++] = "kdig";
	argv[n++] = at;
	argv[n++] = "-p";
	argv[n++] = p;
	argv[n++] = "+time=3";
	argv[n++] = "+retry=1";
	for (size_t i = 0; args[i] != NULL && n < 30; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	st = sys_run_client(argv, 15000, &out, NULL);
	cr_assert_eq(st, 0, "kdig failed (%d): %s", st, out ? out : "");
	cr_assert_not_null(out);
	return out;
}

/* ---- hex and cookies ---------------------------------------------- */

static void hex_encode(const uint8_t *b, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes exactly len bytes of hex; 0 or -1. */
static int hex_decode(const char *s, uint8_t *out, size_t len)
{
	if (strlen(s) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * RFC 9018 section 4.4: Hash = SipHash-2-4(Client Cookie | Version |
 * Reserved | Timestamp | Client-IP, Server Secret), 8 bytes as the
 * reference implementation writes them.
 */
static void rfc9018_hash(const char *secret_hex, const uint8_t client[8],
			 const uint8_t head[8], const uint8_t *ip, size_t ip_len,
			 uint8_t out[8])
{
	uint8_t key[16], msg[8 + 8 + 16];
	size_t outl = 0, size = 8;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *c;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};

	cr_assert_eq(hex_decode(secret_hex, key, sizeof(key)), 0);
	cr_assert_not_null(mac, "OpenSSL has no SIPHASH");
	c = EVP_MAC_CTX_new(mac);
	cr_assert_not_null(c);
	memcpy(msg, client, 8);
	memcpy(msg + 8, head, 8);
	memcpy(msg + 16, ip, ip_len);
	cr_assert_eq(EVP_MAC_init(c, key, sizeof(key), params), 1);
	cr_assert_eq(EVP_MAC_update(c, msg, 16 + ip_len), 1);
	cr_assert_eq(EVP_MAC_final(c, out, &outl, 8), 1);
	cr_assert_eq(outl, 8);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
}

/* A full cookie (client | server) as the server with secret_hex would
 * issue it to sys_client_addr() at time ts, in hex (49 bytes with the NUL). */
static void make_cookie(const char *secret_hex, const uint8_t client[8], uint32_t ts,
			char out[49])
{
	uint8_t c[24];

	memcpy(c, client, 8);
	c[8] = 1;
	c[9] = c[10] = c[11] = 0;
	c[12] = (uint8_t)(ts >> 24);
	c[13] = (uint8_t)(ts >> 16);
	c[14] = (uint8_t)(ts >> 8);
	c[15] = (uint8_t)ts;
	rfc9018_hash(secret_hex, c, c + 8, client_ip(), 4, c + 16);
	hex_encode(c, sizeof(c), out);
}

struct cookie {
	uint8_t client[8];
	uint8_t server[16];
	char hex[49];      /* client | server as dig printed it */
	char verdict[16];  /* dig's "good" / "bad" / ... */
};

/* The "; COOKIE: <hex> (<verdict>)" line of dig's output, which must be
 * there and hold a client and a 16-byte server cookie. */
static void dig_cookie(const char *out, struct cookie *c)
{
	const char *p = strstr(out, "\n; COOKIE: ");
	char hex[128] = "";

	cr_assert_not_null(p, "no COOKIE in the response:\n%s", out);
	memset(c, 0, sizeof(*c));
	cr_assert_eq(sscanf(p, "\n; COOKIE: %127[0-9a-fA-F] (%15[a-z])", hex, c->verdict), 2,
		     "cannot read the COOKIE line:\n%s", out);
	/* RFC 9018: 8 bytes of client cookie, 16 of server cookie. */
	cr_assert_eq(strlen(hex), 48, "cookie '%s' is not 8 + 16 bytes", hex);
	for (size_t i = 0; i < 48; i++)
		c->hex[i] = (char)tolower((unsigned char)hex[i]);
	c->hex[48] = '\0';
	cr_assert_eq(hex_decode(c->hex + 16, c->server, 16), 0);
	c->hex[16] = '\0';
	cr_assert_eq(hex_decode(c->hex, c->client, 8), 0);
	c->hex[16] = (char)tolower((unsigned char)hex[16]);
}

static uint32_t cookie_ts(const struct cookie *c)
{
	return (uint32_t)c->server[4] << 24 | (uint32_t)c->server[5] << 16 |
	       (uint32_t)c->server[6] << 8 | c->server[7];
}

/*
 * The server cookie is RFC 9018's: version 1, three reserved zero bytes,
 * a timestamp within [lo, hi], and the hash under secret_hex (NULL: the
 * secret is unknown, the hash is not checked).
 */
static void assert_server_cookie(const struct cookie *c, const char *secret_hex, uint32_t lo,
				 uint32_t hi)
{
	uint8_t want[8];
	uint32_t ts = cookie_ts(c);

	cr_assert_eq(c->server[0], 1, "version %u, not 1 (RFC 9018)", c->server[0]);
	cr_assert(c->server[1] == 0 && c->server[2] == 0 && c->server[3] == 0,
		  "reserved bytes not zero: %s", c->hex);
	cr_assert(ts >= lo && ts <= hi, "timestamp %u outside [%u, %u]", ts, lo, hi);
	if (secret_hex == NULL)
		return;
	rfc9018_hash(secret_hex, c->client, c->server, client_ip(), 4, want);
	cr_assert_arr_eq(c->server + 8, want, 8, "the hash is not SipHash-2-4 under the secret: %s",
			 c->hex);
}

/* ---- dig output --------------------------------------------------- */

/* The text after key up to one of the stop characters, in buf. */
static const char *field(const char *out, const char *key, const char *stops, char *buf,
			 size_t cap)
{
	const char *p = strstr(out, key);
	size_t n;

	cr_assert_not_null(p, "no '%s' in:\n%s", key, out);
	p += strlen(key);
	n = strcspn(p, stops);
	cr_assert_lt(n, cap);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static void assert_status(const char *out, const char *want)
{
	char buf[32];

	cr_assert_str_eq(field(out, "status: ", ",\n", buf, sizeof(buf)), want,
			 "status is not %s:\n%s", want, out);
}

static bool has_flag(const char *out, const char *flag)
{
	char buf[64], padded[80];

	snprintf(padded, sizeof(padded), " %s ", field(out, ";; flags: ", ";", buf, sizeof(buf)));
	snprintf(buf, sizeof(buf), " %s ", flag);
	return strstr(padded, buf) != NULL;
}

static long count_of(const char *out, const char *key)
{
	char buf[16];

	return strtol(field(out, key, ",\n", buf, sizeof(buf)), NULL, 10);
}

static long msg_size(const char *out)
{
	char buf[16];

	return strtol(field(out, "MSG SIZE  rcvd: ", "\n", buf, sizeof(buf)), NULL, 10);
}

/* The A addresses of dig's answer section; returns how many. Each one
 * must be prefix<first..first+count-1>, and none may repeat. */
static size_t answer_addrs(const char *out, const char *prefix, int first, int count)
{
	const char *p = strstr(out, ";; ANSWER SECTION:\n");
	bool seen[128] = {false};
	size_t n = 0;

	cr_assert_lt(count, 128);
	if (p == NULL)
		return 0;
	p = strchr(p, '\n') + 1;
	while (*p != '\0' && *p != '\n') {
		char owner[256], cls[8], type[8], addr[64];
		unsigned long ttl;
		const char *nl = strchr(p, '\n');
		int i;

		cr_assert_eq(sscanf(p, "%255s %lu %7s %7s %63s", owner, &ttl, cls, type, addr), 5,
			     "cannot read an answer line in:\n%s", out);
		cr_assert_str_eq(type, "A");
		cr_assert_eq(strncmp(addr, prefix, strlen(prefix)), 0, "unexpected address %s", addr);
		i = atoi(addr + strlen(prefix));
		cr_assert(i >= first && i < first + count, "unexpected address %s", addr);
		cr_assert_not(seen[i - first], "address %s twice", addr);
		seen[i - first] = true;
		n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

/* ---- kdig output -------------------------------------------------- */

/* kdig's EDNS pseudo-section (up to the blank line after it), malloc'd;
 * NULL when the response had no OPT. */
static char *kdig_edns(const char *out)
{
	const char *p = strstr(out, ";; EDNS PSEUDOSECTION:\n");
	const char *end;

	if (p == NULL)
		return NULL;
	end = strstr(p, "\n\n");
	return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

/* kdig's ";; NSID: <HEX> "<text>"" inside the EDNS section for the
 * expected bytes. */
static void assert_kdig_nsid(const char *out, const char *want)
{
	char *edns = kdig_edns(out);
	char hex[600] = "", text[300] = "", want_hex[600];
	const char *p;

	cr_assert_not_null(edns, "no EDNS pseudo-section:\n%s", out);
	p = strstr(edns, ";; NSID: ");
	cr_assert_not_null(p, "no NSID in the EDNS section:\n%s", out);
	cr_assert_eq(sscanf(p, ";; NSID: %599[0-9A-Fa-f] \"%299[^\"]\"", hex, text), 2,
		     "cannot read the NSID line:\n%s", edns);
	hex_encode((const uint8_t *)want, strlen(want), want_hex);
	cr_assert_eq(strcasecmp(hex, want_hex), 0, "NSID bytes %s, expected %s", hex, want_hex);
	cr_assert_str_eq(text, want);
	free(edns);
}

/* The response had an OPT (so an NSID could have been there) but no NSID. */
static void assert_kdig_no_nsid(const char *out)
{
	char *edns = kdig_edns(out);

	cr_assert_not_null(edns, "no EDNS pseudo-section:\n%s", out);
	cr_assert_null(strstr(out, "NSID"), "an NSID nobody configured:\n%s", out);
	free(edns);
}

/* ---- NSID (RFC 5001) ---------------------------------------------- */

Test(edns, nsid_text_is_shown_by_kdig, .timeout = 30)
{
	struct sys_server s;
	const char *extra[] = {"--nsid", NSID_TEXT, NULL};
	const char *with[] = {"+nsid", "www." ZONE, "A", NULL};
	const char *without[] = {"+edns", "www." ZONE, "A", NULL};
	char *out;

	start(&s, extra);
	out = kdig(s.port, with);
	assert_kdig_nsid(out, NSID_TEXT);
	cr_assert_not_null(strstr(out, "status: NOERROR"), "%s", out);
	cr_assert_not_null(strstr(out, "\tA\t192.0.2.1\n"), "no answer:\n%s", out);
	free(out);
	/* RFC 5001 section 2.1: only a client that asked gets it. */
	out = kdig(s.port, without);
	assert_kdig_no_nsid(out);
	free(out);
	stop(&s);
}

Test(edns, no_nsid_flag_sends_no_nsid, .timeout = 30)
{
	struct sys_server s;
	const char *with[] = {"+nsid", "www." ZONE, "A", NULL};
	char *out;

	start(&s, NULL);
	out = kdig(s.port, with);
	assert_kdig_no_nsid(out);
	cr_assert_not_null(strstr(out, "status: NOERROR"), "%s", out);
	free(out);
	stop(&s);
}

Test(edns, nsid_hostname_is_gethostname, .timeout = 30)
{
	struct sys_server s;
	const char *extra[] = {"--nsid", "hostname", NULL};
	const char *with[] = {"+nsid", "www." ZONE, "A", NULL};
	char host[256] = "";
	char *out;

	cr_assert_eq(gethostname(host, sizeof(host) - 1), 0);
	cr_assert_gt(strlen(host), 0);
	/* A host named "hostname" would not show the word was replaced. */
	cr_assert_str_neq(host, "hostname");
	start(&s, extra);
	out = kdig(s.port, with);
	assert_kdig_nsid(out, host);
	free(out);
	stop(&s);
}

/* ---- cookies (RFC 7873, RFC 9018) --------------------------------- */

/* The expected-value code itself reproduces RFC 9018 Appendix A.1. */
Test(edns, cookie_hash_reproduces_rfc9018_appendix_a)
{
	uint8_t client[8], head[8], want[8], got[8];
	const uint8_t ip[4] = {198, 51, 100, 100};

	cr_assert_eq(hex_decode("2464c4abcf10c957", client, 8), 0);
	cr_assert_eq(hex_decode("010000005cf79f11", head, 8), 0);
	cr_assert_eq(hex_decode("1f8130c3eee29480", want, 8), 0);
	rfc9018_hash("e5e973e5a6b2a43f48e7dc849e37bfcf", client, head, ip, sizeof(ip), got);
	cr_assert_arr_eq(got, want, 8);
}

/* Query with dig (its own client cookie, or +cookie=hex) and read the
 * response's cookie; the answer must be the normal www answer. */
static char *cookie_query(uint16_t port, const char *send_hex, struct cookie *c)
{
	char opt[64];
	const char *args[] = {"www." ZONE, "A", opt, NULL};
	char *out;

	if (send_hex != NULL)
		snprintf(opt, sizeof(opt), "+cookie=%s", send_hex);
	else
		snprintf(opt, sizeof(opt), "+cookie");
	out = dig(port, args);
	/* RFC 7873 section 5.2.3/5.2.4: a missing or wrong server cookie
	 * still gets the normal answer over UDP, never BADCOOKIE here. */
	assert_status(out, "NOERROR");
	cr_assert_eq(answer_addrs(out, "192.0.2.", 1, 1), 1, "no answer:\n%s", out);
	dig_cookie(out, c);
	/* dig says "good" when the client cookie came back unchanged. */
	cr_assert_str_eq(c->verdict, "good", "%s", out);
	if (send_hex != NULL)
		cr_assert_eq(strncmp(c->hex, send_hex, 16), 0, "client cookie not echoed");
	return out;
}

/* Sleeps until time(NULL) > ts, so a re-issued cookie would differ. */
static void next_second(uint32_t ts)
{
	while ((uint32_t)time(NULL) <= ts)
		sys_sleep_ms(50);
}

Test(edns, dig_gets_an_rfc9018_server_cookie_and_it_is_accepted, .timeout = 30)
{
	struct sys_server s;
	const char *extra[] = {"--cookie-secret", SECRET_1, NULL};
	struct cookie c1, c2;
	uint32_t lo, hi;

	start(&s, extra);
	lo = (uint32_t)time(NULL);
	free(cookie_query(s.port, NULL, &c1));
	hi = (uint32_t)time(NULL);
	assert_server_cookie(&c1, SECRET_1, lo, hi);

	/* Sent back a second later: valid and fresh, so echoed as it is
	 * (a rejected one would be re-issued with the newer time). */
	next_second(cookie_ts(&c1));
	free(cookie_query(s.port, c1.hex, &c2));
	cr_assert_str_eq(c2.hex, c1.hex, "the server did not accept its own cookie");
	stop(&s);
}

Test(edns, random_secret_cookie_has_the_rfc9018_layout, .timeout = 30)
{
	struct sys_server s;
	struct cookie c1, c2;
	uint32_t lo, hi;

	start(&s, NULL);
	lo = (uint32_t)time(NULL);
	free(cookie_query(s.port, NULL, &c1));
	hi = (uint32_t)time(NULL);
	assert_server_cookie(&c1, NULL, lo, hi);
	/* The default secret is random, not a fixed one. */
	cr_assert_neq(memcmp(c1.server + 8, (uint8_t[8]){0}, 8), 0);
	next_second(cookie_ts(&c1));
	free(cookie_query(s.port, c1.hex, &c2));
	cr_assert_str_eq(c2.hex, c1.hex, "the server did not accept its own cookie");
	stop(&s);
}

/*
 * Cookies made here for the server's secret, at chosen times: a fresh
 * one is echoed, a forged, stale (> 30 min), expired (> 1 h) or future
 * (> 5 min) one is replaced by one stamped now (RFC 9018 section 4.3).
 */
Test(edns, crafted_cookies_follow_the_rfc9018_time_window, .timeout = 30)
{
	static const uint8_t client[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	struct sys_server s;
	const char *extra[] = {"--cookie-secret", SECRET_1, NULL};
	const struct {
		const char *what;
		int32_t age;
		bool forged, echoed;
	} cases[] = {
		{"fresh (60 s)", 60, false, true},
		{"29 min old", 29 * 60, false, true},
		{"forged hash", 60, true, false},
		{"stale (31 min)", 31 * 60, false, false},
		{"expired (2 h)", 2 * 3600, false, false},
		{"10 min in the future", -600, false, false},
	};

	start(&s, extra);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t now = (uint32_t)time(NULL);
		char hex[49];
		struct cookie c;

		make_cookie(SECRET_1, client, now - (uint32_t)cases[i].age, hex);
		if (cases[i].forged)
			hex[47] = hex[47] == '0' ? '1' : '0';
		free(cookie_query(s.port, hex, &c));
		if (cases[i].echoed) {
			cr_assert_str_eq(c.hex, hex, "%s: not accepted", cases[i].what);
		} else {
			cr_assert_str_neq(c.hex, hex, "%s: accepted", cases[i].what);
			assert_server_cookie(&c, SECRET_1, now, (uint32_t)time(NULL));
		}
	}
	stop(&s);
}

/* Two servers with the same --cookie-secret accept each other's cookies;
 * one with another secret re-issues but answers normally. */
Test(edns, anycast_pair_shares_cookies, .timeout = 30)
{
	struct sys_server a, b, c;
	const char *same[] = {"--cookie-secret", SECRET_1, NULL};
	const char *other[] = {"--cookie-secret", SECRET_2, NULL};
	struct cookie ca, cb, cc;
	uint32_t lo;

	start(&a, same);
	start(&b, same);
	start(&c, other);
	cr_assert_neq(a.port, b.port);
	lo = (uint32_t)time(NULL);
	free(cookie_query(a.port, NULL, &ca));
	assert_server_cookie(&ca, SECRET_1, lo, (uint32_t)time(NULL));

	next_second(cookie_ts(&ca));
	free(cookie_query(b.port, ca.hex, &cb));
	cr_assert_str_eq(cb.hex, ca.hex, "server B did not accept server A's cookie");

	lo = (uint32_t)time(NULL);
	free(cookie_query(c.port, ca.hex, &cc));
	cr_assert_str_neq(cc.hex, ca.hex, "a server with another secret accepted the cookie");
	assert_server_cookie(&cc, SECRET_2, lo, (uint32_t)time(NULL));
	stop(&a);
	stop(&b);
	stop(&c);
}

/* ---- payload size, BADVERS, no EDNS (RFC 6891) -------------------- */

Test(edns, payload_size_truncates_at_the_smaller_of_client_and_server, .timeout = 30)
{
	struct sys_server s;
	const char *extra[] = {"--edns-size", "1232", NULL};
	const char *small[] = {"+nocookie", "+ignore", "+bufsize=512", "big." ZONE, "A", NULL};
	const char *large[] = {"+nocookie", "+ignore", "+bufsize=4096", "big." ZONE, "A", NULL};
	const char *over[] = {"+nocookie", "+ignore", "+bufsize=4096", "mid." ZONE, "A", NULL};
	const char *tiny[] = {"+nocookie", "+ignore", "+bufsize=100", "w20." ZONE, "A", NULL};
	char buf[16];
	char *out;

	start(&s, extra);
	/* 685 bytes do not fit a 512-byte payload: TC, and the reply fits. */
	out = dig(s.port, small);
	assert_status(out, "NOERROR");
	cr_assert(has_flag(out, "tc"), "no TC at 512:\n%s", out);
	cr_assert_leq(msg_size(out), 512);
	cr_assert_lt(count_of(out, "ANSWER: "), BIG_N);
	free(out);

	/* The same at 4096 fits the server's 1232: complete, no TC. */
	out = dig(s.port, large);
	assert_status(out, "NOERROR");
	cr_assert_not(has_flag(out, "tc"), "TC at 4096:\n%s", out);
	cr_assert_eq(count_of(out, "ANSWER: "), BIG_N);
	cr_assert_eq(answer_addrs(out, "198.51.100.", 1, BIG_N), BIG_N);
	cr_assert_eq(msg_size(out), BIG_SIZE);
	/* RFC 6891 section 6.2.3: the OPT gives the responder's own size. */
	cr_assert_str_eq(field(out, "; EDNS: version: 0, flags:; udp: ", "\n", buf, sizeof(buf)),
			 "1232");
	free(out);

	/* 1293 bytes: more than the server's 1232 even though dig offers 4096. */
	out = dig(s.port, over);
	cr_assert(has_flag(out, "tc"), "no TC over the server's size:\n%s", out);
	cr_assert_leq(msg_size(out), 1232);
	free(out);

	/* RFC 6891 section 6.2.5: a payload under 512 counts as 512. */
	out = dig(s.port, tiny);
	cr_assert_not(has_flag(out, "tc"), "TC for a 100-byte payload:\n%s", out);
	cr_assert_eq(answer_addrs(out, "198.51.100.", 101, W20_N), W20_N);
	cr_assert_eq(msg_size(out), W20_SIZE);
	free(out);
	stop(&s);
}

/* A non-default --edns-size really moves the limit. */
Test(edns, edns_size_flag_moves_the_limit, .timeout = 30)
{
	struct sys_server s;
	const char *extra[] = {"--edns-size", "1400", NULL};
	const char *mid[] = {"+nocookie", "+ignore", "+bufsize=4096", "mid." ZONE, "A", NULL};
	const char *huge[] = {"+nocookie", "+ignore", "+bufsize=4096", "huge." ZONE, "A", NULL};
	char buf[16];
	char *out;

	start(&s, extra);
	out = dig(s.port, mid);
	cr_assert_not(has_flag(out, "tc"), "TC for 1293 bytes under 1400:\n%s", out);
	cr_assert_eq(answer_addrs(out, "203.0.113.", 1, MID_N), MID_N);
	cr_assert_eq(msg_size(out), MID_SIZE);
	cr_assert_str_eq(field(out, "; EDNS: version: 0, flags:; udp: ", "\n", buf, sizeof(buf)),
			 "1400");
	free(out);

	out = dig(s.port, huge);
	cr_assert(has_flag(out, "tc"), "no TC for %d bytes over 1400:\n%s", HUGE_SIZE, out);
	cr_assert_leq(msg_size(out), 1400);
	free(out);
	stop(&s);
}

Test(edns, edns_version_1_gets_badvers, .timeout = 30)
{
	struct sys_server s;
	const char *v1[] = {"+edns=1", "+noednsneg", "www." ZONE, "A", NULL};
	const char *v0[] = {"+edns=0", "+noednsneg", "www." ZONE, "A", NULL};
	char *out;

	start(&s, NULL);
	out = dig(s.port, v1);
	assert_status(out, "BADVERS");
	cr_assert_eq(count_of(out, "ANSWER: "), 0);
	/* RFC 6891 section 6.1.3: BADVERS needs the OPT (its extended RCODE),
	 * which names the version the server does speak. */
	cr_assert_not_null(strstr(out, "; EDNS: version: 0,"), "%s", out);
	free(out);
	/* The same query at version 0 is answered. */
	out = dig(s.port, v0);
	assert_status(out, "NOERROR");
	cr_assert_eq(answer_addrs(out, "192.0.2.", 1, 1), 1);
	free(out);
	stop(&s);
}

Test(edns, no_edns_query_gets_no_opt, .timeout = 30)
{
	struct sys_server s;
	/* NSID and cookies configured: none of it may leak into a reply to
	 * a client that sent no OPT (RFC 6891 section 7). */
	const char *extra[] = {"--nsid", NSID_TEXT, "--cookie-secret", SECRET_1, NULL};
	const char *plain[] = {"+noedns", "www." ZONE, "A", NULL};
	const char *edns[] = {"www." ZONE, "A", NULL};
	char *out;

	start(&s, extra);
	out = dig(s.port, plain);
	assert_status(out, "NOERROR");
	cr_assert_eq(answer_addrs(out, "192.0.2.", 1, 1), 1);
	cr_assert_eq(count_of(out, "ADDITIONAL: "), 0, "%s", out);
	cr_assert_null(strstr(out, "OPT PSEUDOSECTION"), "%s", out);
	cr_assert_null(strstr(out, "COOKIE"), "%s", out);
	cr_assert_null(strstr(out, "NSID"), "%s", out);
	free(out);
	/* Control: dig's default query does get the OPT this test looks for. */
	out = dig(s.port, edns);
	cr_assert_eq(count_of(out, "ADDITIONAL: "), 1, "%s", out);
	cr_assert_not_null(strstr(out, "OPT PSEUDOSECTION"), "%s", out);
	free(out);
	stop(&s);
}
