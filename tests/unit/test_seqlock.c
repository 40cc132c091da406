/*
 * DESIGN §4: "a reader never sees a torn zone ... a stress test proves it".
 *
 * One writer thread publishes self-checking slots as fast as it can into
 * a MAP_SHARED mapping (as the prober does into shm); two reader threads
 * validate every read. With the sequence re-check every accepted read
 * must be whole; with the re-check disabled the same test must see torn
 * reads, which shows the harness can catch them at all.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "seqlock.h"

/* Large enough that a copy takes longer than the writer's lap. */
#define SLOT_WORDS 64
#define READERS 2
#define READS_PER_READER 5000000ull /* 10 million in total */

struct shared {
	struct seqlock lock;
	/* Relaxed atomics: per-word atomic (no UB), but with no ordering,
	 * so only the seqlock's fences keep a slot whole. */
	_Atomic uint64_t slot[2][SLOT_WORDS];
};

struct stress {
	struct shared *sh;
	bool recheck;
	atomic_bool stop;
	atomic_uint_least64_t published;
};

struct reader_result {
	uint64_t reads;   /* accepted reads */
	uint64_t retries; /* reads the re-check discarded */
	uint64_t torn;    /* accepted reads that were not whole */
	uint64_t last;    /* highest counter value seen */
	bool went_back;   /* saw an older value after a newer one */
};

struct reader_arg {
	struct stress *st;
	struct reader_result res;
};

/* Word i of an image with counter v; the last word is a checksum. */
static uint64_t word_of(uint64_t v, size_t i)
{
	return (v * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i << 56) ^ i;
}

static uint64_t checksum_of(const uint64_t *w)
{
	uint64_t sum = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < SLOT_WORDS - 1; i++)
		sum = (sum ^ w[i]) * 0x100000001b3ull;
	return sum;
}

static void *writer(void *arg)
{
	struct stress *st = arg;
	uint64_t v = 1, w[SLOT_WORDS];

	while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
		unsigned s = seqlock_write_begin(&st->sh->lock);

		for (size_t i = 0; i < SLOT_WORDS - 1; i++) {
			w[i] = word_of(v, i);
			atomic_store_explicit(&st->sh->slot[s][i], w[i], memory_order_relaxed);
		}
		atomic_store_explicit(&st->sh->slot[s][SLOT_WORDS - 1], checksum_of(w),
				      memory_order_relaxed);
		seqlock_write_end(&st->sh->lock, s);
		v++;
		atomic_fetch_add_explicit(&st->published, 1, memory_order_relaxed);
	}
	return NULL;
}

static bool image_whole(const uint64_t *w, uint64_t *v_out)
{
	/* Recover v from word 0 (the multiplier is odd, so invertible). */
	uint64_t inv = 0xF1DE83E19937733Dull; /* 0x9E3779B97F4A7C15^-1 mod 2^64 */
	uint64_t v = w[0] * inv;

	for (size_t i = 0; i < SLOT_WORDS - 1; i++) {
		if (w[i] != word_of(v, i))
			return false;
	}
	if (w[SLOT_WORDS - 1] != checksum_of(w))
		return false;
	*v_out = v;
	return true;
}

static void *reader(void *arg)
{
	struct reader_arg *ra = arg;
	struct stress *st = ra->st;
	uint64_t w[SLOT_WORDS];

	while (ra->res.reads < READS_PER_READER) {
		uint64_t seq, v;
		unsigned s = seqlock_read_begin(&st->sh->lock, &seq);

		for (size_t i = 0; i < SLOT_WORDS; i++)
			w[i] = atomic_load_explicit(&st->sh->slot[s][i], memory_order_relaxed);
		if (st->recheck && seqlock_read_retry(&st->sh->lock, s, seq)) {
			ra->res.retries++;
			continue;
		}
		ra->res.reads++;
		if (!image_whole(w, &v)) {
			ra->res.torn++;
			continue;
		}
		if (v < ra->res.last)
			ra->res.went_back = true;
		else
			ra->res.last = v;
	}
	return NULL;
}

