/*
 * Fuzz target: bytes -> config_from_json(), the serialization children
 * read back. Refusal is fine, a crash or a leak is not. An accepted
 * configuration must survive the round trip the supervisor makes:
 * config_to_json, then config_from_json again, giving the same JSON.
 */
#include "fuzz.h"

#include <string.h>

#include "ahd.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	AHD_UNUSED(argc);
	AHD_UNUSED(argv);
	log_set_level(AHD_LOG_CRITICAL);
	fuzz_quiet_stderr();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct config cfg, again;
	char *j1, *j2;

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_from_json(&cfg, text) < 0) {
		free(text);
		return 0;
	}
	free(text);
	j1 = config_to_json(&cfg);
	FUZZ_CHECK(j1 != NULL);
	FUZZ_CHECK(config_from_json(&again, j1) == 0);
	j2 = config_to_json(&again);
	FUZZ_CHECK(j2 != NULL);
	FUZZ_CHECK(strcmp(j1, j2) == 0);
	FUZZ_CHECK(again.n_entries == cfg.n_entries && again.n_addrs_total == cfg.n_addrs_total);
	free(j1);
	free(j2);
	config_free(&again);
	config_free(&cfg);
	return 0;
}
