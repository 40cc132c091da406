/*
 * --tsig-key FILE (DESIGN §9.4): one TSIG key in any syntax an operator
 * already has at hand, so the same file can be given to the secondary:
 *   BIND  (tsig-keygen):  key "name" { algorithm hmac-sha256; secret "b64"; };
 *   Knot  (keymgr -t):    key:\n  - id: name\n    algorithm: ...\n    secret: b64
 *   NSD   (nsd.conf):     key:\n\tname: name\n\talgorithm: ...\n\tsecret: "b64"
 *   one line (kdig -y):   [alg:]name:b64, or name:alg:b64
 * The supervisor reads the file; the children get the key itself in the
 * serialization. The secret is never written anywhere: error messages
 * name the file and the problem, never the secret's text.
 */
#include "config.h"
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <bsd/string.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "ahd.h"
#include "dname.h"
#include "file.h"
#include "tsig.h"

/* A key file is a few lines; anything bigger is the wrong file. */
#define TSIG_FILE_MAX (64u * 1024u)
/* Base64 text of the largest secret, with room to notice a longer one. */
#define TSIG_B64_MAX (4 * ((TSIG_SECRET_MAX + 2) / 3) + 8)
#define TSIG_ALG_LIST "hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512"

/* The key as text, before validation; every field is wiped after. */
struct tsig_text {
	const char *lab;  /* "--tsig-key" (and where it came from) */
	const char *file; /* the path, quoted for messages */
	char name[AHD_MAX_NAME_TEXT + 8];
	char alg[40];
	char secret[TSIG_B64_MAX];
	bool has_name, has_alg, has_secret;
	unsigned keys; /* key definitions seen */
};

/* file NULL: the key came in the serialization, not from a file. */
static int tsig_fail(const struct tsig_text *t, const char *what)
{
	if (t->file == NULL)
		return log_startup_error("%s: %s", t->lab, what);
	return log_startup_error("%s: '%s': %s", t->lab, t->file, what);
}

static int tsig_fail_line(const struct tsig_text *t, unsigned line, const char *what)
{
	if (t->file == NULL)
		return log_startup_error("%s: %s", t->lab, what);
	return log_startup_error("%s: '%s': line %u: %s", t->lab, t->file, line, what);
}

/* Copies field text s[0..n) into one of t's buffers; which names it. */
static int tsig_set(struct tsig_text *t, unsigned line, char *dst, size_t cap, bool *has,
		    const char *which, const char *s, size_t n)
{
	char msg[96];

	if (*has) {
		snprintf(msg, sizeof(msg), "the key has two %ss", which);
		return tsig_fail_line(t, line, msg);
	}
	if (n >= cap) {
		snprintf(msg, sizeof(msg), "the %s is too long", which);
		return tsig_fail_line(t, line, msg);
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	*has = true;
	return 0;
}

static int tsig_set_field(struct tsig_text *t, unsigned line, const char *field, const char *s,
			  size_t n)
{
	if (strcmp(field, "name") == 0)
		return tsig_set(t, line, t->name, sizeof(t->name), &t->has_name, "name", s, n);
	if (strcmp(field, "algorithm") == 0)
		return tsig_set(t, line, t->alg, sizeof(t->alg), &t->has_alg, "algorithm", s, n);
	return tsig_set(t, line, t->secret, sizeof(t->secret), &t->has_secret, "secret", s, n);
}

static int tsig_new_key(struct tsig_text *t, unsigned line)
{
	if (++t->keys > 1)
		return tsig_fail_line(t, line, "a second key (give a file with one key)");
	return 0;
}

/* ---- BIND: named.conf grammar, # // and C comments. ---- */

enum bind_tok { BT_EOF, BT_WORD, BT_STRING, BT_LBRACE, BT_RBRACE, BT_SEMI, BT_ERROR };

struct bind_lex {
	const char *p, *end;
	unsigned line;
	const char *s; /* the token's text (words, strings) */
	size_t n;
};

static void bind_skip(struct bind_lex *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == '\n') {
			lx->line++;
			lx->p++;
		} else if (isspace((unsigned char)*lx->p)) {
			lx->p++;
		} else if (*lx->p == '#' || (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			const char *q;

			for (q = lx->p + 2; q + 1 < lx->end && !(q[0] == '*' && q[1] == '/'); q++)
				lx->line += *q == '\n';
			lx->p = q + 1 < lx->end ? q + 2 : lx->end;
		} else {
			return;
		}
	}
}

