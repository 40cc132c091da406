/*
 * NOTIFY (RFC 1996) to the --notify secondaries, DESIGN §9.5.
 *
 * The notifier is a child of the supervisor, forked like the prober and
 * as unprivileged and sandboxed: it maps the image read-only, watches its
 * serial, and on every new serial sends each secondary a NOTIFY for the
 * hosted zone and every alias zone, resending with back-off until each
 * is acknowledged. The supervisor starts it only while there are
 * secondaries, and restarts it on a reload.
 *
 * The message code (notify_msg_*) is pure: bytes in, bytes out, no I/O,
 * no clock; the unit test and the process share it.
 */
#ifndef AHD_NOTIFY_H
#define AHD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahd.h"

struct config;
struct stats;
struct zimg;

#define NOTIFY_OPCODE 4
/* A header, the question, the SOA (two names of up to 255 bytes) and a
 * TSIG RR with a 255-byte key name and a 64-byte MAC, with room left. */
#define NOTIFY_MSG_MAX 1536
/* How often the notifier looks at the image's generation: a publish is
 * noticed within this, and an idle notifier wakes 40 times a second for
 * a load and a compare. */
#define NOTIFY_WATCH_MS 25
/* RFC 1996 section 3.6: resend until acknowledged, with back-off. The
 * first resend after 1 s, doubling to 16 s; NOTIFY_RETRIES resends, then
 * one more wait of NOTIFY_BACKOFF_MAX_MS before giving up until the next
 * publish (about 47 s in all). */
#define NOTIFY_BACKOFF_MIN_MS 1000
#define NOTIFY_BACKOFF_MAX_MS 16000
#define NOTIFY_RETRIES 5

/* The SOA query for apex (wire form, apex_len bytes) into out; its
 * length, or 0 if it does not fit. ID 0, no flags, no OPT. */
size_t notify_msg_soa_query(const uint8_t *apex, size_t apex_len, uint8_t *out, size_t cap);

/*
 * The NOTIFY for a zone from the answer to notify_msg_soa_query (ans[0..
 * len)): the same header with opcode NOTIFY, AA set, QR, RD and RCODE
 * clear, ID 0, the question byte for byte, and the answer's first RR
 * (the SOA, RFC 1996 section 3.7) whose compression pointers into the
 * question stay valid because the question sits where it sat. Writes it
 * to out and the SOA serial to *serial; returns its length, or 0 if ans
 * is not a NOERROR answer holding the apex SOA, or out is too small.
 */
size_t notify_msg_build(const uint8_t *ans, size_t len, uint8_t *out, size_t cap,
			uint32_t *serial);

/* Set a message's ID. */
void notify_msg_set_id(uint8_t *msg, uint16_t id);

enum notify_ack {
	NOTIFY_ACK_NONE = 0, /* not an answer to the request */
	NOTIFY_ACK_OK,       /* NOERROR: acknowledged */
	NOTIFY_ACK_ERROR,    /* an answer with another RCODE (*rcode) */
};

/*
 * Is resp[0..len) the answer to the NOTIFY req[0..req_len) (RFC 1996
 * section 4.7: QR set, opcode NOTIFY, the request's ID, one question
 * equal to the request's, names compared case-insensitively)? A TSIG on
 * it is the caller's to verify. Safe for any bytes.
 */
enum notify_ack notify_msg_ack(const uint8_t *resp, size_t len, const uint8_t *req,
			       size_t req_len, int *rcode);

/*
 * The notifier: run until SIGTERM/SIGINT. z is a read-only mapping of the
 * image, st the statistics (its secondaries' table). Returns the exit
 * status.
 */
int notify_main(const struct config *cfg, struct zimg *z, struct stats *st);

#endif
