/*
 * The query core alone, for profilers: builds the benchmark zone in plain
 * memory (zimg_new_mem, the same image a worker maps from shm), then
 * answers the benchmark's query mix ITERATIONS times with answer_query,
 * exactly as a worker does for each UDP packet. No sockets, no syscalls
 * in the loop, so `valgrind --tool=callgrind --toggle-collect=answer_query`
 * gives instructions per query and perf gives cycles per query.
 *
 * Usage: answer_loop RESOLUTIONS_JSON_FILE QUERY_FILE ITERATIONS
 *   the files are the ones tests/perf/lib.sh renders (perf_render);
 *   QUERY_FILE has dnsperf's format, "name TYPE" per line.
 * Prints ns per query and the count of each answer kind (so a broken
 * image shows up as SERVFAIL or REFUSED instead of as a fast run).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "zimg.h"

#define LOOP_MAX_QUERIES 100000
#define LOOP_QUERY_MAX 300

struct loop_query {
	uint8_t wire[LOOP_QUERY_MAX];
	size_t len;
};

static const struct {
	const char *name;
	uint16_t type;
} loop_types[] = {
	{ "A", 1 }, { "NS", 2 }, { "SOA", 6 }, { "MX", 15 }, { "TXT", 16 },
	{ "AAAA", 28 }, { "ANY", 255 },
};

static char *loop_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long size;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf != NULL && fread(buf, 1, (size_t)size, f) == (size_t)size) {
			buf[size] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* "name TYPE" -> a standard query with RD set, like dnsperf's. */
static int loop_encode(struct loop_query *q, const char *name, const char *type, uint16_t id)
{
	size_t n = 12;
	uint16_t t = 0;

	for (size_t i = 0; i < AHD_ARRAY_LEN(loop_types); i++) {
		if (strcasecmp(type, loop_types[i].name) == 0)
			t = loop_types[i].type;
	}
	if (t == 0)
		return -1;
	memset(q->wire, 0, 12);
	q->wire[0] = (uint8_t)(id >> 8);
	q->wire[1] = (uint8_t)id;
	q->wire[2] = 0x01; /* RD */
	q->wire[5] = 1;
	while (*name != '\0') {
		size_t len = strcspn(name, ".");

		if (len == 0 || len > AHD_MAX_LABEL || n + len + 1 + 5 > sizeof(q->wire))
			return -1;
		q->wire[n++] = (uint8_t)len;
		memcpy(q->wire + n, name, len);
		n += len;
		name += len;
		if (*name == '.')
			name++;
	}
	q->wire[n++] = 0;
	q->wire[n++] = (uint8_t)(t >> 8);
	q->wire[n++] = (uint8_t)t;
	q->wire[n++] = 0;
	q->wire[n++] = 1;
	q->len = n;
	return 0;
}

static struct loop_query *loop_read_queries(const char *path, size_t *count)
{
	FILE *f = fopen(path, "r");
	struct loop_query *qs;
	char line[512];
	size_t n = 0;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	qs = calloc(LOOP_MAX_QUERIES, sizeof(*qs));
	while (qs != NULL && n < LOOP_MAX_QUERIES && fgets(line, sizeof(line), f) != NULL) {
		char name[300], type[16];

		if (sscanf(line, "%299s %15s", name, type) != 2)
			continue;
		if (loop_encode(&qs[n], name, type, (uint16_t)n) < 0) {
			fprintf(stderr, "answer_loop: cannot encode \"%s %s\"\n", name, type);
			continue;
		}
		n++;
	}
	fclose(f);
	*count = n;
	return qs;
}

static const char *const loop_kind_names[ANSWER_KIND_COUNT] = {
	[ANSWER_DROP] = "drop", [ANSWER_NOERROR] = "noerror", [ANSWER_NODATA] = "nodata",
	[ANSWER_NXDOMAIN] = "nxdomain", [ANSWER_REFUSED] = "refused",
	[ANSWER_FORMERR] = "formerr", [ANSWER_NOTIMP] = "notimp",
	[ANSWER_SERVFAIL] = "servfail", [ANSWER_BADVERS] = "badvers",
};

int main(int argc, char **argv)
{
	struct config cfg;
	enum config_action action;
	struct zimg *z;
	struct loop_query *qs;
	uint64_t kinds[ANSWER_KIND_COUNT] = { 0 };
	uint8_t out[AHD_MAX_MSG];
	size_t nq = 0, bytes = 0;
	unsigned long iters;
	struct timespec t0, t1;
	char *json;
	char *env[] = { NULL };

	if (argc != 4) {
		fprintf(stderr, "usage: answer_loop RESOLUTIONS_JSON_FILE QUERY_FILE ITERATIONS\n");
		return 2;
	}
	iters = strtoul(argv[3], NULL, 10);
	json = loop_slurp(argv[1]);
	if (json == NULL)
		return 1;
	{
		char *cargv[] = { "answer_loop", "--hosted-zone", "bench.test", "--ns",
				  "[\"ns1.bench.test\",\"ns2.bench.test\"]",
				  "--zone-resolutions", json, "--log-level", "warning", NULL };

		memset(&cfg, 0, sizeof(cfg));
		if (config_parse(&cfg, (int)AHD_ARRAY_LEN(cargv) - 1, cargv, env, &action) < 0)
			return 1;
	}
	z = zimg_new_mem(&cfg);
	if (z == NULL || zimg_publish(z, &cfg, NULL, NULL) < 0) {
		fprintf(stderr, "answer_loop: cannot build the image\n");
		return 1;
	}
	qs = loop_read_queries(argv[2], &nq);
	if (qs == NULL || nq == 0) {
		fprintf(stderr, "answer_loop: no queries in %s\n", argv[2]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long it = 0; it < iters; it++) {
		for (size_t i = 0; i < nq; i++) {
			enum answer_kind k;

			bytes += answer_query(z, qs[i].wire, qs[i].len, ANSWER_UDP, out,
					      sizeof(out), &k);
			kinds[k]++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
		double total = (double)iters * (double)nq;

		printf("queries %.0f  ns/query %.1f  bytes/answer %.1f\n", total,
		       total > 0 ? ns / total : 0, total > 0 ? (double)bytes / total : 0);
	}
	for (size_t k = 0; k < ANSWER_KIND_COUNT; k++) {
		if (kinds[k] > 0)
			printf("  %s %llu\n", loop_kind_names[k], (unsigned long long)kinds[k]);
	}
	free(qs);
	zimg_close(z);
	config_free(&cfg);
	free(json);
	return 0;
}