static void run_stress(bool recheck, struct reader_result *total, uint64_t *published)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct stress st = { .sh = sh, .recheck = recheck };
	struct reader_arg ra[READERS];
	pthread_t wt, rt[READERS];
	uint64_t w[SLOT_WORDS];

	cr_assert_neq(sh, MAP_FAILED);
	/* Both slots start as a whole image 0, so a reader is never
	 * directed at garbage. */
	for (size_t s = 0; s < 2; s++) {
		for (size_t i = 0; i < SLOT_WORDS - 1; i++) {
			w[i] = word_of(0, i);
			atomic_store(&sh->slot[s][i], w[i]);
		}
		atomic_store(&sh->slot[s][SLOT_WORDS - 1], checksum_of(w));
	}
	atomic_init(&st.stop, false);
	atomic_init(&st.published, 0);
	cr_assert_eq(pthread_create(&wt, NULL, writer, &st), 0);
	for (size_t i = 0; i < READERS; i++) {
		ra[i] = (struct reader_arg){ .st = &st };
		cr_assert_eq(pthread_create(&rt[i], NULL, reader, &ra[i]), 0);
	}
	memset(total, 0, sizeof(*total));
	for (size_t i = 0; i < READERS; i++) {
		pthread_join(rt[i], NULL);
		total->reads += ra[i].res.reads;
		total->retries += ra[i].res.retries;
		total->torn += ra[i].res.torn;
		total->went_back |= ra[i].res.went_back;
	}
	atomic_store(&st.stop, true);
	pthread_join(wt, NULL);
	*published = atomic_load(&st.published);
	munmap(sh, sizeof(*sh));
}

Test(seqlock, no_torn_reads_under_stress, .timeout = 60)
{
	struct reader_result r;
	uint64_t published;

	run_stress(true, &r, &published);
	cr_log_info("seqlock: %llu reads, %llu retries, %llu publishes",
		    (unsigned long long)r.reads, (unsigned long long)r.retries,
		    (unsigned long long)published);
	cr_assert_geq(r.reads, 10000000ull);
	cr_assert_eq(r.torn, 0, "%llu torn reads accepted", (unsigned long long)r.torn);
	cr_assert_not(r.went_back, "a reader saw the zone go back in time");
	/* The writer really raced the readers. */
	cr_assert_gt(published, 1000);
}

Test(seqlock, without_recheck_torn_reads_are_detected, .timeout = 60)
{
	struct reader_result r;
	uint64_t published;

	run_stress(false, &r, &published);
	cr_log_info("seqlock (no re-check): %llu reads, %llu torn, %llu publishes",
		    (unsigned long long)r.reads, (unsigned long long)r.torn,
		    (unsigned long long)published);
	cr_assert_geq(r.reads, 10000000ull);
	cr_assert_gt(r.torn, 0, "the harness must be able to see a torn read");
}

Test(seqlock, layout_is_fixed)
{
	struct seqlock l;

	cr_assert_eq(sizeof(l), 24);
	memset(&l, 0, sizeof(l));
	/* Writer alternates slots and leaves each even when done. */
	unsigned s = seqlock_write_begin(&l);
	cr_assert_eq(s, 1);
	cr_assert_eq(atomic_load(&l.seq[1]) & 1, 1);
	seqlock_write_end(&l, s);
	cr_assert_eq(atomic_load(&l.active), 1);
	cr_assert_eq(atomic_load(&l.seq[1]), 2);
	s = seqlock_write_begin(&l);
	cr_assert_eq(s, 0);
	seqlock_write_end(&l, s);
	cr_assert_eq(atomic_load(&l.active), 0);

	uint64_t seq;
	unsigned r = seqlock_read_begin(&l, &seq);
	cr_assert_eq(r, 0);
	cr_assert_not(seqlock_read_retry(&l, r, seq));
	s = seqlock_write_begin(&l); /* writes slot 1, reader on 0 unaffected */
	cr_assert_not(seqlock_read_retry(&l, r, seq));
	seqlock_write_end(&l, s);
	s = seqlock_write_begin(&l); /* now slot 0: the reader must retry */
	cr_assert(seqlock_read_retry(&l, r, seq));
	seqlock_write_end(&l, s);
}

/* A corrupt image whose ACTIVE slot stays odd (no healthy writer leaves it
 * so) must not hang a reader: read_begin gives up after a bounded spin and
 * read_retry rejects what was read, so callers can answer SERVFAIL. */
Test(seqlock, odd_active_slot_does_not_hang)
{
	struct seqlock l;
	uint64_t seq;

	memset(&l, 0, sizeof(l));
	atomic_store(&l.active, 0);
	atomic_store(&l.seq[0], 7);
	unsigned r = seqlock_read_begin(&l, &seq);
	cr_assert_eq(r, 0);
	cr_assert_eq(seq, 7);
	cr_assert(seqlock_read_retry(&l, r, seq));
}
