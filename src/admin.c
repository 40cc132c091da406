/*
 * What the administrator subcommands (admin.h) share.
 */
#include "admin.h"

#include <errno.h>
#include <stdlib.h>

int admin_parse_port(const char *s, unsigned *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}
