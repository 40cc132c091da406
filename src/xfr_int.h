/*
 * What xfr.c (the requests) and xfr_msg.c (the messages) share: one
 * transfer in progress.
 */
#ifndef AHD_XFR_INT_H
#define AHD_XFR_INT_H

#include "xfr.h"
#include "zimg_iter.h"

#define XFR_TYPE_SOA 6
#define XFR_TYPE_IXFR 251
#define XFR_TYPE_AXFR 252

enum xfr_phase {
	XFR_HEAD = 0, /* the first SOA */
	XFR_BODY,     /* the zone's RRs, or the difference */
	XFR_TAIL,     /* the last SOA */
	XFR_DONE,
};

struct xfr {
	uint16_t id;
	uint8_t rd;                 /* the query's RD bit, in place (0x01) */
	uint8_t question[AHD_MAX_NAME_WIRE + 4];
	size_t question_len;
	uint8_t apex[AHD_MAX_NAME_WIRE];
	size_t apex_len;
	uint8_t soa[ZIMG_ITER_RR_MAX]; /* the copy's SOA body */
	size_t soa_len;
	uint32_t serial;
	enum xfr_phase phase;
	bool single;                /* the SOA alone: the client is current */
	/* AXFR: the image copy and the walk over it. */
	uint8_t *copy;
	size_t copy_len;
	struct zimg_iter it;
	struct zimg_rr rr;          /* the next RR, when have_rr */
	bool have_rr;
	/* IXFR: the condensed difference (xfr_hist_diff's format). */
	uint8_t *diff;
	size_t diff_len, diff_at;
	/* The message being written: where an owner already is. */
	uint8_t last_owner[AHD_MAX_NAME_WIRE];
	size_t last_owner_len;
	uint16_t last_owner_at;     /* 0: none yet */
	struct tsig_ctx tsig;       /* key NULL: unsigned */
	uint64_t now;
};

#endif
