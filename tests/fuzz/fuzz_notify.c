/*
 * Fuzz target: bytes -> the notifier's two parsers (notify_msg.c): as an
 * answer to our NOTIFY of the fixture's hosted zone (notify_msg_ack), and
 * as the SOA answer a NOTIFY is built from (notify_msg_build, into a
 * buffer of exactly the input's size so ASan sees a write past it).
 *
 * What must hold: an input taken for an answer has our ID, QR, opcode
 * NOTIFY and our question, and OK means RCODE 0; ldns, where it parses
 * the input, agrees. A NOTIFY built from an input is the input's question
 * and first RR behind a NOTIFY header (AA, opcode 4, counts 1/1/0/0), no
 * longer than the input, its serial the last 20 bytes' first four; ldns,
 * where it parses the result, reads a NOTIFY with one SOA of that serial.
 */
#include "fuzz.h"

#include <string.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "answer.h"
#include "notify.h"

#define FUZZ_NOTIFY_ID 0x5a17

static const uint8_t fuzz_notify_apex[] = "\7example\3com";
/* The header and the question: example.com SOA IN. */
#define FUZZ_NOTIFY_QEND (12 + sizeof(fuzz_notify_apex) + 4)

static struct config fuzz_notify_cfg;
static uint8_t fuzz_notify_req[NOTIFY_MSG_MAX];
static size_t fuzz_notify_req_len;

/* Our NOTIFY of example.com, built as the notifier builds it. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct zimg *z;
	uint8_t q[512], ans[4096];
	enum answer_kind kind;
	uint32_t serial;
	size_t qlen, alen;

	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	if (fuzz_fixture_config(&fuzz_notify_cfg) < 0 ||
	    (z = fuzz_fixture_image(&fuzz_notify_cfg)) == NULL)
		fuzz_fail(__FILE__, __LINE__, "the fixture image cannot be built");
	qlen = notify_msg_soa_query(fuzz_notify_apex, sizeof(fuzz_notify_apex), q, sizeof(q));
	alen = answer_query(z, q, qlen, ANSWER_TCP, ans, sizeof(ans), &kind);
	fuzz_notify_req_len = notify_msg_build(ans, alen, fuzz_notify_req,
					       sizeof(fuzz_notify_req), &serial);
	zimg_close(z);
	if (fuzz_notify_req_len == 0)
		fuzz_fail(__FILE__, __LINE__, "no NOTIFY of the fixture");
	notify_msg_set_id(fuzz_notify_req, FUZZ_NOTIFY_ID);
	fuzz_quiet_stderr();
	return 0;
}

static uint32_t fuzz_notify_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void fuzz_notify_ack(const uint8_t *data, size_t size)
{
	enum notify_ack a;
	ldns_pkt *p = NULL;
	int rcode = -1;

	a = notify_msg_ack(data, size, fuzz_notify_req, fuzz_notify_req_len, &rcode);
	if (a == NOTIFY_ACK_NONE)
		return;
	FUZZ_CHECK(size >= FUZZ_NOTIFY_QEND);
	for (size_t i = 12; i < FUZZ_NOTIFY_QEND; i++) {
		uint8_t c = data[i] >= 'A' && data[i] <= 'Z' ? (uint8_t)(data[i] + 32) : data[i];

		FUZZ_CHECK(c == fuzz_notify_req[i]);
	}
	FUZZ_CHECK(data[0] == (FUZZ_NOTIFY_ID >> 8) && data[1] == (FUZZ_NOTIFY_ID & 0xff));
	FUZZ_CHECK((data[2] & 0x80) && ((data[2] >> 3) & 0xf) == NOTIFY_OPCODE);
	FUZZ_CHECK(rcode == (data[3] & 0xf));
	FUZZ_CHECK((a == NOTIFY_ACK_OK) == (rcode == 0));
	if (ldns_wire2pkt(&p, data, size) != LDNS_STATUS_OK)
		return;
	FUZZ_CHECK(ldns_pkt_id(p) == FUZZ_NOTIFY_ID);
	FUZZ_CHECK(ldns_pkt_qr(p) && ldns_pkt_get_opcode(p) == LDNS_PACKET_NOTIFY);
	FUZZ_CHECK(ldns_pkt_qdcount(p) == 1);
	FUZZ_CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)) ==
		   LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);
}

static void fuzz_notify_build(const uint8_t *data, size_t size)
{
	uint8_t *out = malloc(size > 0 ? size : 1);
	uint32_t serial = 0;
	size_t n;
	ldns_pkt *p = NULL;

	FUZZ_CHECK(out != NULL);
	n = notify_msg_build(data, size, out, size, &serial);
	if (n == 0) {
		free(out);
		return;
	}
	/* Header, a question of at least the root, an SOA whose owner is at
	 * least one byte (the root, or a 2-byte pointer) and whose RDATA is
	 * at least two root names and the five numbers. */
	FUZZ_CHECK(n <= size && n >= 12 + 1 + 4 + 1 + 10 + 22);
	FUZZ_CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0x24 && out[3] == 0);
	FUZZ_CHECK(out[4] == 0 && out[5] == 1 && out[6] == 0 && out[7] == 1);
	FUZZ_CHECK(out[8] == 0 && out[9] == 0 && out[10] == 0 && out[11] == 0);
	FUZZ_CHECK(memcmp(out + 12, data + 12, n - 12) == 0);
	FUZZ_CHECK(serial == fuzz_notify_u32(out + n - 20));
	if (ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK) {
		const ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);

		FUZZ_CHECK(ldns_pkt_get_opcode(p) == LDNS_PACKET_NOTIFY && ldns_pkt_aa(p));
		FUZZ_CHECK(!ldns_pkt_qr(p) && ldns_pkt_ancount(p) == 1);
		FUZZ_CHECK(soa != NULL && ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
		if (ldns_rr_rd_count(soa) == 7)
			FUZZ_CHECK(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) == serial);
		ldns_pkt_free(p);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_notify_ack(data, size);
	fuzz_notify_build(data, size);
	return 0;
}
