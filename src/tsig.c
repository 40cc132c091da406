#include "tsig.h"

#include <strings.h>

/* RFC 8945 section 6: the algorithm names, as they appear in the TSIG
 * RR and in BIND and Knot key files. */
static const char *const tsig_alg_names[] = {
	[TSIG_ALG_NONE] = NULL,
	[TSIG_HMAC_MD5] = "hmac-md5",
	[TSIG_HMAC_SHA1] = "hmac-sha1",
	[TSIG_HMAC_SHA224] = "hmac-sha224",
	[TSIG_HMAC_SHA256] = "hmac-sha256",
	[TSIG_HMAC_SHA384] = "hmac-sha384",
	[TSIG_HMAC_SHA512] = "hmac-sha512",
};

const char *tsig_alg_text(enum tsig_alg alg)
{
	if ((size_t)alg >= sizeof(tsig_alg_names) / sizeof(tsig_alg_names[0]))
		return NULL;
	return tsig_alg_names[alg];
}

enum tsig_alg tsig_alg_from_text(const char *text)
{
	/* hmac-md5's registered name is hmac-md5.sig-alg.reg.int. */
	if (strcasecmp(text, "hmac-md5.sig-alg.reg.int") == 0 ||
	    strcasecmp(text, "hmac-md5.sig-alg.reg.int.") == 0)
		return TSIG_HMAC_MD5;
	for (size_t i = 1; i < sizeof(tsig_alg_names) / sizeof(tsig_alg_names[0]); i++)
		if (strcasecmp(text, tsig_alg_names[i]) == 0)
			return (enum tsig_alg)i;
	return TSIG_ALG_NONE;
}
