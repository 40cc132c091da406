/*
 * The dump subcommand (admin.h): the active zone image in master-file
 * format. It reads one consistent copy of the image (zimg_copy_active),
 * never the shared slots themselves, and checks every offset of the copy
 * before it follows it.
 */
#include "admin.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "ahd.h"
#include "config.h"
#include "dname.h"
#include "log.h"
#include "shm.h"
#include "zimg.h"
#include "zimg_format.h"

static bool admin_dump_in(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

/* Print count RR bodies at bodies[0..len) with owner owner, their n_ptrs
 * apex placeholders (listed after them) pointed at the owner: only apex
 * RRsets have any. ldns wants pointers past a message header, so the RR
 * is parsed behind 12 zero bytes. */
static int admin_dump_bodies(FILE *out, const uint8_t *owner, size_t owner_len,
			    const uint8_t *bodies, size_t len, unsigned count, unsigned n_ptrs)
{
	uint8_t rr[12 + AHD_MAX_NAME_WIRE + 10 + 65535];
	size_t off = 0;
	unsigned k = 0;

	memset(rr, 0, 12);
	for (unsigned i = 0; i < count; i++) {
		size_t body, pos = 12;
		ldns_rr *one = NULL;

		if (len - off < 10)
			return -1;
		body = 10 + (((size_t)bodies[off + 8] << 8) | bodies[off + 9]);
		if (body > len - off)
			return -1;
		memcpy(rr + 12, owner, owner_len);
		memcpy(rr + 12 + owner_len, bodies + off, body);
		if (!zimg_patch_apex_ptrs(bodies + len, n_ptrs, &k, off, body,
					  rr + 12 + owner_len, 0xc000 | 12))
			return -1;
		if (ldns_wire2rr(&one, rr, 12 + owner_len + body, &pos, LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK)
			return -1;
		ldns_rr_print(out, one);
		ldns_rr_free(one);
		off += body;
	}
	return k == n_ptrs ? 0 : -1;
}

static int admin_dump_one(FILE *out, const uint8_t *sl, size_t len, const struct zimg_zone *zn,
			 uint32_t serial)
{
	uint8_t apex[AHD_MAX_NAME_WIRE];
	char text[AHD_MAX_NAME_TEXT + 8];
	const struct zimg_name *names;

	if (zn->apex_len == 0 || zn->apex_len > AHD_MAX_NAME_WIRE ||
	    !admin_dump_in(len, zn->apex_off, zn->apex_len) ||
	    !admin_dump_in(len, zn->names_off, (uint64_t)zn->n_names * sizeof(struct zimg_name)) ||
	    zn->names_off % ZIMG_ALIGN != 0)
		return -1;
	memcpy(apex, sl + zn->apex_off, zn->apex_len);
	if (dname_check(apex, zn->apex_len) < 0 ||
	    dname_to_text(apex, zn->apex_len, text, sizeof(text)) < 0)
		return -1;
	fprintf(out, "; zone %s serial %u\n", text, (unsigned)serial);
	names = (const struct zimg_name *)(sl + zn->names_off);
	for (uint32_t i = 0; i < zn->n_names; i++) {
		const struct zimg_name *nm = &names[i];
		const struct zimg_rrset *rs;
		uint8_t owner[AHD_MAX_NAME_WIRE];
		size_t owner_len;

		if (!admin_dump_in(len, nm->key_off, nm->key_len) ||
		    !admin_dump_in(len, nm->rrsets_off,
			     (uint64_t)nm->n_rrsets * sizeof(struct zimg_rrset)) ||
		    (nm->n_rrsets && nm->rrsets_off % ZIMG_ALIGN != 0))
			return -1;
		owner_len = nm->key_len == 0
				    ? zn->apex_len
				    : dname_from_key(sl + nm->key_off, nm->key_len, apex, zn->apex_len,
						 owner);
		if (nm->key_len == 0)
			memcpy(owner, apex, zn->apex_len);
		if (owner_len == 0)
			return -1;
		rs = (const struct zimg_rrset *)(sl + nm->rrsets_off);
		for (uint32_t j = 0; j < nm->n_rrsets; j++) {
			if (!admin_dump_in(len, rs[j].rrs_off, (uint64_t)rs[j].rrs_len + 2u * rs[j].n_ptrs) ||
			    !admin_dump_in(len, rs[j].sigs_off, rs[j].sigs_len))
				return -1;
			if (admin_dump_bodies(out, owner, owner_len, sl + rs[j].rrs_off,
					     rs[j].rrs_len, rs[j].count, rs[j].n_ptrs) < 0 ||
			    admin_dump_bodies(out, owner, owner_len, sl + rs[j].sigs_off,
					     rs[j].sigs_len, rs[j].sig_count, 0) < 0)
				return -1;
		}
	}
	return 0;
}

/* zone == SIZE_MAX: every zone. */
static int admin_dump_zones(const struct zimg *z, size_t zone, FILE *out)
{
	size_t len = 0;
	uint8_t *sl = zimg_copy_active(z, &len);
	struct zimg_slot hdr;
	int rc = 0;

	if (!sl)
		return -1;
	memcpy(&hdr, sl, sizeof(hdr));
	if (!admin_dump_in(len, hdr.zones_off, (uint64_t)hdr.n_zones * sizeof(struct zimg_zone)) ||
	    hdr.zones_off % ZIMG_ALIGN != 0 || (zone != SIZE_MAX && zone >= hdr.n_zones)) {
		free(sl);
		return -1;
	}
	for (size_t i = 0; i < hdr.n_zones && rc == 0; i++) {
		const struct zimg_zone *zn =
			(const struct zimg_zone *)(sl + hdr.zones_off) + i;

		if (zone == SIZE_MAX || zone == i)
			rc = admin_dump_one(out, sl, len, zn, hdr.serial);
	}
	free(sl);
	return rc;
}

int admin_dump_image(const struct zimg *z, FILE *out)
{
	return admin_dump_zones(z, SIZE_MAX, out);
}

int admin_dump_zone(const struct zimg *z, size_t zone, FILE *out)
{
	return admin_dump_zones(z, zone, out);
}

/* The index of the zone whose apex is name in z, or -1. Zones are only
 * known by their dumps' "; zone <apex>." header lines. */
static long admin_dump_find_zone(const struct zimg *z, const char *name)
{
	char want[AHD_MAX_NAME_TEXT + 16];
	size_t n = strlen(name);

	if (n == 0 || n > AHD_MAX_NAME_TEXT)
		return -1;
	/* Compare as "; zone <apex> " (admin_dump_zone's header: no trailing
	 * dot), lower case; the user may give the dot. */
	if (name[n - 1] == '.')
		n--;
	snprintf(want, sizeof(want), "; zone %.*s ", (int)n, name);
	for (char *p = want; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; i < 4096; i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		int rc;
		bool match;

		if (f == NULL)
			return -1;
		rc = admin_dump_zone(z, i, f);
		fclose(f);
		match = rc == 0 && buf != NULL && strncmp(buf, want, strlen(want)) == 0;
		free(buf);
		if (rc < 0)
			return -1;
		if (match)
			return (long)i;
	}
	return -1;
}

/* The image in shm, read-only, or NULL (one line logged). */
static struct zimg *admin_dump_open(const char *shm)
{
	char why[SHM_WHY_MAX];
	int fd = shm_open_trusted(shm, why, sizeof(why));
	struct zimg *z;

	if (fd < 0 && errno == EPERM) {
		log_startup_error("dump: refusing to read shared memory %s: %s", shm, why);
		return NULL;
	}
	/* zimg_map's own message would be a second line. */
	log_init("dump", AHD_LOG_CRITICAL);
	z = fd >= 0 ? zimg_map(fd, false) : NULL;
	if (fd >= 0)
		close(fd); /* the mapping stays */
	if (z == NULL)
		log_startup_error("dump: no zone image in shared memory %s (is a server "
				  "running with that --port or --shm-name?)",
				  shm);
	return z;
}

/*
 * a-healthy-dns dump [--port N | --shm-name NAME] [--zone APEX]: the
 * live zone image in master-file format, from shared memory, read-only
 * (the object is mode 0644: no privilege needed, but its name is
 * predictable, so shm_open_trusted checks who made it). --zone prints
 * one zone, the form dnssec-verify reads.
 */
int admin_dump_main(int argc, char **argv)
{
	const char *shm = getenv("AHDNS_SHM_NAME");
	const char *port_text = getenv("AHDNS_PORT");
	const char *zone = NULL;
	char name[256];
	struct zimg *z;
	unsigned port = CONFIG_DEFAULT_PORT;
	int rc;

	for (int i = 2; i < argc; i += 2) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--help") == 0) {
			printf("usage: %s dump [--port N | --shm-name NAME] [--zone APEX]\n",
			       AHD_NAME);
			return 0;
		}
		if (val == NULL) {
			log_startup_error("dump: %s: missing value", argv[i]);
			return 1;
		}
		if (strcmp(argv[i], "--port") == 0) {
			port_text = val;
			shm = NULL;
		} else if (strcmp(argv[i], "--shm-name") == 0) {
			shm = val;
		} else if (strcmp(argv[i], "--zone") == 0) {
			zone = val;
		} else {
			log_startup_error("dump: %s: unknown flag (--port, --shm-name, --zone)",
					  argv[i]);
			return 1;
		}
	}
	if (port_text != NULL && shm == NULL && admin_parse_port(port_text, &port) < 0) {
		log_startup_error("dump: --port: '%s' is not a port number (1-65535)", port_text);
		return 1;
	}
	if (shm == NULL) {
		snprintf(name, sizeof(name), "/%s.%u", AHD_NAME, port);
		shm = name;
	}
	z = admin_dump_open(shm);
	if (z == NULL)
		return 1;
	if (zone != NULL) {
		long idx = admin_dump_find_zone(z, zone);

		if (idx < 0) {
			zimg_close(z);
			log_startup_error("dump: --zone: '%s' is not a zone of the server at %s",
					  zone, shm);
			return 1;
		}
		rc = admin_dump_zone(z, (size_t)idx, stdout);
	} else {
		rc = admin_dump_image(z, stdout);
	}
	zimg_close(z);
	if (rc < 0) {
		log_startup_error("dump: the image in %s does not check out", shm);
		return 1;
	}
	if (fflush(stdout) != 0) {
		log_startup_error("dump: writing the output: %s", strerror(errno));
		return 1;
	}
	return 0;
}
