/*
 * Fuzz target: bytes -> a shm zone image, as a worker maps it.
 *
 * The bytes are written to a memfd and mapped with zimg_map(fd, false),
 * exactly as a worker maps the fd it inherits. An image whose header
 * does not check out must be refused; one that is accepted must let
 * answer_query() stay inside the mapping, whatever the slots hold, with
 * DO=0 and DO=1 (a signed image's DNSSEC path, answer_dnssec.c).
 *
 * Two liberties, both so the fuzzer spends its time on the slot format:
 * - An image is mostly zeros (slot headroom, the idle slot), so the
 *   input is the image with its trailing zeros cut: when the header
 *   claims a total size above the input's (up to FUZZ_ZIMG_MAX), the
 *   memfd is zero-filled up to it. Any other size mismatch is passed on
 *   as is and must be refused.
 * - The active slot's sequence is made even. An odd one (a writer
 *   inside the slot readers are directed to) cannot happen with the one
 *   writer zimg_publish() is, and seqlock_read_begin() waits for it to
 *   turn even, so it would only make the target hang.
 *
 * The mapping is one block, so a read from slot 0 running into slot 1 is
 * not caught by the MMU. So the same slots are also answered from exact
 * heap copies, where ASan sees a read of one byte past a slot.
 */
#include "fuzz.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "log.h"
#include "xfr_hist.h"
#include "zimg_format.h"

#define FUZZ_ZIMG_MAX (8u << 20)

static int fuzz_zimg_fd = -1;

/* Queries at names of the fixture zone, its alias and elsewhere. */
struct fuzz_zimg_q {
	const char *name; /* wire form */
	size_t name_len;
	uint16_t type;
};

#define FUZZ_ZIMG_Q(n, t) { n, sizeof(n), t }
static const struct fuzz_zimg_q fuzz_zimg_qs[] = {
	FUZZ_ZIMG_Q("\3www\7example\3com", 1),
	FUZZ_ZIMG_Q("\3www\7example\3com", 28),
	FUZZ_ZIMG_Q("\7example\3com", 6),
	FUZZ_ZIMG_Q("\7example\3NET", 2),
	FUZZ_ZIMG_Q("\3api\2v1\7example\3com", 1),
	FUZZ_ZIMG_Q("\2v1\7example\3com", 1),
	FUZZ_ZIMG_Q("\4many\7example\3com", 1),
	FUZZ_ZIMG_Q("\6nx-one\7example\3net", 1),
	FUZZ_ZIMG_Q("\4leaf\4deep\6parent\7example\3com", 255),
	FUZZ_ZIMG_Q("\1z\1z\1z\1z\1z\1z\1z\1z\1z\7example\3com", 65280),
	FUZZ_ZIMG_Q("\7example\3org", 1),
	FUZZ_ZIMG_Q("", 6),
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	/* zimg_map logs every refused header. */
	log_set_level(AHD_LOG_CRITICAL);
	fuzz_zimg_fd = memfd_create("fuzz-zimg", MFD_CLOEXEC);
	if (fuzz_zimg_fd < 0)
		fuzz_fail(__FILE__, __LINE__, "memfd_create");
	return 0;
}

/* do_bit: with an OPT (payload 1232, DO=1), so a signed image is read
 * by the DNSSEC path too. */
static size_t fuzz_zimg_query(uint8_t *pkt, const struct fuzz_zimg_q *fq, uint16_t id,
			      bool do_bit)
{
	static const uint8_t opt_do[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };
	size_t n = 12;

	memset(pkt, 0, 12);
	pkt[0] = (uint8_t)(id >> 8);
	pkt[1] = (uint8_t)id;
	pkt[5] = 1;
	memcpy(pkt + n, fq->name, fq->name_len); /* the terminating NUL is the root */
	n += fq->name_len;
	pkt[n++] = (uint8_t)(fq->type >> 8);
	pkt[n++] = (uint8_t)fq->type;
	pkt[n++] = 0;
	pkt[n++] = 1;
	if (do_bit) {
		pkt[11] = 1;
		memcpy(pkt + n, opt_do, sizeof(opt_do));
		n += sizeof(opt_do);
	}
	return n;
}

