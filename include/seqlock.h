/*
 * A two-slot seqlock for one writer and many readers in different
 * processes (the control block lives in shared memory).
 *
 * The writer always writes the slot readers are NOT directed to, so a
 * reader only ever has to retry when it is slow enough to overlap two
 * publishes. The writer never waits for readers; readers never write.
 *
 * Memory ordering follows Boehm, "Can seqlocks get along with programming
 * language memory models?" (MSPC 2012): the writer's "odd" store is
 * followed by a release fence before the data stores; the reader's data
 * loads are followed by an acquire fence before the re-load of the
 * sequence. The data itself is accessed with ordinary loads and stores
 * (memcpy-like), as every production seqlock in C does.
 */
#ifndef AHD_SEQLOCK_H
#define AHD_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free to live in shared memory");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free to live in shared memory");

struct seqlock {
	_Atomic uint32_t active; /* slot readers use: 0 or 1 */
	uint32_t reserved;
	_Atomic uint64_t seq[2]; /* per slot: odd while the writer is in it */
};
_Static_assert(sizeof(struct seqlock) == 24, "seqlock layout is part of the shm format");

static inline void seqlock_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Writer: returns the slot to fill (the inactive one), marked odd. */
static inline unsigned seqlock_write_begin(struct seqlock *l)
{
	unsigned s = 1u - (atomic_load_explicit(&l->active, memory_order_relaxed) & 1u);
	uint64_t q = atomic_load_explicit(&l->seq[s], memory_order_relaxed);

	atomic_store_explicit(&l->seq[s], q | 1u, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return s;
}

/* Writer: the slot is complete; mark it even and direct readers to it. */
static inline void seqlock_write_end(struct seqlock *l, unsigned s)
{
	uint64_t q = atomic_load_explicit(&l->seq[s], memory_order_relaxed);

	atomic_store_explicit(&l->seq[s], q + 1u, memory_order_release);
	atomic_store_explicit(&l->active, s, memory_order_release);
}

/* A healthy writer keeps the ACTIVE slot odd only for the instant between
 * a reader's two loads; an active slot that stays odd means a corrupt or
 * hostile image. Readers must not spin on it forever. */
#define SEQLOCK_SPIN_MAX 4096u

/* Reader: the slot to read and, in *seq, the sequence to re-check. If the
 * active slot stays odd for SEQLOCK_SPIN_MAX looks, returns it with the
 * odd *seq, which seqlock_read_retry() always rejects: callers bound their
 * retries and give up (SERVFAIL) rather than hang. */
static inline unsigned seqlock_read_begin(const struct seqlock *l, uint64_t *seq)
{
	unsigned s = 0;
	uint64_t q = 1;

	for (unsigned spin = 0; spin < SEQLOCK_SPIN_MAX; spin++) {
		s = atomic_load_explicit(&l->active, memory_order_acquire) & 1u;
		q = atomic_load_explicit(&l->seq[s], memory_order_acquire);
		if (!(q & 1u))
			break;
		seqlock_cpu_relax();
	}
	*seq = q;
	return s;
}

/* Reader: true if what was read from slot s may be torn: discard, retry. */
static inline bool seqlock_read_retry(const struct seqlock *l, unsigned s, uint64_t seq)
{
	atomic_thread_fence(memory_order_acquire);
	return (seq & 1u) || atomic_load_explicit(&l->seq[s], memory_order_relaxed) != seq;
}

#endif
