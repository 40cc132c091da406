/*
 * Fuzz target: bytes -> keyroll_parse(), the key-state file beside each
 * --priv-key-path (DESIGN §13). Refusal is fine (with a message), a
 * crash or a leak is not. An accepted file gives a known role, an
 * algorithm --priv-key-alg names (or 0), times in order; and the
 * planner, fed two such keys on a few clocks, keeps its outputs sane.
 */
#include "fuzz.h"

#include <string.h>

#include "ahd.h"
#include "keyroll.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	return 0;
}

static void fuzz_keyroll_plan(const struct keyroll_spec *s)
{
	static const struct keyroll_policy pol = { 20, 60, 5 };
	struct keyroll_key k[2];

	memset(k, 0, sizeof(k));
	keyroll_spec_default(&k[0].spec);
	k[0].alg = 13;
	keyroll_hist_init(&k[0].hist, &k[0].spec, true, 0);
	k[1].spec = *s;
	k[1].alg = s->alg ? s->alg : 13;
	keyroll_hist_init(&k[1].hist, s, false, 0);
	for (int64_t now = 0; now < 4000; now += 37) {
		int64_t next = keyroll_plan(k, 2, &pol, now);

		FUZZ_CHECK(next > now);
		for (int i = 0; i < 2; i++) {
			FUZZ_CHECK(k[i].state <= KEYROLL_REMOVED);
			FUZZ_CHECK(k[i].held_why == NULL || k[i].held_until > now);
		}
		/* The key that was always there keeps the zone signed. */
		FUZZ_CHECK(k[0].sign || k[1].sign);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyroll_spec s;
	char err[256];

	err[0] = '\0';
	if (keyroll_parse((const char *)data, size, &s, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(s.role <= KEYROLL_ZSK);
	FUZZ_CHECK(s.alg == 0 || s.alg == 8 || s.alg == 10 || (s.alg >= 13 && s.alg <= 16));
	FUZZ_CHECK(s.remove == KEYROLL_NEVER || s.publish == KEYROLL_ALWAYS ||
		   s.remove >= s.publish);
	FUZZ_CHECK(s.retire == KEYROLL_NEVER || s.activate == KEYROLL_ALWAYS ||
		   s.retire >= s.activate);
	fuzz_keyroll_plan(&s);
	return 0;
}
