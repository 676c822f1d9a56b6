/* fuzz_config.c - libFuzzer harness for the JSON config (src/config/).
 *
 * fuzz_config: the input is the config text, given to nn_config_parse.
 *
 * fuzz_set (this file built with -DFUZZ_SETS): the input is the config text,
 * then --set arguments, separated by NUL bytes ("{...}\0key=value\0key=value"),
 * given to nn_config_parse_with_sets (at most FUZZ_MAX_SETS arguments).
 *
 * On success the documented round trip is checked: nn_config_to_json of the
 * result parses again (with nn_config_parse) to a config whose JSON is the
 * same text.  A failure must be exit code 2 (an invalid config) with a
 * message.  The folder is a fixed relative one, so relative paths are
 * resolved against it.
 */
#include "fuzz_common.h"

#include "config/config.h"
#include "util/error.h"

#ifndef FUZZ_SETS
#define FUZZ_SETS 0
#endif

#define FUZZ_MAX_SETS 16
#define FUZZ_DIR "cfg/dir"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void check_round_trip(const nn_config *cfg)
{
    char *json = nn_config_to_json(cfg);
    FUZZ_CHECK(json != NULL);
    nn_config again;
    nn_error err = {0};
    if (nn_config_parse(&again, json, strlen(json), "<to_json>", FUZZ_DIR, &err) != 0) {
        fprintf(stderr, "re-parse of nn_config_to_json failed: %s\n%s\n", err.msg, json);
        FUZZ_CHECK(!"nn_config_to_json output parses");
    }
    char *json2 = nn_config_to_json(&again);
    FUZZ_CHECK(json2 != NULL);
    if (strcmp(json, json2) != 0) {
        fprintf(stderr, "to_json round trip differs:\n%s\n---\n%s\n", json, json2);
        FUZZ_CHECK(!"to_json(parse(to_json(cfg))) == to_json(cfg)");
    }
    nn_config_free(&again);
    free(json);
    free(json2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t text_len = size;
    char *sets[FUZZ_MAX_SETS];
    int n_sets = 0;
    char *copy = NULL;
#if FUZZ_SETS
    /* config \0 set \0 set ... : the strings are NUL-terminated copies */
    copy = malloc(size + 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    text = copy;
    text_len = strlen(copy);
    for (size_t i = text_len + 1; i <= size && n_sets < FUZZ_MAX_SETS;) {
        sets[n_sets++] = copy + i;
        i += strlen(copy + i) + 1;
    }
#endif

    nn_config cfg;
    nn_error err = {0};
    if (nn_config_parse_with_sets(&cfg, text, text_len, "fuzz.json", FUZZ_DIR, sets, n_sets,
                                  &err) == 0) {
        check_round_trip(&cfg);
        nn_config_free(&cfg);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(err.code == NN_EXIT_USAGE || err.code == NN_EXIT_RUNTIME);
    }
    free(copy);
    return 0;
}
