/*
 * Fuzz target: bytes split on NUL into a command line -> config_parse()
 * with an empty environment. Every refusal prints one line on stderr
 * (silenced); a crash or a leak is a bug. An accepted command line must
 * serialize and read back like any other configuration.
 */
#include "fuzz.h"

#include <string.h>

#include "ahd.h"
#include "log.h"

/* Far more than any real command line; bounds the work per input. */
#define FUZZ_ARGV_MAX 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	log_set_level(AHD_LOG_CRITICAL);
	fuzz_quiet_stderr();
	/* --help and --version print to stdout. */
	if (!freopen("/dev/null", "w", stdout))
		fuzz_fail(__FILE__, __LINE__, "cannot silence stdout");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[FUZZ_ARGV_MAX + 2];
	char *envp[] = { NULL };
	int argc = 0;
	struct config cfg, again;
	enum config_action action = CONFIG_EXIT_OK;
	size_t start = 0;

	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "a-healthy-dns";
	/* Each NUL ends an argument; the bytes after the last one are one
	 * more (possibly empty when the input ends with NUL: skipped). */
	for (size_t i = 0; i <= size && argc <= FUZZ_ARGV_MAX; i++) {
		if (buf[i] != '\0')
			continue;
		if (i > start || i < size)
			argv[argc++] = buf + start;
		start = i + 1;
	}
	argv[argc] = NULL;
	if (config_parse(&cfg, argc, argv, envp, &action) == 0) {
		if (action == CONFIG_RUN) {
			char *j1 = config_to_json(&cfg);

			FUZZ_CHECK(j1 != NULL);
			FUZZ_CHECK(config_from_json(&again, j1) == 0);
			free(j1);
			config_free(&again);
		}
		config_free(&cfg);
	}
	free(buf);
	return 0;
}
