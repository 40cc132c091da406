#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ahd.h"
#include "answer.h"
#include "config.h"
#include "shm.h"
#include "zimg.h"
#include "zimg_format.h"

/* A small zone: example.com, www static, api health-checked (2 addrs). */
static struct config cfg;
static struct config_entry entries[2];
static struct config_addr addrs[2][2];
static char *ns[] = { "ns1.example.com", "ns2.example.com" };
static char shm_name[64];

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(entries, 0, sizeof(entries));
	cfg.hosted_zone = "example.com";
	cfg.ns = ns;
	cfg.n_ns = 2;
	cfg.test_min_interval = 30;
	cfg.test_timeout = 2;
	cfg.entries = entries;
	cfg.n_entries = 2;
	cfg.n_addrs_total = 3;
	entries[0] = (struct config_entry){ .name = "www", .addrs = addrs[0], .n_addrs = 1,
					    .first_addr = 0, .ttl = -1, .rise = 1, .fall = 1 };
	entries[1] = (struct config_entry){ .name = "api", .addrs = addrs[1], .n_addrs = 2,
					    .first_addr = 1, .check = CONFIG_CHECK_TCP,
					    .health_port = 80, .ttl = -1, .rise = 1, .fall = 1 };
	addrs[0][0].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", addrs[0][0].addr);
	addrs[1][0].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", addrs[1][0].addr);
	addrs[1][1].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.11", addrs[1][1].addr);
	snprintf(shm_name, sizeof(shm_name), "/ahd-test-zimg.%ld", (long)getpid());
}

static void teardown(void)
{
	shm_unlink(shm_name);
}

TestSuite(zimg, .init = setup, .fini = teardown);

/* The last byte of the first A record of name, or -1 / -rcode. */
static int ask_a(const struct zimg *z, const char *label)
{
	uint8_t q[64], r[512];
	size_t n = 12, len;
	enum answer_kind k;

	memset(q, 0, 12);
	q[5] = 1;
	q[n++] = (uint8_t)strlen(label);
	memcpy(q + n, label, strlen(label));
	n += strlen(label);
	memcpy(q + n, "\7example\3com\0\0\1\0\1", 17);
	n += 17;
	len = answer_query(z, q, n, ANSWER_UDP, r, sizeof(r), &k);
	if (len < 12)
		return -100;
	if ((r[3] & 0x0f) != 0 || r[7] == 0)
		return -(r[3] & 0x0f) - 1;
	return r[len - 1];
}

/* What dump does: the trusted open by name, then a read-only mapping. */
static struct zimg *open_by_name(const char *name)
{
	char why[SHM_WHY_MAX];
	int fd = shm_open_trusted(name, why, sizeof(why));
	struct zimg *z;

	if (fd < 0)
		return NULL;
	z = zimg_map(fd, false);
	close(fd);
	return z;
}

