#include "prober.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ahd.h"
#include "check.h"
#include "clock.h"
#include "control.h"
#include "dnssec.h"
#include "health.h"
#include "keyset.h"
#include "log.h"
#include "proc.h"
#include "stats.h"
#include "zimg.h"
#include "zsign.h"

/* check_run's wake-ups carry the heartbeat through a round. */
_Static_assert(CHECK_TICK_MS <= STATS_BEAT_MS, "check rounds beat often enough");

static volatile sig_atomic_t prober_stop;

/* What the supervisor hands the next prober for the control socket
 * (prober_control_set). */
static struct {
	int listen_fd, chan_fd;
	const char *saved;
	size_t saved_len;
} prober_ctl = { -1, -1, NULL, 0 };

void prober_control_set(int listen_fd, int chan_fd, const char *saved, size_t saved_len)
{
	prober_ctl.listen_fd = listen_fd;
	prober_ctl.chan_fd = chan_fd;
	prober_ctl.saved = saved;
	prober_ctl.saved_len = saved_len;
}

static void prober_on_signal(int sig)
{
	AHD_UNUSED(sig);
	prober_stop = 1;
}

static int prober_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prober_on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: epoll_wait and the sleep must return EINTR so the
	 * loop sees the flag at once. */
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static int64_t prober_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What an http or https check sends and expects. The TLS name is
 * tls_name, else an http_host that is a name; without one the address
 * is verified. */
static void prober_target_http(struct check_target *x, const struct config_entry *ent)
{
	x->http_host = ent->http_host;
	x->status = ent->http_status;
	x->n_status = ent->n_http_status;
	if (ent->check != CONFIG_CHECK_HTTPS)
		return;
	x->tls_ctx = check_tls_ctx(check_tls_installed(), ent);
	x->tls_name = ent->tls_name;
	if (x->tls_name == NULL && ent->http_host != NULL && strchr(ent->http_host, ':') == NULL &&
	    strspn(ent->http_host, "0123456789.") != strlen(ent->http_host))
		x->tls_name = ent->http_host;
}

/* One target per (address, health_port) of every health-checked entry. */
static struct check_target *prober_targets(const struct config *cfg, size_t *n_out)
{
	struct check_target *t;
	size_t n = 0, k = 0;

	for (size_t e = 0; e < cfg->n_entries; e++) {
		if (cfg->entries[e].check != CONFIG_CHECK_NONE)
			n += cfg->entries[e].n_addrs;
	}
	t = calloc(n + 1, sizeof(*t));
	if (t == NULL)
		return NULL;
	for (size_t e = 0; e < cfg->n_entries; e++) {
		const struct config_entry *ent = &cfg->entries[e];

		if (ent->check == CONFIG_CHECK_NONE)
			continue;
		for (size_t j = 0; j < ent->n_addrs; j++) {
			struct check_target *x = &t[k++];

			x->family = ent->addrs[j].family;
			memcpy(x->addr, ent->addrs[j].addr, sizeof(x->addr));
			x->port = ent->health_port;
			x->kind = ent->check;
			x->http_path = ent->http_path;
			x->user = health_index(cfg, e, j);
			prober_target_http(x, ent);
		}
	}
	*n_out = n;
	return t;
}

static void prober_log_transition(const struct config *cfg, const struct health_transition *tr,
				  const struct check_target *t)
{
	const struct config_entry *ent = &cfg->entries[tr->entry];
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(t->family, t->addr, text, sizeof(text)) == NULL)
		strcpy(text, "?");
	log_msg(tr->new_state == HEALTH_DOWN ? AHD_LOG_WARNING : AHD_LOG_INFO,
		"%s.%s %s port %u (%s): %s -> %s (%s)", ent->name, cfg->hosted_zone, text,
		(unsigned)t->port, config_check_name(ent->check),
		health_state_name(tr->old_state), health_state_name(tr->new_state), tr->reason);
}

