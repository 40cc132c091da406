/*
 * Hostile packets against the real binary (reliability issue, item 2):
 * a table of malformed and adversarial queries, each with the outcome the
 * RFCs (or, where they leave a choice, doc/DESIGN.md) require: a given RCODE
 * or no answer at all. After every row a normal query must still get its
 * exact answer.
 *
 * Each row is sent from one socket immediately followed by a normal
 * query. One source port maps to one worker socket (SO_REUSEPORT hash)
 * and a worker answers a socket's datagrams in order, so when the normal
 * query's answer arrives first, the hostile packet was dropped: no timer
 * has to wait for a reply that must not come.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sysutil.h"

#define ZONE "example.test"

static const char *const hostile_args[] = {
	"--hosted-zone", ZONE,
	"--ns", "[\"ns1." ZONE "\", \"ns2." ZONE "\"]",
	"--zone-resolutions", "{\"www\": [\"192.0.2.1\"]}",
	"--workers", "2",
	"--user", "nobody",
	/* Transfers allowed (no key), so the malformed transfer requests
	 * below reach the request parser instead of the access check; the
	 * second prefix is sys_client_addr() in XDP mode. */
	"--transfer-allow", "[\"127.0.0.1/32\", \"10.53.0.1/32\"]",
	NULL,
};

#define U16(x) (uint8_t)((x) >> 8), (uint8_t)((x) & 0xff)
/* The ID of every hostile packet; the normal query after it uses
 * another, so the two replies cannot be confused. */
#define HOSTILE_ID 0xbeef
#define HDR_(f1, f2, qd, an, ns, ar) U16(HOSTILE_ID), f1, f2, U16(qd), U16(an), U16(ns), U16(ar)
/* Indirect, so STD and OP(n) expand to two arguments first. */
#define HDR(...) HDR_(__VA_ARGS__)
/* Flag bytes of a standard query with RD. */
#define STD 0x01, 0x00
#define OP(n) (uint8_t)(((n) << 3) | 0x01), 0x00
#define APEX 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0
#define WWW 3, 'w', 'w', 'w', APEX
#define Q(type, cls) WWW, U16(type), U16(cls)
#define QIN(type) Q(type, 1)
/* OPT: root owner, payload 1232, extended RCODE 0, version v, flags. */
#define OPT(v, flags, rdlen) 0, U16(41), U16(1232), 0, v, U16(flags), U16(rdlen)
/* An A record in the answer or additional section: owner = the question. */
#define A_RR 0xc0, 0x0c, U16(1), U16(1), 0, 0, 0, 60, U16(4), 192, 0, 2, 99
/* IXFR's authority SOA: owner = the question, serial s. */
#define SOA_RR(s) 0xc0, 0x0c, U16(6), U16(1), 0, 0, 0, 60, U16(24), 0xc0, 0x0c, 0xc0, 0x0c, \
		  (uint8_t)((s) >> 24), (uint8_t)((s) >> 16), (uint8_t)((s) >> 8), (uint8_t)(s), \
		  0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1
#define XQ(type) APEX, U16(type), U16(1)
/* A TSIG RR (RFC 8945 4.2) for key "key." with hmac-sha256, time 0, a
 * 32-byte MAC of zeros: rdlen 61. */
#define TSIG_RDATA 11, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0, 0, 0, 0, 0, 0, 0, \
		   U16(300), U16(32), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
		   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, U16(HOSTILE_ID), U16(0), U16(0)
#define TSIG_RR 3, 'k', 'e', 'y', 0, U16(250), U16(255), 0, 0, 0, 0, U16(61), TSIG_RDATA
#define PKT(...) .pkt = (const uint8_t[]){__VA_ARGS__}, \
		 .len = sizeof((const uint8_t[]){__VA_ARGS__})

#define DROP (-1)
#define ANY (-1)

#define RC_NOERROR 0
#define RC_FORMERR 1
#define RC_NXDOMAIN 3
#define RC_NOTIMP 4
#define RC_REFUSED 5
#define RC_NOTAUTH 9
#define RC_BADVERS 16

/* Header flag bits (the 16-bit word at offset 2). */
#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080
#define F_Z 0x0040
#define F_AD 0x0020
#define F_CD 0x0010

enum group { G_HEADER, G_OPCODE, G_NAME, G_COUNT, G_CLASS_TYPE, G_FLAGS, G_EDNS, G_XFR };

struct row {
	enum group group;
	const char *what;
	const char *rfc;
	const uint8_t *pkt;
	size_t len;
	size_t (*build)(uint8_t *out, size_t cap);
	int rcode;      /* DROP, or the full (extended) RCODE */
	int aa;         /* ANY, 0, 1 */
	int an;         /* ANCOUNT, or ANY */
	int opt;        /* an OPT in the response: ANY, 0, 1 */
	int do_bit;     /* DO in the response's OPT: ANY, 0, 1 */
};

/* A name of total wire length `len` ending in example.test: labels of
 * at most 63 bytes, none empty. */
static size_t build_name(uint8_t *out, size_t len)
{
	static const uint8_t apex[] = {APEX};
	size_t pos = 0, left = len - sizeof(apex);

	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		if (left - (l + 1) == 1)
			l--; /* never leave a 1-byte remainder: no 0-length label */
		out[pos++] = (uint8_t)l;
		memset(out + pos, 'a', l);
		pos += l;
		left -= l + 1;
	}
	memcpy(out + pos, apex, sizeof(apex));
	return pos + sizeof(apex);
}

