/*
 * The supervisor's part of the control socket (DESIGN §12): it binds the
 * socket as root (mode 0660, owner root, the service account's group,
 * like knotc's and nsd-control's), hands the listening descriptor to each
 * prober it starts, and keeps the overrides: the prober, unprivileged and
 * sandboxed, opens no file, so it sends the state file's bytes over a
 * SOCK_SEQPACKET pair and the supervisor writes them to --state-dir
 * atomically, as it does the serial. The supervisor never parses them:
 * the next prober does, unprivileged.
 */
#include "supervisor_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "control.h"
#include "file.h"
#include "log.h"
#include "prober.h"
#include "state.h"

/* The default path may be missing (no systemd RuntimeDirectory=, not
 * root): the server runs without a socket. A path given must work. */
static int supervisor_control_fail(const struct config *cfg, const char *what, int err)
{
	if (cfg->control_socket_given) {
		log_error("--control-socket %s: %s: %s", cfg->control_socket, what, strerror(err));
		return -1;
	}
	log_warning("control socket %s: %s: %s; running without one (create the directory or "
		    "give --control-socket PATH)", cfg->control_socket, what, strerror(err));
	return 0;
}

/* A socket left by a server that died is removed; one a live server
 * answers on, or anything that is not a socket, is not. */
static int supervisor_control_stale(const char *path, struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(path);
}

/* Bind with mode 0660 from the start (umask), then owner and group. */
static int supervisor_control_bind(struct supervisor *s, struct sockaddr_un *sa)
{
	const struct config *cfg = s->cfg;
	gid_t gid = cfg->user_ids ? cfg->user_gid : getegid();
	mode_t old;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc;

	if (fd < 0)
		return supervisor_control_fail(cfg, "socket", errno);
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)sa, sizeof(*sa));
	umask(old);
	if (rc < 0 || listen(fd, CONTROL_MAX_CLIENTS * 2) < 0) {
		int err = errno;

		close(fd);
		return supervisor_control_fail(cfg, "bind", err);
	}
	/* Not root: the group stays ours if we are not in the service's. */
	if (chown(sa->sun_path, geteuid(), gid) < 0 && geteuid() == 0) {
		int err = errno;

		close(fd);
		unlink(sa->sun_path);
		return supervisor_control_fail(cfg, "chown", err);
	}
	s->ctl_fd = fd;
	s->ctl_bound = true;
	log_info("control socket %s (mode 0660, group %u)", sa->sun_path, (unsigned)gid);
	return 0;
}

/* The saved overrides, as bytes for the next prober. */
static void supervisor_control_load(struct supervisor *s)
{
	char path[4096];
	enum file_error e;

	if (s->cfg->state_dir == NULL) {
		log_warning("no --state-dir: overrides made through the control socket survive "
			    "reloads but not a restart of the server");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", s->cfg->state_dir, CONTROL_STATE_FILE);
	e = file_read_all(path, CONTROL_STATE_MAX, &s->ov_blob, &s->ov_len);
	if (e == FILE_OPEN && errno == ENOENT)
		return;
	if (e != FILE_OK)
		log_warning("%s: cannot read the saved overrides (%s); starting without them",
			    path, e == FILE_OPEN || e == FILE_READ ? strerror(errno) : "too large");
}

int supervisor_control_open(struct supervisor *s)
{
	const struct config *cfg = s->cfg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sv[2];

	s->ctl_fd = s->ctl_chan[0] = s->ctl_chan[1] = -1;
	if (cfg->control_socket == NULL)
		return 0;
	strlcpy(sa.sun_path, cfg->control_socket, sizeof(sa.sun_path));
	if (supervisor_control_stale(cfg->control_socket, &sa) < 0)
		return supervisor_control_fail(cfg, errno == EADDRINUSE
						       ? "another server answers on it"
						       : "cannot replace it", errno);
	if (supervisor_control_bind(s, &sa) < 0)
		return -1;
	if (s->ctl_fd < 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return -1;
	}
	s->ctl_chan[0] = sv[0];
	s->ctl_chan[1] = sv[1];
	/* One message holds the whole file. */
	int buf = CONTROL_STATE_MAX * 2;

	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	supervisor_control_load(s);
	return 0;
}

/* Take every message the prober sent; the last one is the state. */
void supervisor_control_drain(struct supervisor *s)
{
	char *buf;

	if (s->ctl_chan[0] < 0)
		return;
	buf = malloc(CONTROL_STATE_MAX + 1);
	if (buf == NULL)
		return;
	for (;;) {
		ssize_t n = recv(s->ctl_chan[0], buf, CONTROL_STATE_MAX + 1, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || n > CONTROL_STATE_MAX)
			break;
		free(s->ov_blob);
		s->ov_blob = buf;
		s->ov_len = (size_t)n;
		buf = malloc(CONTROL_STATE_MAX + 1);
		if (s->cfg->state_dir != NULL &&
		    state_file_save(s->cfg->state_dir, CONTROL_STATE_FILE, s->ov_blob, s->ov_len) < 0)
			log_error("--state-dir %s: cannot save the overrides: %s; they hold until "
				  "the server stops", s->cfg->state_dir, strerror(errno));
		if (buf == NULL)
			return;
	}
	free(buf);
}

/* Before a prober is forked: it starts with the latest overrides. */
size_t supervisor_control_fds(struct supervisor *s, int *fds)
{
	size_t n = 0;

	supervisor_control_drain(s);
	prober_control_set(s->ctl_fd, s->ctl_chan[1], s->ov_blob, s->ov_len);
	if (s->ctl_fd >= 0)
		fds[n++] = s->ctl_fd;
	if (s->ctl_chan[1] >= 0)
		fds[n++] = s->ctl_chan[1];
	return n;
}

void supervisor_control_close(struct supervisor *s)
{
	supervisor_control_drain(s);
	for (int i = 0; i < 2; i++) {
		if (s->ctl_chan[i] >= 0)
			close(s->ctl_chan[i]);
	}
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	if (s->ctl_bound)
		unlink(s->cfg->control_socket);
	free(s->ov_blob);
}
