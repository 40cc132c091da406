/*
 * The notifier (DESIGN §9.5): NOTIFY (RFC 1996) to every --notify
 * secondary for every zone on every new serial, resent with back-off
 * until acknowledged. One UDP socket per family on an ephemeral port; the
 * image is read like a worker reads it (the SOA comes from the query
 * core, so a NOTIFY carries exactly the SOA the workers serve).
 */
#include "notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "clock.h"
#include "config.h"
#include "dname.h"
#include "log.h"
#include "proc.h"
#include "stats.h"
#include "tsig.h"
#include "zimg.h"

/* RFC 8945 section 3: the RCODE of every TSIG error answer. */
#define NOTIFY_RCODE_NOTAUTH 9

static volatile sig_atomic_t notify_stop;

static void notify_on_signal(int sig)
{
	AHD_UNUSED(sig);
	notify_stop = 1;
}

enum notify_state {
	NOTIFY_IDLE = 0, /* nothing sent yet */
	NOTIFY_PENDING,  /* sent, waiting for the acknowledgement */
	NOTIFY_ACKED,
	NOTIFY_GAVE_UP,  /* no ack after the last retry, or an error answer */
};

/* One zone's NOTIFY to one secondary. */
struct notify_pair {
	enum notify_state state;
	uint32_t serial;
	uint16_t id;
	unsigned sends;   /* of this serial */
	unsigned backoff; /* sends since the last ack: a publish that
			   * replaces a pending NOTIFY continues its back-off */
	int64_t due_ms;   /* the next send, or the give-up (monotonic) */
	int64_t first_ms; /* the first send of the back-off */
	/* Every send of a serial is signed with the time of the first, so
	 * each resend is the same message with the same MAC, and an ack of
	 * any of them verifies against the one kept here (the resends span
	 * under a minute of the 300 s fudge). */
	uint64_t signed_at;
	struct tsig_ctx tsig;
};

/* One zone and its NOTIFY of the serial last seen (ID 0, unsigned): one
 * copy however many secondaries, each send sets its ID and signs. */
struct notify_zone {
	char name[AHD_MAX_NAME_TEXT + 1];
	uint8_t apex[AHD_MAX_NAME_WIRE];
	size_t apex_len;
	uint32_t serial;
	bool have;
	uint8_t msg[NOTIFY_MSG_MAX];
	size_t len;
};

struct notify_sec {
	const struct config_notify *cfg;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	bool failing; /* warned; an ack of everything says so at info */
};

struct notifier {
	const struct config *cfg;
	struct zimg *z;
	struct stats *st;
	int fd[2]; /* AF_INET, AF_INET6; -1: none of that family */
	struct notify_zone *zones;
	size_t n_zones;
	struct notify_sec *secs;
	size_t n_secs;
	struct notify_pair *pairs; /* [sec * n_zones + zone] */
	uint64_t gen;
	bool signed_msgs; /* a TSIG key: every NOTIFY carries it */
	bool tsig_failed; /* said so once */
};

static struct notify_pair *notify_pair(struct notifier *n, size_t sec, size_t zone)
{
	return &n->pairs[sec * n->n_zones + zone];
}

static int notify_family_slot(int family)
{
	return family == AF_INET6 ? 1 : 0;
}