static size_t build_query(uint8_t *out, const uint8_t *name, size_t nlen)
{
	static const uint8_t hdr[] = {HDR(STD, 1, 0, 0, 0)};

	memcpy(out, hdr, sizeof(hdr));
	memcpy(out + 12, name, nlen);
	memcpy(out + 12 + nlen, (const uint8_t[]){U16(1), U16(1)}, 4);
	return 12 + nlen + 4;
}

/* A name of exactly 255 bytes: legal, in the zone, absent. */
static size_t build_name255(uint8_t *out, size_t cap)
{
	uint8_t name[300];
	size_t n = build_name(name, 255);

	cr_assert_eq(n, 255);
	return build_query(out, name, n);
}

/* 256 bytes: one over the limit of RFC 1035 section 2.3.4. */
static size_t build_name256(uint8_t *out, size_t cap)
{
	uint8_t name[300];
	size_t n = build_name(name, 256);

	cr_assert_eq(n, 256);
	return build_query(out, name, n);
}

/* Four labels of 63: 257 bytes. */
static size_t build_name257(uint8_t *out, size_t cap)
{
	uint8_t name[300];
	size_t pos = 0;

	for (int i = 0; i < 4; i++) {
		name[pos++] = 63;
		memset(name + pos, 'b', 63);
		pos += 63;
	}
	name[pos++] = 0;
	cr_assert_eq(pos, 257);
	return build_query(out, name, pos);
}

/* 200 well-formed A records in the additional section: parsed, ignored. */
static size_t build_many_additional(uint8_t *out, size_t cap)
{
	static const uint8_t head[] = {HDR(STD, 1, 0, 0, 200), QIN(1)};
	static const uint8_t rr[] = {A_RR};
	size_t pos = sizeof(head);

	memcpy(out, head, sizeof(head));
	for (int i = 0; i < 200; i++, pos += sizeof(rr)) {
		cr_assert_leq(pos + sizeof(rr), cap);
		memcpy(out + pos, rr, sizeof(rr));
	}
	return pos;
}

/* A query of exactly total bytes: www A with an OPT whose PADDING option
 * (RFC 7830) fills the rest. */
static size_t build_padded(uint8_t *out, size_t cap, size_t total)
{
	static const uint8_t head[] = {HDR(STD, 1, 0, 0, 1), QIN(1)};
	size_t pad = total - sizeof(head) - 11 - 4;
	const uint8_t opt[] = {OPT(0, 0, 4 + pad), U16(12), U16(pad)};

	cr_assert_leq(total, cap);
	memcpy(out, head, sizeof(head));
	memcpy(out + sizeof(head), opt, sizeof(opt));
	memset(out + sizeof(head) + sizeof(opt), 0, pad);
	return total;
}

/* RFC 8906 section 3.1.2: larger than any EDNS payload, still answered. */
static size_t build_padded_5000(uint8_t *out, size_t cap)
{
	return build_padded(out, cap, 5000);
}

static size_t build_padded_60000(uint8_t *out, size_t cap)
{
	return build_padded(out, cap, 60000);
}

