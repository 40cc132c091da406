/*
 * Fuzz target: packet bytes -> the transfer path (xfr.c): the request
 * checks (access list, TSIG, the IXFR authority SOA), the zone, and every
 * message of the transfer, over UDP and TCP, unsigned and signed images,
 * without and with a TSIG key. Every message must be one ldns parses,
 * echo the ID, have QR set and fit the buffer; a transfer ends within a
 * bounded number of messages. Signed queries also go through
 * xfr_sign_answer.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "xfr.h"

#define FUZZ_XFR_CAP 65535
#define FUZZ_XFR_MAX_MSGS 4096

static struct config fuzz_xfr_cfg, fuzz_xfr_scfg;
static struct tsig_key fuzz_xfr_key;
static struct tsig_key fuzz_xfr_nokey;
static struct xfr_ctx fuzz_xfr_ctx[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t lo[4] = {127, 0, 0, 1};
	const struct zimg *z, *sz;

	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	if (fuzz_fixture_config(&fuzz_xfr_cfg) < 0 || fuzz_fixture_config(&fuzz_xfr_scfg) < 0)
		fuzz_fail(__FILE__, __LINE__, "the fixture configuration is refused");
	/* Transfers allowed to 127.0.0.0/8, the client of every input. */
	for (struct config *c = &fuzz_xfr_cfg; c; c = c == &fuzz_xfr_cfg ? &fuzz_xfr_scfg : NULL) {
		c->transfer_allow[0] = (struct config_prefix){.family = AF_INET, .len = 8};
		memcpy(c->transfer_allow[0].addr, lo, 1);
		c->n_transfer_allow = 1;
		c->ixfr_history = 4;
	}
	z = fuzz_fixture_image(&fuzz_xfr_cfg);
	sz = fuzz_fixture_signed_image(&fuzz_xfr_scfg, NULL);
	if (z == NULL || sz == NULL)
		fuzz_fail(__FILE__, __LINE__, "the fixture images cannot be built");
	fuzz_xfr_key.alg = TSIG_HMAC_SHA256;
	memcpy(fuzz_xfr_key.name, "\3key\0", 5);
	fuzz_xfr_key.name_len = 5;
	memset(fuzz_xfr_key.secret, 0x42, 32);
	fuzz_xfr_key.secret_len = 32;
	fuzz_xfr_ctx[0] = (struct xfr_ctx){.z = z, .key = &fuzz_xfr_nokey};
	fuzz_xfr_ctx[1] = (struct xfr_ctx){.z = sz, .key = &fuzz_xfr_nokey};
	fuzz_xfr_ctx[2] = (struct xfr_ctx){.z = sz, .key = &fuzz_xfr_key};
	fuzz_quiet_stderr();
	return 0;
}

/* What every response must be. */
static void fuzz_xfr_check(const uint8_t *in, const uint8_t *out, size_t n, size_t cap)
{
	ldns_pkt *p = NULL;

	FUZZ_CHECK(n <= cap);
	FUZZ_CHECK(n >= 12);
	FUZZ_CHECK(out[0] == in[0] && out[1] == in[1]);
	FUZZ_CHECK(out[2] & 0x80);
	FUZZ_CHECK(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
	ldns_pkt_free(p);
}

/* The whole transfer over TCP: the first message, then the stream. */
static void fuzz_xfr_tcp(struct xfr_ctx *x, const struct sockaddr *peer, const uint8_t *data,
			 size_t size, uint8_t *out)
{
	void *stream = NULL;
	size_t n = xfr_answer(x, peer, data, size, true, 512, out, FUZZ_XFR_CAP, &stream,
			      FUZZ_SIGN_NOW, 0);
	unsigned msgs = 0;

	if (n == XFR_NOT_MINE)
		return;
	if (n > 0)
		fuzz_xfr_check(data, out, n, FUZZ_XFR_CAP);
	while (stream != NULL) {
		bool done = false;

		n = xfr_more(stream, out, FUZZ_XFR_CAP, &done);
		FUZZ_CHECK(++msgs < FUZZ_XFR_MAX_MSGS);
		if (n > 0)
			fuzz_xfr_check(data, out, n, FUZZ_XFR_CAP);
		if (done || n == 0) {
			xfr_free(x, stream);
			stream = NULL;
		}
	}
	FUZZ_CHECK(x->streams == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in peer = {.sin_family = AF_INET};
	static uint8_t out[FUZZ_XFR_CAP];

	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (size < 12 || !xfr_is_request(data, size))
		return 0;
	for (size_t i = 0; i < sizeof(fuzz_xfr_ctx) / sizeof(fuzz_xfr_ctx[0]); i++) {
		struct xfr_ctx *x = &fuzz_xfr_ctx[i];
		size_t n = xfr_answer(x, (const struct sockaddr *)&peer, data, size, false, 512,
				      out, sizeof(out), NULL, FUZZ_SIGN_NOW, 0);

		if (n != XFR_NOT_MINE && n > 0) {
			fuzz_xfr_check(data, out, n, sizeof(out));
			FUZZ_CHECK(n <= 512);
			n = xfr_sign_answer(x, data, size, out, n, sizeof(out), FUZZ_SIGN_NOW);
			if (n > 0)
				fuzz_xfr_check(data, out, n, sizeof(out));
		}
		fuzz_xfr_tcp(x, (const struct sockaddr *)&peer, data, size, out);
	}
	return 0;
}
