/* The long version of tests/system/test_limits.c: 10 million queries,
 * 100,000 TCP connections. */
#define AHD_SOAK 1
#include "../system/test_limits.c"
