/*
 * Fuzz target: packet bytes -> the rate limiter's key (DESIGN §10): the
 * query core answers the packet from the fixture zone, the worker's
 * rule picks the bucket's class and name from the answer
 * (worker_rrl_class), rrl_key hashes it for an IPv4 and an IPv6 client,
 * rrl_check accounts it in a small table, and a slip rewrites the
 * answer. Invariants: the name lies inside the packet or is a zone apex
 * of the fixture, at most a wire name long; a slip answer is the header
 * and the question with TC and no records; verdicts are the three known.
 */
#include "fuzz.h"

#include <string.h>
#include <sys/socket.h>

#include "ahd.h"
#include "answer.h"
#include "rrl.h"
#include "wire.h"
#include "worker_rrl.h"

#define FUZZ_RRL_BUCKETS 64

static struct config fuzz_rrl_cfg;
static struct answer_ctx fuzz_rrl_ctx;
static struct worker_rrl fuzz_rrl_w;
static struct rrl_table *fuzz_rrl_t;
static uint64_t fuzz_rrl_now = 1000;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t seed[RRL_SEED_LEN] = {1, 2, 3};
	static _Alignas(RRL_ALIGN) uint8_t mem[RRL_ALIGN + FUZZ_RRL_BUCKETS * 16];

	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	if (fuzz_fixture_config(&fuzz_rrl_cfg) < 0)
		fuzz_fail(__FILE__, __LINE__, "the fixture configuration is refused");
	fuzz_rrl_ctx.z = fuzz_fixture_image(&fuzz_rrl_cfg);
	fuzz_rrl_ctx.edns_size = AHD_EDNS_DEFAULT;
	if (fuzz_rrl_ctx.z == NULL || rrl_table_size(FUZZ_RRL_BUCKETS) != sizeof(mem))
		fuzz_fail(__FILE__, __LINE__, "the fixture cannot be built");
	fuzz_rrl_t = rrl_table_init(mem, FUZZ_RRL_BUCKETS, seed);
	worker_rrl_init(&fuzz_rrl_w, &fuzz_rrl_cfg, NULL);
	FUZZ_CHECK(fuzz_rrl_t != NULL && fuzz_rrl_w.n_apex == 1 + fuzz_rrl_cfg.n_alias_zones);
	return 0;
}

static bool fuzz_rrl_is_apex(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < fuzz_rrl_w.n_apex; i++)
		if (name == fuzz_rrl_w.apex[i] && len == fuzz_rrl_w.apex_len[i])
			return true;
	return false;
}

static void fuzz_rrl_one(const uint8_t *data, size_t size, const struct answer_info *info,
			 uint8_t *out, size_t n)
{
	static const struct rrl_params p = {.rate = 2, .slip = 2, .window = 2,
					    .v4_prefix = 24, .v6_prefix = 56};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	const uint8_t *name;
	size_t name_len;
	enum rrl_class cls = worker_rrl_class(&fuzz_rrl_w, info->kind, data, size, &name,
					      &name_len);
	enum rrl_verdict v;
	struct rrl_note note;

	FUZZ_CHECK(cls < RRL_CLASS_COUNT && name_len <= AHD_MAX_NAME_WIRE);
	FUZZ_CHECK(name == NULL || fuzz_rrl_is_apex(name, name_len) ||
		   (name >= data && name_len <= size && (size_t)(name - data) <= size - name_len));
	for (int family = 0; family < 2; family++) {
		uint8_t addr[16] = {127, 1, 1, (uint8_t)size};

		v = rrl_check(fuzz_rrl_t, &p,
			      rrl_key(fuzz_rrl_t, family ? AF_INET6 : AF_INET, family ? v6 : addr,
				      p.v4_prefix, p.v6_prefix, cls, name, name_len),
			      fuzz_rrl_now++, &note);
		FUZZ_CHECK(v == RRL_PASS || v == RRL_DROP || v == RRL_SLIP);
	}
	n = worker_rrl_slip(data, size, out, n);
	if (n > 0) {
		FUZZ_CHECK(n >= 17 && (out[2] & 0x02) && wire_load_u16(out + 4) == 1);
		FUZZ_CHECK(wire_load_u16(out + 6) == 0 && wire_load_u16(out + 8) == 0 &&
			   wire_load_u16(out + 10) == 0);
		FUZZ_CHECK(memcmp(out + 12, data + 12, n - 12) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AHD_MAX_MSG];
	struct answer_info info;
	size_t n = answer_query_ex(&fuzz_rrl_ctx, data, size, ANSWER_UDP, out, sizeof(out), &info);

	if (n > 0)
		fuzz_rrl_one(data, size, &info, out, n);
	return 0;
}
