/*
 * Key-state files and the rollover planner (keyroll.h), on a fake clock.
 * Policy throughout: DNSKEY TTL 100, largest TTL 300, propagation 10, so
 * Ipub = 110 and Iret = 310.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "keyroll.h"

static const struct keyroll_policy pol = { .dnskey_ttl = 100, .max_ttl = 300,
					   .propagation = 10 };

static int parse(const char *text, struct keyroll_spec *s, char *err)
{
	return keyroll_parse(text, strlen(text), s, err, 200);
}

Test(keyroll, parse_full_file)
{
	struct keyroll_spec s;
	char err[200] = "";

	cr_assert_eq(parse("# a ZSK\n\nrole = zsk\nalgorithm=ECDSAP256SHA256\r\n"
			   "publish = 1000\n activate=2000 \nretire=3000\nremove=4000", &s, err),
		     0, "%s", err);
	cr_assert_eq(s.role, KEYROLL_ZSK);
	cr_assert_eq(s.alg, 13);
	cr_assert_eq(s.publish, 1000);
	cr_assert_eq(s.activate, 2000);
	cr_assert_eq(s.retire, 3000);
	cr_assert_eq(s.remove, 4000);
	cr_assert_eq(parse("ROLE=KSK\nalgorithm=15\n", &s, err), 0, "%s", err);
	cr_assert_eq(s.role, KEYROLL_KSK);
	cr_assert_eq(s.alg, 15);
	cr_assert_eq(s.publish, KEYROLL_ALWAYS);
	cr_assert_eq(s.remove, KEYROLL_NEVER);
}

Test(keyroll, parse_empty_is_a_csk)
{
	struct keyroll_spec s;
	char err[200];

	cr_assert_eq(parse("", &s, err), 0);
	cr_assert_eq(s.role, KEYROLL_CSK);
	cr_assert_eq(s.alg, 0);
	cr_assert_eq(s.activate, KEYROLL_ALWAYS);
	cr_assert_eq(s.retire, KEYROLL_NEVER);
}

Test(keyroll, parse_refusals)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "role = master\n", "line 1: role 'master' is not csk, ksk or zsk" },
		{ "\nflags = 257\n", "line 2: 'flags' is not a key-state name" },
		{ "publish = soon\n", "line 1: publish 'soon' is not a Unix time" },
		{ "publish = -5\n", "line 1: publish '-5' is not a Unix time" },
		{ "publish = 12x\n", "line 1: publish '12x' is not a Unix time" },
		{ "retire = 99999999999999999999\n", "line 1: retire '99999999999999999999'" },
		{ "algorithm = 7\n", "line 1: algorithm '7' is not one of" },
		{ "role = ksk\nrole = zsk\n", "line 2: role is given twice" },
		{ "role ksk\n", "line 1: 'role ksk' is not \"name = value\"" },
		{ "publish = 20\nremove = 10\n", "remove is before publish" },
		{ "activate = 20\nretire = 10\n", "retire is before activate" },
	};
	struct keyroll_spec s;
	char err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i].text, &s, err), -1, "%s", bad[i].text);
		cr_assert(strncmp(err, bad[i].err, strlen(bad[i].err)) == 0, "%s -> %s",
			  bad[i].text, err);
	}
	cr_assert_eq(keyroll_parse("role = ksk\0", 11, &s, err, sizeof(err)), -1);
}

Test(keyroll, intervals)
{
	cr_assert_eq(keyroll_ipub(&pol), 110);
	cr_assert_eq(keyroll_iret(&pol), 310);
}

/* k with role and times, algorithm alg, history as a fresh server
 * (trusted) or a SIGHUP (untrusted) at now makes it. */
static void key(struct keyroll_key *k, enum keyroll_role role, unsigned alg, int64_t pub,
		int64_t act, int64_t ret, int64_t rem, bool trusted, int64_t now)
{
	memset(k, 0, sizeof(*k));
	keyroll_spec_default(&k->spec);
	k->spec.role = role;
	k->spec.publish = pub;
	k->spec.activate = act;
	k->spec.retire = ret;
	k->spec.remove = rem;
	k->alg = alg;
	keyroll_hist_init(&k->hist, &k->spec, trusted, now);
}