static void fuzz_zimg_answer(const struct zimg *z)
{
	uint8_t pkt[512];

	for (size_t i = 0; i < 2 * AHD_ARRAY_LEN(fuzz_zimg_qs); i++) {
		static const size_t caps[] = { AHD_UDP_CLASSIC, AHD_MAX_MSG };
		bool do_bit = i >= AHD_ARRAY_LEN(fuzz_zimg_qs);
		size_t len = fuzz_zimg_query(pkt, &fuzz_zimg_qs[i % AHD_ARRAY_LEN(fuzz_zimg_qs)],
					     (uint16_t)(0x4242 + i), do_bit);

		for (size_t c = 0; c < AHD_ARRAY_LEN(caps); c++) {
			for (int t = ANSWER_UDP; t <= ANSWER_TCP; t++) {
				uint8_t *out = malloc(caps[c]);
				enum answer_kind kind = ANSWER_KIND_COUNT;
				size_t n;

				FUZZ_CHECK(out != NULL);
				n = answer_query(z, pkt, len, (enum answer_transport)t, out,
						 caps[c], &kind);
				FUZZ_CHECK(n <= caps[c]);
				FUZZ_CHECK(t == ANSWER_TCP ||
					   n <= (do_bit ? AHD_EDNS_DEFAULT : AHD_UDP_CLASSIC));
				/* A well-formed query always gets an answer,
				 * SERVFAIL at worst. */
				FUZZ_CHECK(n >= 12 && kind != ANSWER_DROP && kind < ANSWER_KIND_COUNT);
				FUZZ_CHECK(out[0] == pkt[0] && out[1] == pkt[1] && (out[2] & 0x80));
				free(out);
			}
		}
	}
}

/* The mapped image again, each part in its own exact heap block. */
static void fuzz_zimg_heap_copy(const struct zimg *m)
{
	struct zimg *h = zimg_heap_copy(m);

	FUZZ_CHECK(h != NULL);
	fuzz_zimg_answer(h);
	zimg_close(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img = malloc(size ? size : 1);
	size_t total = size, mapped, hist = 0;
	struct zimg *z;

	FUZZ_CHECK(img != NULL);
	memcpy(img, data, size);
	if (size >= sizeof(struct zimg_header)) {
		struct zimg_header *h = (struct zimg_header *)img;
		unsigned a = atomic_load_explicit(&h->lock.active, memory_order_relaxed) & 1u;
		uint64_t q = atomic_load_explicit(&h->lock.seq[a], memory_order_relaxed);

		atomic_store_explicit(&h->lock.seq[a], q & ~(uint64_t)1, memory_order_relaxed);
		if (h->total_size > size && h->total_size <= FUZZ_ZIMG_MAX)
			total = (size_t)h->total_size;
	}
	FUZZ_CHECK(ftruncate(fuzz_zimg_fd, 0) == 0);
	FUZZ_CHECK(ftruncate(fuzz_zimg_fd, (off_t)total) == 0);
	FUZZ_CHECK(pwrite(fuzz_zimg_fd, img, size, 0) == (ssize_t)size);
	free(img);
	z = zimg_map(fuzz_zimg_fd, false);
	if (!z)
		return 0;
	/* What zimg_map accepted must describe exactly the object. */
	(void)zimg_raw(z, &mapped);
	FUZZ_CHECK(mapped == total && zimg_slot_have(z) >= sizeof(struct zimg_slot));
	(void)zimg_hist(z, &hist);
	FUZZ_CHECK(sizeof(struct zimg_header) + 2 * zimg_slot_have(z) + hist == total);
	/* The IXFR history of a damaged object: read like any other area. */
	for (uint32_t back = 1; back <= 3; back++) {
		size_t dl = 0, dn = 0;

		free(xfr_hist_diff(z, 0, zimg_serial(z) - back, zimg_serial(z), &dl, &dn));
	}
	(void)zimg_serial(z);
	(void)zimg_generation(z);
	fuzz_zimg_answer(z);
	fuzz_zimg_heap_copy(z);
	zimg_close(z);
	return 0;
}
