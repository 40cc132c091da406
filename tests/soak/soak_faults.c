/* The long version of tests/system/test_faults.c: 60 s per phase. */
#define AHD_SOAK 1
#include "../system/test_faults.c"