static const struct row rows[] = {
	/* ---- header and size ---- */
	{G_HEADER, "empty datagram", "RFC 1035 4.1.1 (no header); DESIGN §2",
	 .pkt = (const uint8_t[]){0}, .len = 0, .rcode = DROP},
	{G_HEADER, "1 byte", "RFC 1035 4.1.1; DESIGN §2", PKT(0xbe), .rcode = DROP},
	{G_HEADER, "11 bytes: header cut short", "RFC 1035 4.1.1; DESIGN §2",
	 PKT(U16(HOSTILE_ID), STD, 0, 1, 0, 0, 0, 0, 0), .rcode = DROP},
	{G_HEADER, "QR set on a valid question", "RFC 1035 4.1.1 (a response); DESIGN §2",
	 PKT(HDR(0x81, 0x00, 1, 0, 0, 0), QIN(1)), .rcode = DROP},
	{G_HEADER, "QR set, header only", "RFC 1035 4.1.1; DESIGN §2",
	 PKT(HDR(0x80, 0x00, 0, 0, 0, 0)), .rcode = DROP},
	{G_HEADER, "QR set, opcode UPDATE", "RFC 1035 4.1.1; DESIGN §2",
	 PKT(HDR(0xa8, 0x00, 1, 0, 0, 0), QIN(6)), .rcode = DROP},
	{G_HEADER, "QR set, RCODE REFUSED (a reflected answer)", "RFC 1035 4.1.1; DESIGN §2",
	 PKT(HDR(0x84, 0x05, 1, 0, 0, 0), QIN(1)), .rcode = DROP},
	{G_HEADER, "header only, QDCOUNT 0", "RFC 9619 3; RFC 7873 5.4 (no cookie); DESIGN §2",
	 PKT(HDR(STD, 0, 0, 0, 0)), .rcode = RC_FORMERR, .opt = 0},
	{G_HEADER, "standard query (control row)", "RFC 1035 4.1",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 0},
	{G_HEADER, "5000-byte query (EDNS padding)", "RFC 8906 3.1.2 (answer any well-formed query)",
	 .build = build_padded_5000, .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 1},
	{G_HEADER, "60000-byte query (EDNS padding)", "RFC 8906 3.1.2",
	 .build = build_padded_60000, .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 1},

	/* ---- every opcode ---- */
	{G_OPCODE, "opcode 1 IQUERY", "RFC 3425 3 (obsolete: NOTIMP)",
	 PKT(HDR(OP(1), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 2 STATUS", "RFC 1035 4.1.1; DESIGN §2",
	 PKT(HDR(OP(2), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 3 unassigned", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(3), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 4 NOTIFY", "RFC 1996 3.9 (not a secondary); DESIGN §2",
	 PKT(HDR(OP(4), 1, 0, 0, 0), APEX, U16(6), U16(1)), .rcode = RC_NOTIMP, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_OPCODE, "opcode 5 UPDATE", "RFC 2136 3 (NOTIMP when unsupported)",
	 PKT(HDR(OP(5), 1, 0, 0, 0), APEX, U16(6), U16(1)), .rcode = RC_NOTIMP, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_OPCODE, "opcode 6 DSO", "RFC 8490 5.1 (no DSO: NOTIMP)",
	 PKT(HDR(OP(6), 0, 0, 0, 0)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 7", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(7), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 8", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(8), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 9", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(9), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 10", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(10), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 11", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(11), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 12", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(12), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 13", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(13), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 14", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(14), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 15", "RFC 6895 2.2; DESIGN §2",
	 PKT(HDR(OP(15), 1, 0, 0, 0), QIN(1)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_OPCODE, "opcode 15, malformed body", "RFC 1035 4.1.1 (opcode decides first); DESIGN §2",
	 PKT(HDR(OP(15), 1, 0, 0, 0), 0xc0, 0x0c), .rcode = RC_NOTIMP, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_OPCODE, "opcode 5 UPDATE with an OPT", "RFC 6891 6.1.1 (OPT in every response to an OPT)",
	 PKT(HDR(OP(5), 1, 0, 0, 1), APEX, U16(6), U16(1), OPT(0, 0, 0)),
	 .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 1},

	/* ---- names ---- */
	{G_NAME, "label length 64 (type 01, extended label)", "RFC 1035 2.3.4, 4.1.4; RFC 6891 5",
	 PKT(HDR(STD, 1, 0, 0, 0), 0x40, 'a', 0, U16(1), U16(1)), .rcode = RC_FORMERR, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_NAME, "label type 10 (reserved)", "RFC 1035 4.1.4",
	 PKT(HDR(STD, 1, 0, 0, 0), 0x80, 'a', 0, U16(1), U16(1)), .rcode = RC_FORMERR, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_NAME, "name of 255 bytes in the zone (legal, absent)", "RFC 1035 2.3.4; RFC 1034 4.3.2",
	 .build = build_name255, .rcode = RC_NXDOMAIN, .aa = 1, .an = 0, .opt = 0},
	{G_NAME, "name of 256 bytes", "RFC 1035 2.3.4 (255 at most)",
	 .build = build_name256, .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_NAME, "name of 257 bytes (4 labels of 63)", "RFC 1035 2.3.4",
	 .build = build_name257, .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_NAME, "compression pointer to itself", "RFC 1035 4.1.4 (prior occurrence only)",
	 PKT(HDR(STD, 1, 0, 0, 0), 0xc0, 0x0c, U16(1), U16(1)), .rcode = RC_FORMERR, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_NAME, "forward compression pointer", "RFC 1035 4.1.4 (prior occurrence only)",
	 PKT(HDR(STD, 1, 0, 0, 0), 0xc0, 0x12, U16(1), U16(1), WWW), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = 0},
	{G_NAME, "two pointers forming a loop", "RFC 1035 4.1.4",
	 PKT(HDR(STD, 1, 0, 0, 0), 0xc0, 0x0e, 0xc0, 0x0c, U16(1), U16(1)), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = 0},
	{G_NAME, "pointer into the header", "RFC 1035 4.1.4 (names only)",
	 PKT(HDR(STD, 1, 0, 0, 0), 0xc0, 0x00, U16(1), U16(1)), .rcode = RC_FORMERR, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_NAME, "pointer past the end of the message", "RFC 1035 4.1.4",
	 PKT(HDR(STD, 1, 0, 0, 0), 3, 'w', 'w', 'w', 0xc3, 0xff, U16(1), U16(1)),
	 .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_NAME, "label running past the end", "RFC 1035 4.1.2",
	 PKT(HDR(STD, 1, 0, 0, 0), 40, 'a', 'b', 'c'), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_NAME, "name without its root label", "RFC 1035 3.1, 4.1.2",
	 PKT(HDR(STD, 1, 0, 0, 0), 3, 'w', 'w', 'w'), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_NAME, "NUL byte inside a label of a zone name", "RFC 2181 11 (any octet); RFC 1034 4.3.2",
	 PKT(HDR(STD, 1, 0, 0, 0), 3, 'w', 0, 'w', APEX, U16(1), U16(1)), .rcode = RC_NXDOMAIN,
	 .aa = 1, .an = 0, .opt = 0},
	{G_NAME, "dot inside a label of a zone name", "RFC 2181 11; RFC 4343 2.1",
	 PKT(HDR(STD, 1, 0, 0, 0), 3, 'w', '.', 'w', APEX, U16(1), U16(1)), .rcode = RC_NXDOMAIN,
	 .aa = 1, .an = 0, .opt = 0},
	{G_NAME, "mixed case name (case kept in the answer)", "RFC 4343 3, 4.1",
	 PKT(HDR(STD, 1, 0, 0, 0), 3, 'W', 'w', 'W', 7, 'E', 'x', 'A', 'm', 'P', 'l', 'E', 4, 'T',
	     'E', 'S', 'T', 0, U16(1), U16(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 0},
	{G_NAME, "the root name", "RFC 1035 4.3.1 (not authoritative); DESIGN §2",
	 PKT(HDR(STD, 1, 0, 0, 0), 0, U16(1), U16(1)), .rcode = RC_REFUSED, .aa = 0, .an = 0,
	 .opt = 0},
	{G_NAME, "a name in no hosted zone", "RFC 1035 4.3.1; DESIGN §2",
	 PKT(HDR(STD, 1, 0, 0, 0), 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
	     'o', 'm', 0, U16(1), U16(1)), .rcode = RC_REFUSED, .aa = 0, .an = 0, .opt = 0},

	/* ---- counts that lie, truncated RRs ---- */
	{G_COUNT, "QDCOUNT 1, no question", "RFC 1035 4.1.2",
	 PKT(HDR(STD, 1, 0, 0, 0)), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "question without QTYPE/QCLASS", "RFC 1035 4.1.2",
	 PKT(HDR(STD, 1, 0, 0, 0), WWW), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "question with QTYPE only", "RFC 1035 4.1.2",
	 PKT(HDR(STD, 1, 0, 0, 0), WWW, U16(1)), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_COUNT, "QDCOUNT 2", "RFC 9619 4 (FORMERR)",
	 PKT(HDR(STD, 2, 0, 0, 0), QIN(1), 0xc0, 0x0c, U16(28), U16(1)), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "QDCOUNT 65535, one question", "RFC 9619 4; RFC 1035 4.1.2",
	 PKT(HDR(STD, 65535, 0, 0, 0), QIN(1)), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_COUNT, "ANCOUNT 1, section missing", "RFC 1035 4.1.1, 4.1.3",
	 PKT(HDR(STD, 1, 1, 0, 0), QIN(1)), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "NSCOUNT 1, section missing", "RFC 1035 4.1.1, 4.1.3",
	 PKT(HDR(STD, 1, 0, 1, 0), QIN(1)), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "ARCOUNT 1, section missing", "RFC 1035 4.1.1, 4.1.3",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1)), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "ANCOUNT 65535, one RR", "RFC 1035 4.1.1, 4.1.3",
	 PKT(HDR(STD, 1, 65535, 0, 0), QIN(1), A_RR), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_COUNT, "ARCOUNT 65535, one OPT", "RFC 1035 4.1.3; RFC 6891 7 (OPT kept)",
	 PKT(HDR(STD, 1, 0, 0, 65535), QIN(1), OPT(0, 0, 0)), .rcode = RC_FORMERR, .aa = ANY,
	 .an = 0, .opt = ANY},
	{G_COUNT, "additional RR cut in its fixed part", "RFC 1035 4.1.3",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), 0xc0, 0x0c, U16(1), U16(1), 0), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "additional RR with RDLENGTH past the end", "RFC 1035 4.1.3",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), 0xc0, 0x0c, U16(1), U16(1), 0, 0, 0, 60, U16(100),
	     1, 2, 3, 4), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "additional RR owner: pointer loop", "RFC 1035 4.1.4",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), 0xc0, 0x22, U16(1), U16(1), 0, 0, 0, 60, U16(4),
	     192, 0, 2, 9), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "answer RR owner: forward pointer", "RFC 1035 4.1.4 (prior occurrence only)",
	 PKT(HDR(STD, 1, 1, 0, 0), QIN(1), 0xc0, 0x30, U16(1), U16(1), 0, 0, 0, 60, U16(4),
	     192, 0, 2, 9, 0, 0), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_COUNT, "a byte after the question", "RFC 1035 4.1 (counts and length disagree)",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(1), 0), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_COUNT, "bytes after the OPT", "RFC 1035 4.1; RFC 6891 7 (OPT kept)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(0, 0x8000, 0), 0xff, 0xff), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = 1, .do_bit = ANY},
	{G_COUNT, "well-formed A record in the answer section", "RFC 1035 4.1.1 (ignored in a query)",
	 PKT(HDR(STD, 1, 1, 0, 0), QIN(1), A_RR), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	{G_COUNT, "200 well-formed additional RRs", "RFC 1035 4.1.1 (ignored in a query)",
	 .build = build_many_additional, .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 0},

	/* ---- classes and types ---- */
	{G_CLASS_TYPE, "class CH", "RFC 1035 4.1.1 (REFUSED by policy); DESIGN §2",
	 PKT(HDR(STD, 1, 0, 0, 0), Q(16, 3)), .rcode = RC_REFUSED, .aa = 0, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "class HS", "RFC 1035 4.1.1; DESIGN §2",
	 PKT(HDR(STD, 1, 0, 0, 0), Q(1, 4)), .rcode = RC_REFUSED, .aa = 0, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "class NONE", "RFC 2136 2.4 (UPDATE only); DESIGN §2",
	 PKT(HDR(STD, 1, 0, 0, 0), Q(1, 254)), .rcode = RC_REFUSED, .aa = 0, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "class ANY", "RFC 1035 3.2.5; DESIGN §2 (only IN is served)",
	 PKT(HDR(STD, 1, 0, 0, 0), Q(1, 255)), .rcode = RC_REFUSED, .aa = 0, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "class 0", "RFC 6895 3.2 (reserved); DESIGN §2",
	 PKT(HDR(STD, 1, 0, 0, 0), Q(1, 0)), .rcode = RC_REFUSED, .aa = 0, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "TYPE0", "RFC 6895 3.1 (reserved); RFC 3597 (NODATA)",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(0)), .rcode = RC_NOERROR, .aa = 1, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "TYPE65535", "RFC 6895 3.1 (reserved); RFC 3597 (NODATA)",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(65535)), .rcode = RC_NOERROR, .aa = 1, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "MAILA", "RFC 1035 3.2.3 (obsolete); design: NOTIMP",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(254)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "MAILB", "RFC 1035 3.2.3 (obsolete); design: NOTIMP",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(253)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "OPT as QTYPE", "RFC 6891 6.1.1 (pseudo-RR, never a question)",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(41)), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "AXFR for a zone not hosted", "RFC 5936 2.2.1 (REFUSED); DESIGN §2",
	 PKT(HDR(STD, 1, 0, 0, 0), 3, 'o', 'r', 'g', 0, U16(252), U16(1)), .rcode = RC_REFUSED,
	 .aa = 0, .an = 0, .opt = 0},
	{G_CLASS_TYPE, "QTYPE ANY", "RFC 8482 4.2 (one synthesized HINFO)",
	 PKT(HDR(STD, 1, 0, 0, 0), QIN(255)), .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 0},

	/* ---- flags a client should not set ---- */
	{G_FLAGS, "Z bit set", "RFC 1035 4.1.1 (Z zero in responses)",
	 PKT(HDR(0x01, 0x40, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	{G_FLAGS, "TC set in the query", "RFC 1035 4.1.1 (meaningless in a query)",
	 PKT(HDR(0x03, 0x00, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	{G_FLAGS, "AA set in the query", "RFC 1035 4.1.1 (meaningful in responses only)",
	 PKT(HDR(0x05, 0x00, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	{G_FLAGS, "RA set in the query", "RFC 1035 4.1.1 (not recursive: RA clear)",
	 PKT(HDR(0x01, 0x80, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	{G_FLAGS, "AD set in the query", "RFC 6840 5.7 (unsigned zone: AD clear)",
	 PKT(HDR(0x01, 0x20, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	/* RFC 4035 3.1.6: a security-aware server copies CD into every
	 * response, DO or not, signed zone or not. */
	{G_FLAGS, "CD set in the query", "RFC 4035 3.1.6 (CD copied)",
	 PKT(HDR(0x01, 0x10, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	{G_FLAGS, "RCODE 5 in the query", "RFC 1035 4.1.1 (RCODE is set in responses)",
	 PKT(HDR(0x01, 0x05, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},
	{G_FLAGS, "RD clear", "RFC 1035 4.1.1 (RD copied)",
	 PKT(HDR(0x00, 0x00, 1, 0, 0, 0), QIN(1)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 0},

	/* ---- EDNS ---- */
	{G_EDNS, "OPT version 0 (control row)", "RFC 6891 6.1.1 (OPT echoed)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(0, 0, 0)), .rcode = RC_NOERROR, .aa = 1, .an = 1,
	 .opt = 1, .do_bit = 0},
	{G_EDNS, "OPT version 1", "RFC 6891 6.1.3 (BADVERS)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(1, 0, 0)), .rcode = RC_BADVERS, .aa = ANY,
	 .an = 0, .opt = 1},
	{G_EDNS, "OPT version 255", "RFC 6891 6.1.3 (BADVERS)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(255, 0, 0)), .rcode = RC_BADVERS, .aa = ANY,
	 .an = 0, .opt = 1},
	{G_EDNS, "two OPT records", "RFC 6891 6.1.1 (FORMERR)",
	 PKT(HDR(STD, 1, 0, 0, 2), QIN(1), OPT(0, 0, 0), OPT(0, 0, 0)), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = ANY},
	{G_EDNS, "OPT in the answer section", "RFC 6891 6.1.1 (additional section only)",
	 PKT(HDR(STD, 1, 1, 0, 0), QIN(1), OPT(0, 0, 0)), .rcode = RC_FORMERR, .aa = ANY,
	 .an = 0, .opt = ANY},
	{G_EDNS, "OPT owned by a name other than the root", "RFC 6891 6.1.2 (NAME must be 0)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), 0xc0, 0x0c, U16(41), U16(1232), 0, 0, U16(0), U16(0)),
	 .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = ANY},
	{G_EDNS, "OPT option running past RDLENGTH", "RFC 6891 7 (FORMERR, with an OPT)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(0, 0, 6), U16(65001), U16(40), 1, 2),
	 .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 1},
	{G_EDNS, "OPT RDLENGTH past the end", "RFC 1035 4.1.3; RFC 6891 7",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(0, 0, 50), U16(65001), U16(0)),
	 .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = ANY},
	{G_EDNS, "unknown EDNS option", "RFC 6891 6.1.2 (ignored)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(0, 0, 8), U16(65001), U16(4), 1, 2, 3, 4),
	 .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 1},
	{G_EDNS, "COOKIE option of 7 bytes", "RFC 7873 5.2.2 (FORMERR, with an OPT)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(0, 0, 11), U16(10), U16(7), 1, 2, 3, 4, 5, 6, 7),
	 .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 1},
	{G_EDNS, "payload size 100 (counts as 512)", "RFC 6891 6.2.5",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), 0, U16(41), U16(100), 0, 0, U16(0), U16(0)),
	 .rcode = RC_NOERROR, .aa = 1, .an = 1, .opt = 1},
	{G_EDNS, "DO bit", "RFC 3225 3 (DO copied)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), OPT(0, 0x8000, 0)), .rcode = RC_NOERROR, .aa = 1,
	 .an = 1, .opt = 1, .do_bit = 1},
	{G_EDNS, "QDCOUNT 0 with an OPT and no cookie", "RFC 7873 5.4; RFC 9619 (FORMERR)",
	 PKT(HDR(STD, 0, 0, 0, 1), OPT(0, 0, 0)), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = ANY},

	/* ---- transfers, TSIG, NOTIFY (the client is in --transfer-allow) ---- */
	{G_XFR, "IXFR over UDP without the SOA in authority", "RFC 1995 3 (FORMERR)",
	 PKT(HDR(STD, 1, 0, 0, 0), XQ(251)), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "IXFR over UDP with an A record as authority", "RFC 1995 3 (FORMERR)",
	 PKT(HDR(STD, 1, 0, 1, 0), XQ(251), A_RR), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_XFR, "IXFR with an answer section", "RFC 1995 3 (FORMERR)",
	 PKT(HDR(STD, 1, 1, 1, 0), XQ(251), SOA_RR(1), SOA_RR(1)), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "IXFR with an SOA past the end", "RFC 1035 4.1.3 (FORMERR)",
	 PKT(HDR(STD, 1, 0, 1, 0), XQ(251), 0xc0, 0x0c, U16(6), U16(1), 0, 0, 0, 60, U16(22),
	     0xc0, 0x0c), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "IXFR over UDP from an unknown serial: the zone, which fits",
	 "RFC 1995 2, 4 (SOA, NS, NS, www A, SOA)",
	 PKT(HDR(STD, 1, 0, 1, 0), XQ(251), SOA_RR(1)), .rcode = RC_NOERROR, .aa = 1, .an = 5,
	 .opt = 0},
	{G_XFR, "IXFR for a name below the apex", "RFC 5936 2.2.1 (NOTAUTH)",
	 PKT(HDR(STD, 1, 0, 1, 0), WWW, U16(251), U16(1), SOA_RR(1)), .rcode = RC_NOTAUTH,
	 .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "AXFR over UDP", "RFC 5936 4.2 (not over UDP); design: NOTIMP",
	 PKT(HDR(STD, 1, 0, 0, 0), XQ(252)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "AXFR in class CH", "RFC 5936 (class IN only here)",
	 PKT(HDR(STD, 1, 0, 0, 0), APEX, U16(252), U16(3)), .rcode = RC_REFUSED, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_XFR, "AXFR signed with a key the server does not have", "RFC 8945 5.2.1 (BADKEY)",
	 PKT(HDR(STD, 1, 0, 0, 1), XQ(252), TSIG_RR), .rcode = RC_NOTAUTH, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_XFR, "query signed with a key the server does not have", "RFC 8945 5.2.1 (BADKEY)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), TSIG_RR), .rcode = RC_NOTAUTH, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_XFR, "TSIG before the OPT", "RFC 8945 5.1 (TSIG must be last: FORMERR)",
	 PKT(HDR(STD, 1, 0, 0, 2), QIN(1), TSIG_RR, OPT(0, 0, 0)), .rcode = RC_FORMERR,
	 .aa = ANY, .an = 0, .opt = ANY},
	{G_XFR, "TSIG in the answer section", "RFC 8945 5.1 (FORMERR)",
	 PKT(HDR(STD, 1, 1, 0, 0), QIN(1), TSIG_RR), .rcode = RC_FORMERR, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_XFR, "two TSIG records", "RFC 8945 5.1 (FORMERR)",
	 PKT(HDR(STD, 1, 0, 0, 2), QIN(1), TSIG_RR, TSIG_RR), .rcode = RC_FORMERR, .aa = ANY,
	 .an = 0, .opt = 0},
	{G_XFR, "TSIG with RDATA cut short", "RFC 8945 5.1 (FORMERR)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), 3, 'k', 'e', 'y', 0, U16(250), U16(255), 0, 0, 0, 0,
	     U16(5), 1, 'x', 0, 0, 0), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "TSIG in class IN", "RFC 8945 4.2 (CLASS must be ANY: FORMERR)",
	 PKT(HDR(STD, 1, 0, 0, 1), QIN(1), 3, 'k', 'e', 'y', 0, U16(250), U16(1), 0, 0, 0, 0,
	     U16(61), TSIG_RDATA), .rcode = RC_FORMERR, .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "NOTIFY for the zone (we are the primary)", "RFC 1996 (NOTIMP from a primary)",
	 PKT(HDR(OP(4), 1, 1, 0, 0), XQ(6), SOA_RR(7)), .rcode = RC_NOTIMP, .aa = ANY, .an = 0,
	 .opt = 0},
	{G_XFR, "NOTIFY with an SOA past the end", "RFC 1996; RFC 1035 4.1.3",
	 PKT(HDR(OP(4), 1, 1, 0, 0), XQ(6), 0xc0, 0x0c, U16(6), U16(1), 0, 0, 0, 60, U16(22)),
	 .rcode = RC_NOTIMP, .aa = ANY, .an = 0, .opt = 0},
	{G_XFR, "NOTIFY signed with a key the server does not have", "RFC 1996; DESIGN §9",
	 PKT(HDR(OP(4), 1, 0, 0, 1), XQ(6), TSIG_RR), .rcode = RC_NOTIMP, .aa = ANY, .an = 0,
	 .opt = 0},
};

/* ---- reading a response ---- */

struct resp {
	uint16_t id, flags, qd, an, ns, ar;
	size_t qlen;        /* bytes of the question section */
	bool opt;
	uint8_t ext_rcode;
	bool do_bit;
	int a_count;        /* A records 192.0.2.1 in the answer section */
};

/* Skip a (possibly compressed) name; -1 if malformed. */
static int skip_name(const uint8_t *p, size_t len, size_t *pos)
{
	for (int guard = 0; guard < 128; guard++) {
		uint8_t l;

		if (*pos >= len)
			return -1;
		l = p[*pos];
		if ((l & 0xc0) == 0xc0) {
			if (len - *pos < 2)
				return -1;
			*pos += 2;
			return 0;
		}
		if (l & 0xc0)
			return -1;
		*pos += 1u + l;
		if (l == 0)
			return 0;
	}
	return -1;
}

static int parse_resp(const uint8_t *p, size_t len, struct resp *r)
{
	size_t pos = 12;
	unsigned counts[3];

	memset(r, 0, sizeof(*r));
	if (len < 12)
		return -1;
	r->id = (uint16_t)(p[0] << 8 | p[1]);
	r->flags = (uint16_t)(p[2] << 8 | p[3]);
	r->qd = (uint16_t)(p[4] << 8 | p[5]);
	r->an = (uint16_t)(p[6] << 8 | p[7]);
	r->ns = (uint16_t)(p[8] << 8 | p[9]);
	r->ar = (uint16_t)(p[10] << 8 | p[11]);
	for (unsigned i = 0; i < r->qd; i++) {
		if (skip_name(p, len, &pos) < 0 || len - pos < 4)
			return -1;
		pos += 4;
	}
	r->qlen = pos - 12;
	counts[0] = r->an;
	counts[1] = r->ns;
	counts[2] = r->ar;
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			uint16_t type, rdlen;

			if (skip_name(p, len, &pos) < 0 || len - pos < 10)
				return -1;
			type = (uint16_t)(p[pos] << 8 | p[pos + 1]);
			rdlen = (uint16_t)(p[pos + 8] << 8 | p[pos + 9]);
			if (len - pos - 10 < rdlen)
				return -1;
			if (s == 0 && type == 1 && rdlen == 4 &&
			    memcmp(p + pos + 10, (const uint8_t[]){192, 0, 2, 1}, 4) == 0)
				r->a_count++;
			if (type == 41) {
				if (s != 2 || r->opt)
					return -1;
				r->opt = true;
				r->ext_rcode = p[pos + 4];
				r->do_bit = p[pos + 6] & 0x80;
			}
			pos += 10u + rdlen;
		}
	}
	return pos == len ? 0 : -1;
}

/* ---- sending ---- */

static int open_socket(uint16_t port)
{
	int fd = sys_connect(sys_addr(), port, SOCK_DGRAM);

	cr_assert_geq(fd, 0, "no client socket to %s port %u", sys_addr(), port);
	return fd;
}

/* The normal query: www.example.test A, RD, with id. */
static size_t normal_query(uint8_t *out, uint16_t id)
{
	const uint8_t q[] = {U16(id), STD, 0, 1, 0, 0, 0, 0, 0, 0, QIN(1)};

	memcpy(out, q, sizeof(q));
	return sizeof(q);
}

/* The exact answer to the normal query: one A 192.0.2.1, AA, NOERROR. */
static bool normal_ok(const uint8_t *q, size_t qlen, const uint8_t *p, size_t len,
		      char *why, size_t cap)
{
	struct resp r;

	if (parse_resp(p, len, &r) < 0) {
		snprintf(why, cap, "unparsable (%zu bytes)", len);
		return false;
	}
	if ((r.flags & 0xff8f) != (F_QR | F_AA | F_RD) || r.qd != 1 || r.an != 1 ||
	    r.ns != 0 || r.ar != 0 || r.a_count != 1 || r.qlen != qlen - 12 ||
	    memcmp(p + 12, q + 12, r.qlen) != 0) {
		snprintf(why, cap, "flags %04x counts %u/%u/%u/%u A %d", r.flags, r.qd, r.an,
			 r.ns, r.ar, r.a_count);
		return false;
	}
	return true;
}

/* Wait up to ms for a datagram on fd; its length or -1. */
static ssize_t recv_wait(int fd, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recv(fd, buf, cap, 0);
}

/* The QTYPE of a one-question query, or -1. */
static int query_type(const uint8_t *q, size_t qlen)
{
	size_t pos = 12;

	if (qlen < 12 || q[4] != 0 || q[5] != 1 || skip_name(q, qlen, &pos) < 0 ||
	    qlen - pos < 4)
		return -1;
	return q[pos] << 8 | q[pos + 1];
}

/* Check the response to row r (query q[0..qlen)); false with a message. */
static bool row_ok(const struct row *r, const uint8_t *q, size_t qlen, const uint8_t *p,
		   size_t len, char *why, size_t cap)
{
	struct resp s;
	uint16_t qflags = (uint16_t)(q[2] << 8 | q[3]);
	int rcode;

	if (r->rcode == DROP) {
		snprintf(why, cap, "answered (%zu bytes, flags %02x%02x) instead of dropped",
			 len, len > 3 ? p[2] : 0, len > 3 ? p[3] : 0);
		return false;
	}
	if (parse_resp(p, len, &s) < 0) {
		snprintf(why, cap, "unparsable response of %zu bytes", len);
		return false;
	}
	rcode = (s.ext_rcode << 4) | (s.flags & 0x000f);
	if (rcode != r->rcode) {
		snprintf(why, cap, "RCODE %d, want %d", rcode, r->rcode);
		return false;
	}
	if (!(s.flags & F_QR) || s.id != HOSTILE_ID ||
	    (s.flags & 0x7800) != (qflags & 0x7800) || (s.flags & F_RD) != (qflags & F_RD)) {
		snprintf(why, cap, "header: id %04x flags %04x (query flags %04x)", s.id, s.flags,
			 qflags);
		return false;
	}
	/* RA, AD, Z clear; CD copied from the query (RFC 4035 3.1.6). */
	if ((s.flags & (F_RA | F_Z | F_AD | F_TC)) || (s.flags & F_CD) != (qflags & F_CD)) {
		snprintf(why, cap, "RA/Z/AD/TC set or CD not copied: flags %04x", s.flags);
		return false;
	}
	if (r->aa != ANY && !!(s.flags & F_AA) != r->aa) {
		snprintf(why, cap, "AA %d, want %d", !!(s.flags & F_AA), r->aa);
		return false;
	}
	if (r->an != ANY && s.an != r->an) {
		snprintf(why, cap, "ANCOUNT %u, want %d", s.an, r->an);
		return false;
	}
	if (r->an == 1 && query_type(q, qlen) == 1 && s.a_count != 1) {
		snprintf(why, cap, "the answer is not A 192.0.2.1");
		return false;
	}
	if (r->opt != ANY && s.opt != r->opt) {
		snprintf(why, cap, "OPT %s, want %s", s.opt ? "present" : "absent",
			 r->opt ? "present" : "absent");
		return false;
	}
	if (r->do_bit != ANY && s.opt && s.do_bit != r->do_bit) {
		snprintf(why, cap, "DO %d, want %d", s.do_bit, r->do_bit);
		return false;
	}
	/* A question in the response is the query's, byte for byte. */
	if (s.qd == 1 && (s.qlen > qlen - 12 || memcmp(p + 12, q + 12, s.qlen) != 0)) {
		snprintf(why, cap, "question not echoed");
		return false;
	}
	if (s.qd > 1) {
		snprintf(why, cap, "QDCOUNT %u in the response", s.qd);
		return false;
	}
	return true;
}

/*
 * Send row r then the normal query from one socket. Returns true if both
 * behaved; *why tells what went wrong otherwise.
 */
static bool run_row(uint16_t port, const struct row *r, uint16_t check_id, char *why,
		    size_t cap)
{
	static uint8_t q[65535];
	uint8_t nq[64], buf[65536];
	size_t qlen, nqlen;
	bool got_hostile = false, got_normal = false, ok = true;
	int fd = open_socket(port);
	int64_t end;

	if (r->build)
		qlen = r->build(q, sizeof(q));
	else {
		cr_assert_leq(r->len, sizeof(q));
		memcpy(q, r->pkt, r->len);
		qlen = r->len;
	}
	nqlen = normal_query(nq, check_id);
	cr_assert_eq(send(fd, q, qlen, 0), (ssize_t)qlen, "send: %s", strerror(errno));
	cr_assert_eq(send(fd, nq, nqlen, 0), (ssize_t)nqlen);
	why[0] = '\0';
	for (end = sys_now_ms() + 3000;;) {
		int left = (int)(end - sys_now_ms());
		ssize_t n = left > 0 ? recv_wait(fd, buf, sizeof(buf), left) : -1;

		if (n < 0) {
			if (got_normal)
				snprintf(why, cap, "no answer, want RCODE %d", r->rcode);
			else
				snprintf(why, cap, "%s", got_hostile ?
					 "the normal query after it got no answer" :
					 "neither it nor the normal query after it was answered");
			ok = false;
			break;
		}
		if (n >= 2 && buf[0] == (check_id >> 8) && buf[1] == (check_id & 0xff)) {
			char nwhy[128];

			if (!normal_ok(nq, nqlen, buf, (size_t)n, nwhy, sizeof(nwhy))) {
				snprintf(why, cap, "the normal query after it: %s", nwhy);
				ok = false;
				break;
			}
			got_normal = true;
			/* Over XDP (sysutil.h) a query longer than the MTU
			 * goes in IP fragments, which pass to the kernel
			 * (DESIGN §14.2): its answer can come after the
			 * normal query's, which took the short way. */
			if (got_hostile || r->rcode == DROP)
				break;
			continue;
		}
		if (got_hostile) {
			snprintf(why, cap, "a second answer to it");
			ok = false;
			break;
		}
		got_hostile = true;
		if (!row_ok(r, q, qlen, buf, (size_t)n, why, cap))
			ok = false;
		if (got_normal)
			break;
	}
	close(fd);
	return ok;
}

static void run_group(enum group g)
{
	struct sys_server s;
	unsigned n = 0, bad = 0;

	cr_assert_eq(sys_server_start(&s, hostile_args), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char why[256];

		if (rows[i].group != g)
			continue;
		n++;
		if (!run_row(s.port, &rows[i], (uint16_t)(0x1000 + i), why, sizeof(why))) {
			bad++;
			cr_expect_fail("row %zu \"%s\" [%s]: %s", i, rows[i].what, rows[i].rfc,
				       why);
		}
	}
	cr_assert_gt(n, 0);
	/* The server (every process of it) is still there. */
	cr_expect_neq(kill(s.pid, 0), -1, "the supervisor died");
	cr_expect_eq(sys_server_stop(&s), 0, "unclean stop after %u rows", n);
	fprintf(stderr, "hostile group %d: %u rows, %u failed\n", (int)g, n, bad);
}

Test(hostile, table_has_enough_rows)
{
	/* The issue asks for at least 50 adversarial packets. */
	cr_assert_geq(sizeof(rows) / sizeof(rows[0]), 50);
}

Test(hostile, header_and_size, .timeout = 60)
{
	run_group(G_HEADER);
}

Test(hostile, every_opcode, .timeout = 60)
{
	run_group(G_OPCODE);
}

Test(hostile, names_and_compression, .timeout = 60)
{
	run_group(G_NAME);
}

Test(hostile, counts_that_lie, .timeout = 60)
{
	run_group(G_COUNT);
}

Test(hostile, classes_and_types, .timeout = 60)
{
	run_group(G_CLASS_TYPE);
}

Test(hostile, flags, .timeout = 60)
{
	run_group(G_FLAGS);
}

Test(hostile, edns, .timeout = 60)
{
	run_group(G_EDNS);
}

Test(hostile, transfers_tsig_notify, .timeout = 60)
{
	run_group(G_XFR);
}
