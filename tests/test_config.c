/* test_config.c - the JSON config: values, defaults, every error kind with its
 * exit code and exact FILE:LINE:COL message, paths, and the to_json round trip. */
#include "tests.h"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The smallest valid config, split so tests can put one key on line 3:
 * CFG3(x) is `{TRAIN,\nLAYERS,\nx}` and x starts at column 1 of line 3. */
#define TRAIN "\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"}}"
#define LAYERS "\"model\": {\"layers\": [{\"units\": 10}]}"
#define MINIMAL "{" TRAIN ", " LAYERS "}"
#define CFG3(line3) "{" TRAIN ",\n" LAYERS ",\n" line3 "}"

static int parse_text(nn_config *cfg, const char *text, nn_error *err)
{
    return nn_config_parse(cfg, text, strlen(text), "x.json", "cfgdir", err);
}

/* Parsing `text` fails with exit code `code` and exactly `msg`, and leaves
 * the config freed. */
#define EXPECT_ERROR(text_, code_, msg_)                        \
    do {                                                        \
        nn_config c_;                                           \
        nn_error e_ = {0};                                      \
        ck_assert_int_eq(parse_text(&c_, (text_), &e_), -1);    \
        ck_assert_str_eq(e_.msg, (msg_));                       \
        ck_assert_int_eq(e_.code, (code_));                     \
        ck_assert_ptr_null(c_.config_dir);                      \
        ck_assert_ptr_null(c_.train.images);                    \
        nn_config_free(&c_);                                    \
    } while (0)

#define EXPECT_USAGE(text_, msg_) EXPECT_ERROR(text_, NN_EXIT_USAGE, msg_)

/* Parsing `text` fails with exit code 2 and a message starting with `prefix`. */
#define EXPECT_USAGE_PREFIX(text_, prefix)                                      \
    do {                                                                        \
        nn_config c_;                                                           \
        nn_error e_ = {0};                                                      \
        ck_assert_int_eq(parse_text(&c_, (text_), &e_), -1);                    \
        ck_assert_int_eq(e_.code, NN_EXIT_USAGE);                               \
        ck_assert_msg(strncmp(e_.msg, (prefix), strlen(prefix)) == 0,           \
                      "message \"%s\" does not start with \"%s\"", e_.msg, (prefix)); \
        nn_config_free(&c_);                                                    \
    } while (0)

static void parse_ok(nn_config *cfg, const char *text)
{
    nn_error err = {0};
    int rc = parse_text(cfg, text, &err);
    ck_assert_msg(rc == 0, "unexpected error: %s", err.msg);
}

