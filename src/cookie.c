/*
 * DNS cookies (cookie.h). SipHash is written out here rather than taken
 * from OpenSSL's EVP_MAC: the query path must not allocate, and an
 * EVP_MAC_CTX per query would (tests cross-check against OpenSSL).
 */
#include "cookie.h"

#include <string.h>
#include <sys/socket.h>

#include "siphash.h"
#include "wire.h"

static uint64_t cookie_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t cookie_siphash24(const uint8_t key[COOKIE_SECRET_LEN], const uint8_t *msg,
			  size_t len)
{
	struct siphash s;
	uint64_t b = (uint64_t)len << 56;
	size_t i;

	siphash_init(&s, cookie_le64(key), cookie_le64(key + 8));
	for (i = 0; len - i >= 8; i += 8)
		siphash_word(&s, cookie_le64(msg + i), 2);
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)msg[i + j] << (8 * j);
	return siphash_final(&s, b, 2, 4);
}

size_t cookie_client_ip(int family, const uint8_t addr[16], const uint8_t **ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	*ip = addr;
	if (family == AF_INET)
		return 4;
	if (family != AF_INET6)
		return 0;
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		*ip = addr + 12;
		return 4;
	}
	return 16;
}

/* The hash over client | server[0..8) (version, reserved, timestamp) | ip. */
static void cookie_hash(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *client,
			const uint8_t *head, const uint8_t *ip, size_t ip_len, uint8_t out[8])
{
	uint8_t msg[COOKIE_CLIENT_LEN + 8 + 16];
	uint64_t h;

	if (ip_len > 16)
		ip_len = 16;
	memcpy(msg, client, COOKIE_CLIENT_LEN);
	memcpy(msg + COOKIE_CLIENT_LEN, head, 8);
	if (ip_len)
		memcpy(msg + COOKIE_CLIENT_LEN + 8, ip, ip_len);
	h = cookie_siphash24(secret, msg, COOKIE_CLIENT_LEN + 8 + ip_len);
	/* SipHash's output is little-endian (the reference implementation). */
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}

void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN],
		 const uint8_t client[COOKIE_CLIENT_LEN], uint32_t ts,
		 const uint8_t *ip, size_t ip_len, uint8_t out[COOKIE_SERVER_LEN])
{
	out[0] = 1;
	out[1] = out[2] = out[3] = 0;
	wire_store_u32(out + 4, ts);
	cookie_hash(secret, client, out, ip, ip_len, out + 8);
}

enum cookie_verdict cookie_check(const uint8_t secret[COOKIE_SECRET_LEN],
				 const uint8_t *cookie, size_t len, uint32_t now,
				 const uint8_t *ip, size_t ip_len)
{
	const uint8_t *server = cookie + COOKIE_CLIENT_LEN;
	uint8_t want[8];
	uint32_t ts;
	int32_t age;
	unsigned diff = 0;

	if (len <= COOKIE_CLIENT_LEN)
		return COOKIE_CLIENT_ONLY;
	/* Another format (an older server behind the same address): not ours. */
	if (len != COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN || server[0] != 1)
		return COOKIE_BAD;
	ts = (uint32_t)server[4] << 24 | (uint32_t)server[5] << 16 |
	     (uint32_t)server[6] << 8 | server[7];
	/* RFC 1982 arithmetic: the timestamp wraps in 2106. */
	age = (int32_t)(now - ts);
	if (age > COOKIE_MAX_AGE || age < -COOKIE_MAX_SKEW)
		return COOKIE_BAD;
	/* The reserved bytes are hashed as sent (RFC 9018 A.3). */
	cookie_hash(secret, cookie, server, ip, ip_len, want);
	for (int i = 0; i < 8; i++) /* constant time: no timing oracle */
		diff |= (unsigned)(want[i] ^ server[8 + i]);
	if (diff)
		return COOKIE_BAD;
	return age > COOKIE_REFRESH_AGE ? COOKIE_STALE : COOKIE_VALID;
}

enum cookie_verdict cookie_reply(const uint8_t secret[COOKIE_SECRET_LEN],
				 const uint8_t *cookie, size_t len, uint32_t now,
				 const uint8_t *ip, size_t ip_len,
				 uint8_t out[COOKIE_REPLY_LEN])
{
	enum cookie_verdict v = cookie_check(secret, cookie, len, now, ip, ip_len);

	memcpy(out, cookie, COOKIE_CLIENT_LEN);
	if (v == COOKIE_VALID)
		memcpy(out + COOKIE_CLIENT_LEN, cookie + COOKIE_CLIENT_LEN, COOKIE_SERVER_LEN);
	else
		cookie_make(secret, cookie, now, ip, ip_len, out + COOKIE_CLIENT_LEN);
	return v;
}