#define A KEYROLL_ALWAYS
#define N KEYROLL_NEVER

Test(keyroll, single_key_is_active_forever)
{
	struct keyroll_key k;

	key(&k, KEYROLL_CSK, 13, A, A, N, N, true, 1000);
	cr_assert_eq(keyroll_plan(&k, 1, &pol, 1000), N);
	cr_assert(k.publish && k.sign);
	cr_assert_eq(k.state, KEYROLL_ACTIVE);
	cr_assert_eq(k.held_why, NULL);
}

/* ZSK pre-publication (RFC 6781 4.1.1.1): the new ZSK, added at 1000
 * and asked to take over at once, is published at 1000, signs from 1110
 * (Ipub), when the old one stops; the old DNSKEY stays until 1420
 * (Iret). */
Test(keyroll, zsk_prepublication)
{
	struct keyroll_key k[3];

	key(&k[0], KEYROLL_KSK, 13, A, A, N, N, true, 500);
	key(&k[1], KEYROLL_ZSK, 13, A, A, N, N, true, 500);
	cr_assert_eq(keyroll_plan(k, 2, &pol, 500), N);
	/* SIGHUP at 1000: old retire/remove now, new publish/activate now. */
	k[1].spec.retire = k[1].spec.remove = 1000;
	key(&k[2], KEYROLL_ZSK, 13, 1000, 1000, N, N, false, 1000);
	cr_assert_eq(keyroll_plan(k, 3, &pol, 1000), 1110);
	cr_assert(k[2].publish && !k[2].sign);
	cr_assert_eq(k[2].state, KEYROLL_PUBLISHED);
	cr_assert_eq(k[2].held_until, 1110);
	cr_assert_eq(k[1].held_until, 1110, "the old one waits for its successor");
	cr_assert(k[1].publish && k[1].sign, "the old ZSK signs until the new one may");
	cr_assert_not_null(k[1].held_why);
	cr_assert_eq(keyroll_plan(k, 3, &pol, 1109), 1110);
	cr_assert(!k[2].sign && k[1].sign);
	cr_assert_eq(keyroll_plan(k, 3, &pol, 1110), 1420);
	cr_assert(k[2].sign && k[2].publish);
	cr_assert(!k[1].sign && k[1].publish, "old DNSKEY stays while its signatures live");
	cr_assert_eq(k[1].state, KEYROLL_RETIRED);
	cr_assert_eq(k[1].since, 1110);
	cr_assert_eq(keyroll_plan(k, 3, &pol, 1419), 1420);
	cr_assert(k[1].publish);
	cr_assert_eq(keyroll_plan(k, 3, &pol, 1420), N);
	cr_assert(!k[1].publish && !k[1].sign);
	cr_assert_eq(k[1].state, KEYROLL_REMOVED);
	cr_assert(k[0].sign && k[0].publish, "the KSK is untouched");
}

/* Times that already respect the waits are followed to the second. */
Test(keyroll, planned_times_followed)
{
	struct keyroll_key k[2];

	key(&k[0], KEYROLL_CSK, 8, A, A, 2000, 2200, true, 1000);
	key(&k[1], KEYROLL_CSK, 8, 1500, 2000, N, N, true, 1000);
	cr_assert_eq(keyroll_plan(k, 2, &pol, 1000), 1500);
	cr_assert(!k[1].publish && k[1].state == KEYROLL_FUTURE);
	cr_assert_eq(keyroll_plan(k, 2, &pol, 1500), 2000);
	cr_assert(k[1].publish && !k[1].sign && k[1].held_why == NULL);
	cr_assert_eq(keyroll_plan(k, 2, &pol, 2000), 2200);
	cr_assert(k[1].sign && !k[0].sign);
	cr_assert_eq(k[0].state, KEYROLL_RETIRED);
	/* remove at 2200 is before 2000 + Iret: held to 2310. */
	cr_assert_eq(keyroll_plan(k, 2, &pol, 2200), 2310);
	cr_assert(k[0].publish);
	cr_assert_eq(k[0].held_until, 2310);
	cr_assert_eq(keyroll_plan(k, 2, &pol, 2310), N);
	cr_assert(!k[0].publish);
}