static void write_text(const char *path, const char *text)
{
    nn_test_write_file(path, text, strlen(text));
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void assert_source_eq(const nn_source *a, const nn_source *b)
{
    ck_assert(str_eq(a->images, b->images));
    ck_assert(str_eq(a->labels, b->labels));
    ck_assert(str_eq(a->images_path, b->images_path));
    ck_assert(str_eq(a->labels_path, b->labels_path));
}

static void assert_config_eq(const nn_config *a, const nn_config *b)
{
    ck_assert_uint_eq(a->seed, b->seed);
    ck_assert_int_eq(a->has_train, b->has_train);
    assert_source_eq(&a->train, &b->train);
    ck_assert_int_eq(a->has_test, b->has_test);
    assert_source_eq(&a->test, &b->test);
    ck_assert_int_eq(a->has_validation, b->has_validation);
    assert_source_eq(&a->validation, &b->validation);
    ck_assert(a->validation_fraction == b->validation_fraction); /* bit-exact */
    ck_assert_int_eq(a->scale, b->scale);
    ck_assert_int_eq(a->n_layers, b->n_layers);
    for (int i = 0; i < a->n_layers; i++) {
        ck_assert_int_eq(a->layers[i].units, b->layers[i].units);
        ck_assert_int_eq(a->layers[i].act, b->layers[i].act);
    }
    ck_assert_int_eq(a->loss, b->loss);
    ck_assert_int_eq(a->optimizer, b->optimizer);
    ck_assert(a->learning_rate == b->learning_rate); /* bit-exact */
    ck_assert_int_eq(a->epochs, b->epochs);
    ck_assert_int_eq(a->batch_size, b->batch_size);
    ck_assert_int_eq(a->shuffle, b->shuffle);
    ck_assert(str_eq(a->checkpoint, b->checkpoint));
    ck_assert(str_eq(a->checkpoint_path, b->checkpoint_path));
    ck_assert_int_eq(a->checkpoint_every, b->checkpoint_every);
    ck_assert(str_eq(a->config_dir, b->config_dir));
}

/* The example of contract section 5, with a validation source in place of
 * the fraction for the second variant. */
static const char full_config[] =
    "{\n"
    "  \"seed\": 7,\n"
    "  \"data\": {\n"
    "    \"train\": {\"images\": \"../data/train-images.gz\",\n"
    "              \"labels\": \"../data/train-labels.gz\"},\n"
    "    \"test\":  {\"images\": \"/abs/t10k-images.gz\",\n"
    "              \"labels\": \"t10k-labels.gz\"},\n"
    "    \"validation_fraction\": 0.1,\n"
    "    \"scale\": \"standard\"\n"
    "  },\n"
    "  \"model\": {\"layers\": [{\"units\": 128, \"activation\": \"sigmoid\"},\n"
    "                       {\"units\": 10,  \"activation\": \"identity\"}]},\n"
    "  \"loss\": \"mse\",\n"
    "  \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.5},\n"
    "  \"training\": {\"epochs\": 12, \"batch_size\": 64, \"shuffle\": false},\n"
    "  \"checkpoint\": {\"path\": \"../runs/default.ckpt\", \"every_epochs\": 3}\n"
    "}\n";

START_TEST(test_config_parses_every_key_of_a_full_config)
{
    nn_config cfg;
    parse_ok(&cfg, full_config);
    ck_assert_uint_eq(cfg.seed, 7);
    ck_assert(cfg.has_train);
    ck_assert_str_eq(cfg.train.images, "../data/train-images.gz");
    ck_assert_str_eq(cfg.train.labels, "../data/train-labels.gz");
    ck_assert_str_eq(cfg.train.images_path, "cfgdir/../data/train-images.gz");
    ck_assert_str_eq(cfg.train.labels_path, "cfgdir/../data/train-labels.gz");
    ck_assert(cfg.has_test);
    ck_assert_str_eq(cfg.test.images, "/abs/t10k-images.gz");
    ck_assert_str_eq(cfg.test.images_path, "/abs/t10k-images.gz");
    ck_assert_str_eq(cfg.test.labels_path, "cfgdir/t10k-labels.gz");
    ck_assert(!cfg.has_validation);
    ck_assert_ptr_null(cfg.validation.images);
    ck_assert(cfg.validation_fraction == 0.1);
    ck_assert_int_eq(cfg.scale, NN_SCALE_STANDARD);
    ck_assert_int_eq(cfg.n_layers, 2);
    ck_assert_int_eq(cfg.layers[0].units, 128);
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_SIGMOID);
    ck_assert_int_eq(cfg.layers[1].units, 10);
    ck_assert_int_eq(cfg.layers[1].act, NN_ACT_IDENTITY);
    ck_assert_int_eq(cfg.loss, NN_LOSS_MSE);
    ck_assert_int_eq(cfg.optimizer, NN_OPT_SGD);
    ck_assert(cfg.learning_rate == 0.5);
    ck_assert_int_eq(cfg.epochs, 12);
    ck_assert_int_eq(cfg.batch_size, 64);
    ck_assert(!cfg.shuffle);
    ck_assert_str_eq(cfg.checkpoint, "../runs/default.ckpt");
    ck_assert_str_eq(cfg.checkpoint_path, "cfgdir/../runs/default.ckpt");
    ck_assert_int_eq(cfg.checkpoint_every, 3);
    ck_assert_str_eq(cfg.config_dir, "cfgdir");
    nn_config_free(&cfg);
    nn_config_free(&cfg); /* a freed config can be freed again */
}
END_TEST

START_TEST(test_config_fills_defaults_for_absent_keys)
{
    nn_config cfg;
    parse_ok(&cfg, MINIMAL);
    ck_assert_uint_eq(cfg.seed, 1);
    ck_assert(cfg.has_train && !cfg.has_test && !cfg.has_validation);
    ck_assert(cfg.validation_fraction == 0.0);
    ck_assert_int_eq(cfg.scale, NN_SCALE_UNIT);
    ck_assert_int_eq(cfg.n_layers, 1);
    ck_assert_int_eq(cfg.layers[0].units, 10);
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_SIGMOID);
    ck_assert_int_eq(cfg.loss, NN_LOSS_MSE);
    ck_assert_int_eq(cfg.optimizer, NN_OPT_SGD);
    ck_assert(cfg.learning_rate == 0.1);
    ck_assert_int_eq(cfg.epochs, 10);
    ck_assert_int_eq(cfg.batch_size, 32);
    ck_assert(cfg.shuffle);
    ck_assert_ptr_null(cfg.checkpoint);
    ck_assert_ptr_null(cfg.checkpoint_path);
    ck_assert_int_eq(cfg.checkpoint_every, 1);
    nn_config_free(&cfg);

    nn_config d;
    nn_config_defaults(&d);
    ck_assert_uint_eq(d.seed, 1);
    ck_assert(d.learning_rate == 0.1);
    ck_assert_int_eq(d.n_layers, 0);
    ck_assert_ptr_null(d.config_dir);
    nn_config_free(&d);
}
END_TEST

