/*
 * The supervisor's side of the metrics endpoint (DESIGN §11): it binds
 * the listener while still privileged (a port below 1024 works) and
 * forks the metrics process, which gives up everything it does not need
 * before it reads a byte from the network.
 */
#include "supervisor_int.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "metrics.h"
#include "stats.h"
#include "tcp.h"
#include "zimg.h"

int supervisor_bind_metrics(struct supervisor *s)
{
	const struct config_notify *l = &s->cfg->metrics_listen;

	if (l->port == 0)
		return 0;
	s->metrics_fd = tcp_listen(l->family, l->addr, l->port, false);
	if (s->metrics_fd < 0) {
		log_error("--metrics-listen: cannot listen on %s: %s", l->text, strerror(errno));
		return -1;
	}
	log_info("metrics: serving http://%s/metrics", l->text);
	return 0;
}

/*
 * What a forked copy of the supervisor holds and the metrics process must
 * not: the writable zone image (unmapped), write access to the
 * statistics (made read-only; mprotect is not on its seccomp list, so it
 * stays so), and the secrets of the configuration (the DNS cookie and
 * TSIG secrets, wiped). The DNSSEC key was never in memory here: the
 * prober alone reads it from its memfd, which fork did not pass on.
 */
static int supervisor_metrics_shed(struct supervisor *s)
{
	struct config *cfg = (struct config *)s->cfg;

	zimg_close(s->z);
	s->z = NULL;
	explicit_bzero(cfg->cookie_secret, sizeof(cfg->cookie_secret));
	explicit_bzero(&cfg->tsig, sizeof(cfg->tsig));
	if (mprotect(s->st->base, s->st->size, PROT_READ) < 0) {
		log_error("metrics: cannot make the statistics read-only: %s", strerror(errno));
		return -1;
	}
	s->st->writable = false;
	return 0;
}

int supervisor_metrics_run(void *arg)
{
	struct supervisor *s = arg;
	const struct config *cfg = s->cfg;
	struct proc_account acct = {cfg->user, cfg->user_ids, cfg->user_uid, cfg->user_gid};
	struct metrics_loop *m;
	int rc;

	log_init("metrics", cfg->log_level);
	proc_title("metrics");
	if (supervisor_metrics_shed(s) < 0 || proc_drop(&acct, PROC_ROLE_METRICS) < 0)
		return 1;
	m = metrics_setup(s->metrics_fd);
	if (m == NULL)
		return 1;
	rc = proc_sandbox(PROC_ROLE_METRICS) < 0 ? 1 : metrics_run(m, s->st);
	metrics_free(m);
	return rc;
}