/* Addresses that answer: static ones and health-checked ones that are UP. */
static size_t prober_count_up(const struct config *cfg, const struct health *h)
{
	size_t up = 0;

	for (size_t e = 0; e < cfg->n_entries; e++) {
		const struct config_entry *ent = &cfg->entries[e];

		for (size_t j = 0; j < ent->n_addrs; j++) {
			up += ent->check == CONFIG_CHECK_NONE ||
			      health_addr(h, health_index(cfg, e, j))->state == HEALTH_UP;
		}
	}
	return up;
}

static void prober_ready(int *ready_fd)
{
	char r = 'R';

	if (*ready_fd < 0)
		return;
	while (write(*ready_fd, &r, 1) < 0 && errno == EINTR)
		;
	close(*ready_fd);
	*ready_fd = -1;
}

int prober_load_key(const struct config *cfg, int key_fd, struct dnssec_key **key)
{
	const char *name = cfg->priv_key_path != NULL ? cfg->priv_key_path : "key fd";
	char *pem;
	size_t got = 0;

	*key = NULL;
	if (key_fd < 0) {
		if (cfg->priv_key_path == NULL)
			return 0;
		*key = dnssec_key_load(cfg->priv_key_path, cfg->priv_key_alg);
		return *key != NULL ? 0 : -1;
	}
	/* One byte more than the limit tells a too-large file apart. */
	pem = malloc(DNSSEC_PEM_MAX + 2);
	if (pem == NULL) {
		close(key_fd);
		log_error("prober: out of memory for the key");
		return -1;
	}
	for (;;) {
		ssize_t r = read(key_fd, pem + got, DNSSEC_PEM_MAX + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error("prober: reading the key from fd %d: %s", key_fd, strerror(errno));
			close(key_fd);
			dnssec_pem_free(pem, DNSSEC_PEM_MAX + 2);
			return -1;
		}
		if (r == 0 || got + (size_t)r > DNSSEC_PEM_MAX)
			break;
		got += (size_t)r;
	}
	close(key_fd);
	pem[got] = '\0';
	/* dnssec_key_load_mem refuses > DNSSEC_PEM_MAX with its message. */
	*key = dnssec_key_load_mem(pem, got, name, cfg->priv_key_alg);
	dnssec_pem_free(pem, DNSSEC_PEM_MAX + 2);
	return *key != NULL ? 0 : -1;
}

/* One prober's state, from set-up to exit. */
struct prober {
	const struct config *cfg;
	struct zimg *z;
	struct stats *stats;
	int ready_fd;
	struct keyset *keys; /* DESIGN §13 */
	struct zimg_signer *signer; /* the keys' */
	struct check_target *targets;
	size_t n_targets;
	struct health *h;
	struct control *ctl;
	bool first_done; /* the first round is published: overrides publish at once */
	bool need_publish;
	uint32_t serial_now; /* what the workers serve */
	unsigned timeout_ms;
	uint32_t slow_us;
	bool cpu_warned; /* prober_cpu_warn said the rounds lack CPU */
};

static void prober_free(struct prober *p)
{
	if (p->ready_fd >= 0)
		close(p->ready_fd);
	for (size_t i = 0; p->targets != NULL && i < p->n_targets; i++)
		check_target_clear(&p->targets[i]);
	free(p->targets);
	control_free(p->ctl);
	health_free(p->h);
	keyset_free(p->keys);
}

static void prober_publish(struct prober *p);

/* An override changed (control.c): into the answers at once, in one
 * publish, unless the first round is still running (its publish takes
 * it, and the start-up gate must wait for that round). */
static void prober_changed(void *arg)
{
	struct prober *p = arg;

	if (health_update_published(p->h))
		p->need_publish = true;
	if (p->first_done && p->need_publish)
		prober_publish(p);
	if (p->first_done && p->stats != NULL)
		stats_publish_backends(p->stats, p->cfg, p->h, p->serial_now);
}

/* The check round's wake-ups: the heartbeat and the control socket. */
static void prober_tick(void *arg)
{
	struct prober *p = arg;

	stats_prober_beat(p->stats);
	control_serve(p->ctl, 0);
}