START_TEST(test_config_rejects_unknown_key_with_suggestion)
{
    EXPECT_USAGE("{\n"
                 "  " TRAIN ",\n"
                 "  " LAYERS ",\n"
                 "  \"optimizer\": {\"name\": \"sgd\",\n"
                 "                \"learing_rate\": 0.5}\n"
                 "}\n",
                 "x.json:5:17: unknown key \"learing_rate\" in \"optimizer\" "
                 "(did you mean \"learning_rate\"?)");
    EXPECT_USAGE(CFG3("\"trainig\": {}"),
                 "x.json:3:1: unknown key \"trainig\" (did you mean \"training\"?)");
    EXPECT_USAGE(CFG3("\"training\": {\"epochs\": 10, \"epoch\": 5}"),
                 "x.json:3:28: unknown key \"epoch\" in \"training\" (did you mean \"epochs\"?)");
    /* an adjacent swap is one edit */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"learnign_rate\": 1}"),
                 "x.json:3:15: unknown key \"learnign_rate\" in \"optimizer\" "
                 "(did you mean \"learning_rate\"?)");
    EXPECT_USAGE("{" TRAIN ",\n\"model\": {\"layers\": [{\"unit\": 3}]}}",
                 "x.json:2:23: unknown key \"unit\" in \"model.layers.0\" "
                 "(did you mean \"units\"?)");
}
END_TEST

START_TEST(test_config_lists_valid_keys_when_no_key_is_close)
{
    EXPECT_USAGE(CFG3("\"lr\": 0.1"),
                 "x.json:3:1: unknown key \"lr\" (valid keys: \"seed\", \"data\", \"model\", "
                 "\"loss\", \"optimizer\", \"training\", \"checkpoint\")");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"momentum\": 0.9}"),
                 "x.json:3:15: unknown key \"momentum\" in \"optimizer\" "
                 "(valid keys: \"name\", \"learning_rate\")");
    /* a CSV-style source is not an IDX source */
    EXPECT_USAGE("{\"data\": {\"train\": {\"path\": \"x.csv\"}}, " LAYERS "}",
                 "x.json:1:21: unknown key \"path\" in \"data.train\" "
                 "(valid keys: \"images\", \"labels\")");
}
END_TEST

START_TEST(test_config_rejects_duplicate_keys)
{
    EXPECT_USAGE(CFG3("\"seed\": 3, \"seed\": 4"), "x.json:3:12: duplicate key \"seed\"");
    EXPECT_USAGE(CFG3("\"training\": {\"epochs\": 1, \"epochs\": 2}"),
                 "x.json:3:27: duplicate key \"epochs\" in \"training\"");
    EXPECT_USAGE("{" TRAIN ",\n" LAYERS ",\n" TRAIN "}", "x.json:3:1: duplicate key \"data\"");
}
END_TEST

START_TEST(test_config_reports_syntax_error_position)
{
    EXPECT_USAGE("{\"seed\": 1,}", "x.json:1:12: invalid JSON near '}'");
    EXPECT_USAGE("{\n  \"seed\" 1\n}", "x.json:2:10: invalid JSON near '1'");
    EXPECT_USAGE("{\"seed\": 1", "x.json:1:11: invalid JSON near end of file");
    EXPECT_USAGE("{\"seed\": tru}", "x.json:1:10: invalid JSON near 'tru}'");
    EXPECT_USAGE("{\"seed\": 1 \"data\": {\"train\": {}}}",
                 "x.json:1:12: invalid JSON near '\"data\": {\"train\"'");
    EXPECT_USAGE("{\"seed\": 1} x", "x.json:1:13: invalid JSON near 'x'");
    EXPECT_USAGE("{seed: 1}", "x.json:1:2: invalid JSON near 'seed: 1}'");
    /* cJSON accepts these; the strict scanner does not */
    EXPECT_USAGE("{\"seed\": 01}", "x.json:1:10: invalid JSON near '01}'");
    EXPECT_USAGE("{\"seed\": 1.}", "x.json:1:10: invalid JSON near '1.}'");
    EXPECT_USAGE(CFG3("\"loss\": \"m\tse\""), "x.json:3:11: invalid JSON near '?se\"}'");
    EXPECT_USAGE("{\"seed\":\x01 1}", "x.json:1:9: invalid JSON near '? 1}'");
    EXPECT_USAGE("{\"seed\": 1,\n\"data\": \n}", "x.json:3:1: invalid JSON near '}'");
    EXPECT_USAGE("{\"loss\": \"ms\ne\"}", "x.json:1:13: invalid JSON near end of line");
    EXPECT_USAGE("{\"seed\": 1,\n\"data\" x   \n}", "x.json:2:8: invalid JSON near 'x'");
    /* an invalid UTF-8 byte is not copied into the message */
    EXPECT_USAGE("{\"seed\": \xFF\xC3\xA9}", "x.json:1:10: invalid JSON near '?\xC3\xA9}'");
    /* a lone surrogate: cJSON's own error position is used */
    EXPECT_USAGE_PREFIX("{\"loss\": \"\\ud800\"}", "x.json:1:");
}
END_TEST

