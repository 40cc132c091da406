/*
 * Response rate limiting in the worker (DESIGN §10): after the query
 * core answered a UDP query, its response class and name pick a bucket
 * of the table every worker shares (in the stats object), and the
 * verdict sends the answer, a minimal TC=1 answer (slip) or nothing.
 */
#include "worker_rrl.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dname.h"
#include "log.h"
#include "stats.h"
#include "wire.h"

/* Summary lines a worker writes per second at most, whatever the
 * number of limited prefixes (each asks for one per RRL_LOG_INTERVAL_S). */
#define WORKER_RRL_LOG_PER_S 5

void worker_rrl_init(struct worker_rrl *r, const struct config *cfg, struct stats *st)
{
	memset(r, 0, sizeof(*r));
	r->st = st;
	r->t = st != NULL ? st->rrl : NULL;
	for (size_t i = 0; i <= cfg->n_alias_zones && r->n_apex < WORKER_RRL_ZONES; i++) {
		const char *z = i == 0 ? cfg->hosted_zone : cfg->alias_zones[i - 1];
		int len = z != NULL ? dname_from_text(z, r->apex[r->n_apex], AHD_MAX_NAME_WIRE) : -1;

		if (len > 0)
			r->apex_len[r->n_apex++] = (size_t)len;
	}
}

/* The question's name in pkt (uncompressed: the query parsed): its
 * length, or 0. */
static size_t worker_rrl_qname(const uint8_t *pkt, size_t len)
{
	size_t at = 12;

	while (at < len && pkt[at] != 0 && pkt[at] <= 63)
		at += 1u + pkt[at];
	return at < len && pkt[at] == 0 ? at + 1 - 12 : 0;
}

/* The zone of qname: the longest of our apexes it ends with (the
 * NXDOMAIN and NODATA buckets are per zone, so random names under one
 * zone share one budget). NULL when none (a zone added by a reload
 * after this worker started): the bucket is then the client's alone. */
static const uint8_t *worker_rrl_apex(const struct worker_rrl *r, const uint8_t *qname,
				      size_t qlen, size_t *alen)
{
	for (size_t at = 0; at < qlen && qname[at] != 0; at += 1u + qname[at])
		for (size_t i = 0; i < r->n_apex; i++)
			if (r->apex_len[i] == qlen - at &&
			    dname_equal(qname + at, qlen - at, r->apex[i], r->apex_len[i])) {
				*alen = r->apex_len[i];
				return r->apex[i];
			}
	*alen = 0;
	return NULL;
}

enum rrl_class worker_rrl_class(const struct worker_rrl *r, enum answer_kind k,
				       const uint8_t *pkt, size_t len, const uint8_t **name,
				       size_t *name_len)
{
	size_t qlen = worker_rrl_qname(pkt, len);

	*name = NULL;
	*name_len = 0;
	switch (k) {
	case ANSWER_NOERROR:
		*name = pkt + 12;
		*name_len = qlen;
		return RRL_POSITIVE;
	case ANSWER_NXDOMAIN:
	case ANSWER_NODATA:
		*name = worker_rrl_apex(r, pkt + 12, qlen, name_len);
		return k == ANSWER_NXDOMAIN ? RRL_NXDOMAIN : RRL_NODATA;
	default:
		return RRL_ERROR;
	}
}

/* One summary line for a bucket that asked for it, within the cap. */
static void worker_rrl_log(struct worker_rrl *r, const struct answer_ctx *a,
			   const struct rrl_params *p, enum rrl_class cls,
			   const struct rrl_note *note, int64_t now_ms)
{
	static const char *const cls_text[RRL_CLASS_COUNT] = {"answers", "NXDOMAIN", "NODATA",
							      "errors"};
	char who[INET6_ADDRSTRLEN] = "?";
	uint8_t masked[16] = {0};
	unsigned bits = a->client_family == AF_INET ? p->v4_prefix : p->v6_prefix;
	size_t alen = a->client_family == AF_INET ? 4 : 16;

	if (now_ms / 1000 != r->log_second) {
		r->log_second = now_ms / 1000;
		r->log_lines = 0;
	}
	if (r->log_lines++ >= WORKER_RRL_LOG_PER_S)
		return;
	if (bits > alen * 8)
		bits = (unsigned)alen * 8;
	memcpy(masked, a->client_addr, bits / 8);
	if (bits % 8 != 0)
		masked[bits / 8] = a->client_addr[bits / 8] & (uint8_t)(0xff << (8 - bits % 8));
	inet_ntop(a->client_family, masked, who, sizeof(who));
	log_warning("rate limit%s: %s/%u %s, %u responses limited in %d s",
		    p->log_only ? " (log only)" : "", who, bits, cls_text[cls], note->limited,
		    RRL_LOG_INTERVAL_S);
}

size_t worker_rrl_slip(const uint8_t *pkt, size_t len, uint8_t *out, size_t n)
{
	size_t qlen = worker_rrl_qname(pkt, len);

	if (qlen == 0 || n < 12 + qlen + 4 || wire_load_u16(out + 4) != 1)
		return 0;
	out[2] |= 0x02; /* TC */
	memset(out + 6, 0, 6);
	return 12 + qlen + 4;
}

size_t worker_rrl(struct worker_rrl *r, struct stats_worker *sw, const struct answer_ctx *a,
		  const struct answer_info *info, const uint8_t *pkt, size_t len, uint8_t *out,
		  size_t n, int64_t now_ms)
{
	struct rrl_params p;
	struct rrl_note note = {0};
	const uint8_t *name;
	size_t name_len;
	enum rrl_class cls;
	enum rrl_verdict v;

	if (r->t == NULL || n == 0 || a->client_family == 0)
		return n;
	stats_rrl_get(r->st, &p);
	/* A valid server cookie proves the source address (RFC 7873). */
	if (p.rate == 0 || info->cookie == COOKIE_VALID || info->cookie == COOKIE_STALE)
		return n;
	cls = worker_rrl_class(r, info->kind, pkt, len, &name, &name_len);
	v = rrl_check(r->t, &p,
		      rrl_key(r->t, a->client_family, a->client_addr, p.v4_prefix, p.v6_prefix,
			      cls, name, name_len),
		      (uint64_t)now_ms, &note);
	if (note.would != RRL_PASS)
		stats_add(&sw->rrl_limited, 1);
	if (note.log)
		worker_rrl_log(r, a, &p, cls, &note, now_ms);
	if (v == RRL_SLIP && (n = worker_rrl_slip(pkt, len, out, n)) > 0) {
		stats_add(&sw->rrl_slipped, 1);
		return n;
	}
	if (v != RRL_PASS) {
		stats_add(&sw->rrl_dropped, 1);
		return 0;
	}
	return n;
}