Test(zimg, create_map_publish_in_shm)
{
	int ro = -1;
	struct zimg *w = zimg_create(shm_name, &cfg, &ro);
	struct zimg *r, *r2;
	struct stat st;
	bool pub[3] = { false, true, false };

	cr_assert_not_null(w);
	/* inherited by children: no close-on-exec */
	cr_assert_eq(fcntl(ro, F_GETFD) & FD_CLOEXEC, 0);
	cr_assert_eq(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
	cr_assert_eq(fstat(ro, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	/* the first image (static only) is there at once */
	cr_assert_eq(zimg_generation(w), 1);
	r = zimg_map(ro, false);
	cr_assert_not_null(r);
	cr_assert_eq(ask_a(r, "www"), 1);
	cr_assert_eq(ask_a(r, "api"), -4); /* NXDOMAIN: nothing checked yet */
	/* a read-only mapping cannot publish */
	cr_assert_eq(zimg_publish(r, &cfg, pub, NULL), -1);

	cr_assert_eq(zimg_publish(w, &cfg, pub, NULL), 0);
	cr_assert_eq(zimg_generation(r), 2);
	cr_assert_eq(ask_a(r, "api"), 10);
	pub[1] = false;
	pub[2] = true;
	cr_assert_eq(zimg_publish(w, &cfg, pub, NULL), 0);
	cr_assert_eq(ask_a(r, "api"), 11);
	cr_assert_eq(zimg_serial(r), zimg_serial(w));

	/* opened by name, as dump does, it is the same image */
	r2 = open_by_name(shm_name);
	cr_assert_not_null(r2);
	cr_assert_eq(ask_a(r2, "api"), 11);
	cr_assert_eq(zimg_generation(r2), 3);
	zimg_close(r2);
	zimg_close(r);
	zimg_close(w);
	close(ro);
	cr_assert_eq(zimg_unlink(shm_name), 0);
	cr_assert_null(open_by_name(shm_name));
	cr_assert_eq(zimg_unlink(shm_name), 0); /* already gone: fine */
}

Test(zimg, create_replaces_a_stale_object)
{
	int fd = shm_open(shm_name, O_CREAT | O_RDWR, 0600);
	int ro;
	struct zimg *w;

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	close(fd);
	w = zimg_create(shm_name, &cfg, &ro);
	int rw = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0); /* a writer's own mapping */
	cr_assert_not_null(w);
	cr_assert_eq(ask_a(w, "www"), 1);
	zimg_close(w);
	close(rw);
	close(ro);
}

Test(zimg, next_serial_rfc1982)
{
	cr_assert_eq(zimg_next_serial(100, 200), 200);
	cr_assert_eq(zimg_next_serial(200, 200), 201);
	cr_assert_eq(zimg_next_serial(300, 200), 301);
	cr_assert_eq(zimg_next_serial(0xffffffffu, 5), 5);       /* 5 is after 2^32-1 */
	cr_assert_eq(zimg_next_serial(0xffffffffu, 0xfffffff0u), 0); /* wraps to 0 */
	cr_assert_eq(zimg_next_serial(0xfffffff0u, 0x10), 0x10);
	cr_assert_eq(zimg_next_serial(10, 10 + 0x80000000u), 11); /* undefined: +1 */
	cr_assert_eq(zimg_next_serial(10, 9 + 0x80000000u), 9 + 0x80000000u);
}

static bool serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

Test(zimg, serial_strictly_increases_across_fast_publishes)
{
	struct zimg *z = zimg_new_mem(&cfg);
	uint32_t prev = 0, s = 0;

	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish(z, &cfg, NULL, &prev), 0);
	for (int i = 0; i < 2000; i++) {
		cr_assert_eq(zimg_publish(z, &cfg, NULL, &s), 0);
		cr_assert(serial_gt(s, prev), "%u after %u", s, prev);
		cr_assert_eq(zimg_serial(z), s);
		prev = s;
	}
	cr_assert_eq(zimg_generation(z), 2001);
	zimg_close(z);
}

Test(zimg, serial_wraps_around_2_32)
{
	struct zimg *z = zimg_new_mem(&cfg);
	uint32_t s = 0;

	/* clock stuck at 0xfffffff0 with the image already ahead of it */
	cr_assert_eq(zimg_publish_at(z, &cfg, NULL, 0xfffffffdu, &s), 0);
	cr_assert_eq(s, 0xfffffffdu);
	cr_assert_eq(zimg_publish_at(z, &cfg, NULL, 0xfffffff0u, &s), 0);
	cr_assert_eq(s, 0xfffffffeu);
	cr_assert_eq(zimg_publish_at(z, &cfg, NULL, 0xfffffff0u, &s), 0);
	cr_assert_eq(s, 0xffffffffu);
	cr_assert_eq(zimg_publish_at(z, &cfg, NULL, 0xfffffff0u, &s), 0);
	cr_assert_eq(s, 0);
	cr_assert_eq(zimg_publish_at(z, &cfg, NULL, 0xfffffff0u, &s), 0);
	cr_assert_eq(s, 1);
	/* the clock catches up past the wrap */
	cr_assert_eq(zimg_publish_at(z, &cfg, NULL, 1000, &s), 0);
	cr_assert_eq(s, 1000);
	cr_assert_eq(zimg_serial(z), 1000);
	zimg_close(z);
}

Test(zimg, restarted_writer_continues_the_serial)
{
	int ro;
	struct zimg *w = zimg_create(shm_name, &cfg, &ro);
	int rw = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0); /* a writer's own mapping */
	struct zimg *w2;
	uint32_t s0, s1, s2;

	cr_assert_not_null(w);
	s0 = zimg_serial(w);
	cr_assert_eq(zimg_publish_at(w, &cfg, NULL, s0 + 1000, &s1), 0);
	cr_assert_eq(s1, s0 + 1000);
	w2 = zimg_map(rw, true); /* a new prober, its clock behind the image */
	cr_assert_not_null(w2);
	cr_assert_eq(zimg_publish_at(w2, &cfg, NULL, s0 + 10, &s2), 0);
	cr_assert_eq(s2, s0 + 1001);
	cr_assert_eq(zimg_publish_at(w2, &cfg, NULL, s0 + 2000, &s2), 0);
	cr_assert_eq(s2, s0 + 2000);
	zimg_close(w2);
	zimg_close(w);
	close(rw);
	close(ro);
}

/* Write a copy of a valid object with one header field changed. */
static int corrupt_copy(const char *name, size_t field_off, const void *val, size_t len,
			off_t size_delta)
{
	int ro, fd;
	struct zimg *w = zimg_create(shm_name, &cfg, &ro);
	int rw = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0); /* a writer's own mapping */
	struct stat st;
	void *src, *dst;

	cr_assert_not_null(w);
	fstat(rw, &st);
	shm_unlink(name);
	fd = shm_open(name, O_CREAT | O_RDWR, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, st.st_size + size_delta), 0);
	src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, rw, 0);
	dst = mmap(NULL, (size_t)(st.st_size + size_delta), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memcpy(dst, src, (size_t)(size_delta < 0 ? st.st_size + size_delta : st.st_size));
	if (len)
		memcpy((uint8_t *)dst + field_off, val, len);
	munmap(src, (size_t)st.st_size);
	munmap(dst, (size_t)(st.st_size + size_delta));
	zimg_close(w);
	close(rw);
	close(ro);
	return fd;
}