START_TEST(test_config_rejects_empty_and_non_object_documents)
{
    EXPECT_USAGE("", "x.json:1:1: empty config, expected a JSON object");
    EXPECT_USAGE(" \n\t\n", "x.json:1:1: empty config, expected a JSON object");
    EXPECT_USAGE("[1, 2]", "x.json:1:1: the config must be a JSON object, found an array");
    EXPECT_USAGE("\n  \"x\"\n", "x.json:2:3: the config must be a JSON object, found a string");
    EXPECT_USAGE("null", "x.json:1:1: the config must be a JSON object, found null");
    /* a NUL byte in the text */
    nn_config cfg;
    nn_error err = {0};
    ck_assert_int_eq(nn_config_parse(&cfg, "{\"seed\"\0: 1}", 12, "x.json", ".", &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_USAGE);
    ck_assert_str_eq(err.msg, "x.json:1:8: invalid JSON near '?: 1}'");
}
END_TEST

START_TEST(test_config_rejects_wrong_types)
{
    EXPECT_USAGE(CFG3("\"optimizer\": {\"learning_rate\": \"fast\"}"),
                 "x.json:3:32: \"optimizer.learning_rate\" must be a number, found a string");
    EXPECT_USAGE(CFG3("\"training\": {\"shuffle\": \"yes\"}"),
                 "x.json:3:25: \"training.shuffle\" must be true or false, found a string");
    EXPECT_USAGE(CFG3("\"training\": {\"epochs\": \"10\"}"),
                 "x.json:3:24: \"training.epochs\" must be an integer from 1 to 1000000, "
                 "found a string");
    EXPECT_USAGE(CFG3("\"training\": [1]"),
                 "x.json:3:13: \"training\" must be an object, found an array");
    EXPECT_USAGE(CFG3("\"loss\": 1"),
                 "x.json:3:9: \"loss\" must be one of \"mse\", found a number");
    EXPECT_USAGE(CFG3("\"checkpoint\": {\"path\": null}"),
                 "x.json:3:24: \"checkpoint.path\" must be a non-empty string, found null");
    EXPECT_USAGE("{\"data\": {\"train\": {\"images\": 1, \"labels\": \"b\"}}, " LAYERS "}",
                 "x.json:1:31: \"data.train.images\" must be a non-empty string, found a number");
    EXPECT_USAGE("{" TRAIN ", \"model\": {\"layers\": {\"units\": 3}}}",
                 "x.json:1:73: \"model.layers\" must be an array, found an object");
    EXPECT_USAGE("{" TRAIN ", \"model\": {\"layers\": [3]}}",
                 "x.json:1:74: \"model.layers.0\" must be an object, found a number");
    /* columns count characters, not bytes */
    EXPECT_USAGE(CFG3("\"loss\": \"\xC3\xA9\", \"seed\": true"),
                 "x.json:3:22: \"seed\" must be an integer from 0 to 9007199254740992, "
                 "found a boolean");
}
END_TEST

START_TEST(test_config_rejects_out_of_range_values)
{
    EXPECT_USAGE(CFG3("\"training\": {\"epochs\": 0}"),
                 "x.json:3:24: \"training.epochs\" must be an integer from 1 to 1000000, found 0");
    EXPECT_USAGE(CFG3("\"training\": {\"batch_size\": 65537}"),
                 "x.json:3:28: \"training.batch_size\" must be an integer from 1 to 65536, "
                 "found 65537");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"learning_rate\": 0}"),
                 "x.json:3:32: \"optimizer.learning_rate\" must be a number greater than 0, "
                 "found 0");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"learning_rate\": -0.5}"),
                 "x.json:3:32: \"optimizer.learning_rate\" must be a number greater than 0, "
                 "found -0.5");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"learning_rate\": 1e400}"),
                 "x.json:3:32: \"optimizer.learning_rate\" must be a number greater than 0, "
                 "found 1e400");
    EXPECT_USAGE(CFG3("\"seed\": -1"),
                 "x.json:3:9: \"seed\" must be an integer from 0 to 9007199254740992, found -1");
    EXPECT_USAGE(CFG3("\"seed\": 9007199254740993"),
                 "x.json:3:9: \"seed\" must be an integer from 0 to 9007199254740992, "
                 "found 9007199254740993");
    EXPECT_USAGE(CFG3("\"seed\": 1e30"),
                 "x.json:3:9: \"seed\" must be an integer from 0 to 9007199254740992, found 1e30");
    EXPECT_USAGE(CFG3("\"checkpoint\": {\"every_epochs\": -1}"),
                 "x.json:3:32: \"checkpoint.every_epochs\" must be an integer from 0 to 1000000, "
                 "found -1");
    EXPECT_USAGE(CFG3("\"checkpoint\": {\"path\": \"\"}"),
                 "x.json:3:24: \"checkpoint.path\" must be a non-empty string, found \"\"");
    EXPECT_USAGE("{\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"},\n"
                 "\"validation_fraction\": 1}, " LAYERS "}",
                 "x.json:2:24: \"data.validation_fraction\" must be a number from 0 up to but "
                 "not including 1, found 1");
    EXPECT_USAGE("{" TRAIN ",\n\"model\": {\"layers\": [{\"units\": 65537}]}}",
                 "x.json:2:32: \"model.layers.0.units\" must be an integer from 1 to 65536, "
                 "found 65537");
    EXPECT_USAGE("{" TRAIN ",\n\"model\": {\"layers\": []}}",
                 "x.json:2:21: \"model.layers\" must hold from 1 to 64 layers, found 0");
    /* a long number is shortened in the message */
    EXPECT_USAGE(CFG3("\"seed\": 123456789012345678901234567890123456789012345678901234567890"),
                 "x.json:3:9: \"seed\" must be an integer from 0 to 9007199254740992, "
                 "found 1234567890123456789012345678901234567890...");
}
END_TEST

