/*
 * Project-wide constants and macros for a-healthy-dns.
 */
#ifndef AHD_H
#define AHD_H

#include <stddef.h>

#define AHD_NAME "a-healthy-dns"
#ifndef AHD_VERSION
#define AHD_VERSION "0.1.0"
#endif

#define AHD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AHD_UNUSED(x) ((void)(x))

/* RFC 1035 limits. */
#define AHD_MAX_NAME_WIRE 255 /* a name in wire form, root label included */
#define AHD_MAX_NAME_TEXT 253 /* a name in text form, no trailing dot */
#define AHD_MAX_LABEL 63

/* The largest message a worker ever builds: the TCP maximum. */
#define AHD_MAX_MSG 65535
/* Classic DNS over UDP without EDNS (RFC 1035 section 4.2.1). */
#define AHD_UDP_CLASSIC 512
/* Default EDNS payload (DNS flag day 2020). */
#define AHD_EDNS_DEFAULT 1232

/* RFC 8767: TTLs are clamped to 0..2^31-1. */
#define AHD_TTL_MAX 2147483647u

#endif