Test(zimg, map_refuses_corrupted_headers)
{
	char name[80];
	uint32_t bad32 = 0xdeadbeef;
	uint64_t bad64;
	int fd;
	struct zimg *z;

	snprintf(name, sizeof(name), "%s.c", shm_name);
	/* the unchanged copy is accepted: the checks below test one thing each */
	fd = corrupt_copy(name, 0, NULL, 0, 0);
	z = zimg_map(fd, false);
	cr_assert_not_null(z);
	cr_assert_eq(ask_a(z, "www"), 1);
	zimg_close(z);
	close(fd);

	fd = corrupt_copy(name, offsetof(struct zimg_header, magic), &bad32, 4, 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	bad32 = ZIMG_VERSION + 1;
	fd = corrupt_copy(name, offsetof(struct zimg_header, version), &bad32, 4, 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	bad64 = 1u << 20;
	fd = corrupt_copy(name, offsetof(struct zimg_header, slot_size), &bad64, 8, 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	bad64 = 1u << 30;
	fd = corrupt_copy(name, offsetof(struct zimg_header, total_size), &bad64, 8, 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	bad64 = 64;
	fd = corrupt_copy(name, offsetof(struct zimg_header, slot_off), &bad64, 8, 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	bad64 = 0;
	fd = corrupt_copy(name, offsetof(struct zimg_header, slot_off) + 8, &bad64, 8, 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	bad32 = 64;
	fd = corrupt_copy(name, offsetof(struct zimg_header, header_size), &bad32, 4, 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	/* header fine, object shorter or longer than it says */
	fd = corrupt_copy(name, 0, NULL, 0, -4096);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	fd = corrupt_copy(name, 0, NULL, 0, 4096);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	/* too short for a header at all */
	fd = shm_open(name, O_RDWR, 0);
	cr_assert_eq(ftruncate(fd, 16), 0);
	cr_assert_null(zimg_map(fd, false));
	close(fd);
	shm_unlink(name);
}

/* One writer flipping api between .10 and .11 as fast as it can; readers
 * must only ever see one of the two complete images. */
static atomic_bool stop;

static void *writer(void *arg)
{
	struct zimg *z = arg;
	bool pub[3] = { false, true, false };

	while (!atomic_load(&stop)) {
		pub[1] = !pub[1];
		pub[2] = !pub[2];
		if (zimg_publish(z, &cfg, pub, NULL) < 0)
			break;
	}
	return NULL;
}

Test(zimg, concurrent_publish_never_shows_a_torn_zone, .timeout = 60)
{
	int ro;
	struct zimg *w = zimg_create(shm_name, &cfg, &ro);
	int rw = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0); /* a writer's own mapping */
	struct zimg *r = zimg_map(ro, false);
	pthread_t t;
	unsigned seen10 = 0, seen11 = 0;
	uint64_t gen0;

	cr_assert_not_null(r);
	{
		bool pub[3] = { false, true, false };

		cr_assert_eq(zimg_publish(w, &cfg, pub, NULL), 0);
	}
	gen0 = zimg_generation(r);
	atomic_store(&stop, false);
	cr_assert_eq(pthread_create(&t, NULL, writer, w), 0);
	for (int i = 0; i < 200000; i++) {
		int a = ask_a(r, "api");

		cr_assert(a == 10 || a == 11, "answer %d", a);
		seen10 += a == 10;
		seen11 += a == 11;
		if (i % 1000 == 0)
			cr_assert_eq(ask_a(r, "www"), 1);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	cr_assert_gt(zimg_generation(r), gen0 + 10);
	cr_assert_gt(seen10 + seen11, 0);
	zimg_close(r);
	zimg_close(w);
	close(rw);
	close(ro);
}

Test(zimg, slot_size_bound_holds_the_worst_case)
{
	/* every address published, many names: publish must fit */
	static struct config_entry big[300];
	static struct config_addr ba[300][8];
	static char names[300][80];
	static bool pub[2400];
	struct zimg *z;

	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d.a%d.b%d.c", i, i % 7, i % 3);
		big[i] = (struct config_entry){ .name = names[i], .addrs = ba[i], .n_addrs = 8,
						.first_addr = (size_t)i * 8, .ttl = -1,
						.check = CONFIG_CHECK_TCP, .rise = 1, .fall = 1 };
		for (int j = 0; j < 8; j++) {
			ba[i][j].family = j % 2 ? AF_INET6 : AF_INET;
			ba[i][j].addr[0] = (uint8_t)i;
			ba[i][j].addr[1] = (uint8_t)(i >> 8);
			ba[i][j].addr[3] = (uint8_t)j;
		}
	}
	memset(pub, 1, sizeof(pub));
	cfg.entries = big;
	cfg.n_entries = 300;
	cfg.n_addrs_total = 2400;
	z = zimg_new_mem(&cfg);
	cr_assert_not_null(z);
	cr_assert_eq(zimg_publish(z, &cfg, pub, NULL), 0);
	cr_assert_eq(ask_a(z, "c"), -1); /* ENT c.example.com: NODATA */
	zimg_close(z);
}