START_TEST(test_config_rejects_more_than_max_layers)
{
    char text[4096];
    int o = snprintf(text, sizeof text, "{" TRAIN ",\n\"model\": {\"layers\": [");
    for (int i = 0; i <= NN_MAX_LAYERS; i++)
        o += snprintf(text + o, sizeof text - (size_t)o, "%s{\"units\": 2}", i ? "," : "");
    snprintf(text + o, sizeof text - (size_t)o, "]}}");
    EXPECT_USAGE(text, "x.json:2:21: \"model.layers\" must hold from 1 to 64 layers, found 65");

    /* exactly the maximum is fine */
    o = snprintf(text, sizeof text, "{" TRAIN ",\n\"model\": {\"layers\": [");
    for (int i = 0; i < NN_MAX_LAYERS; i++)
        o += snprintf(text + o, sizeof text - (size_t)o, "%s{\"units\": %d}", i ? "," : "", i + 1);
    snprintf(text + o, sizeof text - (size_t)o, "]}}");
    nn_config cfg;
    parse_ok(&cfg, text);
    ck_assert_int_eq(cfg.n_layers, NN_MAX_LAYERS);
    ck_assert_int_eq(cfg.layers[NN_MAX_LAYERS - 1].units, NN_MAX_LAYERS);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_rejects_unknown_enum_names)
{
    EXPECT_USAGE("{" TRAIN ",\n"
                 "\"model\": {\"layers\": [{\"units\": 10},\n"
                 "  {\"units\": 3, \"activation\": \"relu\"}]}}",
                 "x.json:3:30: \"model.layers.1.activation\" must be one of \"identity\", "
                 "\"sigmoid\", found \"relu\"");
    EXPECT_USAGE(CFG3("\"loss\": \"m\xC3\xA4\xFF\\n\""),
                 "x.json:3:9: \"loss\" must be one of \"mse\", found \"m\xC3\xA4??\"");
    EXPECT_USAGE(CFG3("\"loss\": \"mae\""),
                 "x.json:3:9: \"loss\" must be one of \"mse\", found \"mae\"");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\"}"),
                 "x.json:3:23: \"optimizer.name\" must be one of \"sgd\", found \"adam\"");
    EXPECT_USAGE("{\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"},\n"
                 "\"scale\": \"Unit\"}, " LAYERS "}",
                 "x.json:2:10: \"data.scale\" must be one of \"none\", \"unit\", \"minmax\", "
                 "\"standard\", found \"Unit\"");
}
END_TEST