static enum bind_tok bind_next(struct bind_lex *lx)
{
	static const char punct[] = "{};\"#";
	char c;

	bind_skip(lx);
	if (lx->p >= lx->end)
		return BT_EOF;
	c = *lx->p;
	if (c == '{' || c == '}' || c == ';') {
		lx->p++;
		return c == '{' ? BT_LBRACE : c == '}' ? BT_RBRACE : BT_SEMI;
	}
	if (c == '"') {
		lx->s = ++lx->p;
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n' && *lx->p != '\\')
			lx->p++;
		if (lx->p >= lx->end || *lx->p != '"')
			return BT_ERROR; /* unterminated, or an escape we do not take */
		lx->n = (size_t)(lx->p++ - lx->s);
		return BT_STRING;
	}
	lx->s = lx->p;
	while (lx->p < lx->end && !isspace((unsigned char)*lx->p) && strchr(punct, *lx->p) == NULL)
		lx->p++;
	lx->n = (size_t)(lx->p - lx->s);
	return BT_WORD;
}

static bool bind_is(const struct bind_lex *lx, enum bind_tok t, const char *word)
{
	return t == BT_WORD && lx->n == strlen(word) && strncasecmp(lx->s, word, lx->n) == 0;
}

/* One clause of the key block: algorithm X; or secret "X";. */
static int bind_clause(struct tsig_text *t, struct bind_lex *lx, enum bind_tok tok)
{
	const char *field = bind_is(lx, tok, "algorithm") ? "algorithm"
			    : bind_is(lx, tok, "secret")  ? "secret"
							  : NULL;
	char msg[CONFIG_SHOW_MAX + 64], word[CONFIG_SHOW_MAX], show[CONFIG_SHOW_MAX];

	if (field == NULL) {
		snprintf(word, sizeof(word), "%.*s", (int)(lx->n < 64 ? lx->n : 64), lx->s);
		snprintf(msg, sizeof(msg), "'%s' is not a key clause (algorithm or secret)",
			 config_quote(tok == BT_WORD || tok == BT_STRING ? word : "?", show,
				      sizeof(show)));
		return tsig_fail_line(t, lx->line, msg);
	}
	tok = bind_next(lx);
	if (tok != BT_WORD && tok != BT_STRING) {
		snprintf(msg, sizeof(msg), "%s: a value is missing", field);
		return tsig_fail_line(t, lx->line, msg);
	}
	if (tsig_set_field(t, lx->line, field, lx->s, lx->n) < 0)
		return -1;
	if (bind_next(lx) != BT_SEMI) {
		snprintf(msg, sizeof(msg), "';' expected after the %s", field);
		return tsig_fail_line(t, lx->line, msg);
	}
	return 0;
}

static int tsig_parse_bind(struct tsig_text *t, const char *text, size_t len)
{
	struct bind_lex lx = {text, text + len, 1, NULL, 0};
	enum bind_tok tok;

	while ((tok = bind_next(&lx)) != BT_EOF) {
		if (!bind_is(&lx, tok, "key"))
			return tsig_fail_line(t, lx.line, "'key' expected (a file with one key "
							  "statement)");
		if (tsig_new_key(t, lx.line) < 0)
			return -1;
		tok = bind_next(&lx);
		if (tok != BT_WORD && tok != BT_STRING)
			return tsig_fail_line(t, lx.line, "the key name is missing");
		if (tsig_set_field(t, lx.line, "name", lx.s, lx.n) < 0)
			return -1;
		if (bind_next(&lx) != BT_LBRACE)
			return tsig_fail_line(t, lx.line, "'{' expected after the key name");
		while ((tok = bind_next(&lx)) != BT_RBRACE) {
			if (tok == BT_EOF || tok == BT_ERROR)
				return tsig_fail_line(t, lx.line, "the key block is not closed "
								  "with '};'");
			if (bind_clause(t, &lx, tok) < 0)
				return -1;
		}
		if (bind_next(&lx) != BT_SEMI)
			return tsig_fail_line(t, lx.line, "';' expected after '}'");
	}
	return 0;
}

