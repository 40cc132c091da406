/*
 * The https check's contexts and failure reasons (DESIGN §3.1). The
 * handshake itself runs in check_tcp.c's event loop.
 */
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <bsd/string.h>

#include "ahd.h"
#include "log.h"

/* One context: what makes two https entries need different ones. */
struct check_tls_one {
	bool verify;
	const char *ca_file; /* NULL: the system store; points into cfg */
	SSL_CTX *ctx;
};

struct check_tls {
	struct check_tls_one *v;
	size_t n;
};

static struct check_tls *check_tls_current;

void check_tls_install(struct check_tls *tls) { check_tls_current = tls; }

struct check_tls *check_tls_installed(void) { return check_tls_current; }

void check_target_clear(struct check_target *t)
{
	SSL_SESSION_free(t->tls_session);
	t->tls_session = NULL;
	t->tls_full_ns = 0;
}

void check_tls_free(struct check_tls *tls)
{
	if (tls == NULL)
		return;
	if (check_tls_current == tls)
		check_tls_current = NULL;
	for (size_t i = 0; i < tls->n; i++)
		SSL_CTX_free(tls->v[i].ctx);
	free(tls->v);
	free(tls);
}

static bool check_tls_same(const struct check_tls_one *o, const struct config_entry *e)
{
	if (o->verify == e->tls_no_verify)
		return false;
	if (o->ca_file == NULL || e->tls_ca_file == NULL)
		return o->ca_file == e->tls_ca_file;
	return strcmp(o->ca_file, e->tls_ca_file) == 0;
}

SSL_CTX *check_tls_ctx(const struct check_tls *tls, const struct config_entry *e)
{
	if (tls == NULL || e->check != CONFIG_CHECK_HTTPS)
		return NULL;
	for (size_t i = 0; i < tls->n; i++) {
		if (check_tls_same(&tls->v[i], e))
			return tls->v[i].ctx;
	}
	return NULL;
}

/* Why path gave no trust anchor, for a start-up line; clears the queue. */
static const char *check_tls_err(const char *path, char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
	FILE *f = fopen(path, "r");

	/* OpenSSL says "system lib" for a missing file: errno says more. */
	if (f == NULL)
		snprintf(buf, cap, "%s", strerror(errno));
	else
		snprintf(buf, cap, "%s", why != NULL ? why : "no certificate found in it");
	if (f != NULL)
		fclose(f);
	ERR_clear_error();
	return buf;
}

/*
 * The trust anchors, loaded whole now: the system store is the default
 * CA file (SSL_CERT_FILE overrides it, as for every OpenSSL program),
 * not the hashed directory, whose lookups would open files during a
 * handshake, which the prober's seccomp filter forbids.
 */
static int check_tls_anchors(SSL_CTX *ctx, const char *file, const char *who)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	const char *path = file;
	char err[160];

	if (path == NULL) {
		path = getenv(X509_get_default_cert_file_env());
		if (path == NULL || path[0] == '\0')
			path = X509_get_default_cert_file();
	}
	ERR_clear_error();
	if (X509_STORE_load_file(st, path) == 1)
		return 0;
	if (file != NULL)
		log_error("zone-resolutions: '%s': \"tls_ca_file\" '%s' cannot be loaded: %s", who,
			  file, check_tls_err(path, err, sizeof(err)));
	else
		log_error("zone-resolutions: '%s': the system certificate store '%s' cannot be "
			  "loaded (%s); give \"tls_ca_file\"",
			  who, path, check_tls_err(path, err, sizeof(err)));
	return -1;
}

static SSL_CTX *check_tls_make(const struct config_entry *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		log_error("TLS: cannot make a context: out of memory");
		return NULL;
	}
	/* check_tcp.c writes the request from a stack buffer it may
	 * re-render between retries. */
	/* RELEASE_BUFFERS: a connection waiting on its peer holds no 16 KiB
	 * read and write buffers; a round has thousands waiting at once. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A backend that closes after its answer without close_notify (most
	 * do, with Connection: close) has still answered. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Sessions are kept per target by check_tcp.c, not in a cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
	if (e->tls_no_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (check_tls_anchors(ctx, e->tls_ca_file, e->name) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct check_tls *check_tls_new(const struct config *cfg)
{
	struct check_tls *tls = calloc(1, sizeof(*tls));

	if (tls == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct config_entry *e = &cfg->entries[i];
		struct check_tls_one *v;

		if (e->check != CONFIG_CHECK_HTTPS || check_tls_ctx(tls, e) != NULL)
			continue;
		/* Before the first context: libssl would otherwise read
		 * openssl.cnf, which the prober does not need (see
		 * proc_sandbox). Without https checks libssl stays unused. */
		if (tls->n == 0 && OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
			log_error("TLS: OpenSSL initialisation failed");
			check_tls_free(tls);
			return NULL;
		}
		v = reallocarray(tls->v, tls->n + 1, sizeof(*tls->v));
		if (v == NULL) {
			log_error("TLS: out of memory");
			check_tls_free(tls);
			return NULL;
		}
		tls->v = v;
		v[tls->n] = (struct check_tls_one){ !e->tls_no_verify, e->tls_ca_file, NULL };
		v[tls->n].ctx = check_tls_make(e);
		if (v[tls->n].ctx == NULL) {
			check_tls_free(tls);
			return NULL;
		}
		tls->n++;
	}
	return tls;
}

void check_tls_verify_reason(long err, char *buf, size_t cap)
{
	/* Short forms: the reason must fit HEALTH_REASON_MAX with its prefix. */
	static const struct {
		long err;
		const char *text;
	} names[] = {
		{X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired"},
		{X509_V_ERR_CERT_NOT_YET_VALID, "certificate not yet valid"},
		{X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch"},
		{X509_V_ERR_IP_ADDRESS_MISMATCH, "IP address mismatch"},
		{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to get local issuer"},
		{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "unable to get issuer"},
		{X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "unable to verify leaf"},
		{X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "self-signed certificate"},
		{X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "self-signed cert in chain"},
		{X509_V_ERR_CERT_REVOKED, "certificate revoked"},
		{X509_V_ERR_CERT_SIGNATURE_FAILURE, "bad certificate signature"},
		{X509_V_ERR_INVALID_PURPOSE, "unsuitable certificate purpose"},
		{X509_V_ERR_INVALID_CA, "invalid CA certificate"},
		{X509_V_ERR_EE_KEY_TOO_SMALL, "key too small"},
		{X509_V_ERR_CA_MD_TOO_WEAK, "CA digest too weak"},
	};
	const char *text = NULL;

	for (size_t i = 0; i < AHD_ARRAY_LEN(names) && text == NULL; i++) {
		if (names[i].err == err)
			text = names[i].text;
	}
	if (text == NULL)
		text = X509_verify_cert_error_string(err);
	snprintf(buf, cap, "TLS verify failed: %s", text);
}