static int notify_socket(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static void notify_sockaddr(struct notify_sec *s, const struct config_notify *c)
{
	memset(&s->sa, 0, sizeof(s->sa));
	s->cfg = c;
	if (c->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->sa;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(c->port);
		memcpy(&a->sin6_addr, c->addr, 16);
		s->sa_len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&s->sa;

		a->sin_family = AF_INET;
		a->sin_port = htons(c->port);
		memcpy(&a->sin_addr, c->addr, 4);
		s->sa_len = sizeof(*a);
	}
}

/* The zones, the secondaries, their sockets. */
static int notify_setup(struct notifier *n)
{
	const struct config *cfg = n->cfg;
	bool tried[2] = { false, false };

	n->n_zones = 1 + cfg->n_alias_zones;
	n->n_secs = cfg->n_notify < CONFIG_NOTIFY_MAX ? cfg->n_notify : CONFIG_NOTIFY_MAX;
	n->zones = calloc(n->n_zones, sizeof(*n->zones));
	n->secs = calloc(n->n_secs + 1, sizeof(*n->secs));
	n->pairs = calloc(n->n_zones * n->n_secs + 1, sizeof(*n->pairs));
	if (n->zones == NULL || n->secs == NULL || n->pairs == NULL) {
		log_error("notifier: out of memory");
		return -1;
	}
	for (size_t z = 0; z < n->n_zones; z++) {
		struct notify_zone *zn = &n->zones[z];
		const char *name = z == 0 ? cfg->hosted_zone : cfg->alias_zones[z - 1];
		int len = dname_from_text(name, zn->apex, sizeof(zn->apex));

		if (len <= 0) {
			log_error("notifier: zone '%s' is not a name", name);
			return -1;
		}
		zn->apex_len = (size_t)len;
		snprintf(zn->name, sizeof(zn->name), "%s", name);
	}
	for (size_t i = 0; i < n->n_secs; i++) {
		const struct config_notify *c = &cfg->notify[i];
		int f = notify_family_slot(c->family);

		notify_sockaddr(&n->secs[i], c);
		if (n->fd[f] >= 0 || tried[f])
			continue;
		tried[f] = true;
		n->fd[f] = notify_socket(c->family);
		/* A host without IPv6 still notifies its IPv4 secondaries;
		 * exiting would only restart into the same failure. */
		if (n->fd[f] < 0)
			log_error("notifier: no UDP socket for the %s secondaries (%s first): %s; "
				  "they are not notified", f ? "IPv6" : "IPv4", c->text,
				  strerror(errno));
	}
	n->signed_msgs = cfg->tsig.alg != TSIG_ALG_NONE;
	return 0;
}

static void notify_free(struct notifier *n)
{
	for (int f = 0; f < 2; f++) {
		if (n->fd[f] >= 0)
			close(n->fd[f]);
	}
	free(n->zones);
	free(n->secs);
	free(n->pairs);
}

/* The wait after the k-th send (k >= 1) of a back-off. */
static int64_t notify_backoff_ms(unsigned k)
{
	int64_t ms = NOTIFY_BACKOFF_MIN_MS;

	while (k > 1 && ms < NOTIFY_BACKOFF_MAX_MS) {
		ms *= 2;
		k--;
	}
	return ms < NOTIFY_BACKOFF_MAX_MS ? ms : NOTIFY_BACKOFF_MAX_MS;
}

static uint16_t notify_new_id(uint16_t old)
{
	uint16_t id;

	do
		id = (uint16_t)arc4random_uniform(65536);
	while (id == old);
	return id;
}

/* The worst of a secondary's zones, for its status line. */
static unsigned notify_sec_retries(struct notifier *n, size_t sec)
{
	unsigned r = 0;

	for (size_t z = 0; z < n->n_zones; z++) {
		const struct notify_pair *p = notify_pair(n, sec, z);

		if (p->sends > 1 && p->sends - 1 > r)
			r = p->sends - 1;
	}
	return r;
}

/* The zone's NOTIFY as p sends it: its ID, signed when there is a key.
 * 0 if it cannot be signed. */
static size_t notify_pair_msg(struct notifier *n, size_t sec, size_t zone, uint8_t *out)
{
	const struct notify_zone *zn = &n->zones[zone];
	struct notify_pair *p = notify_pair(n, sec, zone);
	size_t len = zn->len;

	memcpy(out, zn->msg, len);
	notify_msg_set_id(out, p->id);
	if (!n->signed_msgs)
		return len;
	tsig_ctx_init(&p->tsig, &n->cfg->tsig, NULL);
	if (tsig_sign(&p->tsig, out, &len, NOTIFY_MSG_MAX, p->signed_at))
		return len;
	if (!n->tsig_failed)
		log_error("notifier: cannot sign the NOTIFY for %s with the TSIG key; not sent",
			  zn->name);
	n->tsig_failed = true;
	return 0;
}

/* Send (or resend) p to sec; the next step is due after the back-off. */
static void notify_send(struct notifier *n, size_t sec, size_t zone, int64_t now)
{
	struct notify_sec *s = &n->secs[sec];
	struct notify_pair *p = notify_pair(n, sec, zone);
	int fd = n->fd[notify_family_slot(s->cfg->family)];
	uint8_t msg[NOTIFY_MSG_MAX];
	size_t len = fd >= 0 ? notify_pair_msg(n, sec, zone, msg) : 0;

	/* No socket of its family (notify_setup), or no signature. */
	if (len == 0) {
		p->state = NOTIFY_IDLE;
		return;
	}
	p->sends++;
	if (p->backoff++ == 0)
		p->first_ms = now;
	p->due_ms = now + notify_backoff_ms(p->backoff);
	/* A refused or unreachable send counts as one that got no answer:
	 * the back-off and the give-up treat both alike, and nothing is
	 * logged per packet. */
	if (sendto(fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&s->sa, s->sa_len) < 0)
		log_debug("notifier: NOTIFY %s to %s: %s", n->zones[zone].name, s->cfg->text,
			  strerror(errno));
	if (p->sends > 1)
		stats_notify_resent(n->st, sec, notify_sec_retries(n, sec));
	else if (zone == 0)
		stats_notify_sent(n->st, sec, p->serial, (int64_t)time(NULL));
}

/* The NOTIFY of a new serial of zone replaces whatever sec had pending
 * for it (RFC 1996 section 3.6 lets a newer serial supersede an
 * unacknowledged one): a new ID, sent now. */
static void notify_replace(struct notifier *n, size_t sec, size_t zone, uint32_t serial,
			   int64_t now)
{
	struct notify_pair *p = notify_pair(n, sec, zone);

	if (p->state != NOTIFY_PENDING)
		p->backoff = 0;
	p->state = NOTIFY_PENDING;
	p->serial = serial;
	p->sends = 0;
	p->id = notify_new_id(p->id);
	p->signed_at = (uint64_t)time(NULL);
	notify_send(n, sec, zone, now);
}

/* The zone's NOTIFY from the SOA the workers serve now; 0 if none. */
static size_t notify_zone_msg(struct notifier *n, size_t zone, uint8_t *msg, uint32_t *serial)
{
	const struct notify_zone *zn = &n->zones[zone];
	uint8_t q[NOTIFY_MSG_MAX], ans[4096];
	enum answer_kind kind;
	size_t qlen = notify_msg_soa_query(zn->apex, zn->apex_len, q, sizeof(q));
	size_t alen = qlen ? answer_query(n->z, q, qlen, ANSWER_TCP, ans, sizeof(ans), &kind) : 0;
	size_t room = NOTIFY_MSG_MAX - (n->signed_msgs ? tsig_space(&n->cfg->tsig) : 0);

	if (alen == 0 || kind != ANSWER_NOERROR)
		return 0;
	return notify_msg_build(ans, alen, msg, room, serial);
}

/* A publish: every zone whose serial moved is notified to everyone. */
static void notify_round(struct notifier *n, int64_t now)
{
	for (size_t z = 0; z < n->n_zones; z++) {
		struct notify_zone *zn = &n->zones[z];
		uint8_t msg[NOTIFY_MSG_MAX];
		uint32_t serial = 0;
		size_t len = notify_zone_msg(n, z, msg, &serial);

		if (len == 0) {
			log_warning("notifier: no SOA for %s in the image; not notified", zn->name);
			continue;
		}
		if (zn->have && zn->serial == serial)
			continue;
		zn->have = true;
		zn->serial = serial;
		memcpy(zn->msg, msg, len);
		zn->len = len;
		log_debug("notifier: serial %u of %s to %zu secondaries", serial, zn->name,
			  n->n_secs);
		for (size_t s = 0; s < n->n_secs; s++)
			notify_replace(n, s, z, serial, now);
	}
}

/* The first of sec's zones to give up says so, once until it recovers. */
static void notify_gave_up(struct notifier *n, size_t sec, size_t zone, int rcode, int64_t now)
{
	struct notify_sec *s = &n->secs[sec];
	struct notify_pair *p = notify_pair(n, sec, zone);
	unsigned sends = p->backoff;

	p->state = NOTIFY_GAVE_UP;
	p->backoff = 0;
	stats_notify_failed(n->st, sec, rcode);
	if (s->failing)
		return;
	s->failing = true;
	if (rcode < 0)
		log_warning("secondary %s: no acknowledgement of NOTIFY for %s serial %u: %u sent "
			    "over %lld s; trying again at the next publish", s->cfg->text,
			    n->zones[zone].name, p->serial, sends,
			    (long long)((now - p->first_ms) / 1000));
	else
		log_warning("secondary %s answered NOTIFY for %s serial %u with RCODE %d%s; "
			    "trying again at the next publish", s->cfg->text,
			    n->zones[zone].name, p->serial, rcode,
			    rcode == NOTIFY_RCODE_NOTAUTH ? " (NOTAUTH: it does not accept our "
							    "TSIG key, or expects one)" : "");
}

/* Resends and give-ups that are due; the earliest next one in *next. */
static void notify_due(struct notifier *n, int64_t now, int64_t *next)
{
	for (size_t s = 0; s < n->n_secs; s++) {
		for (size_t z = 0; z < n->n_zones; z++) {
			struct notify_pair *p = notify_pair(n, s, z);

			if (p->state != NOTIFY_PENDING)
				continue;
			if (p->due_ms <= now) {
				if (p->backoff > NOTIFY_RETRIES)
					notify_gave_up(n, s, z, -1, now);
				else
					notify_send(n, s, z, now);
			}
			if (p->state == NOTIFY_PENDING && p->due_ms < *next)
				*next = p->due_ms;
		}
	}
}

/* An ack of zone's NOTIFY from sec; every zone acknowledged: the
 * secondary is. */
static void notify_acked(struct notifier *n, size_t sec, size_t zone)
{
	struct notify_sec *s = &n->secs[sec];
	struct notify_pair *p = notify_pair(n, sec, zone);

	p->state = NOTIFY_ACKED;
	p->backoff = 0;
	for (size_t z = 0; z < n->n_zones; z++) {
		if (notify_pair(n, sec, z)->state != NOTIFY_ACKED)
			return;
	}
	stats_notify_acked(n->st, sec, notify_pair(n, sec, 0)->serial, (int64_t)time(NULL));
	if (s->failing)
		log_info("secondary %s acknowledged NOTIFY for serial %u again", s->cfg->text,
			 notify_pair(n, sec, 0)->serial);
	s->failing = false;
}

static bool notify_from(const struct notify_sec *s, const struct sockaddr_storage *from)
{
	if (from->ss_family != s->sa.ss_family)
		return false;
	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&s->sa;

		return a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
	}
	const struct sockaddr_in *a = (const void *)from, *b = (const void *)&s->sa;

	return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* One datagram: the answer to which NOTIFY, if any. Answers to a NOTIFY
 * that gave up still count: a late ack is an ack. */
static void notify_answer(struct notifier *n, const uint8_t *m, size_t len,
			  const struct sockaddr_storage *from)
{
	uint8_t req[NOTIFY_MSG_MAX];

	for (size_t s = 0; s < n->n_secs; s++) {
		if (!notify_from(&n->secs[s], from))
			continue;
		for (size_t z = 0; z < n->n_zones; z++) {
			struct notify_pair *p = notify_pair(n, s, z);
			int rcode;
			enum notify_ack a;

			if (p->state != NOTIFY_PENDING && p->state != NOTIFY_GAVE_UP)
				continue;
			memcpy(req, n->zones[z].msg, n->zones[z].len);
			notify_msg_set_id(req, p->id);
			a = notify_msg_ack(m, len, req, n->zones[z].len, &rcode);
			if (a == NOTIFY_ACK_NONE)
				continue;
			/* An unverifiable answer is dropped (RFC 8945 section
			 * 5.3.2), unless it is the NOTAUTH that a secondary
			 * with another key sends, unsigned: then resending
			 * cannot help and the operator must hear of it. */
			if (n->signed_msgs &&
			    tsig_verify_response(&p->tsig, m, len, (uint64_t)time(NULL)) != 0 &&
			    !(a == NOTIFY_ACK_ERROR && rcode == NOTIFY_RCODE_NOTAUTH)) {
				log_debug("notifier: an answer from %s fails TSIG; ignored",
					  n->secs[s].cfg->text);
				return;
			}
			if (a == NOTIFY_ACK_OK)
				notify_acked(n, s, z);
			else if (p->state == NOTIFY_PENDING)
				notify_gave_up(n, s, z, rcode, clock_now_ms());
			return;
		}
	}
}

static void notify_read(struct notifier *n, int fd)
{
	uint8_t buf[4096];

	for (;;) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &flen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return;
		notify_answer(n, buf, (size_t)r, &from);
	}
}