/* ---- Knot and NSD: the key section of knot.conf (keymgr -t prints it)
 * or of nsd.conf, whose key clause has no "- " items. ---- */

enum knot_state { KNOT_BEFORE, KNOT_SECTION, KNOT_IN_KEY };

/* One "name: value" of a key item; quotes around the value go. */
static int knot_item(struct tsig_text *t, unsigned line, const char *s, size_t n)
{
	static const struct {
		const char *key, *field;
	} keys[] = {{"id", "name"}, {"name", "name"}, {"algorithm", "algorithm"},
		    {"secret", "secret"}};
	char msg[CONFIG_SHOW_MAX + 64], word[CONFIG_SHOW_MAX], show[CONFIG_SHOW_MAX];
	const char *colon = memchr(s, ':', n);
	const char *v;
	size_t klen, vlen;

	if (colon == NULL)
		return tsig_fail_line(t, line, "'name: value' expected");
	klen = (size_t)(colon - s);
	v = colon + 1;
	vlen = n - klen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
		v++;
		vlen -= 2;
	}
	for (size_t i = 0; i < AHD_ARRAY_LEN(keys); i++) {
		if (strlen(keys[i].key) == klen && strncmp(s, keys[i].key, klen) == 0)
			return tsig_set_field(t, line, keys[i].field, v, vlen);
	}
	snprintf(word, sizeof(word), "%.*s", (int)(klen < 64 ? klen : 64), s);
	snprintf(msg, sizeof(msg), "'%s' is not a key option (id or name, algorithm, secret)",
		 config_quote(word, show, sizeof(show)));
	return tsig_fail_line(t, line, msg);
}

static int knot_line(struct tsig_text *t, unsigned line, const char *s, size_t n,
		     enum knot_state *st)
{
	size_t indent = 0;

	while (indent < n && (s[indent] == ' ' || s[indent] == '\t'))
		indent++;
	if (indent == 0) {
		if (n != 4 || strncmp(s, "key:", 4) != 0)
			return tsig_fail_line(t, line, "'key:' expected (a file with the key "
							"section alone)");
		*st = KNOT_SECTION;
		return 0;
	}
	if (*st == KNOT_BEFORE)
		return tsig_fail_line(t, line, "'key:' expected first");
	s += indent;
	n -= indent;
	if (n >= 2 && s[0] == '-' && (s[1] == ' ' || s[1] == '\t')) {
		if (tsig_new_key(t, line) < 0)
			return -1;
		for (s += 2, n -= 2; n > 0 && (*s == ' ' || *s == '\t'); s++, n--)
			;
		*st = KNOT_IN_KEY;
	} else if (*st == KNOT_SECTION) {
		/* NSD: the section is the key. */
		if (tsig_new_key(t, line) < 0)
			return -1;
		*st = KNOT_IN_KEY;
	}
	return knot_item(t, line, s, n);
}

