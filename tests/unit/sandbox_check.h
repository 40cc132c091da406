/*
 * For the unit tests of a role's seccomp allow-list (proc.c): every call
 * of yes allowed, every call of no refused, except in a sanitizer build
 * the calls the sanitizer runtime's own list adds.
 */
#ifndef AHD_TEST_SANDBOX_CHECK_H
#define AHD_TEST_SANDBOX_CHECK_H

#include <criterion/criterion.h>

#include <string.h>

#include "proc.h"

static inline bool sandbox_sanitizer_has(const char *name)
{
#if defined(__SANITIZE_ADDRESS__)
	static const char *const san[] = { "openat", "kill", "ptrace", "mprotect", "prlimit64" };

	for (size_t i = 0; i < sizeof(san) / sizeof(san[0]); i++) {
		if (strcmp(san[i], name) == 0)
			return true;
	}
#endif
	(void)name;
	return false;
}

static inline void sandbox_expect(enum proc_role role, const char *const *yes, size_t n_yes,
				  const char *const *no, size_t n_no)
{
	for (size_t i = 0; i < n_yes; i++)
		cr_expect_eq(proc_sandbox_allows(role, yes[i]), 1, "%s", yes[i]);
	for (size_t i = 0; i < n_no; i++) {
		if (!sandbox_sanitizer_has(no[i]))
			cr_expect_eq(proc_sandbox_allows(role, no[i]), 0, "%s", no[i]);
	}
}

#endif