/* Until next (monotonic ms) or an answer or a signal. */
static void notify_wait(struct notifier *n, int64_t next, const sigset_t *mask)
{
	struct pollfd pfd[2];
	struct timespec ts;
	int64_t left = next - clock_now_ms();
	nfds_t k = 0;

	for (int f = 0; f < 2; f++) {
		if (n->fd[f] >= 0)
			pfd[k++] = (struct pollfd){ .fd = n->fd[f], .events = POLLIN };
	}
	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)(left / 1000);
	ts.tv_nsec = (long)(left % 1000) * 1000000L;
	if (ppoll(pfd, k, &ts, mask) <= 0)
		return;
	for (nfds_t i = 0; i < k; i++) {
		if (pfd[i].revents & POLLIN)
			notify_read(n, pfd[i].fd);
	}
}

int notify_main(const struct config *cfg, struct zimg *z, struct stats *st)
{
	struct notifier n = { .cfg = cfg, .z = z, .st = st, .fd = { -1, -1 } };
	sigset_t mask;
	size_t listed;

	if (proc_stop_signals(notify_on_signal, &mask) < 0) {
		log_error("notifier: signals: %s", strerror(errno));
		return 1;
	}
	if (notify_setup(&n) < 0) {
		notify_free(&n);
		return 1;
	}
	listed = stats_notify_begin(st, cfg);
	log_info("notifier: %zu secondaries (%zu in status), %zu zones%s", n.n_secs, listed,
		 n.n_zones, n.signed_msgs ? ", TSIG-signed" : "");
	/* No generation is UINT64_MAX: the first look notifies the serial
	 * served now, which a secondary may have missed while we were
	 * down. */
	n.gen = UINT64_MAX;
	while (!notify_stop) {
		int64_t now = clock_now_ms(), next = now + NOTIFY_WATCH_MS;
		uint64_t gen = zimg_generation(z);

		if (gen != n.gen) {
			n.gen = gen;
			notify_round(&n, now);
		}
		notify_due(&n, now, &next);
		notify_wait(&n, next, &mask);
	}
	log_info("notifier: stopping");
	notify_free(&n);
	return 0;
}
