/*
 * DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018):
 * Version 1 | Reserved 0 | Timestamp | SipHash-2-4(Client Cookie |
 * Version | Reserved | Timestamp | Client IP) under a 16-byte secret.
 * Pure: the time and the client address are passed in.
 */
#ifndef AHD_COOKIE_H
#define AHD_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#define COOKIE_SECRET_LEN 16
#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16
/* The COOKIE option of a response: client + server cookie. */
#define COOKIE_REPLY_LEN (COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)

/* RFC 9018 section 4.3: the validity window of a timestamp, and the age
 * after which a valid cookie is replaced by a fresh one. */
#define COOKIE_MAX_AGE 3600
#define COOKIE_MAX_SKEW 300
#define COOKIE_REFRESH_AGE 1800

enum cookie_verdict {
	COOKIE_CLIENT_ONLY = 0, /* no server cookie in the query */
	COOKIE_BAD,   /* a server cookie we did not make, or out of its window */
	COOKIE_VALID, /* ours and fresh: echoed */
	COOKIE_STALE, /* ours, valid, but older than half an hour: renewed */
};

/* SipHash-2-4 with a 64-bit output (Aumasson and Bernstein, 2012). */
uint64_t cookie_siphash24(const uint8_t key[COOKIE_SECRET_LEN], const uint8_t *msg,
			  size_t len);

/*
 * The client address as RFC 9018 hashes it: 4 bytes for IPv4 (an
 * IPv4-mapped IPv6 address counts as IPv4), 16 for IPv6, none when the
 * family is neither. Returns the length and sets *ip.
 */
size_t cookie_client_ip(int family, const uint8_t addr[16], const uint8_t **ip);

/* A version 1 server cookie for client at ts. */
void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN],
		 const uint8_t client[COOKIE_CLIENT_LEN], uint32_t ts,
		 const uint8_t *ip, size_t ip_len, uint8_t out[COOKIE_SERVER_LEN]);

/* Classify the COOKIE option data cookie[0..len) of a query (len 8 or
 * 16..40, as edns_parse accepts) at time now. */
enum cookie_verdict cookie_check(const uint8_t secret[COOKIE_SECRET_LEN],
				 const uint8_t *cookie, size_t len, uint32_t now,
				 const uint8_t *ip, size_t ip_len);

/*
 * The COOKIE option data of the response to a query carrying
 * cookie[0..len): the client cookie and either the query's own server
 * cookie (COOKIE_VALID) or a fresh one stamped now. Writes
 * COOKIE_REPLY_LEN bytes to out and returns the verdict.
 */
enum cookie_verdict cookie_reply(const uint8_t secret[COOKIE_SECRET_LEN],
				 const uint8_t *cookie, size_t len, uint32_t now,
				 const uint8_t *ip, size_t ip_len,
				 uint8_t out[COOKIE_REPLY_LEN]);

#endif