static int tsig_parse_knot(struct tsig_text *t, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	enum knot_state st = KNOT_BEFORE;

	for (unsigned line = 1; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		const char *hash = memchr(p, '#', (size_t)(le - p));
		size_t n = (size_t)((hash != NULL ? hash : le) - p);

		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n > 0 && knot_line(t, line, p, n, &st) < 0)
			return -1;
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

/* ---- One line: [alg:]name:secret or name:alg:secret. ---- */

static bool tsig_field_is_alg(const char *s, size_t n)
{
	char word[40];

	if (n >= sizeof(word))
		return false;
	memcpy(word, s, n);
	word[n] = '\0';
	return tsig_alg_from_text(word) != TSIG_ALG_NONE;
}

static int tsig_parse_line(struct tsig_text *t, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *f[3], *line = NULL;
	size_t fl[3], n = 0, nf = 0;
	unsigned lineno = 0;

	for (unsigned no = 1; p < end; no++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;

		while (p < le && isspace((unsigned char)*p))
			p++;
		n = (size_t)(le - p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n > 0 && *p != '#') {
			if (line != NULL)
				return tsig_fail_line(t, no, "a second key (give a file with one key)");
			line = p;
			fl[0] = n;
			lineno = no;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (line == NULL)
		return 0;
	t->keys = 1;
	for (const char *s = line, *e = line + fl[0]; nf < 3; nf++) {
		const char *c = memchr(s, ':', (size_t)(e - s));

		f[nf] = s;
		fl[nf] = (size_t)((c != NULL ? c : e) - s);
		if (c == NULL) {
			nf++;
			break;
		}
		s = c + 1;
		if (nf == 2)
			return tsig_fail_line(t, lineno, "more than three ':'-separated fields "
							 "([algorithm:]name:secret)");
	}
	if (nf == 1)
		return tsig_fail_line(t, lineno, "'[algorithm:]name:secret' expected");
	/* kdig -y takes alg:name:secret, the issue's form is name:alg:secret:
	 * a first field that names an algorithm settles which. */
	if (nf == 3) {
		bool alg_first = tsig_field_is_alg(f[0], fl[0]);

		/* Neither: one of them may be the secret in the wrong place,
		 * so neither is shown. */
		if (!alg_first && !tsig_field_is_alg(f[1], fl[1]))
			return tsig_fail_line(t, lineno, "neither the first nor the second field is "
							 "a known algorithm (" TSIG_ALG_LIST ")");
		if (tsig_set_field(t, lineno, "algorithm", f[alg_first ? 0 : 1],
				   fl[alg_first ? 0 : 1]) < 0 ||
		    tsig_set_field(t, lineno, "name", f[alg_first ? 1 : 0], fl[alg_first ? 1 : 0]) < 0)
			return -1;
	} else if (tsig_field_is_alg(f[0], fl[0])) {
		return tsig_fail_line(t, lineno, "the key name is missing ([algorithm:]name:secret)");
	} else if (tsig_set_field(t, lineno, "name", f[0], fl[0]) < 0) {
		return -1;
	}
	return tsig_set_field(t, lineno, "secret", f[nf - 1], fl[nf - 1]);
}

static bool tsig_yaml_section(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && (isalnum((unsigned char)*q) || *q == '-' || *q == '_'))
		q++;
	if (q == p || q >= end || *q++ != ':')
		return false;
	while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
		q++;
	return q == end || *q == '\n' || *q == '#';
}

/* Which syntax: the first word outside comments decides. */
static int tsig_parse_text(struct tsig_text *t, const char *text, size_t len)
{
	struct bind_lex lx = {text, text + len, 1, NULL, 0};
	const char *p;
	size_t rest;

	if (memchr(text, '\0', len) != NULL)
		return tsig_fail(t, "it holds a NUL byte (not a key file)");
	bind_skip(&lx);
	p = lx.p;
	rest = (size_t)(lx.end - p);
	if (rest > 3 && strncasecmp(p, "key", 3) == 0 &&
	    (isspace((unsigned char)p[3]) || p[3] == '"'))
		return tsig_parse_bind(t, text, len);
	/* A YAML section ("key:", or "server:" from a whole knot.conf,
	 * which the Knot reader then names) is a word and a colon alone. */
	if (tsig_yaml_section(p, lx.end))
		return tsig_parse_knot(t, text, len);
	return tsig_parse_line(t, text, len);
}

/* Base64 (RFC 4648 section 4) to bytes, strictly: whole quanta, padding
 * only at the end, no stray bits in the last character. */
static int tsig_unbase64(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t tmp[TSIG_B64_MAX];
	size_t n = strlen(s), pad = 0;
	const char *last;
	int got;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(tmp))
		return -1;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			return -1;
	}
	last = strchr(alphabet, s[n - 1 - pad]);
	if ((pad == 1 && ((last - alphabet) & 3) != 0) ||
	    (pad == 2 && ((last - alphabet) & 15) != 0))
		return -1;
	got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got != n / 4 * 3 || (size_t)got - pad > cap) {
		explicit_bzero(tmp, sizeof(tmp));
		return got >= 0 && (size_t)got - pad > cap ? -2 : -1;
	}
	*len = (size_t)got - pad;
	memcpy(out, tmp, *len);
	explicit_bzero(tmp, sizeof(tmp));
	return 0;
}

