#include "dname.h"

#include <stdio.h>
#include <string.h>

int dname_from_text(const char *text, uint8_t *out, size_t cap)
{
	size_t tlen = strlen(text);
	size_t pos = 0;
	size_t i = 0;

	if (tlen == 1 && text[0] == '.')
		tlen = 0;
	else if (tlen > 0 && text[tlen - 1] == '.')
		tlen--;
	while (i < tlen) {
		size_t start = i;
		size_t l;

		while (i < tlen && text[i] != '.')
			i++;
		l = i - start;
		if (l == 0 || l > AHD_MAX_LABEL)
			return -1;
		if (pos + 1 + l + 1 > AHD_MAX_NAME_WIRE || pos + 1 + l + 1 > cap)
			return -1;
		out[pos++] = (uint8_t)l;
		for (size_t j = 0; j < l; j++)
			out[pos++] = dname_lower_byte((uint8_t)text[start + j]);
		if (i < tlen)
			i++; /* the dot */
		if (i == tlen && text[tlen - 1] == '.' && tlen > 0)
			return -1; /* "a..": an empty label at the end */
	}
	if (pos + 1 > cap)
		return -1;
	out[pos++] = 0;
	return (int)pos;
}

int dname_to_text(const uint8_t *wire, size_t len, char *out, size_t cap)
{
	size_t pos = 0;
	size_t i = 0;

	if (cap == 0 || dname_check(wire, len) < 0)
		return -1;
	if (len == 1) {
		if (cap < 2)
			return -1;
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	while (wire[i] != 0) {
		size_t l = wire[i++];

		if (pos > 0) {
			if (pos + 1 >= cap)
				return -1;
			out[pos++] = '.';
		}
		for (size_t j = 0; j < l; j++, i++) {
			uint8_t c = wire[i];

			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				if (pos + 1 >= cap)
					return -1;
				out[pos++] = (char)c;
			} else {
				if (pos + 4 >= cap)
					return -1;
				snprintf(out + pos, 5, "\\%03u", c);
				pos += 4;
			}
		}
	}
	out[pos] = '\0';
	return (int)pos;
}

int dname_parse(const uint8_t *pkt, size_t len, size_t off,
		uint8_t lower[AHD_MAX_NAME_WIRE],
		uint8_t label_off[DNAME_MAX_LABELS], unsigned *n_labels)
{
	size_t pos = 0;
	unsigned n = 0;

	for (;;) {
		uint8_t l;

		if (off + pos >= len)
			return -1;
		l = pkt[off + pos];
		if (l == 0)
			break;
		if (l & 0xc0)
			return -1; /* pointer (11) or reserved type (01, 10) */
		/* The label, its length byte and the root still to come. */
		if (pos + 1u + l + 1u > AHD_MAX_NAME_WIRE)
			return -1;
		if (off + pos + 1u + l > len)
			return -1;
		label_off[n++] = (uint8_t)pos;
		lower[pos] = l;
		for (size_t j = 1; j <= l; j++)
			lower[pos + j] = dname_lower_byte(pkt[off + pos + j]);
		pos += 1u + l;
	}
	lower[pos++] = 0;
	*n_labels = n;
	return (int)pos;
}

int dname_check(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	int n = 0;

	if (len == 0 || len > AHD_MAX_NAME_WIRE)
		return -1;
	while (pos < len) {
		uint8_t l = buf[pos];

		if (l == 0)
			return pos + 1 == len ? n : -1;
		if (l > AHD_MAX_LABEL)
			return -1;
		pos += 1u + l;
		n++;
	}
	return -1;
}

static bool dname_eq_ci(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dname_lower_byte(a[i]) != dname_lower_byte(b[i]))
			return false;
	return true;
}

bool dname_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	/* Length bytes are < 64 so they are never changed by lower-casing. */
	return alen == blen && dname_eq_ci(a, b, alen);
}

/* Label start offsets of a valid name; returns their count. */
static unsigned dname_labels(const uint8_t *w, size_t len,
			     uint8_t off[DNAME_MAX_LABELS])
{
	size_t pos = 0;
	unsigned n = 0;

	while (pos < len && w[pos] != 0 && n < DNAME_MAX_LABELS) {
		off[n++] = (uint8_t)pos;
		pos += 1u + w[pos];
	}
	return n;
}