/* Signals, the key and its signer, the targets and their health. */
static int prober_setup(struct prober *p, int key_fd)
{
	const struct config *cfg = p->cfg;
	uint64_t nofile;
	bool none;

	if (prober_signals() != 0) {
		log_error("prober: sigaction: %s", strerror(errno));
		return -1;
	}
	p->keys = keyset_load(cfg, key_fd, p->stats, &none);
	if (p->keys == NULL && !none)
		return -1;
	if (p->keys != NULL) {
		p->signer = keyset_signer(p->keys);
		zimg_signer_set_tick(p->signer, stats_prober_beat, p->stats);
	}
	/* A day is far beyond any sane check; the clamp keeps ms in range. */
	p->timeout_ms = (cfg->test_timeout > 86400 ? 86400 : cfg->test_timeout) * 1000u;
	/* Half the timeout in microseconds (fits: the timeout is clamped). */
	p->slow_us = p->timeout_ms * 500u;
	/* A round opens a socket per target at once: as many descriptors as
	 * the hard limit allows. */
	nofile = proc_raise_nofile(UINT64_MAX);
	p->targets = prober_targets(cfg, &p->n_targets);
	p->h = health_new(cfg, prober_wall_ms());
	if (p->targets == NULL || p->h == NULL) {
		log_error("prober: out of memory for %zu addresses", cfg->n_addrs_total);
		return -1;
	}
	p->ctl = control_new(cfg, p->h, p->stats, prober_ctl.listen_fd, prober_ctl.chan_fd,
			     prober_ctl.saved, prober_ctl.saved_len, prober_changed, p);
	if (p->ctl == NULL)
		return -1;
	check_set_wake_fd(control_wait_fd(p->ctl));
	log_info("prober: %zu targets every %u s, timeout %u s, %llu file descriptors",
		 p->n_targets, cfg->test_min_interval, cfg->test_timeout,
		 (unsigned long long)nofile);
	return 0;
}

/* Feed a finished round's results to health. */
static void prober_record(struct prober *p)
{
	int64_t now = prober_wall_ms();

	for (size_t i = 0; i < p->n_targets; i++) {
		struct health_result res = {
			.pass = p->targets[i].pass,
			.latency_us = p->targets[i].latency_us,
			.reason = p->targets[i].reason,
			.error_class = p->targets[i].error_class,
		};
		struct health_transition tr;

		if (health_record(p->h, p->targets[i].user, &res, now, &tr))
			prober_log_transition(p->cfg, &tr, &p->targets[i]);
	}
	if (health_update_published(p->h))
		p->need_publish = true;
	/* Slow targets (timeouts above all) start first next round; see
	 * check_slow_first. */
	check_slow_first(p->targets, p->n_targets, p->slow_us);
}

static void prober_publish(struct prober *p)
{
	struct zimg_signer_stats st = { 0 };
	char sigs[96] = "";
	uint32_t serial = 0;
	int64_t t0 = clock_now_ns(), t1;

	if (zimg_publish_signed(p->z, p->cfg, health_published_set(p->h), p->signer, time(NULL),
				&serial) < 0)
		return;
	p->need_publish = false;
	t1 = clock_now_ns();
	if (p->signer != NULL) {
		zimg_signer_stats(p->signer, &st);
		snprintf(sigs, sizeof(sigs), "; %llu signatures made, %llu reused",
			 (unsigned long long)st.last_made, (unsigned long long)st.last_reused);
	}
	log_info("published serial %u (%zu of %zu addresses up%s; %lld ms)", serial,
		 prober_count_up(p->cfg, p->h), p->cfg->n_addrs_total, sigs,
		 (long long)((t1 - t0) / 1000000));
	p->serial_now = serial;
	stats_image_published(p->stats, serial, (int64_t)time(NULL), t1 - t0,
			      (int64_t)st.last_sign_ns, st.oldest_expiry);
	prober_ready(&p->ready_fd);
}

/* This process's CPU time in ns (0 if unknown). */
static int64_t prober_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The checks of a round run on one CPU: when their work (TLS handshakes
 * above all, DESIGN §3.1) nears the timeout, the ones served last fail
 * as timeouts for want of CPU, not for their backend. Said once when a
 * round uses more than half the timeout, again after it fell below a
 * quarter.
 */
