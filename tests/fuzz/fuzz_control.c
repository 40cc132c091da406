/*
 * Fuzz target: bytes -> the control socket's parsers (control_proto.c):
 * as one request line (control_req_parse), as a state file of override
 * records (control_records_each), and the name and address of a request
 * looked up in the fixture's configuration (control_lookup).
 *
 * What must hold: a request that parses formats back to a line that
 * parses to the same request; a record that parses formats back to the
 * same line's content; a lookup that succeeds names an entry of the
 * configuration and, with an address, an index of one of its addresses.
 */
#include "fuzz.h"

#include <string.h>

#include "ahd.h"
#include "control.h"
#include "health.h"

static struct config fuzz_control_cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	if (fuzz_fixture_config(&fuzz_control_cfg) < 0)
		fuzz_fail(__FILE__, __LINE__, "the fixture configuration does not parse");
	return 0;
}

static void fuzz_control_request(const uint8_t *data, size_t size)
{
	struct control_req rq, back;
	char line[CONTROL_LINE_MAX + 2], err[300];
	size_t e = SIZE_MAX, idx = SIZE_MAX;
	int n;

	if (control_req_parse((const char *)data, size, &rq, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	n = control_req_format(&rq, line, sizeof(line));
	FUZZ_CHECK(n > 0 && line[n - 1] == '\n');
	FUZZ_CHECK(control_req_parse(line, (size_t)n - 1, &back, err, sizeof(err)) == 0);
	FUZZ_CHECK(memcmp(&rq, &back, sizeof(rq)) == 0);
	if (rq.verb == CONTROL_STATUS || rq.verb == CONTROL_STATUS_JSON)
		return;
	if (control_lookup(&fuzz_control_cfg, rq.name, rq.addr, &e, &idx, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(e < fuzz_control_cfg.n_entries);
	if (rq.addr[0] != '\0') {
		const struct config_entry *ent = &fuzz_control_cfg.entries[e];

		FUZZ_CHECK(idx >= health_index(&fuzz_control_cfg, e, 0) &&
			   idx < health_index(&fuzz_control_cfg, e, 0) + ent->n_addrs);
	}
}

static void fuzz_control_record(const struct control_record *r, void *arg)
{
	struct control_record back;
	char buf[CONTROL_LINE_MAX * 2];
	size_t len = 0;

	AHD_UNUSED(arg);
	FUZZ_CHECK(control_record_format(r, buf, sizeof(buf), &len) == 0);
	FUZZ_CHECK(len > 0 && buf[len - 1] == '\n');
	FUZZ_CHECK(control_record_parse(buf, len - 1, &back) == 0);
	FUZZ_CHECK(memcmp(r, &back, sizeof(back)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_control_request(data, size);
	(void)control_records_each((const char *)data, size, fuzz_control_record, NULL);
	return 0;
}
