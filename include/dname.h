/*
 * Domain names in wire form (RFC 1035 section 3.1): parse, lower-case,
 * compare in DNSSEC canonical order (RFC 4034 section 6.1), and the
 * search keys the zone image sorts its owner names by.
 *
 * Case folding is ASCII only (RFC 4343), never locale dependent.
 */
#ifndef AHD_DNAME_H
#define AHD_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahd.h"

/* A name of at most 255 bytes has at most 127 labels besides the root. */
#define DNAME_MAX_LABELS 127

static inline uint8_t dname_lower_byte(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/*
 * Text ("www.example.com", no trailing dot needed; "" or "." is the root)
 * to lower-case wire form in out[0..cap). Escapes are not supported: the
 * names the product accepts are LDH. Returns the wire length or -1 (empty
 * label, label > 63, name > 255, out too small).
 */
int dname_from_text(const char *text, uint8_t *out, size_t cap);

/* Wire to text, no trailing dot ("." for the root), bytes outside
 * printable ASCII as \DDD. Returns the text length or -1. */
int dname_to_text(const uint8_t *wire, size_t len, char *out, size_t cap);

/*
 * Parse an uncompressed name at pkt[off..len) (a question name: RFC 1035
 * section 4.1.4 allows pointers there, but no client sends one and the
 * original refuses them). On success returns the wire length, writes the
 * lower-cased name to lower[0..255] and the offset of each label (root
 * excluded) to label_off[], *n_labels their count. Returns -1 on a
 * truncated name, a label > 63, a name > 255, a pointer or a reserved
 * label type.
 */
int dname_parse(const uint8_t *pkt, size_t len, size_t off,
		uint8_t lower[AHD_MAX_NAME_WIRE],
		uint8_t label_off[DNAME_MAX_LABELS], unsigned *n_labels);

/* Step over the possibly compressed name at m[*off] (a pointer ends it,
 * unfollowed): true with *off after it, false if it runs past len or uses
 * a reserved label type. For walking sections whose names are only
 * skipped (TSIG, the IXFR authority SOA). */
bool dname_skip(const uint8_t *m, size_t len, size_t *off);

/* Validate a complete wire name in buf[0..len) (exactly len bytes, root
 * last). Returns the number of labels besides the root, or -1. */
int dname_check(const uint8_t *buf, size_t len);

/* Case-insensitive equality of two valid wire names. */
bool dname_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* True if name is apex or below it (label aligned, case-insensitive). */
bool dname_is_subdomain(const uint8_t *name, size_t nlen, const uint8_t *apex,
			size_t alen);

/* RFC 4034 section 6.1 order of two valid wire names: <0, 0, >0. */
int dname_canonical_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
			size_t blen);

/*
 * The search key of a valid wire name: its labels right to left, each
 * followed by a 0 byte, lower-cased ("api.v1" -> "v1\0api\0", the root ->
 * empty). For names without 0 bytes in labels (every LDH name), memcmp
 * order of keys with a proper prefix first IS canonical order, so the
 * image binary-searches keys with memcmp. Returns the key length (equal
 * to the wire length minus 1) or -1.
 */
int dname_key(const uint8_t *wire, size_t len, uint8_t *key, size_t cap);
/* The inverse of dname_key() below an apex: the wire form of the name
 * whose key is key[0..key_len) under apex[0..apex_len) (a wire name with
 * its root label). Returns its length, or 0 if a label is empty or over
 * 63 bytes or the name would exceed 255 bytes (a key read from a slot is
 * outside input). */
size_t dname_from_key(const uint8_t *key, size_t key_len, const uint8_t *apex,
		      size_t apex_len, uint8_t out[AHD_MAX_NAME_WIRE]);

/* memcmp order of two keys, a proper prefix first. */
static inline int dname_key_cmp(const uint8_t *a, size_t alen,
				const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? __builtin_memcmp(a, b, n) : 0;

	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

/*
 * Names as the command line and the JSON map give them: presentation
 * form without the trailing dot, ASCII letters, digits, hyphens and dots
 * (the original's rules, stricter than RFC 1035 section 2.3.1 only in
 * refusing a final dot). NULL for a valid name, else why not ("it has an
 * empty label").
 */
const char *dname_text_problem(const char *s);
/* Labels in such a name ("ns1.example.com": 3). */
size_t dname_text_labels(const char *s);
/* a equals b or is a name below b (both lower case). */
bool dname_text_within(const char *a, const char *b);

#endif
