/*
 * The DNSSEC key table of the stats object (stats_keys.h).
 */
#include "stats_keys.h"

#include <string.h>

#include "stats.h"

#define STATS_KEYS_TRIES 1000

void stats_keys_publish(struct stats *st, const struct stats_key *rows, size_t n, int64_t now)
{
	struct stats_keys *k;
	unsigned s;

	if (st == NULL || st->keys == NULL)
		return;
	k = st->keys;
	if (n > KEYROLL_MAX)
		n = KEYROLL_MAX;
	s = seqlock_write_begin(&k->lock);
	k->slot[s].n_keys = (uint32_t)n;
	k->slot[s].planned = now;
	memcpy(k->slot[s].keys, rows, n * sizeof(*rows));
	seqlock_write_end(&k->lock, s);
}

int stats_keys_read(const struct stats *st, struct stats_key *rows, size_t *n, int64_t *planned)
{
	const struct stats_keys *k = st != NULL ? st->keys : NULL;

	*n = 0;
	*planned = 0;
	if (k == NULL)
		return 0;
	for (unsigned t = 0; t < STATS_KEYS_TRIES; t++) {
		uint64_t seq;
		unsigned s = seqlock_read_begin(&k->lock, &seq);
		uint32_t got = k->slot[s].n_keys;

		if (got > KEYROLL_MAX)
			got = 0; /* torn or hostile: the retry check decides */
		memcpy(rows, k->slot[s].keys, got * sizeof(*rows));
		*planned = k->slot[s].planned;
		if (!seqlock_read_retry(&k->lock, s, seq)) {
			*n = got;
			for (size_t i = 0; i < got; i++) {
				rows[i].path[STATS_KEY_PATH_MAX - 1] = '\0';
				rows[i].next_what[sizeof(rows[i].next_what) - 1] = '\0';
				rows[i].held_why[STATS_KEY_WHY_MAX - 1] = '\0';
			}
			return 0;
		}
	}
	return -1;
}
