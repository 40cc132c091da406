/*
 * The key fuzz_tsig checks with and gen_tsig_corpus signs its seeds
 * with: one name and secret, one key per algorithm. The captured seeds
 * (kdig, dig) were made with the same name and secret.
 */
#ifndef AHD_FUZZ_TSIG_H
#define AHD_FUZZ_TSIG_H

#include <string.h>

#include <openssl/evp.h>

#include "tsig.h"

#define FUZZ_TSIG_NAME "transfer.example."
#define FUZZ_TSIG_SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnk="
/* "now" for the target and the seeds we sign (2027-01-15). */
#define FUZZ_TSIG_NOW 1800000000u

static inline struct tsig_key fuzz_tsig_key(enum tsig_alg alg)
{
	static const uint8_t name[] = "\x08transfer\x07" "example";
	struct tsig_key k = { .alg = alg, .name_len = sizeof(name) };
	const char *b64 = FUZZ_TSIG_SECRET;
	uint8_t buf[TSIG_SECRET_MAX + 3];
	int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)strlen(b64));

	memcpy(k.name, name, sizeof(name));
	n -= (int)(strlen(b64) - strcspn(b64, "=")); /* the padding */
	memcpy(k.secret, buf, n > 0 ? (size_t)n : 0);
	k.secret_len = n > 0 ? (size_t)n : 0;
	return k;
}

#endif
