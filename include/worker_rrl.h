/*
 * Response rate limiting in the worker (DESIGN §10): the table is the
 * one in the stats object every worker shares, the parameters are read
 * from it per check (the supervisor sets them at start and on SIGHUP).
 */
#ifndef AHD_WORKER_RRL_H
#define AHD_WORKER_RRL_H

#include <stddef.h>
#include <stdint.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "rrl.h"

struct stats;
struct stats_worker;

/* Zones whose apex the NXDOMAIN and NODATA buckets can name. */
#define WORKER_RRL_ZONES 64

struct worker_rrl {
	struct rrl_table *t; /* NULL: no table, nothing limited */
	struct stats *st;
	uint8_t apex[WORKER_RRL_ZONES][AHD_MAX_NAME_WIRE];
	size_t apex_len[WORKER_RRL_ZONES];
	size_t n_apex;
	int64_t log_second;  /* summary lines in this second */
	unsigned log_lines;
};

void worker_rrl_init(struct worker_rrl *r, const struct config *cfg, struct stats *st);

/* The bucket's class and name for an answer of kind k to pkt[0..len):
 * the qname for answers, the zone apex for NXDOMAIN and NODATA (*name
 * NULL when the zone is not one of r's), nothing for errors. *name
 * points into pkt or r. */
enum rrl_class worker_rrl_class(const struct worker_rrl *r, enum answer_kind k,
				const uint8_t *pkt, size_t len, const uint8_t **name,
				size_t *name_len);

/* The minimal TC=1 answer a slip sends, written over the response
 * out[0..n) to pkt: header and question, no records (the client retries
 * over TCP, which is never limited). Its length, or 0 (no question to
 * echo: drop instead). */
size_t worker_rrl_slip(const uint8_t *pkt, size_t len, uint8_t *out, size_t n);

/*
 * The response out[0..n) to the UDP query pkt[0..len) from a's client
 * after the rate limit: n (sent as is), the length of a minimal TC=1
 * answer written over it (slip), or 0 (dropped). Counts into sw. now_ms:
 * CLOCK_MONOTONIC of the batch (one reading per batch, not per query).
 */
size_t worker_rrl(struct worker_rrl *r, struct stats_worker *sw, const struct answer_ctx *a,
		  const struct answer_info *info, const uint8_t *pkt, size_t len, uint8_t *out,
		  size_t n, int64_t now_ms);

#endif