static int tsig_key_name(const struct tsig_text *t, struct tsig_key *k)
{
	char msg[CONFIG_SHOW_MAX + 80], show[CONFIG_SHOW_MAX];
	int n = -1;
	bool ok = t->name[0] != '\0' && strcmp(t->name, ".") != 0;

	for (const char *c = t->name; ok && *c != '\0'; c++)
		ok = *c > 0x20 && *c < 0x7f && *c != '\\' && *c != '"';
	if (ok)
		n = dname_from_text(t->name, k->name, sizeof(k->name));
	if (n <= 1) {
		snprintf(msg, sizeof(msg), "the key name '%s' is not a domain name (printable "
			 "labels of 1-63 characters, no escapes)",
			 config_quote(t->name, show, sizeof(show)));
		return tsig_fail(t, msg);
	}
	k->name_len = (size_t)n;
	return 0;
}

/* The text fields, whichever syntax gave them, into cfg->tsig. */
static int tsig_fill(const struct tsig_text *t, struct tsig_key *k)
{
	char msg[160], show[CONFIG_SHOW_MAX];
	int rc;

	memset(k, 0, sizeof(*k));
	if (t->keys == 0 || !t->has_name)
		return tsig_fail(t, "no key in it");
	if (!t->has_secret)
		return tsig_fail(t, "the key has no secret");
	if (tsig_key_name(t, k) < 0)
		return -1;
	k->alg = t->has_alg ? tsig_alg_from_text(t->alg) : TSIG_HMAC_SHA256;
	if (k->alg == TSIG_HMAC_MD5) {
		snprintf(msg, sizeof(msg), "hmac-md5 is not supported (RFC 8945 section 6: use %s)",
			 TSIG_ALG_LIST);
		return tsig_fail(t, msg);
	}
	if (k->alg == TSIG_ALG_NONE) {
		snprintf(msg, sizeof(msg), "unknown algorithm '%s' (%s)",
			 config_quote(t->alg, show, 48), TSIG_ALG_LIST);
		return tsig_fail(t, msg);
	}
	if (t->secret[0] == '\0')
		return tsig_fail(t, "the secret is empty");
	rc = tsig_unbase64(t->secret, k->secret, sizeof(k->secret), &k->secret_len);
	if (rc == -2 || (rc == 0 && k->secret_len > TSIG_SECRET_MAX)) {
		snprintf(msg, sizeof(msg), "the secret is longer than %d bytes", TSIG_SECRET_MAX);
		return tsig_fail(t, msg);
	}
	if (rc < 0)
		return tsig_fail(t, "the secret is not valid base64");
	if (k->secret_len == 0)
		return tsig_fail(t, "the secret is empty");
	return 0;
}

static int tsig_read(struct tsig_text *t, const char *path, bool check_system,
		     struct tsig_key *k)
{
	struct stat st;
	char *buf;
	size_t len;
	int rc;

	switch (file_read_all(path, TSIG_FILE_MAX, &buf, &len)) {
	case FILE_OK:
		break;
	case FILE_OPEN:
		return log_startup_error("%s: '%s' cannot be opened for reading: %s", t->lab,
					 t->file, strerror(errno));
	case FILE_NOT_REGULAR:
		return tsig_fail(t, "not a regular file (give a TSIG key file)");
	case FILE_TOO_LARGE:
		return tsig_fail(t, "larger than 64 KiB (not a TSIG key file)");
	case FILE_NOMEM:
		return config_oom();
	default:
		return log_startup_error("%s: '%s' cannot be read: %s", t->lab, t->file,
					 strerror(errno));
	}
	rc = tsig_parse_text(t, buf, len);
	explicit_bzero(buf, len);
	free(buf);
	if (rc == 0)
		rc = tsig_fill(t, k);
	/* As ssh does for its keys: a secret every local user can read is
	 * worth a line, not a refusal (a container may run as one user). */
	if (rc == 0 && check_system && stat(path, &st) == 0 && (st.st_mode & S_IROTH) != 0)
		log_startup_error("warning: %s: '%s' is readable by every user (chmod o-r)",
				  t->lab, t->file);
	return rc;
}