bool dname_is_subdomain(const uint8_t *name, size_t nlen, const uint8_t *apex,
			size_t alen)
{
	uint8_t off[DNAME_MAX_LABELS];
	unsigned n;

	if (alen > nlen)
		return false;
	if (alen == 1)
		return apex[0] == 0; /* everything is below the root */
	if (alen == nlen)
		return dname_equal(name, nlen, apex, alen);
	n = dname_labels(name, nlen, off);
	for (unsigned i = 0; i < n; i++)
		if (nlen - off[i] == alen)
			return dname_eq_ci(name + off[i], apex, alen);
	return false;
}

int dname_canonical_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
			size_t blen)
{
	uint8_t ao[DNAME_MAX_LABELS], bo[DNAME_MAX_LABELS];
	unsigned an = dname_labels(a, alen, ao);
	unsigned bn = dname_labels(b, blen, bo);

	while (an > 0 && bn > 0) {
		const uint8_t *la = a + ao[--an];
		const uint8_t *lb = b + bo[--bn];
		size_t n = la[0] < lb[0] ? la[0] : lb[0];

		for (size_t i = 1; i <= n; i++) {
			uint8_t ca = dname_lower_byte(la[i]);
			uint8_t cb = dname_lower_byte(lb[i]);

			if (ca != cb)
				return ca < cb ? -1 : 1;
		}
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	return (an > 0) - (bn > 0);
}

int dname_key(const uint8_t *wire, size_t len, uint8_t *key, size_t cap)
{
	uint8_t off[DNAME_MAX_LABELS];
	unsigned n;
	size_t pos = 0;

	if (dname_check(wire, len) < 0 || len - 1 > cap)
		return -1;
	n = dname_labels(wire, len, off);
	while (n > 0) {
		const uint8_t *l = wire + off[--n];

		for (size_t i = 1; i <= l[0]; i++)
			key[pos++] = dname_lower_byte(l[i]);
		key[pos++] = 0;
	}
	return (int)pos;
}

size_t dname_from_key(const uint8_t *key, size_t key_len, const uint8_t *apex,
		      size_t apex_len, uint8_t out[AHD_MAX_NAME_WIRE])
{
	size_t o = 0, end = key_len;

	if (key_len + apex_len > AHD_MAX_NAME_WIRE)
		return 0;
	/* Keys hold labels right to left, each followed by a 0 byte. */
	while (end > 0) {
		size_t start = end - 1;

		while (start > 0 && key[start - 1] != 0)
			start--;
		if (end - 1 - start == 0 || end - 1 - start > AHD_MAX_LABEL)
			return 0;
		out[o++] = (uint8_t)(end - 1 - start);
		memcpy(out + o, key + start, end - 1 - start);
		o += end - 1 - start;
		end = start;
	}
	memcpy(out + o, apex, apex_len);
	return o + apex_len;
}

static bool dname_is_alnum(char c)
{
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9');
}

const char *dname_text_problem(const char *s)
{
	size_t len = strlen(s);
	size_t lab = 0;

	if (len == 0)
		return "it is empty";
	if (len > AHD_MAX_NAME_TEXT)
		return "it is longer than 253 characters";
	if (s[len - 1] == '.')
		return "it ends with a dot (give names without the trailing dot)";
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (lab == 0)
				return "it has an empty label";
			if (lab > AHD_MAX_LABEL)
				return "it has a label longer than 63 characters";
			if (s[i - 1] == '-')
				return "a label ends with a hyphen";
			lab = 0;
			continue;
		}
		if (!dname_is_alnum(c) && c != '-')
			return "it has a character other than ASCII letters, digits, hyphens "
			       "and dots";
		if (lab == 0 && c == '-')
			return "a label starts with a hyphen";
		lab++;
	}
	return NULL;
}

size_t dname_text_labels(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

bool dname_text_within(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);

	if (la == lb)
		return strcmp(a, b) == 0;
	return la > lb && a[la - lb - 1] == '.' && strcmp(a + la - lb, b) == 0;
}

bool dname_skip(const uint8_t *m, size_t len, size_t *off)
{
	size_t p = *off;

	while (p < len) {
		uint8_t l = m[p];

		if ((l & 0xc0) == 0xc0) {
			if (len - p < 2)
				return false;
			*off = p + 2;
			return true;
		}
		if (l & 0xc0)
			return false;
		p += 1u + l;
		if (l == 0) {
			*off = p;
			return true;
		}
	}
	return false;
}
