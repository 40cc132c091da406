/*
 * Writes the generated part of the seed corpora: DNS queries (with ldns,
 * then some broken by hand) for fuzz_query, and zone images of the
 * fixture for fuzz_zimg. The JSON and argv seeds are plain files written
 * by hand. Run by `make fuzz-corpus` whenever the image format changes:
 *   gen_corpus tests/fuzz/corpus
 */
#include <errno.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "config.h"
#include "fuzz.h"
#include "zimg_format.h"

static const char *gen_root;

static void gen_write(const char *target, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", gen_root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen_corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

struct gen_q {
	const char *file;
	const char *name;
	ldns_rr_type type;
	ldns_rr_class cls;
	uint16_t edns; /* payload size, 0: no OPT */
	bool do_bit;
};

static const struct gen_q gen_qs[] = {
	{ "a_www", "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "aaaa_www", "www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 0, false },
	{ "soa_apex", "example.com.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0, false },
	{ "ns_apex", "example.com.", LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, 0, false },
	{ "any_www", "www.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, 0, false },
	{ "nxdomain", "nx.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "nxdomain_deep", "a.b.nx.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "alias_a", "www.example.net.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "alias_soa", "example.net.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0, false },
	{ "alias_nx", "nope.example.net.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 0, false },
	{ "mixed_case", "WwW.ExAmPlE.CoM.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "multi_label", "api.v1.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "ent", "v1.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "ent_deep", "deep.parent.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 0, false },
	{ "leaf_deep", "leaf.deep.parent.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "many_tc", "many.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "v6only_nodata", "v6only.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "down_withdrawn", "down.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "failopen", "failopen.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 0, false },
	{ "health_web", "web.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "ttl", "ttl.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "below_down", "x.down.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "unknown_type", "www.example.com.", (ldns_rr_type)65280, LDNS_RR_CLASS_IN, 0, false },
	{ "class_ch", "www.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 0, false },
	{ "out_of_zone", "example.org.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "suffix_not_label", "xample.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0, false },
	{ "root", ".", LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, 0, false },
	{ "axfr", "example.com.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0, false },
	{ "ixfr", "example.com.", LDNS_RR_TYPE_IXFR, LDNS_RR_CLASS_IN, 0, false },
	{ "edns_a", "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, false },
	{ "edns_do_many", "many.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 4096, true },
	{ "edns_nx", "nx.example.net.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 512, true },
	{ "edns_small", "www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 100, false },
	/* DO=1: answered from the signed image with RRSIGs and NSEC proofs. */
	{ "do_a_www", "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_aaaa_www", "www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_soa_apex", "example.com.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_ns_apex", "example.com.", LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_dnskey_apex", "example.com.", LDNS_RR_TYPE_DNSKEY, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_nsec_apex", "example.com.", LDNS_RR_TYPE_NSEC, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_rrsig_www", "www.example.com.", LDNS_RR_TYPE_RRSIG, LDNS_RR_CLASS_IN, 4096, true },
	{ "do_any_www", "www.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_any_apex", "example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_nxdomain", "nx.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_nxdomain_deep", "a.b.nx.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232,
	  true },
	{ "do_nxdomain_first", "0.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_nxdomain_last", "zzzz.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_nodata", "v6only.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_ent", "v1.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_ent_deep", "deep.parent.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 1232,
	  true },
	{ "do_below_leaf", "x.leaf.deep.parent.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
	  1232, true },
	{ "do_withdrawn", "down.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_alias_a", "WWW.example.NET.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_alias_dnskey", "example.net.", LDNS_RR_TYPE_DNSKEY, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_alias_nx", "nope.example.net.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_many_tc", "many.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 512, true },
	/* Signatures asked for without DO; ANY at an empty non-terminal. */
	{ "rrsig_www", "www.example.com.", LDNS_RR_TYPE_RRSIG, LDNS_RR_CLASS_IN, 0, false },
	{ "rrsig_apex", "example.com.", LDNS_RR_TYPE_RRSIG, LDNS_RR_CLASS_IN, 1232, false },
	{ "any_ent", "v1.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, 0, false },
	{ "do_out_of_zone", "example.org.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 1232, true },
	{ "do_class_ch", "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, 1232, true },
	{ "do_axfr", "example.com.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 1232, true },
};

static size_t gen_query(const struct gen_q *g, uint8_t *out, size_t cap)
{
	ldns_rdf *name = NULL;
	ldns_pkt *p;
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_str2rdf_dname(&name, g->name) != LDNS_STATUS_OK) {
		fprintf(stderr, "gen_corpus: name %s\n", g->name);
		exit(1);
	}
	p = ldns_pkt_query_new(name, g->type, g->cls, LDNS_RD);
	ldns_pkt_set_id(p, 0xbeef);
	if (g->edns) {
		ldns_pkt_set_edns_udp_size(p, g->edns);
		ldns_pkt_set_edns_do(p, g->do_bit);
	}
	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK || len > cap) {
		fprintf(stderr, "gen_corpus: query %s\n", g->file);
		exit(1);
	}
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

/* Queries broken on purpose, each derived from the plain A query. */
static void gen_broken(void)
{
	static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t opt_v1[] = { 0, 0, 41, 0x04, 0xd0, 0, 1, 0, 0, 0, 0 };
	uint8_t base[512], b[600];
	size_t n = gen_query(&gen_qs[0], base, sizeof(base));

	/* QR set: dropped. */
	memcpy(b, base, n);
	b[2] |= 0x80;
	gen_write("query", "bad_qr_set", b, n);
	gen_write("query", "bad_short_header", base, 5);
	gen_write("query", "bad_header_only", base, 12);
	/* NOTIFY opcode: NOTIMP. */
	memcpy(b, base, n);
	b[2] = (uint8_t)((b[2] & 0x87) | (4 << 3));
	gen_write("query", "bad_opcode_notify", b, n);
	memcpy(b, base, n);
	b[5] = 0;
	gen_write("query", "bad_qdcount0", b, n);
	memcpy(b, base, n);
	b[5] = 2;
	gen_write("query", "bad_qdcount2", b, n);
	/* A name cut short, then the type missing. */
	gen_write("query", "bad_truncated_name", base, 16);
	gen_write("query", "bad_truncated_type", base, n - 3);
	/* A compression pointer as the question name. */
	memcpy(b, base, 12);
	b[12] = 0xc0;
	b[13] = 12;
	b[14] = 0;
	b[15] = 1;
	b[16] = 0;
	b[17] = 1;
	gen_write("query", "bad_pointer_name", b, 18);
	/* A label length of 64 (reserved label type 01). */
	memcpy(b, base, n);
	b[12] = 64;
	gen_write("query", "bad_label_64", b, n);
	/* Trailing garbage after the question. */
	memcpy(b, base, n);
	memset(b + n, 0xff, 20);
	gen_write("query", "trailing_garbage", b, n + 20);
	/* OPT in the additional section, by hand: once, twice, version 1. */
	memcpy(b, base, n);
	b[11] = 1;
	memcpy(b + n, opt, sizeof(opt));
	gen_write("query", "opt_by_hand", b, n + sizeof(opt));
	b[11] = 2;
	memcpy(b + n + sizeof(opt), opt, sizeof(opt));
	gen_write("query", "opt_twice", b, n + 2 * sizeof(opt));
	b[11] = 1;
	memcpy(b + n, opt_v1, sizeof(opt_v1));
	gen_write("query", "opt_version1", b, n + sizeof(opt_v1));
	/* OPT with NSID and a client COOKIE, then the cookie alone with
	 * QDCOUNT 0 (RFC 7873 5.4), then a server cookie of a bad length. */
	{
		static const uint8_t opt_opts[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 16,
						    0, 3, 0, 0, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
		static const uint8_t hdr_cookie[] = { 0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

		memcpy(b, base, n);
		b[11] = 1;
		memcpy(b + n, opt_opts, sizeof(opt_opts));
		gen_write("query", "opt_nsid_cookie", b, n + sizeof(opt_opts));
		memcpy(b, hdr_cookie, sizeof(hdr_cookie));
		memcpy(b + 12, opt_opts, sizeof(opt_opts));
		gen_write("query", "cookie_no_question", b, 12 + sizeof(opt_opts));
		memcpy(b, base, n);
		b[11] = 1;
		memcpy(b + n, opt_opts, sizeof(opt_opts));
		b[n + 10] = 16 + 3;
		b[n + 18] = 8 + 3;
		memset(b + n + sizeof(opt_opts), 0x77, 3);
		gen_write("query", "opt_cookie_bad_len", b, n + sizeof(opt_opts) + 3);
	}
	/* OPT as the question type. */
	memcpy(b, base, n);
	b[n - 4] = 0;
	b[n - 3] = 41;
	gen_write("query", "qtype_opt", b, n);
	/* A zero byte inside a label of an in-zone name. */
	memcpy(b, base, n);
	b[14] = 0;
	gen_write("query", "nul_in_label", b, n);
	/* DO=1 with CD (copied back), in a name with a zero byte (proven
	 * absent like any other), and with version 1 (BADVERS wins). */
	{
		static const uint8_t opt_do[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };

		memcpy(b, base, n);
		b[3] |= 0x10;
		b[11] = 1;
		memcpy(b + n, opt_do, sizeof(opt_do));
		gen_write("query", "do_cd", b, n + sizeof(opt_do));
		b[3] &= (uint8_t)~0x10;
		b[14] = 0;
		gen_write("query", "do_nul_in_label", b, n + sizeof(opt_do));
		b[14] = base[14];
		b[n + 6] = 1;
		gen_write("query", "do_version1", b, n + sizeof(opt_do));
	}
}

static void gen_queries(void)
{
	uint8_t buf[512];

	for (size_t i = 0; i < AHD_ARRAY_LEN(gen_qs); i++)
		gen_write("query", gen_qs[i].file, buf, gen_query(&gen_qs[i], buf, sizeof(buf)));
	gen_broken();
}

/* The image with its trailing zeros cut, as fuzz_zimg.c reads it. */
static void gen_image(const char *file, const uint8_t *img, size_t len)
{
	while (len > ZIMG_HEADER_SIZE && img[len - 1] == 0)
		len--;
	gen_write("zimg", file, img, len);
}

static void gen_images(void)
{
	struct config cfg;
	struct zimg *z;
	uint8_t *img, *raw;
	size_t size;
	struct zimg_header *h;

	if (fuzz_fixture_config(&cfg) < 0 || !(z = fuzz_fixture_image(&cfg))) {
		fprintf(stderr, "gen_corpus: the fixture image\n");
		exit(1);
	}
	raw = zimg_raw(z, &size);
	img = malloc(size);
	if (!img)
		exit(1);
	memcpy(img, raw, size);
	h = (struct zimg_header *)img;
	/* Slot 1 holds the older image; cleared so the file can be cut. */
	memset(img + h->slot_off[1], 0, h->slot_size);
	gen_image("fixture", img, size);
	/* Directed at the cleared slot: SERVFAIL. */
	atomic_store(&h->lock.active, 1);
	gen_image("active_empty_slot", img, size);
	atomic_store(&h->lock.active, 0);
	/* Header only: the size does not match, refused. */
	gen_write("zimg", "header_only_refused", img, ZIMG_HEADER_SIZE);
	h->version = 2;
	gen_image("bad_version", img, size);
	zimg_close(z);
	free(img);
	config_free(&cfg);
	/* The same, signed: RRSIG blocks and the NSEC index. */
	if (fuzz_fixture_config(&cfg) < 0 || !(z = fuzz_fixture_signed_image(&cfg, NULL)) ||
	    !(raw = zimg_raw(z, &size)) || !(img = malloc(size))) {
		fprintf(stderr, "gen_corpus: the signed fixture image\n");
		exit(1);
	}
	memcpy(img, raw, size);
	h = (struct zimg_header *)img;
	memset(img + h->slot_off[1], 0, h->slot_size);
	gen_image("signed_fixture", img, size);
	zimg_close(z);
	free(img);
	config_free(&cfg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	gen_root = argv[1];
	gen_queries();
	gen_images();
	return 0;
}
