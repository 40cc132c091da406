/*
 * The DNSSEC keys in `a-healthy-dns status` (DESIGN §13): the table the
 * prober keeps in the stats object (stats_keys.h), one row per key: tag,
 * algorithm, role, state, since, next step.
 */
#include "admin.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include <json-c/json.h>

#include "config.h"
#include "keyroll.h"
#include "stats.h"
#include "stats_keys.h"

static const char *admin_keys_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == KEYROLL_ALWAYS)
		return "start";
	if (t == KEYROLL_NEVER || gmtime_r(&tt, &tm) == NULL)
		return "-";
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* "activate 2026-...Z", "held until ...Z", "-". */
static void admin_keys_next(const struct stats_key *k, char *buf, size_t cap)
{
	char t[32];

	if (k->next_what[0] == '\0') {
		snprintf(buf, cap, "-");
		return;
	}
	snprintf(buf, cap, "%s %s%s", strcmp(k->next_what, "held") == 0 ? "held until" :
		 k->next_what, admin_keys_time(k->next, t, sizeof(t)),
		 k->held_why[0] != '\0' ? " (" : "");
	if (k->held_why[0] != '\0') {
		strlcat(buf, k->held_why, cap);
		strlcat(buf, ")", cap);
	}
}

void admin_keys_print(const struct stats *st, FILE *out)
{
	struct stats_key rows[KEYROLL_MAX];
	int64_t planned;
	size_t n;

	if (stats_keys_read(st, rows, &n, &planned) < 0 || n == 0)
		return;
	fprintf(out, "%-6s %-16s %-4s %-12s %-20s %s\n", "KEY", "ALGORITHM", "ROLE", "STATE",
		"SINCE", "NEXT");
	for (size_t i = 0; i < n; i++) {
		char since[32], next[300];

		admin_keys_next(&rows[i], next, sizeof(next));
		fprintf(out, "%-6u %-16s %-4s %-12s %-20s %s\n", (unsigned)rows[i].tag,
			config_alg_name((enum config_alg)rows[i].alg),
			keyroll_role_name((enum keyroll_role)rows[i].role),
			keyroll_state_name((enum keyroll_state)rows[i].state),
			admin_keys_time(rows[i].since, since, sizeof(since)), next);
	}
	fprintf(out, "\n");
}

/* A time as JSON: null when absent (never, or since start-up). */
static struct json_object *admin_keys_json_time(int64_t t)
{
	return t == KEYROLL_ALWAYS || t == KEYROLL_NEVER ? NULL : json_object_new_int64(t);
}

static struct json_object *admin_keys_json_row(const struct stats_key *k)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "tag", json_object_new_int(k->tag));
	json_object_object_add(o, "algorithm", json_object_new_int(k->alg));
	json_object_object_add(o, "algorithm_name",
			       json_object_new_string(config_alg_name((enum config_alg)k->alg)));
	json_object_object_add(o, "role", json_object_new_string(
					  keyroll_role_name((enum keyroll_role)k->role)));
	json_object_object_add(o, "state", json_object_new_string(
					   keyroll_state_name((enum keyroll_state)k->state)));
	json_object_object_add(o, "published", json_object_new_boolean(k->publish));
	json_object_object_add(o, "signing", json_object_new_boolean(k->sign));
	json_object_object_add(o, "since", admin_keys_json_time(k->since));
	json_object_object_add(o, "next_step", k->next_what[0] != '\0'
				   ? json_object_new_string(k->next_what) : NULL);
	json_object_object_add(o, "next_at", admin_keys_json_time(k->next));
	json_object_object_add(o, "held_because", k->held_why[0] != '\0'
				   ? json_object_new_string(k->held_why) : NULL);
	json_object_object_add(o, "path", json_object_new_string(k->path));
	return o;
}

int admin_keys_json(const struct stats *st, struct json_object *o)
{
	struct stats_key rows[KEYROLL_MAX];
	struct json_object *a = json_object_new_array();
	int64_t planned;
	size_t n;

	if (a == NULL)
		return -1;
	if (stats_keys_read(st, rows, &n, &planned) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (json_object_array_add(a, admin_keys_json_row(&rows[i])) != 0) {
			json_object_put(a);
			return -1;
		}
	return json_object_object_add(o, "keys", a) != 0 ? -1 : 0;
}