START_TEST(test_config_rejects_non_integral_integers)
{
    EXPECT_USAGE(CFG3("\"training\": {\"batch_size\": 1.5}"),
                 "x.json:3:28: \"training.batch_size\" must be an integer from 1 to 65536, "
                 "found 1.5");
    EXPECT_USAGE(CFG3("\"training\": {\"epochs\": 25e-1}"),
                 "x.json:3:24: \"training.epochs\" must be an integer from 1 to 1000000, "
                 "found 25e-1");
    /* closer to 1 than a double can tell, but still not an integer */
    EXPECT_USAGE(CFG3("\"training\": {\"epochs\": 1.00000000000000000001}"),
                 "x.json:3:24: \"training.epochs\" must be an integer from 1 to 1000000, "
                 "found 1.00000000000000000001");
}
END_TEST

START_TEST(test_config_accepts_integers_written_with_exponent_or_fraction)
{
    nn_config cfg;
    parse_ok(&cfg, CFG3("\"seed\": 9007199254740992, \"training\": {\"epochs\": 1e3, "
                        "\"batch_size\": 2.5e1}, \"checkpoint\": {\"every_epochs\": 0}"));
    ck_assert_uint_eq(cfg.seed, (uint64_t)1 << 53);
    ck_assert_int_eq(cfg.epochs, 1000);
    ck_assert_int_eq(cfg.batch_size, 25);
    ck_assert_int_eq(cfg.checkpoint_every, 0);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"seed\": -0, \"training\": {\"epochs\": 10.0, "
                        "\"batch_size\": 6400E-2}"));
    ck_assert_uint_eq(cfg.seed, 0);
    ck_assert_int_eq(cfg.epochs, 10);
    ck_assert_int_eq(cfg.batch_size, 64);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_rejects_missing_required_keys)
{
    EXPECT_USAGE("{" LAYERS "}", "x.json:1:1: missing required key \"data.train\"");
    EXPECT_USAGE("{\"data\": {}, " LAYERS "}",
                 "x.json:1:10: missing required key \"data.train\"");
    EXPECT_USAGE("{" TRAIN "}", "x.json:1:1: missing required key \"model.layers\"");
    EXPECT_USAGE("{" TRAIN ",\n\"model\": {}}", "x.json:2:10: missing required key \"model.layers\"");
    EXPECT_USAGE("{\"data\": {\"train\": {\"images\": \"a\"}}, " LAYERS "}",
                 "x.json:1:20: missing required key \"data.train.labels\"");
    EXPECT_USAGE("{" TRAIN ",\n"
                 "\"model\": {\"layers\": [{\"units\": 10},\n"
                 "  {\"activation\": \"identity\"}]}}",
                 "x.json:3:3: missing required key \"model.layers.1.units\"");
}
END_TEST

START_TEST(test_config_rejects_validation_source_with_fraction)
{
    static const char head[] =
        "{\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"},\n"
        " \"validation\": {\"images\": \"c\", \"labels\": \"d\"},\n";
    char text[512];
    snprintf(text, sizeof text, "%s \"validation_fraction\": 0.1},\n" LAYERS "}", head);
    EXPECT_USAGE(text, "x.json:3:25: \"data.validation_fraction\" must be 0 when "
                       "\"data.validation\" is given, found 0.1");

    /* a fraction of 0 next to a source is the default, and allowed */
    snprintf(text, sizeof text, "%s \"validation_fraction\": 0},\n" LAYERS "}", head);
    nn_config cfg;
    parse_ok(&cfg, text);
    ck_assert(cfg.has_validation);
    ck_assert_str_eq(cfg.validation.images, "c");
    ck_assert_str_eq(cfg.validation.labels_path, "cfgdir/d");
    ck_assert(cfg.validation_fraction == 0.0);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_rejects_nul_escapes_and_deep_nesting)
{
    EXPECT_USAGE(CFG3("\"loss\": \"ms\\u0000e\""),
                 "x.json:3:12: \"\\u0000\" is not allowed in strings");

    /* nesting beyond cJSON's limit is an error, never a crash */
    size_t depth = 5000;
    char *text = malloc(2 * depth + 16);
    ck_assert_ptr_nonnull(text);
    size_t o = (size_t)sprintf(text, "{\"seed\": ");
    memset(text + o, '[', depth);
    memset(text + o + depth, ']', depth);
    strcpy(text + o + 2 * depth, "}");
    EXPECT_USAGE(text, "x.json:1:1009: invalid JSON: nested deeper than 1000 levels");

    /* deep but within the limit: a type error at the value */
    depth = 900;
    o = (size_t)sprintf(text, "{\"seed\": ");
    memset(text + o, '[', depth);
    memset(text + o + depth, ']', depth);
    strcpy(text + o + 2 * depth, "}");
    EXPECT_USAGE(text,
                 "x.json:1:10: \"seed\" must be an integer from 0 to 9007199254740992, "
                 "found an array");
    free(text);
}
END_TEST