/* The last key signing cannot retire: the zone would go bogus. */
Test(keyroll, last_signer_is_held)
{
	struct keyroll_key k;

	key(&k, KEYROLL_CSK, 13, A, A, N, N, true, 100);
	keyroll_plan(&k, 1, &pol, 100);
	k.spec.retire = 150;
	cr_assert_eq(keyroll_plan(&k, 1, &pol, 200), N);
	cr_assert(k.sign && k.publish);
	cr_assert_str_eq(k.held_why, "no other key of its algorithm signs in its place");
}

/* A KSK may be replaced at once (its signature travels with the DNSKEY
 * RRset); the old one leaves after Ipub. */
Test(keyroll, ksk_double_signature)
{
	struct keyroll_key k[3];

	key(&k[0], KEYROLL_KSK, 13, A, A, N, N, true, 100);
	key(&k[1], KEYROLL_ZSK, 13, A, A, N, N, true, 100);
	keyroll_plan(k, 2, &pol, 100);
	key(&k[2], KEYROLL_KSK, 13, 200, 200, N, N, false, 200);
	keyroll_plan(k, 3, &pol, 200);
	cr_assert(k[2].publish && k[2].sign, "a new KSK signs the key set at once");
	k[0].spec.retire = k[0].spec.remove = 300;
	cr_assert_eq(keyroll_plan(k, 3, &pol, 300), 410);
	cr_assert(!k[0].sign && k[0].publish);
	keyroll_plan(k, 3, &pol, 410);
	cr_assert(!k[0].publish && k[0].state == KEYROLL_REMOVED);
}

/* Algorithm rollover (RFC 6781 4.1.4) from a CSK of 13 to one of 15
 * added with no times: signs first, published after Iret; the old one,
 * asked to go, leaves the DNSKEY RRset first and stops signing Ipub
 * later. */
Test(keyroll, algorithm_rollover)
{
	struct keyroll_key k[2];

	key(&k[0], KEYROLL_CSK, 13, A, A, N, N, true, 100);
	keyroll_plan(k, 1, &pol, 100);
	key(&k[1], KEYROLL_CSK, 15, A, A, N, N, false, 1000);
	cr_assert_eq(keyroll_plan(k, 2, &pol, 1000), 1310);
	cr_assert(k[1].sign && !k[1].publish);
	cr_assert_eq(k[1].state, KEYROLL_PRESIGN);
	cr_assert(k[0].sign && k[0].publish);
	keyroll_plan(k, 2, &pol, 1309);
	cr_assert(!k[1].publish);
	keyroll_plan(k, 2, &pol, 1310);
	cr_assert(k[1].publish && k[1].sign && k[1].state == KEYROLL_ACTIVE);
	/* The operator retires and removes the old key at 2000. */
	k[0].spec.retire = k[0].spec.remove = 2000;
	cr_assert_eq(keyroll_plan(k, 2, &pol, 2000), 2110);
	cr_assert(!k[0].publish && k[0].sign, "the DNSKEY goes before the signatures");
	cr_assert_eq(k[0].state, KEYROLL_POSTSIGN);
	keyroll_plan(k, 2, &pol, 2109);
	cr_assert(k[0].sign);
	keyroll_plan(k, 2, &pol, 2110);
	cr_assert(!k[0].sign && !k[0].publish && k[0].state == KEYROLL_REMOVED);
	cr_assert(k[1].sign && k[1].publish);
}

/* A key published and signing in the times, new on SIGHUP beside a key
 * of its algorithm: it waits Ipub before signing, whatever the file. */
Test(keyroll, sighup_key_waits_for_caches)
{
	struct keyroll_key k[2];

	key(&k[0], KEYROLL_CSK, 8, A, A, N, N, true, 100);
	keyroll_plan(k, 1, &pol, 100);
	key(&k[1], KEYROLL_CSK, 8, 10, 20, N, N, false, 500);
	cr_assert_eq(keyroll_plan(k, 2, &pol, 500), 610);
	cr_assert(k[1].publish && !k[1].sign);
	cr_assert_eq(k[1].held_until, 610);
	keyroll_plan(k, 2, &pol, 610);
	cr_assert(k[1].sign);
}