static void prober_cpu_warn(struct prober *p, int64_t cpu_ns)
{
	int64_t ms = cpu_ns / 1000000;

	if (!p->cpu_warned && ms * 2 > (int64_t)p->timeout_ms) {
		log_warning("prober: a round's checks took %lld ms of CPU for a %u ms timeout: "
			    "the last ones may time out for want of CPU; raise --test-timeout",
			    (long long)ms, p->timeout_ms);
		p->cpu_warned = true;
	} else if (p->cpu_warned && ms * 4 < (int64_t)p->timeout_ms) {
		p->cpu_warned = false;
	}
}

/* Until next_round (monotonic ns). The supervisor restarts a prober whose
 * heartbeat stops (stopped, wedged): beat through the wait too. */
static void prober_wait(struct prober *p, int64_t next_round)
{
	while (!prober_stop && clock_now_ns() < next_round) {
		int64_t wake = clock_now_ns() + (int64_t)STATS_BEAT_MS * 1000000;
		struct timespec until;

		if (wake > next_round)
			wake = next_round;
		stats_prober_beat(p->stats);
		if (control_wait_fd(p->ctl) >= 0) {
			/* The control socket is served while we wait. */
			control_serve(p->ctl, (int)((wake - clock_now_ns() + 999999) / 1000000));
			continue;
		}
		until.tv_sec = (time_t)(wake / 1000000000);
		until.tv_nsec = (long)(wake % 1000000000);
		(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
	}
}

int prober_main(const struct config *cfg, struct zimg *z, struct stats *stats, int ready_fd,
		int key_fd)
{
	struct prober p = { .cfg = cfg, .z = z, .stats = stats, .ready_fd = ready_fd,
			    .need_publish = true, .serial_now = zimg_serial(z) };
	int64_t next_round;
	uint64_t round = 0;

	if (prober_setup(&p, key_fd) < 0) {
		prober_free(&p);
		return 1;
	}
	next_round = clock_now_ns();
	while (!prober_stop) {
		int64_t start = clock_now_ns(), cpu = prober_cpu_ns();
		int rc;

		stats_prober_beat(stats);
		rc = check_run(p.targets, p.n_targets, p.timeout_ms, 0, &prober_stop,
			       prober_tick, &p);
		if (rc == 1 || prober_stop)
			break;
		cpu = prober_cpu_ns() - cpu;
		prober_cpu_warn(&p, cpu);
		if (rc < 0)
			log_error("prober: check round failed: %s", strerror(errno));
		else
			prober_record(&p);
		/* A round of TLS checks frees tens of KiB per target at its
		 * end (DESIGN §3.1); give them back instead of keeping the
		 * round's peak resident until the next one. */
		malloc_trim(0);
		log_debug("prober: round %llu: %zu checks in %lld ms (CPU %lld ms)",
			  (unsigned long long)round, p.n_targets,
			  (long long)((clock_now_ns() - start) / 1000000), (long long)(cpu / 1000000));
		round++;
		/* Signatures are renewed long before they expire even when
		 * nothing changes; only the due ones are re-signed. */
		/* A rollover step (DESIGN §13) changes what the keys sign. */
		if (p.keys != NULL && keyset_step(p.keys, (int64_t)time(NULL)))
			p.need_publish = true;
		if (!p.need_publish && p.signer != NULL && zimg_signer_due(p.signer, time(NULL))) {
			log_info("prober: re-signing the signatures due for refresh");
			p.need_publish = true;
		}
		if (p.need_publish && rc == 0)
			prober_publish(&p);
		p.first_done = p.first_done || (rc == 0 && !p.need_publish);
		/* After the publish, so the table shows the serial served. */
		if (rc == 0 && stats != NULL)
			stats_publish_backends(stats, cfg, p.h, p.serial_now);
		/* Rounds never overlap: a round longer than the interval
		 * delays the next one instead of stacking up. */
		next_round += (int64_t)cfg->test_min_interval * 1000000000;
		if (next_round < clock_now_ns())
			next_round = clock_now_ns();
		prober_wait(&p, next_round);
	}
	log_info("prober: stopping");
	prober_free(&p);
	return 0;
}
