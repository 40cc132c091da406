/*
 * Parse and classify a query: the header, the one question, and the
 * other sections as far as EDNS needs (the OPT record, edns.h). Pure and
 * allocation-free: the hot path of every worker.
 */
#ifndef AHD_QUERY_H
#define AHD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahd.h"
#include "dname.h"
#include "edns.h"

#define QUERY_HEADER_LEN 12

/* RR types and classes the core looks at. */
#define QUERY_TYPE_A 1
#define QUERY_TYPE_NS 2
#define QUERY_TYPE_SOA 6
#define QUERY_TYPE_HINFO 13
#define QUERY_TYPE_AAAA 28
#define QUERY_TYPE_OPT 41
#define QUERY_TYPE_TSIG 250
#define QUERY_TYPE_IXFR 251
#define QUERY_TYPE_AXFR 252
#define QUERY_TYPE_MAILB 253
#define QUERY_TYPE_MAILA 254
#define QUERY_TYPE_ANY 255
#define QUERY_CLASS_IN 1

enum query_status {
	QUERY_OK = 0,   /* one question, parsed */
	QUERY_DROP,     /* shorter than a header, or QR set: no response */
	QUERY_NOTIMP,   /* opcode other than QUERY */
	QUERY_FORMERR,  /* QDCOUNT != 1, or a question or a section that does
			 * not parse, or a misplaced or second OPT, or an
			 * OPT whose options are malformed, or bytes after
			 * the last counted RR */
	/* QDCOUNT 0 with an OPT carrying a COOKIE: a client asking for a
	 * server cookie (RFC 7873 section 5.4). edns is set, the question
	 * fields are not. */
	QUERY_NO_QUESTION,
};

struct query {
	uint16_t id;
	uint8_t opcode;
	bool rd;
	uint16_t qdcount;
	/* edns.present: the message parsed to its last counted RR and
	 * had one well-placed OPT, which the response must echo (RFC 6891
	 * section 6.1.1). Always so for QUERY_OK and QUERY_NO_QUESTION; for
	 * QUERY_NOTIMP and QUERY_FORMERR only when the sections parse (then
	 * edns.malformed tells options that did not, RFC 6891 section 7),
	 * never when the question does not. edns.do_bit is the DO bit
	 * (RFC 3225). */
	struct edns_query edns;
	/* The last RR of the additional section is a TSIG (RFC 8945): the
	 * answer must be signed, or say why not. Set as far as edns is. */
	bool tsig;
	/* The rest is set only for QUERY_OK. */
	uint16_t qtype;
	uint16_t qclass;
	size_t qname_len;       /* wire length, root included */
	size_t question_len;    /* qname_len + 4: bytes 12.. of pkt */
	unsigned n_labels;      /* root excluded */
	uint8_t label_off[DNAME_MAX_LABELS]; /* label starts within qname */
	uint8_t qname[AHD_MAX_NAME_WIRE];    /* lower-cased */
};

/*
 * Header and question of pkt[0..len), then every RR of the answer,
 * authority and additional sections is walked (names may be compressed
 * there; they are skipped, not followed, but a pointer must point
 * after the header and before the name holding it, RFC 1035 section
 * 4.1.4): an RR that runs past the end, a bad pointer, an OPT outside
 * the additional section, a second OPT, an OPT whose owner is not the
 * root or that edns_parse refuses is QUERY_FORMERR (with edns kept only
 * for malformed options). For an opcode other than QUERY the sections
 * (QDCOUNT entries laid out as questions first) are walked the same way
 * only to find the OPT (bytes after the counted RRs are ignored there:
 * the answer is NOTIMP either way). For QUERY, bytes after the counted
 * RRs are QUERY_FORMERR with edns kept (the records parsed). Fields
 * of q are valid as far as the status says.
 */
enum query_status query_parse(const uint8_t *pkt, size_t len, struct query *q);

#endif