/* The serialization's form: {"path", "name", "algorithm", "secret"}. */
static int tsig_from_object(struct tsig_text *t, struct json_object *o, const char **path,
			    struct tsig_key *k)
{
	static const char *const fields[] = {"name", "algorithm", "secret"};
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, "path", &v) || config_json_str(v, path) < 0)
		return tsig_fail(t, "no key file path");
	t->keys = 1;
	for (size_t i = 0; i < AHD_ARRAY_LEN(fields); i++) {
		if (!json_object_object_get_ex(o, fields[i], &v) || config_json_str(v, &s) < 0)
			continue;
		if (tsig_set_field(t, 1, fields[i], s, strlen(s)) < 0)
			return -1;
	}
	return tsig_fill(t, k);
}

int config_tsig_key(struct config *cfg, const struct config_raw *raw)
{
	char lab[CONFIG_LABEL_MAX], val[CONFIG_SHOW_MAX];
	struct json_object *v = raw->v[FL_TSIG_KEY];
	struct tsig_text t;
	const char *path = NULL;
	int rc;

	memset(&cfg->tsig, 0, sizeof(cfg->tsig));
	if (v == NULL)
		return 0;
	memset(&t, 0, sizeof(t));
	config_label(raw, FL_TSIG_KEY, lab, sizeof(lab));
	t.lab = lab;
	if (raw->src[FL_TSIG_KEY] == CONFIG_SRC_JSON && json_object_is_type(v, json_type_object)) {
		rc = tsig_from_object(&t, v, &path, &cfg->tsig);
	} else if (raw->src[FL_TSIG_KEY] == CONFIG_SRC_JSON) {
		/* A child may not be able to read the file: it gets the key. */
		rc = log_startup_error("%s: '%s' is not a key (path, name, algorithm, secret)", lab,
				       config_show(v, val, sizeof(val)));
	} else if (config_flag_str(raw, FL_TSIG_KEY, &path) < 0) {
		rc = -1;
	} else if (path[0] == '\0') {
		rc = log_startup_error("%s: '' is empty (give the path of a TSIG key file)", lab);
	} else {
		t.file = config_quote(path, val, sizeof(val));
		rc = tsig_read(&t, path, raw->check_system, &cfg->tsig);
	}
	explicit_bzero(&t, sizeof(t));
	if (rc < 0) {
		explicit_bzero(&cfg->tsig, sizeof(cfg->tsig));
		return -1;
	}
	cfg->tsig_key_path = strdup(path);
	return cfg->tsig_key_path != NULL ? 0 : config_oom();
}

static bool tsig_json_add(struct json_object *o, const char *key, const char *s)
{
	struct json_object *v = json_object_new_string(s);

	if (v == NULL || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

struct json_object *config_tsig_json(const struct config *cfg)
{
	char name[AHD_MAX_NAME_TEXT * 4 + 8];
	char b64[TSIG_B64_MAX];
	const struct tsig_key *k = &cfg->tsig;
	struct json_object *o;
	bool ok;

	if (k->alg == TSIG_ALG_NONE || cfg->tsig_key_path == NULL ||
	    k->secret_len > TSIG_SECRET_MAX ||
	    dname_to_text(k->name, k->name_len, name, sizeof(name)) < 0)
		return NULL;
	EVP_EncodeBlock((unsigned char *)b64, k->secret, (int)k->secret_len);
	o = json_object_new_object();
	ok = o != NULL && tsig_json_add(o, "path", cfg->tsig_key_path) &&
	     tsig_json_add(o, "name", name) && tsig_json_add(o, "algorithm", tsig_alg_text(k->alg)) &&
	     tsig_json_add(o, "secret", b64);
	explicit_bzero(b64, sizeof(b64));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