START_TEST(test_config_skips_a_byte_order_mark)
{
    EXPECT_USAGE("\xEF\xBB\xBF{\"seed\": 1,}", "x.json:1:12: invalid JSON near '}'");
    nn_config cfg;
    parse_ok(&cfg, "\xEF\xBB\xBF" MINIMAL);
    ck_assert_int_eq(cfg.n_layers, 1);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_load_resolves_paths_against_the_config_folder)
{
    char dir[4096], sub[4200], file[4300], expect[4400];
    snprintf(dir, sizeof dir, "%s", nn_test_tmpdir());
    snprintf(sub, sizeof sub, "%s/configs", dir);
    ck_assert_int_eq(mkdir(sub, 0777), 0);
    snprintf(file, sizeof file, "%s/run.json", sub);
    write_text(file, "{\"data\": {\"train\": {\"images\": \"../data/img.gz\",\n"
                     "                    \"labels\": \"/abs/lab.gz\"}},\n"
                     " \"model\": {\"layers\": [{\"units\": 4}]},\n"
                     " \"checkpoint\": {\"path\": \"runs/x.ckpt\"}}\n");
    nn_config cfg;
    nn_error err = {0};
    ck_assert_msg(nn_config_load(&cfg, file, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(cfg.config_dir, sub);
    ck_assert_str_eq(cfg.train.images, "../data/img.gz");
    snprintf(expect, sizeof expect, "%s/../data/img.gz", sub);
    ck_assert_str_eq(cfg.train.images_path, expect);
    ck_assert_str_eq(cfg.train.labels, "/abs/lab.gz");
    ck_assert_str_eq(cfg.train.labels_path, "/abs/lab.gz");
    ck_assert_str_eq(cfg.checkpoint, "runs/x.ckpt");
    snprintf(expect, sizeof expect, "%s/runs/x.ckpt", sub);
    ck_assert_str_eq(cfg.checkpoint_path, expect);

    /* a checkpoint given on the command line is relative to the current folder */
    ck_assert_int_eq(nn_config_set_checkpoint(&cfg, "out/model.ckpt", &err), 0);
    ck_assert_str_eq(cfg.checkpoint, "out/model.ckpt");
    ck_assert_str_eq(cfg.checkpoint_path, "out/model.ckpt");
    ck_assert_int_eq(nn_config_set_checkpoint(&cfg, "", &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_USAGE);
    ck_assert_str_eq(cfg.checkpoint, "out/model.ckpt");
    nn_config_free(&cfg);

    /* in-memory text with no folder: paths stay as written */
    ck_assert_int_eq(nn_config_parse(&cfg, MINIMAL, strlen(MINIMAL), "mem", NULL, &err), 0);
    ck_assert_str_eq(cfg.config_dir, ".");
    ck_assert_str_eq(cfg.train.images_path, "a");
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_load_names_the_file_as_given_in_errors)
{
    char file[4200];
    snprintf(file, sizeof file, "%s/bad.json", nn_test_tmpdir());
    write_text(file, "{\n  \"seed\": 1.5\n}\n");
    nn_config cfg;
    nn_error err = {0};
    ck_assert_int_eq(nn_config_load(&cfg, file, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_USAGE);
    char expect[4400];
    snprintf(expect, sizeof expect,
             "%s:2:11: \"seed\" must be an integer from 0 to 9007199254740992, found 1.5", file);
    ck_assert_str_eq(err.msg, expect);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_load_of_unreadable_file_exits_1)
{
    char dir[4096], file[4200], expect[4400];
    snprintf(dir, sizeof dir, "%s", nn_test_tmpdir());
    snprintf(file, sizeof file, "%s/missing.json", dir);
    nn_config cfg;
    nn_error err = {0};
    ck_assert_int_eq(nn_config_load(&cfg, file, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    snprintf(expect, sizeof expect, "%s: No such file or directory", file);
    ck_assert_str_eq(err.msg, expect);
    ck_assert_ptr_null(cfg.config_dir);

    /* a folder opens but cannot be read */
    ck_assert_int_eq(nn_config_load(&cfg, dir, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    snprintf(expect, sizeof expect, "%s: Is a directory", dir);
    ck_assert_str_eq(err.msg, expect);
}
END_TEST

/* to_json, then parse: the same config, and the same text again. */
static void assert_round_trip(const char *text)
{
    nn_config a, b;
    parse_ok(&a, text);
    char *json = nn_config_to_json(&a);
    ck_assert_ptr_nonnull(json);
    parse_ok(&b, json);
    assert_config_eq(&a, &b);
    char *again = nn_config_to_json(&b);
    ck_assert_ptr_nonnull(again);
    ck_assert_str_eq(json, again);
    free(json);
    free(again);
    nn_config_free(&a);
    nn_config_free(&b);
}

START_TEST(test_config_to_json_writes_every_key_in_canonical_order)
{
    nn_config cfg;
    parse_ok(&cfg, MINIMAL);
    char *json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(json);
    ck_assert_str_eq(json,
                     "{\"seed\":1,"
                     "\"data\":{\"train\":{\"images\":\"a\",\"labels\":\"b\"},"
                     "\"validation_fraction\":0,\"scale\":\"unit\"},"
                     "\"model\":{\"layers\":[{\"units\":10,\"activation\":\"sigmoid\"}]},"
                     "\"loss\":\"mse\","
                     "\"optimizer\":{\"name\":\"sgd\",\"learning_rate\":0.1},"
                     "\"training\":{\"epochs\":10,\"batch_size\":32,\"shuffle\":true},"
                     "\"checkpoint\":{\"every_epochs\":1}}");
    free(json);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_to_json_round_trips_exactly)
{
    assert_round_trip(full_config);
    assert_round_trip(MINIMAL);
    /* doubles that cJSON's own printer would round, a seed at 2^53, a
     * validation source, and strings that need escaping */
    assert_round_trip(
        "{\"seed\": 9007199254740992,\n"
        " \"data\": {\"train\": {\"images\": \"dir with \\\"quotes\\\"/\\u00e9.gz\", "
        "\"labels\": \"tab\\there\"},\n"
        "          \"validation\": {\"images\": \"v1\", \"labels\": \"v2\"},\n"
        "          \"scale\": \"minmax\"},\n"
        " \"model\": {\"layers\": [{\"units\": 65536, \"activation\": \"identity\"}]},\n"
        " \"optimizer\": {\"learning_rate\": 0.30000000000000004},\n"
        " \"training\": {\"shuffle\": false}}");
    assert_round_trip(CFG3("\"optimizer\": {\"learning_rate\": 1e-300}, "
                           "\"checkpoint\": {\"path\": \"c.ckpt\", \"every_epochs\": 0}"));
    assert_round_trip("{\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"}, "
                      "\"validation_fraction\": 0.9999999999999999}, " LAYERS "}");

    nn_config cfg;
    parse_ok(&cfg, CFG3("\"optimizer\": {\"learning_rate\": 0.30000000000000004}"));
    char *json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(strstr(json, "\"learning_rate\":0.30000000000000004}"));
    free(json);
    nn_config_free(&cfg);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_config_parses_every_key_of_a_full_config);
    tcase_add_test(tc, test_config_fills_defaults_for_absent_keys);
    tcase_add_test(tc, test_config_rejects_unknown_key_with_suggestion);
    tcase_add_test(tc, test_config_lists_valid_keys_when_no_key_is_close);
    tcase_add_test(tc, test_config_rejects_duplicate_keys);
    tcase_add_test(tc, test_config_reports_syntax_error_position);
    tcase_add_test(tc, test_config_rejects_empty_and_non_object_documents);
    tcase_add_test(tc, test_config_rejects_wrong_types);
    tcase_add_test(tc, test_config_rejects_out_of_range_values);
    tcase_add_test(tc, test_config_rejects_more_than_max_layers);
    tcase_add_test(tc, test_config_rejects_unknown_enum_names);
    tcase_add_test(tc, test_config_rejects_non_integral_integers);
    tcase_add_test(tc, test_config_accepts_integers_written_with_exponent_or_fraction);
    tcase_add_test(tc, test_config_rejects_missing_required_keys);
    tcase_add_test(tc, test_config_rejects_validation_source_with_fraction);
    tcase_add_test(tc, test_config_rejects_nul_escapes_and_deep_nesting);
    tcase_add_test(tc, test_config_skips_a_byte_order_mark);
    tcase_add_test(tc, test_config_load_resolves_paths_against_the_config_folder);
    tcase_add_test(tc, test_config_load_names_the_file_as_given_in_errors);
    tcase_add_test(tc, test_config_load_of_unreadable_file_exits_1);
    tcase_add_test(tc, test_config_to_json_writes_every_key_in_canonical_order);
    tcase_add_test(tc, test_config_to_json_round_trips_exactly);
    suite_add_tcase(s, tc);
    return s;
}
