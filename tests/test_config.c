/* test_config.c - the JSON config: values, defaults, every error kind with its
 * exit code and exact FILE:LINE:COL message, paths, and the to_json round trip. */
#include "tests.h"

#include "config/config.h"

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
        ck_assert_ptr_null(c_.train.file);                      \
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

static void assert_column_eq(const nn_column *a, const nn_column *b)
{
    ck_assert(str_eq(a->name, b->name));
    ck_assert_int_eq(a->index, b->index);
}

static void assert_source_eq(const nn_source *a, const nn_source *b)
{
    ck_assert_int_eq(a->format, b->format);
    ck_assert(str_eq(a->file, b->file));
    ck_assert(str_eq(a->labels, b->labels));
    ck_assert(str_eq(a->file_path, b->file_path));
    ck_assert(str_eq(a->labels_path, b->labels_path));
    ck_assert_int_eq(a->csv.header, b->csv.header);
    ck_assert_int_eq(a->csv.delimiter, b->csv.delimiter);
    ck_assert_int_eq(a->csv.has_label, b->csv.has_label);
    assert_column_eq(&a->csv.label, &b->csv.label);
    ck_assert_int_eq(a->csv.n_targets, b->csv.n_targets);
    for (int i = 0; i < a->csv.n_targets; i++)
        assert_column_eq(&a->csv.targets[i], &b->csv.targets[i]);
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
    ck_assert_int_eq(a->regression, b->regression);
    ck_assert_int_eq(a->n_targets, b->n_targets);
    ck_assert_int_eq(a->n_layers, b->n_layers);
    for (int i = 0; i < a->n_layers; i++) {
        ck_assert_int_eq(a->layers[i].units, b->layers[i].units);
        ck_assert_int_eq(a->layers[i].act, b->layers[i].act);
        ck_assert(a->layers[i].alpha == b->layers[i].alpha); /* bit-exact */
        ck_assert_int_eq(a->layers[i].init, b->layers[i].init);
        ck_assert(a->layers[i].dropout == b->layers[i].dropout);
        ck_assert_int_eq(a->layers[i].batch_norm, b->layers[i].batch_norm);
        ck_assert(a->layers[i].batch_norm_momentum == b->layers[i].batch_norm_momentum);
        ck_assert(a->layers[i].batch_norm_eps == b->layers[i].batch_norm_eps);
    }
    ck_assert_int_eq(a->loss, b->loss);
    ck_assert(a->huber_delta == b->huber_delta);
    ck_assert_int_eq(a->optimizer, b->optimizer);
    ck_assert(a->learning_rate == b->learning_rate); /* bit-exact */
    ck_assert(a->momentum == b->momentum);
    ck_assert_int_eq(a->nesterov, b->nesterov);
    ck_assert(a->beta1 == b->beta1);
    ck_assert(a->beta2 == b->beta2);
    ck_assert(a->eps == b->eps);
    ck_assert(a->weight_decay == b->weight_decay);
    ck_assert(a->clip_norm == b->clip_norm);
    ck_assert_int_eq(a->schedule.name, b->schedule.name);
    ck_assert(a->schedule.gamma == b->schedule.gamma);
    ck_assert_int_eq(a->schedule.step_epochs, b->schedule.step_epochs);
    ck_assert(a->schedule.min_lr == b->schedule.min_lr);
    ck_assert_int_eq(a->schedule.warmup_epochs, b->schedule.warmup_epochs);
    ck_assert_int_eq(a->epochs, b->epochs);
    ck_assert_int_eq(a->batch_size, b->batch_size);
    ck_assert_int_eq(a->shuffle, b->shuffle);
    ck_assert_int_eq(a->early_stopping.enabled, b->early_stopping.enabled);
    ck_assert_int_eq(a->early_stopping.patience, b->early_stopping.patience);
    ck_assert(a->early_stopping.min_delta == b->early_stopping.min_delta);
    ck_assert_int_eq(a->precision, b->precision);
    ck_assert(str_eq(a->checkpoint, b->checkpoint));
    ck_assert(str_eq(a->checkpoint_path, b->checkpoint_path));
    ck_assert_int_eq(a->checkpoint_every, b->checkpoint_every);
    ck_assert_int_eq(a->keep_best, b->keep_best);
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
    ck_assert_str_eq(cfg.train.file, "../data/train-images.gz");
    ck_assert_str_eq(cfg.train.labels, "../data/train-labels.gz");
    ck_assert_str_eq(cfg.train.file_path, "cfgdir/../data/train-images.gz");
    ck_assert_str_eq(cfg.train.labels_path, "cfgdir/../data/train-labels.gz");
    ck_assert(cfg.has_test);
    ck_assert_str_eq(cfg.test.file, "/abs/t10k-images.gz");
    ck_assert_str_eq(cfg.test.file_path, "/abs/t10k-images.gz");
    ck_assert_str_eq(cfg.test.labels_path, "cfgdir/t10k-labels.gz");
    ck_assert(!cfg.has_validation);
    ck_assert_ptr_null(cfg.validation.file);
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
    ck_assert_int_eq(cfg.scale, NN_SCALE_AUTO);
    ck_assert_int_eq(cfg.n_layers, 1);
    ck_assert_int_eq(cfg.layers[0].units, 10);
    /* one output layer of 10 units: softmax + cross_entropy (the pair follows the problem) */
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_SOFTMAX);
    ck_assert_int_eq(cfg.loss, NN_LOSS_CROSS_ENTROPY);
    ck_assert_int_eq(cfg.optimizer, NN_OPT_ADAM);
    ck_assert(cfg.learning_rate == 0.001);
    ck_assert(cfg.test_fraction == 0.0);
    ck_assert(!cfg.scale_targets); /* classification */
    ck_assert_int_eq(cfg.epochs, 200);
    ck_assert_int_eq(cfg.batch_size, 32);
    ck_assert(cfg.shuffle);
    ck_assert_ptr_null(cfg.checkpoint);
    ck_assert_ptr_null(cfg.checkpoint_path);
    ck_assert_int_eq(cfg.checkpoint_every, 1);
    nn_config_free(&cfg);

    nn_config d;
    nn_config_defaults(&d);
    ck_assert_uint_eq(d.seed, 1);
    ck_assert(d.learning_rate == 0.001);
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
                 "\"loss\", \"label_smoothing\", \"huber_delta\", \"optimizer\", \"training\", "
                 "\"checkpoint\")");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"velocity\": 0.9}"),
                 "x.json:3:15: unknown key \"velocity\" in \"optimizer\" "
                 "(valid keys: \"name\", \"learning_rate\", \"momentum\", \"nesterov\", "
                 "\"beta1\", \"beta2\", \"eps\", \"weight_decay\", \"clip_norm\", "
                 "\"schedule\")");
    /* an IDX source lists the IDX keys */
    EXPECT_USAGE("{\"data\": {\"train\": {\"images\": \"a\", \"rows\": 3}}, " LAYERS "}",
                 "x.json:1:36: unknown key \"rows\" in \"data.train\" "
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
                 "x.json:3:9: \"loss\" must be one of \"mse\", \"cross_entropy\", "
                 "\"binary_cross_entropy\", \"mae\", \"huber\", found a number");
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
                 "  {\"units\": 3, \"activation\": \"ReLU\"}]}}",
                 "x.json:3:30: \"model.layers.1.activation\" must be one of \"identity\", "
                 "\"sigmoid\", \"tanh\", \"relu\", \"leaky_relu\", \"elu\", \"softplus\", "
                 "\"softmax\", found \"ReLU\"");
    EXPECT_USAGE(CFG3("\"loss\": \"m\xC3\xA4\xFF\\n\""),
                 "x.json:3:9: \"loss\" must be one of \"mse\", \"cross_entropy\", "
                 "\"binary_cross_entropy\", \"mae\", \"huber\", found \"m\xC3\xA4??\"");
    EXPECT_USAGE(CFG3("\"loss\": \"l1\""),
                 "x.json:3:9: \"loss\" must be one of \"mse\", \"cross_entropy\", "
                 "\"binary_cross_entropy\", \"mae\", \"huber\", found \"l1\"");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"rmsprop\"}"),
                 "x.json:3:23: \"optimizer.name\" must be one of \"sgd\", \"adam\", \"adamw\", "
                 "found \"rmsprop\"");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"linear\"}}"),
                 "x.json:3:36: \"optimizer.schedule.name\" must be one of \"constant\", "
                 "\"step\", \"exponential\", \"cosine\", found \"linear\"");
    EXPECT_USAGE("{" TRAIN ",\n\"model\": {\"layers\": [{\"units\": 3, \"init\": \"xavier\"}]}}",
                 "x.json:2:43: \"model.layers.0.init\" must be one of \"auto\", \"glorot\", "
                 "\"he\", found \"xavier\"");
    EXPECT_USAGE("{\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"},\n"
                 "\"scale\": \"Unit\"}, " LAYERS "}",
                 "x.json:2:10: \"data.scale\" must be one of \"none\", \"unit\", \"minmax\", "
                 "\"standard\", \"auto\", found \"Unit\"");
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
    ck_assert_str_eq(cfg.validation.file, "c");
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
    ck_assert_str_eq(cfg.train.file, "../data/img.gz");
    snprintf(expect, sizeof expect, "%s/../data/img.gz", sub);
    ck_assert_str_eq(cfg.train.file_path, expect);
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
    ck_assert_str_eq(cfg.train.file_path, "a");
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
                     "\"validation_fraction\":0,\"test_fraction\":0,\"scale\":\"auto\","
                     "\"stream\":\"auto\",\"max_memory_mb\":4096,\"shuffle_buffer\":0},"
                     "\"model\":{\"layers\":[{\"units\":10,\"activation\":\"softmax\","
                     "\"init\":\"auto\"}]},"
                     "\"loss\":\"cross_entropy\","
                     "\"optimizer\":{\"name\":\"adam\",\"learning_rate\":0.001,\"beta1\":0.9,"
                     "\"beta2\":0.999,\"eps\":1e-08,\"weight_decay\":0,\"clip_norm\":0,"
                     "\"schedule\":{\"name\":\"constant\",\"warmup_epochs\":0}},"
                     "\"training\":{\"epochs\":200,\"batch_size\":32,\"shuffle\":true},"
                     "\"checkpoint\":{\"every_epochs\":1,\"every_seconds\":5,\"keep_best\":false}}");
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
    ck_assert_ptr_nonnull(strstr(json, "\"learning_rate\":0.30000000000000004,"));
    free(json);
    nn_config_free(&cfg);
}
END_TEST

/* training.precision: fp32 by default and then not written out, so an fp32
 * run's canonical config (and the checkpoints that store it) keep their
 * bytes; bf16 is written and reads back. */
START_TEST(test_config_precision_is_written_only_when_bf16)
{
    nn_config cfg;
    parse_ok(&cfg, MINIMAL);
    ck_assert_int_eq(cfg.precision, NN_PREC_FP32);
    char *json = nn_config_to_json(&cfg);
    ck_assert_ptr_null(strstr(json, "precision"));
    free(json);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"training\": {\"precision\": \"fp32\"}"));
    ck_assert_int_eq(cfg.precision, NN_PREC_FP32);
    json = nn_config_to_json(&cfg);
    ck_assert_ptr_null(strstr(json, "precision"));
    free(json);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"training\": {\"precision\": \"bf16\"}"));
    ck_assert_int_eq(cfg.precision, NN_PREC_BF16);
    json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(strstr(json, "\"shuffle\":true,\"precision\":\"bf16\"}"));
    free(json);
    nn_config_free(&cfg);
    assert_round_trip(CFG3("\"training\": {\"precision\": \"bf16\"}"));

    EXPECT_USAGE(CFG3("\"training\": {\"precision\": \"fp16\"}"),
                 "x.json:3:27: \"training.precision\" must be one of \"fp32\", \"bf16\", "
                 "found \"fp16\"");
    EXPECT_USAGE_PREFIX(CFG3("\"training\": {\"precision\": 16}"), "x.json:3:27: ");
}
END_TEST

/* ---- CSV sources ---------------------------------------------------------- */

/* SRC2(s): a config whose data.train source s starts at line 2, column 1. */
#define SRC2(src) "{\"data\": {\"train\":\n" src "},\n" LAYERS "}"

START_TEST(test_config_parses_csv_sources_with_every_key)
{
    nn_config cfg;
    parse_ok(&cfg, "{\"data\": {\n"
                   "  \"train\": {\"path\": \"../d/iris.csv\", \"label\": \"species\",\n"
                   "            \"header\": true, \"delimiter\": \";\"},\n"
                   "  \"test\": {\"path\": \"/abs/t.csv\", \"label\": 4, \"header\": false,\n"
                   "           \"delimiter\": \"whitespace\"},\n"
                   "  \"validation\": {\"path\": \"-\", \"label\": -2, \"header\": \"auto\",\n"
                   "                 \"delimiter\": \"\\t\"}},\n" LAYERS "}");
    ck_assert_int_eq(cfg.train.format, NN_FORMAT_CSV);
    ck_assert_str_eq(cfg.train.file, "../d/iris.csv");
    ck_assert_str_eq(cfg.train.file_path, "cfgdir/../d/iris.csv");
    ck_assert_ptr_null(cfg.train.labels); /* no IDX labels file */
    ck_assert_int_eq(cfg.train.csv.header, NN_HEADER_YES);
    ck_assert_int_eq(cfg.train.csv.delimiter, ';');
    ck_assert(cfg.train.csv.has_label);
    ck_assert_str_eq(cfg.train.csv.label.name, "species");
    ck_assert_int_eq(cfg.train.csv.n_targets, 0);
    ck_assert_ptr_null(cfg.train.csv.targets);

    ck_assert(cfg.has_test);
    ck_assert_int_eq(cfg.test.format, NN_FORMAT_CSV);
    ck_assert_str_eq(cfg.test.file_path, "/abs/t.csv");
    ck_assert_int_eq(cfg.test.csv.header, NN_HEADER_NO);
    ck_assert_int_eq(cfg.test.csv.delimiter, NN_CSV_WHITESPACE);
    ck_assert_ptr_null(cfg.test.csv.label.name);
    ck_assert_int_eq(cfg.test.csv.label.index, 4);

    ck_assert(cfg.has_validation);
    ck_assert_str_eq(cfg.validation.file, "-"); /* stdin is not resolved */
    ck_assert_str_eq(cfg.validation.file_path, "-");
    ck_assert_int_eq(cfg.validation.csv.header, NN_HEADER_AUTO);
    ck_assert_int_eq(cfg.validation.csv.delimiter, '\t');
    ck_assert_int_eq(cfg.validation.csv.label.index, -2);
    ck_assert(!cfg.regression);
    ck_assert_int_eq(cfg.n_targets, 0);
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_SOFTMAX);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_csv_source_defaults)
{
    nn_config cfg;
    parse_ok(&cfg, SRC2("{\"path\": \"x.csv\"}"));
    ck_assert_int_eq(cfg.train.format, NN_FORMAT_CSV);
    ck_assert_str_eq(cfg.train.file_path, "cfgdir/x.csv");
    ck_assert_int_eq(cfg.train.csv.header, NN_HEADER_AUTO);
    ck_assert_int_eq(cfg.train.csv.delimiter, ',');
    ck_assert(cfg.train.csv.has_label);
    ck_assert_ptr_null(cfg.train.csv.label.name);
    ck_assert_int_eq(cfg.train.csv.label.index, -1); /* the last column */
    ck_assert_int_eq(cfg.train.csv.n_targets, 0);
    ck_assert(!cfg.regression);
    nn_config_free(&cfg);

    /* the extreme indices, an index written with an exponent, one-character
     * delimiters including a space, and "-" for an IDX file too */
    parse_ok(&cfg, SRC2("{\"path\": \"x.csv\", \"label\": -999999, \"delimiter\": \" \"}"));
    ck_assert_int_eq(cfg.train.csv.label.index, -999999);
    ck_assert_int_eq(cfg.train.csv.delimiter, ' ');
    nn_config_free(&cfg);
    parse_ok(&cfg, SRC2("{\"path\": \"x.csv\", \"label\": 999999, \"delimiter\": \"|\"}"));
    ck_assert_int_eq(cfg.train.csv.label.index, 999999);
    ck_assert_int_eq(cfg.train.csv.delimiter, '|');
    nn_config_free(&cfg);
    parse_ok(&cfg, "{\"data\": {\"train\": {\"path\": \"x.csv\", \"targets\": [1e2, -1, \"y\"]}},"
                   " \"model\": {\"layers\": [{\"units\": 3}]}}");
    ck_assert_int_eq(cfg.train.csv.targets[0].index, 100);
    ck_assert_int_eq(cfg.train.csv.targets[1].index, -1);
    ck_assert_str_eq(cfg.train.csv.targets[2].name, "y");
    nn_config_free(&cfg);
    parse_ok(&cfg, SRC2("{\"images\": \"-\", \"labels\": \"l.idx\"}"));
    ck_assert_int_eq(cfg.train.format, NN_FORMAT_IDX);
    ck_assert_str_eq(cfg.train.file_path, "-");
    ck_assert_str_eq(cfg.train.labels_path, "cfgdir/l.idx");
    ck_assert(!cfg.train.csv.has_label); /* no CSV options */
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_rejects_mixed_or_incomplete_sources)
{
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"images\": \"a\"}"),
                 "x.json:2:19: \"data.train\" cannot have both \"path\" (a CSV source) and "
                 "\"images\" (an IDX source)");
    EXPECT_USAGE(SRC2("{\"images\": \"a\", \"path\": \"x.csv\"}"),
                 "x.json:2:17: \"data.train\" cannot have both \"path\" (a CSV source) and "
                 "\"images\" (an IDX source)");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"labels\": \"species\"}"),
                 "x.json:2:19: \"data.train\" cannot have both \"path\" (a CSV source) and "
                 "\"labels\" (an IDX source); did you mean \"label\"?");
    /* unknown keys are matched against the keys of the kind detected */
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"delimeter\": \";\"}"),
                 "x.json:2:19: unknown key \"delimeter\" in \"data.train\" "
                 "(did you mean \"delimiter\"?)");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"sep\": \";\"}"),
                 "x.json:2:19: unknown key \"sep\" in \"data.train\" (valid keys: \"path\", "
                 "\"label\", \"targets\", \"header\", \"delimiter\", \"skip_lines\", \"comment\", "
                 "\"na_values\", \"missing\", \"classes\")");
    EXPECT_USAGE(SRC2("{\"images\": \"a\", \"label\": \"b\"}"),
                 "x.json:2:17: unknown key \"label\" in \"data.train\" (did you mean \"labels\"?)");
    /* neither kind: all the keys */
    EXPECT_USAGE(SRC2("{\"pth\": \"x.csv\"}"),
                 "x.json:2:2: unknown key \"pth\" in \"data.train\" (did you mean \"path\"?)");
    EXPECT_USAGE(SRC2("{\"file\": \"x.csv\"}"),
                 "x.json:2:2: unknown key \"file\" in \"data.train\" (valid keys: \"path\", "
                 "\"label\", \"targets\", \"header\", \"delimiter\", \"skip_lines\", \"comment\", "
                 "\"na_values\", \"missing\", \"classes\", \"images\", \"labels\", \"npy\")");
    EXPECT_USAGE(SRC2("{\"label\": 3}"), "x.json:2:1: missing required key \"data.train.path\"");
    EXPECT_USAGE(SRC2("{}"), "x.json:2:1: \"data.train\" must have \"path\" (a CSV source), "
                             "\"images\" and \"labels\" (an IDX source) or \"npy\" (an NPY "
                             "source)");
    EXPECT_USAGE(SRC2("{\"path\": \"\"}"),
                 "x.json:2:10: \"data.train.path\" must be a non-empty string, found \"\"");
    EXPECT_USAGE(SRC2("{\"path\": 3}"),
                 "x.json:2:10: \"data.train.path\" must be a non-empty string, found a number");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"path\": \"y.csv\"}"),
                 "x.json:2:19: duplicate key \"path\" in \"data.train\"");
    EXPECT_USAGE("{\"data\": {\"train\": {\"path\": \"x.csv\"},\n"
                 "\"test\": {\"path\": \"y.csv\", \"labels\": \"l\"}}, " LAYERS "}",
                 "x.json:2:27: \"data.test\" cannot have both \"path\" (a CSV source) and "
                 "\"labels\" (an IDX source); did you mean \"label\"?");
}
END_TEST

START_TEST(test_config_rejects_bad_csv_options)
{
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"header\": \"yes\"}"),
                 "x.json:2:29: \"data.train.header\" must be true, false or \"auto\", "
                 "found \"yes\"");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"header\": 1}"),
                 "x.json:2:29: \"data.train.header\" must be true, false or \"auto\", "
                 "found a number");
#define DELIM_ERROR(v, f)                                                                  \
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"delimiter\": " v "}"),                      \
                 "x.json:2:32: \"data.train.delimiter\" must be one ASCII character other " \
                 "than a double quote, CR or LF, or \"whitespace\", found " f)
    DELIM_ERROR("\";;\"", "\";;\"");
    DELIM_ERROR("\"\"", "\"\"");
    DELIM_ERROR("\"\\\"\"", "\"\"\"");
    DELIM_ERROR("\"\\n\"", "\"?\"");
    DELIM_ERROR("\"\\r\"", "\"?\"");
    DELIM_ERROR("\"\xC3\xA9\"", "\"\xC3\xA9\"");
    DELIM_ERROR("\"Whitespace\"", "\"Whitespace\"");
    DELIM_ERROR("44", "a number");
#undef DELIM_ERROR
#define LABEL_ERROR(v, f)                                                                   \
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"label\": " v "}"),                           \
                 "x.json:2:28: \"data.train.label\" must be a column name or an integer from " \
                 "-999999 to 999999, found " f)
    LABEL_ERROR("1000000", "1000000");
    LABEL_ERROR("-1000000", "-1000000");
    LABEL_ERROR("1.5", "1.5");
    LABEL_ERROR("1e300", "1e300");
    LABEL_ERROR("\"\"", "\"\"");
    LABEL_ERROR("true", "a boolean");
    LABEL_ERROR("[1]", "an array");
#undef LABEL_ERROR
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"label\": 1, \"targets\": [2]}"),
                 "x.json:2:31: \"data.train\" cannot have both \"label\" (a class column) and "
                 "\"targets\" (regression columns)");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"targets\": [2], \"label\": 1}"),
                 "x.json:2:35: \"data.train\" cannot have both \"label\" (a class column) and "
                 "\"targets\" (regression columns)");
}
END_TEST

START_TEST(test_config_rejects_bad_targets)
{
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"targets\": []}"),
                 "x.json:2:30: \"data.train.targets\" must be a non-empty array of column names "
                 "or indices, found an empty array");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"targets\": \"y\"}"),
                 "x.json:2:30: \"data.train.targets\" must be a non-empty array of column names "
                 "or indices, found a string");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"targets\": [2, 1.5]}"),
                 "x.json:2:34: \"data.train.targets.1\" must be a column name or an integer "
                 "from -999999 to 999999, found 1.5");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"targets\": [null]}"),
                 "x.json:2:31: \"data.train.targets.0\" must be a column name or an integer "
                 "from -999999 to 999999, found null");
    /* the first repetition in the file is reported; 1 and 1.0 are the same index */
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"targets\": [1, \"a\", 1.0]}"),
                 "x.json:2:39: duplicate column 1 in \"data.train.targets\"");
    EXPECT_USAGE(SRC2("{\"path\": \"x.csv\", \"targets\": [\"a\", \"b\", \"b\", \"a\"]}"),
                 "x.json:2:41: duplicate column \"b\" in \"data.train.targets\"");

    /* at most 65536 columns, checked without quadratic work */
    size_t cap = 16 * 65540;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (int n = 65536; n <= 65537; n++) {
        size_t o = (size_t)snprintf(text, cap, "{\"data\": {\"train\": {\"path\": \"x.csv\", "
                                               "\"targets\": [");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(text + o, cap - o, "%s%d", i ? "," : "", i - 32768);
        snprintf(text + o, cap - o, "]}}, \"model\": {\"layers\": [{\"units\": %d}]}}", n);
        nn_config cfg;
        nn_error err = {0};
        int rc = parse_text(&cfg, text, &err);
        if (n == 65536) {
            ck_assert_msg(rc == 0, "%s", err.msg);
            ck_assert_int_eq(cfg.n_targets, 65536);
            ck_assert_int_eq(cfg.train.csv.targets[65535].index, 32767);
            nn_config_free(&cfg);
        } else {
            ck_assert_int_eq(rc, -1);
            ck_assert_str_eq(err.msg, "x.json:1:49: \"data.train.targets\" must hold at most "
                                      "65536 columns, found 65537");
        }
    }
    /* a repetition at the very end of many columns */
    size_t o = (size_t)snprintf(text, cap, "{\"data\": {\"train\": {\"path\": \"x.csv\", "
                                           "\"targets\": [");
    for (int i = 0; i < 60000; i++)
        o += (size_t)snprintf(text + o, cap - o, "\"c%d\",", i);
    snprintf(text + o, cap - o, "\"c123\"]}}, " LAYERS "}");
    nn_config cfg;
    nn_error err = {0};
    ck_assert_int_eq(parse_text(&cfg, text, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, ": duplicate column \"c123\" in \"data.train.targets\""));
    free(text);
}
END_TEST

/* ---- regression ------------------------------------------------------------ */

/* REG(layers): data.train has two targets; the layers array starts at line 2,
 * column 21. */
#define REG(layers)                                                                   \
    "{\"data\": {\"train\": {\"path\": \"t.csv\", \"targets\": [\"y1\", \"y2\"]}},\n" \
    "\"model\": {\"layers\": " layers "}}"
/* REG_WITH(x): the same with x (test or validation) at line 2, column 1. */
#define REG_WITH(x)                                                                  \
    "{\"data\": {\"train\": {\"path\": \"t.csv\", \"targets\": [\"y1\", \"y2\"]},\n" \
    x "},\n\"model\": {\"layers\": [{\"units\": 2}]}}"

START_TEST(test_config_regression_needs_one_output_per_target)
{
    nn_config cfg;
    parse_ok(&cfg, REG("[{\"units\": 8}, {\"units\": 2}]"));
    ck_assert(cfg.regression);
    ck_assert_int_eq(cfg.n_targets, 2);
    ck_assert(!cfg.train.csv.has_label);
    ck_assert_int_eq(cfg.train.csv.n_targets, 2);
    ck_assert_str_eq(cfg.train.csv.targets[0].name, "y1");
    ck_assert_str_eq(cfg.train.csv.targets[1].name, "y2");
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_RELU); /* hidden layers default to relu */
    ck_assert_int_eq(cfg.layers[1].act, NN_ACT_IDENTITY); /* the output defaults to identity */
    nn_config_free(&cfg);

    /* an explicit activation is kept */
    parse_ok(&cfg, REG("[{\"units\": 2, \"activation\": \"sigmoid\"}]"));
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_SIGMOID);
    nn_config_free(&cfg);

    EXPECT_USAGE(REG("[{\"units\": 8}, {\"units\": 3}]"),
                 "x.json:2:46: \"model.layers.1.units\" must equal the number of "
                 "data.train.targets (2), found 3");
    EXPECT_USAGE(REG("[{\"units\": 1e0}]"),
                 "x.json:2:32: \"model.layers.0.units\" must equal the number of "
                 "data.train.targets (2), found 1e0");
    /* a classification CSV has any width, and its output defaults to the classes' pair */
    parse_ok(&cfg, SRC2("{\"path\": \"x.csv\", \"label\": \"c\"}"));
    ck_assert(!cfg.regression);
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_SOFTMAX);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_regression_test_and_validation_match_train)
{
    nn_config cfg;
    parse_ok(&cfg, REG_WITH("\"test\": {\"path\": \"u.csv\", \"targets\": [0, 1]},\n"
                            "\"validation\": {\"path\": \"v.csv\", \"targets\": [\"a\", \"b\"]}"));
    ck_assert(cfg.has_test && cfg.has_validation);
    ck_assert_int_eq(cfg.test.csv.n_targets, 2);
    ck_assert_int_eq(cfg.validation.csv.n_targets, 2);
    nn_config_free(&cfg);

    EXPECT_USAGE(REG_WITH("\"test\": {\"images\": \"a\", \"labels\": \"b\"}"),
                 "x.json:2:9: \"data.test\" must be a CSV or NPY source with targets like "
                 "\"data.train\", found an IDX source");
    EXPECT_USAGE(REG_WITH("\"test\": {\"path\": \"u.csv\", \"label\": 0}"),
                 "x.json:2:27: \"data.test\" must have targets like \"data.train\", "
                 "found a label column");
    EXPECT_USAGE(REG_WITH("\"test\": {\"path\": \"u.csv\"}"),
                 "x.json:2:9: \"data.test\" must have targets like \"data.train\", "
                 "found a label column");
    EXPECT_USAGE(REG_WITH("\"validation\": {\"path\": \"v.csv\", \"targets\": [\"y1\"]}"),
                 "x.json:2:44: \"data.validation.targets\" must have 2 columns like "
                 "\"data.train.targets\", found 1");
    EXPECT_USAGE(REG_WITH("\"validation\": {\"images\": \"a\", \"labels\": \"b\"}"),
                 "x.json:2:15: \"data.validation\" must be a CSV or NPY source with targets like "
                 "\"data.train\", found an IDX source");
    /* and targets need targets in data.train */
    EXPECT_USAGE("{\"data\": {\"train\": {\"path\": \"t.csv\"},\n"
                 "\"test\": {\"path\": \"u.csv\", \"targets\": [1]}}, " LAYERS "}",
                 "x.json:2:27: \"data.test\" must have a label column like \"data.train\", "
                 "found targets");
}
END_TEST

/* ---- --set ------------------------------------------------------------------ */

static int parse_with_sets(nn_config *cfg, const char *text, char **sets, int n, nn_error *err)
{
    return nn_config_parse_with_sets(cfg, text, strlen(text), "x.json", "cfgdir", sets, n, err);
}

#define NSETS(a) ((int)(sizeof(a) / sizeof *(a)))

/* Parsing `text` with the --set arguments after it succeeds. */
#define PARSE_SETS_OK(cfg_, text_, ...)                                              \
    do {                                                                             \
        char *s_[] = {__VA_ARGS__};                                                  \
        nn_error e_ = {0};                                                           \
        int rc_ = parse_with_sets((cfg_), (text_), s_, NSETS(s_), &e_);              \
        ck_assert_msg(rc_ == 0, "unexpected error: %s", e_.msg);                     \
    } while (0)

/* ... fails with exit code 2 and exactly `msg`. */
#define EXPECT_SETS_USAGE(text_, msg_, ...)                                          \
    do {                                                                             \
        char *s_[] = {__VA_ARGS__};                                                  \
        nn_config c_;                                                                \
        nn_error e_ = {0};                                                           \
        ck_assert_int_eq(parse_with_sets(&c_, (text_), s_, NSETS(s_), &e_), -1);     \
        ck_assert_str_eq(e_.msg, (msg_));                                            \
        ck_assert_int_eq(e_.code, NN_EXIT_USAGE);                                    \
        ck_assert_ptr_null(c_.config_dir);                                           \
    } while (0)

START_TEST(test_config_set_overrides_top_level_and_nested_keys)
{
    nn_config cfg;
    PARSE_SETS_OK(&cfg, full_config, "seed=5", "optimizer.learning_rate=0.25",
                  "training.shuffle=true", "training.epochs=1e3", "loss=\"mse\"");
    ck_assert_uint_eq(cfg.seed, 5);
    ck_assert(cfg.learning_rate == 0.25);
    ck_assert(cfg.shuffle);
    ck_assert_int_eq(cfg.epochs, 1000);
    ck_assert_int_eq(cfg.batch_size, 64); /* untouched keys keep the file's values */
    ck_assert_int_eq(cfg.checkpoint_every, 3);
    nn_config_free(&cfg);

    /* applied in order: the last one wins; surrounding white space of a JSON
     * value is allowed */
    PARSE_SETS_OK(&cfg, MINIMAL, "training.epochs=3", "training.epochs= 4 ",
                  "training.shuffle=false");
    ck_assert_int_eq(cfg.epochs, 4);
    ck_assert(!cfg.shuffle);
    nn_config_free(&cfg);

    /* no sets is nn_config_parse */
    nn_error err = {0};
    ck_assert_int_eq(nn_config_parse_with_sets(&cfg, MINIMAL, strlen(MINIMAL), "x.json", "d",
                                               NULL, 0, &err), 0);
    ck_assert_int_eq(cfg.epochs, 200);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_set_takes_unquoted_text_as_a_string)
{
    nn_config cfg;
    PARSE_SETS_OK(&cfg, MINIMAL, "data.scale=standard", "checkpoint.path=runs/a=b.ckpt",
                  "model.layers.0.activation=identity");
    ck_assert_int_eq(cfg.scale, NN_SCALE_STANDARD);
    ck_assert_str_eq(cfg.checkpoint, "runs/a=b.ckpt"); /* split at the first '=' */
    ck_assert_str_eq(cfg.checkpoint_path, "cfgdir/runs/a=b.ckpt");
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_IDENTITY);
    nn_config_free(&cfg);

    /* text that is not complete JSON stays a string, quotes and all */
    PARSE_SETS_OK(&cfg, MINIMAL, "checkpoint.path=\"a", "data.train.images=[1,",
                  "data.train.labels=01");
    ck_assert_str_eq(cfg.checkpoint, "\"a");
    ck_assert_str_eq(cfg.train.file, "[1,");
    ck_assert_str_eq(cfg.train.labels, "01");
    nn_config_free(&cfg);
    PARSE_SETS_OK(&cfg, MINIMAL, "checkpoint.path=\"quoted \\u00e9\"");
    ck_assert_str_eq(cfg.checkpoint, "quoted \xC3\xA9");
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_set_indexes_arrays_and_appends)
{
    nn_config cfg;
    static const char two[] = "{" TRAIN ", \"model\": {\"layers\": [{\"units\": 10}, "
                              "{\"units\": 3, \"activation\": \"identity\"}]}}";
    PARSE_SETS_OK(&cfg, two, "model.layers.0.units=64", "model.layers.1.activation=sigmoid");
    ck_assert_int_eq(cfg.n_layers, 2);
    ck_assert_int_eq(cfg.layers[0].units, 64);
    ck_assert_int_eq(cfg.layers[1].units, 3);
    ck_assert_int_eq(cfg.layers[1].act, NN_ACT_SIGMOID);
    nn_config_free(&cfg);

    /* the array's length appends; a whole element can be replaced in place */
    PARSE_SETS_OK(&cfg, two, "model.layers.2.units=7", "model.layers.0={\"units\": 5}");
    ck_assert_int_eq(cfg.n_layers, 3);
    ck_assert_int_eq(cfg.layers[0].units, 5);
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_RELU);
    ck_assert_int_eq(cfg.layers[1].units, 3);
    ck_assert_int_eq(cfg.layers[2].units, 7);
    nn_config_free(&cfg);

    /* a JSON array value replaces the whole stack */
    PARSE_SETS_OK(&cfg, two, "model.layers=[{\"units\": 4}, {\"units\": 1}]");
    ck_assert_int_eq(cfg.n_layers, 2);
    ck_assert_int_eq(cfg.layers[0].units, 4);
    ck_assert_int_eq(cfg.layers[1].units, 1);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_set_creates_missing_objects)
{
    nn_config cfg;
    PARSE_SETS_OK(&cfg, MINIMAL, "checkpoint.every_epochs=0", "training.batch_size=8",
                  "optimizer.name=sgd");
    ck_assert_int_eq(cfg.checkpoint_every, 0);
    ck_assert_int_eq(cfg.batch_size, 8);
    nn_config_free(&cfg);

    /* even the required parts: data and model from nothing */
    PARSE_SETS_OK(&cfg, "{}", "data.train.path=d/x.csv", "data.train.targets=[\"y\"]",
                  "model.layers.0.units=1");
    ck_assert(cfg.regression);
    ck_assert_str_eq(cfg.train.file_path, "cfgdir/d/x.csv");
    ck_assert_int_eq(cfg.n_layers, 1);
    ck_assert_int_eq(cfg.layers[0].units, 1);
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_IDENTITY);
    nn_config_free(&cfg);

    /* CSV keys on a CSV source */
    PARSE_SETS_OK(&cfg, SRC2("{\"path\": \"x.csv\"}"), "data.train.label=species",
                  "data.train.header=false", "data.train.delimiter=;");
    ck_assert_str_eq(cfg.train.csv.label.name, "species");
    ck_assert_int_eq(cfg.train.csv.header, NN_HEADER_NO);
    ck_assert_int_eq(cfg.train.csv.delimiter, ';');
    nn_config_free(&cfg);
    PARSE_SETS_OK(&cfg, SRC2("{\"path\": \"x.csv\"}"), "data.train.label=-2",
                  "data.train.delimiter=whitespace");
    ck_assert_ptr_null(cfg.train.csv.label.name);
    ck_assert_int_eq(cfg.train.csv.label.index, -2);
    ck_assert_int_eq(cfg.train.csv.delimiter, NN_CSV_WHITESPACE);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_set_rejects_malformed_arguments)
{
    EXPECT_SETS_USAGE(MINIMAL, "--set foo: expected KEY=VALUE", "foo");
    EXPECT_SETS_USAGE(MINIMAL, "--set =3: expected KEY=VALUE", "=3");
    EXPECT_SETS_USAGE(MINIMAL, "--set : expected KEY=VALUE", "");
    EXPECT_SETS_USAGE(MINIMAL, "--set a..b=1: expected KEY=VALUE", "a..b=1");
    EXPECT_SETS_USAGE(MINIMAL, "--set .seed=1: expected KEY=VALUE", ".seed=1");
    EXPECT_SETS_USAGE(MINIMAL, "--set seed.=1: expected KEY=VALUE", "seed.=1");
    /* the first bad argument is named, after the good ones are applied */
    EXPECT_SETS_USAGE(MINIMAL, "--set training: expected KEY=VALUE", "seed=2", "training",
                      "x");
    EXPECT_SETS_USAGE(MINIMAL, "--set model.layers.2.units=3: index 2 is out of range for "
                               "\"model.layers\", which has 1 element",
                      "model.layers.2.units=3");
    EXPECT_SETS_USAGE(MINIMAL, "--set model.layers.99999999999999999999=1: index "
                               "99999999999999999999 is out of range for \"model.layers\", "
                               "which has 1 element",
                      "model.layers.99999999999999999999=1");
    EXPECT_SETS_USAGE(MINIMAL, "--set loss.name=x: \"loss\" is a string, not an object",
                      "loss=mse", "loss.name=x");
    EXPECT_SETS_USAGE(MINIMAL, "--set model.layers.0.units.1=2: \"model.layers.0.units\" is a "
                               "number, not an array", "model.layers.0.units.1=2");
    EXPECT_SETS_USAGE(MINIMAL, "--set model.layers.first=1: \"model.layers\" is an array, not "
                               "an object", "model.layers.first=1");
    EXPECT_SETS_USAGE(MINIMAL, "--set data.0=1: \"data\" is an object, not an array",
                      "data.0=1");
    EXPECT_SETS_USAGE(MINIMAL, "--set 0=1: the config is an object, not an array", "0=1");
}
END_TEST

START_TEST(test_config_set_errors_name_the_argument)
{
    EXPECT_SETS_USAGE(MINIMAL, "--set optimizer.learing_rate=0.1: unknown key \"learing_rate\" "
                               "in \"optimizer\" (did you mean \"learning_rate\"?)",
                      "optimizer.learing_rate=0.1");
    EXPECT_SETS_USAGE(full_config, "--set optimizer.learing_rate=0.1: unknown key "
                                   "\"learing_rate\" in \"optimizer\" (did you mean "
                                   "\"learning_rate\"?)",
                      "optimizer.learing_rate=0.1");
    EXPECT_SETS_USAGE(MINIMAL, "--set training.epochs=0: \"training.epochs\" must be an integer "
                               "from 1 to 1000000, found 0", "training.epochs=0");
    EXPECT_SETS_USAGE(full_config, "--set training.epochs=2.5: \"training.epochs\" must be an "
                                   "integer from 1 to 1000000, found 2.5", "training.epochs=2.5");
    EXPECT_SETS_USAGE(MINIMAL, "--set seed= 1e30: \"seed\" must be an integer from 0 to "
                               "9007199254740992, found 1e30", "seed= 1e30");
    EXPECT_SETS_USAGE(MINIMAL, "--set training.shuffle=yes: \"training.shuffle\" must be true or "
                               "false, found a string", "training.shuffle=yes");
    EXPECT_SETS_USAGE(MINIMAL, "--set data.scale=Unit: \"data.scale\" must be one of \"none\", "
                               "\"unit\", \"minmax\", \"standard\", \"auto\", found \"Unit\"",
                      "data.scale=Unit");
    EXPECT_SETS_USAGE(MINIMAL, "--set checkpoint.path=: \"checkpoint.path\" must be a non-empty "
                               "string, found \"\"", "checkpoint.path=");
    EXPECT_SETS_USAGE(MINIMAL, "--set optimizer.learning_rate=null: \"optimizer.learning_rate\" "
                               "must be a number, found null", "optimizer.learning_rate=null");
    /* an object the argument created is named by it */
    EXPECT_SETS_USAGE(MINIMAL, "--set trainig.epochs=3: unknown key \"trainig\" (did you mean "
                               "\"training\"?)", "trainig.epochs=3");
    EXPECT_SETS_USAGE(MINIMAL, "--set model.layers.1.activation=identity: missing required key "
                               "\"model.layers.1.units\"", "model.layers.1.activation=identity");
    EXPECT_SETS_USAGE("{" LAYERS "}", "--set data.scale=none: missing required key "
                                      "\"data.train\"", "data.scale=none");
    /* inside a JSON value, and in a CSV source */
    EXPECT_SETS_USAGE(SRC2("{\"path\": \"x.csv\"}"),
                      "--set data.train.targets=[\"a\",\"a\"]: duplicate column \"a\" in "
                      "\"data.train.targets\"", "data.train.targets=[\"a\",\"a\"]");
    EXPECT_SETS_USAGE(SRC2("{\"path\": \"x.csv\"}"),
                      "--set data.train.label=1.5: \"data.train.label\" must be a column name or "
                      "an integer from -999999 to 999999, found 1.5", "data.train.label=1.5");
    EXPECT_SETS_USAGE(SRC2("{\"path\": \"x.csv\", \"label\": 0}"),
                      "--set data.train.targets=[1]: \"data.train\" cannot have both \"label\" "
                      "(a class column) and \"targets\" (regression columns)",
                      "data.train.targets=[1]");
    EXPECT_SETS_USAGE(MINIMAL, "--set data.train.path=x.csv: \"data.train\" cannot have both "
                               "\"path\" (a CSV source) and \"images\" (an IDX source)",
                      "data.train.path=x.csv");
    EXPECT_SETS_USAGE(MINIMAL, "--set data.train=x.csv: \"data.train\" must be an object, found "
                               "a string", "data.train=x.csv");
    /* a long argument is shortened */
    char long_arg[400];
    snprintf(long_arg, sizeof long_arg, "checkpoint.every_epochs=1%0299d", 0);
    char expect[1024];
    snprintf(expect, sizeof expect, "--set %.200s...: \"checkpoint.every_epochs\" must be an "
             "integer from 0 to 1000000, found 1000000000000000000000000000000000000000...",
             long_arg);
    EXPECT_SETS_USAGE(MINIMAL, expect, long_arg);
}
END_TEST

START_TEST(test_config_set_keeps_file_positions_for_file_values)
{
    /* a file error is still FILE:LINE:COL with sets present */
    EXPECT_SETS_USAGE(CFG3("\"training\": {\"epochs\": 0}"),
                      "x.json:3:24: \"training.epochs\" must be an integer from 1 to 1000000, "
                      "found 0", "training.batch_size=4");
    /* a set replacing a bad file value removes the error */
    nn_config cfg;
    PARSE_SETS_OK(&cfg, CFG3("\"training\": {\"epochs\": 0}"), "training.epochs=2");
    ck_assert_int_eq(cfg.epochs, 2);
    nn_config_free(&cfg);
    /* the file's syntax is checked before any set */
    EXPECT_SETS_USAGE("{\"seed\": 1,}", "x.json:1:12: invalid JSON near '}'", "foo");
    /* the units check points at the file's value even when the targets came
     * from a set */
    EXPECT_SETS_USAGE("{\"data\": {\"train\": {\"path\": \"t.csv\"}},\n"
                      "\"model\": {\"layers\": [{\"units\": 3}]}}",
                      "x.json:2:32: \"model.layers.0.units\" must equal the number of "
                      "data.train.targets (2), found 3", "data.train.targets=[\"a\", \"b\"]");
    /* a member replaced by a set keeps its place among the others, so the
     * first of two unknown keys is still the first reported */
    EXPECT_SETS_USAGE(CFG3("\"training\": {\"epoc\": 1, \"batch\": 2}"),
                      "--set training.epoc=3: unknown key \"epoc\" in \"training\" (did you "
                      "mean \"epochs\"?)", "training.epoc=3");
}
END_TEST

START_TEST(test_config_load_with_sets_reads_the_file_then_applies_sets)
{
    char file[4200];
    snprintf(file, sizeof file, "%s/c.json", nn_test_tmpdir());
    write_text(file, "{\"data\": {\"train\": {\"path\": \"x.csv\"}},\n"
                     " \"model\": {\"layers\": [{\"units\": 4}]},\n"
                     " \"training\": {\"epochs\": 0}}\n");
    nn_config cfg;
    nn_error err = {0};
    char expect[4400];
    ck_assert_int_eq(nn_config_load(&cfg, file, &err), -1);
    snprintf(expect, sizeof expect, "%s:3:25: \"training.epochs\" must be an integer from 1 to "
             "1000000, found 0", file);
    ck_assert_str_eq(err.msg, expect);

    char *sets[] = {"training.epochs=5", "data.train.header=true"};
    ck_assert_msg(nn_config_load_with_sets(&cfg, file, sets, 2, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(cfg.epochs, 5);
    ck_assert_int_eq(cfg.train.csv.header, NN_HEADER_YES);
    snprintf(expect, sizeof expect, "%s/x.csv", cfg.config_dir);
    ck_assert_str_eq(cfg.train.file_path, expect);
    nn_config_free(&cfg);

    char *bad[] = {"training.epochs=5", "training.epoch=5"};
    ck_assert_int_eq(nn_config_load_with_sets(&cfg, file, bad, 2, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_USAGE);
    ck_assert_str_eq(err.msg, "--set training.epoch=5: unknown key \"epoch\" in \"training\" "
                              "(did you mean \"epochs\"?)");
}
END_TEST

/* ---- canonical JSON for CSV sources ------------------------------------------ */

START_TEST(test_config_to_json_writes_csv_sources)
{
    nn_config cfg;
    parse_ok(&cfg, "{\"data\": {\"train\": {\"path\": \"t.csv\", \"targets\": [\"y\", -1]},\n"
                   "\"test\": {\"delimiter\": \"whitespace\", \"header\": false, \"path\": \"-\", "
                   "\"targets\": [0, \"z\"]}},\n"
                   "\"model\": {\"layers\": [{\"units\": 2}]}}");
    char *json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(json);
    ck_assert_str_eq(json,
                     "{\"seed\":1,"
                     "\"data\":{\"train\":{\"path\":\"t.csv\",\"header\":\"auto\","
                     "\"delimiter\":\",\","
                     "\"skip_lines\":0,\"na_values\":[\"\",\"NA\",\"NaN\",\"?\",\"null\"],\"missing\":\"error\","
                     "\"targets\":[\"y\",-1]},"
                     "\"test\":{\"path\":\"-\",\"header\":false,\"delimiter\":\"whitespace\","
                     "\"skip_lines\":0,\"na_values\":[\"\",\"NA\",\"NaN\",\"?\",\"null\"],\"missing\":\"error\","
                     "\"targets\":[0,\"z\"]},"
                     "\"validation_fraction\":0,\"test_fraction\":0,\"scale\":\"auto\","
                     "\"stream\":\"auto\",\"max_memory_mb\":4096,\"shuffle_buffer\":0,"
                     "\"scale_targets\":true},"
                     "\"model\":{\"layers\":[{\"units\":2,\"activation\":\"identity\","
                     "\"init\":\"auto\"}]},"
                     "\"loss\":\"mse\","
                     "\"optimizer\":{\"name\":\"adam\",\"learning_rate\":0.001,\"beta1\":0.9,"
                     "\"beta2\":0.999,\"eps\":1e-08,\"weight_decay\":0,\"clip_norm\":0,"
                     "\"schedule\":{\"name\":\"constant\",\"warmup_epochs\":0}},"
                     "\"training\":{\"epochs\":200,\"batch_size\":32,\"shuffle\":true},"
                     "\"checkpoint\":{\"every_epochs\":1,\"every_seconds\":5,\"keep_best\":false}}");
    free(json);
    nn_config_free(&cfg);

    parse_ok(&cfg, SRC2("{\"path\": \"x.csv\"}"));
    json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(strstr(json, "\"train\":{\"path\":\"x.csv\",\"header\":\"auto\","
                                       "\"delimiter\":\",\",\"skip_lines\":0,"
                                       "\"na_values\":[\"\",\"NA\",\"NaN\",\"?\",\"null\"],"
                                       "\"missing\":\"error\",\"label\":-1}"));
    free(json);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_to_json_round_trips_csv_sources)
{
    assert_round_trip(SRC2("{\"path\": \"x.csv\"}"));
    assert_round_trip("{\"data\": {\n"
                      "  \"train\": {\"path\": \"../d/iris.csv\", \"label\": \"species\",\n"
                      "            \"header\": true, \"delimiter\": \";\"},\n"
                      "  \"test\": {\"path\": \"/abs/t.csv\", \"label\": 4, \"header\": false,\n"
                      "           \"delimiter\": \"whitespace\"},\n"
                      "  \"validation\": {\"path\": \"-\", \"label\": -2,\n"
                      "                 \"delimiter\": \"\\t\"}},\n" LAYERS "}");
    assert_round_trip("{\"data\": {\"train\": {\"path\": \"t \\\"q\\\".csv\", \"targets\": "
                      "[\"y\\u00e9\", -999999, 999999, \"0\"], \"delimiter\": \"\\u001f\"},\n"
                      "\"validation\": {\"path\": \"v.csv\", \"targets\": [1, 2, 3, 4]}},\n"
                      "\"model\": {\"layers\": [{\"units\": 3}, {\"units\": 4}]}}");
    /* a mix of kinds for a classification config */
    assert_round_trip("{\"data\": {\"train\": {\"path\": \"t.csv\", \"label\": 0},\n"
                      "\"test\": {\"images\": \"i\", \"labels\": \"l\"}}, " LAYERS "}");

    /* a config made with --set round-trips like any other */
    nn_config a, b;
    PARSE_SETS_OK(&a, MINIMAL, "data.train={\"path\": \"s.csv\", \"targets\": [\"u\", \"v\"]}",
                  "model.layers.0.units=2", "data.scale=minmax", "seed=12");
    char *json = nn_config_to_json(&a);
    ck_assert_ptr_nonnull(json);
    parse_ok(&b, json);
    assert_config_eq(&a, &b);
    ck_assert(b.regression);
    ck_assert_int_eq(b.layers[0].act, NN_ACT_IDENTITY);
    free(json);
    nn_config_free(&a);
    nn_config_free(&b);
}
END_TEST

/* ---- layers: alpha, init, dropout, softmax ----------------------------------- */

/* NET(layers, rest): a classification config whose layers array opens at
 * line 2, column 21 (the first layer at column 22) and whose `rest` starts
 * line 3 at column 1. */
#define NET(layers, rest) "{" TRAIN ",\n\"model\": {\"layers\": [" layers "]},\n" rest "}"
/* CFG3V(x): CFG3 with 10% of the training data held out for validation. */
#define TRAIN_VAL                                                                  \
    "\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"}, "               \
    "\"validation_fraction\": 0.1}"
#define CFG3V(line3) "{" TRAIN_VAL ",\n" LAYERS ",\n" line3 "}"
/* REG_NET(layers, rest): two regression targets; `rest` starts line 3. */
#define REG_NET(layers, rest)                                                         \
    "{\"data\": {\"train\": {\"path\": \"t.csv\", \"targets\": [\"y1\", \"y2\"]}},\n" \
    "\"model\": {\"layers\": " layers "},\n" rest "}"

START_TEST(test_config_new_keys_default_when_absent)
{
    nn_config cfg;
    parse_ok(&cfg, NET("{\"units\": 8}, {\"units\": 3}", "\"seed\": 1"));
    for (int i = 0; i < 2; i++) {
        ck_assert(cfg.layers[i].alpha == 0.0);
        ck_assert_int_eq(cfg.layers[i].init, NN_INIT_AUTO);
        ck_assert(cfg.layers[i].dropout == 0.0);
    }
    nn_config_free(&cfg);

    nn_config d;
    nn_config_defaults(&d); /* the same defaults before any parsing */
    parse_ok(&cfg, MINIMAL);
    const nn_config *both[] = {&cfg, &d};
    for (int k = 0; k < 2; k++) {
        const nn_config *c = both[k];
        ck_assert(c->huber_delta == 1.0);
        ck_assert_int_eq(c->optimizer, NN_OPT_ADAM);
        ck_assert(c->learning_rate == 0.001);
        ck_assert(c->momentum == 0.0);
        ck_assert(!c->nesterov);
        ck_assert(c->beta1 == 0.9);
        ck_assert(c->beta2 == 0.999);
        ck_assert(c->eps == 1e-8);
        ck_assert(c->weight_decay == 0.0);
        ck_assert(c->clip_norm == 0.0);
        ck_assert_int_eq(c->schedule.name, NN_SCHED_NAME_CONSTANT);
        ck_assert(c->schedule.gamma == 0.1);
        ck_assert_int_eq(c->schedule.step_epochs, 10);
        ck_assert(c->schedule.min_lr == 0.0);
        ck_assert_int_eq(c->schedule.warmup_epochs, 0);
        ck_assert(!c->early_stopping.enabled);
        ck_assert_int_eq(c->early_stopping.patience, 0);
        ck_assert(c->early_stopping.min_delta == 0.0);
        ck_assert(!c->keep_best);
    }
    nn_config_free(&cfg);

    /* alpha's default depends on the activation */
    parse_ok(&cfg, NET("{\"units\": 8, \"activation\": \"leaky_relu\"},"
                       "{\"units\": 8, \"activation\": \"elu\"}, {\"units\": 3}", "\"seed\": 1"));
    ck_assert(cfg.layers[0].alpha == 0.01);
    ck_assert(cfg.layers[1].alpha == 1.0);
    ck_assert(cfg.layers[2].alpha == 0.0);
    nn_config_free(&cfg);

    /* the learning rate's default depends on the optimizer */
    parse_ok(&cfg, CFG3("\"optimizer\": {\"name\": \"adam\"}"));
    ck_assert_int_eq(cfg.optimizer, NN_OPT_ADAM);
    ck_assert(cfg.learning_rate == 0.001);
    ck_assert(cfg.beta1 == 0.9 && cfg.beta2 == 0.999 && cfg.eps == 1e-8);
    nn_config_free(&cfg);
    parse_ok(&cfg, CFG3("\"optimizer\": {\"name\": \"adamw\"}"));
    ck_assert_int_eq(cfg.optimizer, NN_OPT_ADAMW);
    ck_assert(cfg.learning_rate == 0.001);
    nn_config_free(&cfg);
    parse_ok(&cfg, CFG3("\"optimizer\": {\"name\": \"sgd\"}"));
    ck_assert(cfg.learning_rate == 0.1);
    nn_config_free(&cfg);

    /* gamma's default depends on the schedule */
    parse_ok(&cfg, CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\"}}"));
    ck_assert_int_eq(cfg.schedule.name, NN_SCHED_NAME_STEP);
    ck_assert(cfg.schedule.gamma == 0.1);
    ck_assert_int_eq(cfg.schedule.step_epochs, 10);
    nn_config_free(&cfg);
    parse_ok(&cfg, CFG3("\"optimizer\": {\"schedule\": {\"name\": \"exponential\"}}"));
    ck_assert(cfg.schedule.gamma == 0.95);
    nn_config_free(&cfg);
    parse_ok(&cfg, CFG3("\"optimizer\": {\"schedule\": {\"name\": \"cosine\"}}"));
    ck_assert_int_eq(cfg.schedule.name, NN_SCHED_NAME_COSINE);
    ck_assert(cfg.schedule.min_lr == 0.0);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_parses_layer_alpha_init_and_dropout)
{
    nn_config cfg;
    parse_ok(&cfg, NET("{\"units\": 8, \"activation\": \"leaky_relu\", \"alpha\": 0, "
                       "\"init\": \"he\", \"dropout\": 0.5},\n"
                       "{\"units\": 8, \"activation\": \"elu\", \"alpha\": 2.5, "
                       "\"init\": \"glorot\", \"dropout\": 0},\n"
                       "{\"units\": 8, \"activation\": \"leaky_relu\", \"alpha\": 0.99999},\n"
                       "{\"units\": 3, \"activation\": \"tanh\", \"init\": \"auto\"}",
                       "\"seed\": 1"));
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_LEAKY_RELU);
    ck_assert(cfg.layers[0].alpha == 0.0);
    ck_assert_int_eq(cfg.layers[0].init, NN_INIT_HE);
    ck_assert(cfg.layers[0].dropout == 0.5);
    ck_assert_int_eq(cfg.layers[1].act, NN_ACT_ELU);
    ck_assert(cfg.layers[1].alpha == 2.5);
    ck_assert_int_eq(cfg.layers[1].init, NN_INIT_GLOROT);
    ck_assert(cfg.layers[1].dropout == 0.0);
    ck_assert(cfg.layers[2].alpha == 0.99999);
    ck_assert_int_eq(cfg.layers[3].act, NN_ACT_TANH);
    ck_assert_int_eq(cfg.layers[3].init, NN_INIT_AUTO);
    nn_config_free(&cfg);

    /* every activation but softmax is fine on a hidden layer */
    static const char *const acts[] = {"identity", "sigmoid", "tanh", "relu",
                                       "leaky_relu", "elu", "softplus"};
    for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
        char text[512];
        snprintf(text, sizeof text, "{" TRAIN ", \"model\": {\"layers\": [{\"units\": 4, "
                 "\"activation\": \"%s\", \"dropout\": 0.1}, {\"units\": 2}]}}", acts[k]);
        parse_ok(&cfg, text);
        ck_assert_str_eq(nn_act_name(cfg.layers[0].act), acts[k]);
        ck_assert(cfg.layers[0].dropout == 0.1);
        nn_config_free(&cfg);
    }
}
END_TEST

START_TEST(test_config_rejects_bad_layer_alpha_init_and_dropout)
{
    /* alpha for an activation without one: at the key, or at the activation
     * when that was written later */
    EXPECT_USAGE(NET("{\"units\": 8, \"alpha\": 0.1}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:35: \"model.layers.0.alpha\" applies only to leaky_relu and elu");
    EXPECT_USAGE(NET("{\"units\": 8, \"activation\": \"relu\", \"alpha\": 0.1}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:57: \"model.layers.0.alpha\" applies only to leaky_relu and elu");
    EXPECT_USAGE(NET("{\"units\": 8, \"alpha\": 0.1, \"activation\": \"relu\"}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:63: \"model.layers.0.alpha\" applies only to leaky_relu and elu");
    /* alpha's range depends on the activation */
    EXPECT_USAGE(NET("{\"units\": 8, \"activation\": \"leaky_relu\", \"alpha\": 1}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:72: \"model.layers.0.alpha\" must be a number from 0 up to but not "
                 "including 1 for leaky_relu, found 1");
    EXPECT_USAGE(NET("{\"units\": 8, \"activation\": \"leaky_relu\", \"alpha\": -0.01}, "
                     "{\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:72: \"model.layers.0.alpha\" must be a number from 0 up to but not "
                 "including 1 for leaky_relu, found -0.01");
    EXPECT_USAGE(NET("{\"units\": 8, \"activation\": \"elu\", \"alpha\": 0}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:65: \"model.layers.0.alpha\" must be a number greater than 0 for elu, "
                 "found 0");
    EXPECT_USAGE(NET("{\"units\": 8, \"activation\": \"elu\", \"alpha\": \"1\"}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:65: \"model.layers.0.alpha\" must be a number, found a string");
    /* dropout: [0, 1), and never on the output layer, not even 0 */
    EXPECT_USAGE(NET("{\"units\": 8, \"dropout\": 1}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:46: \"model.layers.0.dropout\" must be a number from 0 up to but not "
                 "including 1, found 1");
    EXPECT_USAGE(NET("{\"units\": 8, \"dropout\": -0.1}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:46: \"model.layers.0.dropout\" must be a number from 0 up to but not "
                 "including 1, found -0.1");
    EXPECT_USAGE(NET("{\"units\": 8, \"dropout\": true}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:46: \"model.layers.0.dropout\" must be a number, found a boolean");
    EXPECT_USAGE(NET("{\"units\": 8}, {\"units\": 3, \"dropout\": 0.1}", "\"seed\": 1"),
                 "x.json:2:49: \"model.layers.1.dropout\" is not allowed on the output layer: "
                 "dropout zeroes a layer's outputs at random, and these outputs are the "
                 "predictions");
    EXPECT_USAGE(NET("{\"units\": 3, \"dropout\": 0}", "\"seed\": 1"),
                 "x.json:2:35: \"model.layers.0.dropout\" is not allowed on the output layer: "
                 "dropout zeroes a layer's outputs at random, and these outputs are the "
                 "predictions");
    EXPECT_USAGE(NET("{\"units\": 3, \"init\": 1}", "\"seed\": 1"),
                 "x.json:2:43: \"model.layers.0.init\" must be one of \"auto\", \"glorot\", "
                 "\"he\", found a number");
    /* misspelt layer keys */
    EXPECT_USAGE(NET("{\"units\": 8, \"dropuot\": 0.1}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:35: unknown key \"dropuot\" in \"model.layers.0\" "
                 "(did you mean \"dropout\"?)");
    EXPECT_USAGE(NET("{\"units\": 8, \"activation\": \"elu\", \"alhpa\": 0.1}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:56: unknown key \"alhpa\" in \"model.layers.0\" "
                 "(did you mean \"alpha\"?)");
    EXPECT_USAGE(NET("{\"units\": 3, \"initialiser\": \"he\"}", "\"seed\": 1"),
                 "x.json:2:35: unknown key \"initialiser\" in \"model.layers.0\" (valid keys: "
                 "\"units\", \"activation\", \"alpha\", \"init\", \"dropout\", \"batch_norm\", "
                 "\"batch_norm_momentum\", \"batch_norm_eps\")");
}
END_TEST

START_TEST(test_config_softmax_only_on_a_classification_output_of_two_or_more_units)
{
    EXPECT_USAGE(NET("{\"units\": 8, \"activation\": \"softmax\"}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:49: \"model.layers.0.activation\": softmax is only allowed on the "
                 "output layer");
    EXPECT_USAGE(NET("{\"units\": 1, \"activation\": \"softmax\"}", "\"loss\": \"cross_entropy\""),
                 "x.json:2:49: \"model.layers.0.activation\": softmax needs at least 2 units "
                 "(over one unit it is the constant 1), found 1; for a binary classifier with one "
                 "output unit use \"sigmoid\" with loss \"binary_cross_entropy\"");
    /* at the units when they were written after the activation */
    EXPECT_USAGE(NET("{\"activation\": \"softmax\", \"units\": 1}", "\"loss\": \"cross_entropy\""),
                 "x.json:2:57: \"model.layers.0.activation\": softmax needs at least 2 units "
                 "(over one unit it is the constant 1), found 1; for a binary classifier with one "
                 "output unit use \"sigmoid\" with loss \"binary_cross_entropy\"");
    EXPECT_USAGE(REG_NET("[{\"units\": 2, \"activation\": \"softmax\"}]", "\"loss\": \"mse\""),
                 "x.json:2:49: \"model.layers.0.activation\": a softmax output layer is for "
                 "classes, but \"data.train\" has targets (regression)");

    nn_config cfg;
    parse_ok(&cfg, NET("{\"units\": 2, \"activation\": \"softmax\"}", "\"loss\": \"cross_entropy\""));
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_SOFTMAX);
    ck_assert_int_eq(cfg.loss, NN_LOSS_CROSS_ENTROPY);
    nn_config_free(&cfg);
}
END_TEST

/* ---- loss and output layer ------------------------------------------------------ */

/* A classification config 4-8-K with the given output activation and loss;
 * the loss value is at line 3, column 9, after the activation (line 2). */
static void pairing_text(char *out, size_t n, int units, const char *act, const char *loss)
{
    snprintf(out, n, "{" TRAIN ",\n\"model\": {\"layers\": [{\"units\": 8}, {\"units\": %d, "
             "\"activation\": \"%s\"}]},\n\"loss\": \"%s\"}", units, act, loss);
}

#define SOFTMAX_WHY                                                                       \
    " the outputs, tied to sum to 1, learn through the softmax Jacobian diag(p) - p p^T, " \
    "which vanishes as they saturate; cross-entropy cancels it (gradient p - y) and is the " \
    "pairing nntrain supports"

static const char *const non_softmax[] = {"identity", "sigmoid", "tanh",    "relu",
                                          "leaky_relu", "elu",   "softplus"};
#define N_NON_SOFTMAX ((int)(sizeof non_softmax / sizeof *non_softmax))

START_TEST(test_config_accepts_each_sound_loss_pairing)
{
    char text[512];
    nn_config cfg;
    /* mse, mae and huber with any output but softmax */
    static const char *const regress[] = {"mse", "mae", "huber"};
    for (int a = 0; a < N_NON_SOFTMAX; a++)
        for (int l = 0; l < 3; l++) {
            pairing_text(text, sizeof text, 3, non_softmax[a], regress[l]);
            parse_ok(&cfg, text);
            ck_assert_str_eq(nn_loss_name(cfg.loss), regress[l]);
            ck_assert_str_eq(nn_act_name(cfg.layers[1].act), non_softmax[a]);
            nn_config_free(&cfg);
        }
    /* softmax with cross-entropy */
    pairing_text(text, sizeof text, 3, "softmax", "cross_entropy");
    parse_ok(&cfg, text);
    ck_assert_int_eq(cfg.loss, NN_LOSS_CROSS_ENTROPY);
    ck_assert_int_eq(cfg.layers[1].act, NN_ACT_SOFTMAX);
    nn_config_free(&cfg);
    /* sigmoid with binary cross-entropy, one unit or several */
    for (int units = 1; units <= 3; units += 2) {
        pairing_text(text, sizeof text, units, "sigmoid", "binary_cross_entropy");
        parse_ok(&cfg, text);
        ck_assert_int_eq(cfg.loss, NN_LOSS_BINARY_CROSS_ENTROPY);
        nn_config_free(&cfg);
    }
    /* the loss given before the model, or by default */
    parse_ok(&cfg, "{" TRAIN ",\n\"loss\": \"cross_entropy\",\n\"model\": {\"layers\": "
                   "[{\"units\": 3, \"activation\": \"softmax\"}]}}");
    nn_config_free(&cfg);
    parse_ok(&cfg, NET("{\"units\": 3, \"activation\": \"relu\"}", "\"seed\": 1"));
    ck_assert_int_eq(cfg.loss, NN_LOSS_MSE);
    nn_config_free(&cfg);
    /* regression: mse, mae, huber with the default identity output or another */
    for (int l = 0; l < 3; l++) {
        snprintf(text, sizeof text, REG_NET("[{\"units\": 8}, {\"units\": 2}]", "\"loss\": \"%s\""),
                 regress[l]);
        parse_ok(&cfg, text);
        ck_assert(cfg.regression);
        ck_assert_int_eq(cfg.layers[1].act, NN_ACT_IDENTITY);
        nn_config_free(&cfg);
        snprintf(text, sizeof text, REG_NET("[{\"units\": 2, \"activation\": \"softplus\"}]",
                                            "\"loss\": \"%s\""), regress[l]);
        parse_ok(&cfg, text);
        nn_config_free(&cfg);
    }
}
END_TEST

START_TEST(test_config_rejects_each_unsound_loss_pairing)
{
    char text[512], msg[1024];
    /* cross_entropy without softmax */
    for (int a = 0; a < N_NON_SOFTMAX; a++) {
        pairing_text(text, sizeof text, 3, non_softmax[a], "cross_entropy");
        snprintf(msg, sizeof msg, "x.json:3:9: loss \"cross_entropy\" needs a softmax output "
                 "layer (the last layer's activation is \"%s\")", non_softmax[a]);
        EXPECT_USAGE(text, msg);
    }
    /* binary_cross_entropy without sigmoid, softmax included */
    static const char *const non_sigmoid[] = {"identity", "tanh", "relu", "leaky_relu",
                                              "elu", "softplus", "softmax"};
    for (int a = 0; a < 7; a++) {
        pairing_text(text, sizeof text, 3, non_sigmoid[a], "binary_cross_entropy");
        snprintf(msg, sizeof msg, "x.json:3:9: loss \"binary_cross_entropy\" needs a sigmoid "
                 "output layer, whose outputs lie in (0, 1) (the last layer's activation is "
                 "\"%s\")", non_sigmoid[a]);
        EXPECT_USAGE(text, msg);
    }
    /* softmax without cross_entropy */
    static const char *const others[] = {"mse", "mae", "huber"};
    for (int l = 0; l < 3; l++) {
        pairing_text(text, sizeof text, 3, "softmax", others[l]);
        snprintf(msg, sizeof msg, "x.json:3:9: a softmax output layer needs loss "
                 "\"cross_entropy\": with \"%s\"" SOFTMAX_WHY, others[l]);
        EXPECT_USAGE(text, msg);
    }
    /* a loss that is given against an activation that is given: reported at the later */
    EXPECT_USAGE("{" TRAIN ",\n\"loss\": \"mse\",\n\"model\": {\"layers\": "
                 "[{\"units\": 8}, {\"units\": 3, \"activation\": \"softmax\"}]}}",
                 "x.json:3:63: a softmax output layer needs loss \"cross_entropy\": with \"mse\""
                 SOFTMAX_WHY);
    /* the activation written after the loss: reported at the activation */
    EXPECT_USAGE("{" TRAIN ",\n\"loss\": \"cross_entropy\",\n\"model\": {\"layers\": "
                 "[{\"units\": 3, \"activation\": \"sigmoid\"}]}}",
                 "x.json:3:49: loss \"cross_entropy\" needs a softmax output layer (the last "
                 "layer's activation is \"sigmoid\")");
    /* cross_entropy over one output unit (the default activation is then sigmoid):
     * the hint names binary_cross_entropy */
    EXPECT_USAGE(NET("{\"units\": 8}, {\"units\": 1}", "\"loss\": \"cross_entropy\""),
                 "x.json:3:9: loss \"cross_entropy\" needs a softmax output layer of 2 or more "
                 "units, and the output layer has one unit: for a binary classifier with one "
                 "output unit use loss \"binary_cross_entropy\" (with a sigmoid output), or give "
                 "the output layer 2 units");
    EXPECT_USAGE(NET("{\"units\": 8}, {\"units\": 1, \"activation\": \"sigmoid\"}",
                     "\"loss\": \"cross_entropy\""),
                 "x.json:3:9: loss \"cross_entropy\" needs a softmax output layer of 2 or more "
                 "units, and the output layer has one unit: for a binary classifier with one "
                 "output unit use loss \"binary_cross_entropy\" (with a sigmoid output), or give "
                 "the output layer 2 units");
    /* classification losses on regression data */
    EXPECT_USAGE(REG_NET("[{\"units\": 8}, {\"units\": 2}]", "\"loss\": \"cross_entropy\""),
                 "x.json:3:9: loss \"cross_entropy\" is a classification loss, but "
                 "\"data.train\" has targets (regression): use \"mse\", \"mae\" or \"huber\"");
    EXPECT_USAGE(REG_NET("[{\"units\": 2, \"activation\": \"sigmoid\"}]",
                         "\"loss\": \"binary_cross_entropy\""),
                 "x.json:3:9: loss \"binary_cross_entropy\" is a classification loss, but "
                 "\"data.train\" has targets (regression): use \"mse\", \"mae\" or \"huber\"");
}
END_TEST

START_TEST(test_config_huber_delta_only_with_huber)
{
    nn_config cfg;
    parse_ok(&cfg, CFG3("\"loss\": \"huber\""));
    ck_assert_int_eq(cfg.loss, NN_LOSS_HUBER);
    ck_assert(cfg.huber_delta == 1.0);
    nn_config_free(&cfg);
    parse_ok(&cfg, CFG3("\"loss\": \"huber\", \"huber_delta\": 0.25"));
    ck_assert(cfg.huber_delta == 0.25);
    nn_config_free(&cfg);
    parse_ok(&cfg, CFG3("\"loss\": \"mae\""));
    ck_assert_int_eq(cfg.loss, NN_LOSS_MAE);
    nn_config_free(&cfg);

    EXPECT_USAGE(CFG3("\"huber_delta\": 2"),
                 "x.json:3:1: \"huber_delta\" applies only to loss \"huber\"");
    EXPECT_USAGE(CFG3("\"loss\": \"mae\", \"huber_delta\": 2"),
                 "x.json:3:16: \"huber_delta\" applies only to loss \"huber\"");
    EXPECT_USAGE(CFG3("\"huber_delta\": 2, \"loss\": \"mae\""),
                 "x.json:3:27: \"huber_delta\" applies only to loss \"huber\"");
    EXPECT_USAGE(CFG3("\"loss\": \"huber\", \"huber_delta\": 0"),
                 "x.json:3:33: \"huber_delta\" must be a number greater than 0, found 0");
    EXPECT_USAGE(CFG3("\"loss\": \"huber\", \"huber_delta\": \"1\""),
                 "x.json:3:33: \"huber_delta\" must be a number, found a string");
    EXPECT_USAGE(CFG3("\"loss\": \"huber\", \"huber_detla\": 1"),
                 "x.json:3:18: unknown key \"huber_detla\" (did you mean \"huber_delta\"?)");
}
END_TEST

/* ---- optimizer and schedule ---------------------------------------------------- */

START_TEST(test_config_parses_optimizer_keys)
{
    nn_config cfg;
    parse_ok(&cfg, CFG3("\"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.05, "
                        "\"momentum\": 0.9, \"nesterov\": true, \"weight_decay\": 1e-4, "
                        "\"clip_norm\": 5}"));
    ck_assert_int_eq(cfg.optimizer, NN_OPT_SGD);
    ck_assert(cfg.learning_rate == 0.05);
    ck_assert(cfg.momentum == 0.9);
    ck_assert(cfg.nesterov);
    ck_assert(cfg.weight_decay == 1e-4);
    ck_assert(cfg.clip_norm == 5.0);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"optimizer\": {\"name\": \"adam\", \"beta1\": 0, \"beta2\": 0.99, "
                        "\"eps\": 1e-7, \"weight_decay\": 0.01, \"clip_norm\": 0}"));
    ck_assert_int_eq(cfg.optimizer, NN_OPT_ADAM);
    ck_assert(cfg.learning_rate == 0.001);
    ck_assert(cfg.beta1 == 0.0);
    ck_assert(cfg.beta2 == 0.99);
    ck_assert(cfg.eps == 1e-7);
    ck_assert(cfg.weight_decay == 0.01);
    ck_assert(cfg.momentum == 0.0 && !cfg.nesterov);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"optimizer\": {\"learning_rate\": 0.01, \"name\": \"adamw\", "
                        "\"weight_decay\": 0.1}"));
    ck_assert_int_eq(cfg.optimizer, NN_OPT_ADAMW);
    ck_assert(cfg.learning_rate == 0.01); /* a given rate wins, wherever it is written */
    ck_assert(cfg.weight_decay == 0.1);
    nn_config_free(&cfg);

    /* momentum without Nesterov */
    parse_ok(&cfg, CFG3("\"optimizer\": {\"name\": \"sgd\", \"momentum\": 0.5, \"nesterov\": false}"));
    ck_assert(cfg.momentum == 0.5 && !cfg.nesterov);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_rejects_optimizer_keys_that_do_not_apply)
{
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"momentum\": 0.9}"),
                 "x.json:3:31: \"optimizer.momentum\" applies only to sgd");
    /* at the name when that was written later */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"momentum\": 0.9, \"name\": \"adamw\"}"),
                 "x.json:3:40: \"optimizer.momentum\" applies only to sgd");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"nesterov\": false}"),
                 "x.json:3:31: \"optimizer.nesterov\" applies only to sgd");
    /* adam by default */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"momentum\": 0.9}"),
                 "x.json:3:15: \"optimizer.momentum\" applies only to sgd");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"beta1\": 0.9}"),
                 "x.json:3:30: \"optimizer.beta1\" applies only to adam and adamw");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"beta2\": 0.9}"),
                 "x.json:3:30: \"optimizer.beta2\" applies only to adam and adamw");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"eps\": 1e-8}"),
                 "x.json:3:30: \"optimizer.eps\" applies only to adam and adamw");
    /* the check comes before the value's own */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"momentum\": \"x\"}"),
                 "x.json:3:31: \"optimizer.momentum\" applies only to sgd");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"momentun\": 0.9}"),
                 "x.json:3:31: unknown key \"momentun\" in \"optimizer\" "
                 "(did you mean \"momentum\"?)");
}
END_TEST

START_TEST(test_config_rejects_out_of_range_optimizer_values)
{
#define UNIT_RANGE "must be a number from 0 up to but not including 1, found "
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"momentum\": 1}"),
                 "x.json:3:42: \"optimizer.momentum\" " UNIT_RANGE "1");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"momentum\": -0.5}"),
                 "x.json:3:42: \"optimizer.momentum\" " UNIT_RANGE "-0.5");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"beta1\": 1}"),
                 "x.json:3:40: \"optimizer.beta1\" " UNIT_RANGE "1");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"beta2\": -0.5}"),
                 "x.json:3:40: \"optimizer.beta2\" " UNIT_RANGE "-0.5");
#undef UNIT_RANGE
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"eps\": 0}"),
                 "x.json:3:38: \"optimizer.eps\" must be a number greater than 0, found 0");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0}"),
                 "x.json:3:48: \"optimizer.learning_rate\" must be a number greater than 0, "
                 "found 0");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"weight_decay\": -1}"),
                 "x.json:3:31: \"optimizer.weight_decay\" must be a number 0 or greater, "
                 "found -1");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"clip_norm\": -0.1}"),
                 "x.json:3:28: \"optimizer.clip_norm\" must be a number 0 or greater, "
                 "found -0.1");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"clip_norm\": 1e999}"),
                 "x.json:3:28: \"optimizer.clip_norm\" must be a number 0 or greater, "
                 "found 1e999");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"nesterov\": \"yes\"}"),
                 "x.json:3:42: \"optimizer.nesterov\" must be true or false, found a string");
    /* Nesterov needs momentum */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"nesterov\": true}"),
                 "x.json:3:42: \"optimizer.nesterov\" needs \"optimizer.momentum\" greater than "
                 "0 (Nesterov's look-ahead follows the momentum; with 0 there is none)");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"sgd\", \"nesterov\": true, \"momentum\": 0}"),
                 "x.json:3:60: \"optimizer.nesterov\" needs \"optimizer.momentum\" greater than "
                 "0 (Nesterov's look-ahead follows the momentum; with 0 there is none)");
}
END_TEST

START_TEST(test_config_parses_schedules)
{
    nn_config cfg;
    parse_ok(&cfg, CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\", \"gamma\": 0.5, "
                        "\"step_epochs\": 3, \"warmup_epochs\": 2}}"));
    ck_assert_int_eq(cfg.schedule.name, NN_SCHED_NAME_STEP);
    ck_assert(cfg.schedule.gamma == 0.5);
    ck_assert_int_eq(cfg.schedule.step_epochs, 3);
    ck_assert_int_eq(cfg.schedule.warmup_epochs, 2);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"optimizer\": {\"schedule\": {\"name\": \"exponential\", "
                        "\"gamma\": 1}}"));
    ck_assert_int_eq(cfg.schedule.name, NN_SCHED_NAME_EXPONENTIAL);
    ck_assert(cfg.schedule.gamma == 1.0); /* (0, 1]: 1 is allowed */
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0.01, "
                        "\"schedule\": {\"name\": \"cosine\", \"min_lr\": 0.001, "
                        "\"warmup_epochs\": 1e1}}"));
    ck_assert_int_eq(cfg.schedule.name, NN_SCHED_NAME_COSINE);
    ck_assert(cfg.schedule.min_lr == 0.001);
    ck_assert_int_eq(cfg.schedule.warmup_epochs, 10);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"optimizer\": {\"schedule\": {\"warmup_epochs\": 5}}"));
    ck_assert_int_eq(cfg.schedule.name, NN_SCHED_NAME_CONSTANT);
    ck_assert_int_eq(cfg.schedule.warmup_epochs, 5);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_rejects_bad_schedules)
{
    /* keys that do not apply to the schedule */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"gamma\": 0.5}}"),
                 "x.json:3:28: \"optimizer.schedule.gamma\" applies only to step and "
                 "exponential");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"cosine\", \"step_epochs\": 2}}"),
                 "x.json:3:46: \"optimizer.schedule.step_epochs\" applies only to step");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"exponential\", "
                      "\"step_epochs\": 2}}"),
                 "x.json:3:51: \"optimizer.schedule.step_epochs\" applies only to step");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\", \"min_lr\": 0}}"),
                 "x.json:3:44: \"optimizer.schedule.min_lr\" applies only to cosine");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"min_lr\": 0, \"name\": \"step\"}}"),
                 "x.json:3:49: \"optimizer.schedule.min_lr\" applies only to cosine");
    /* ranges */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\", \"gamma\": 0}}"),
                 "x.json:3:53: \"optimizer.schedule.gamma\" must be a number greater than 0 and "
                 "at most 1, found 0");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\", \"gamma\": 1.5}}"),
                 "x.json:3:53: \"optimizer.schedule.gamma\" must be a number greater than 0 and "
                 "at most 1, found 1.5");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\", \"step_epochs\": 0}}"),
                 "x.json:3:59: \"optimizer.schedule.step_epochs\" must be an integer from 1 to "
                 "1000000, found 0");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\", \"step_epochs\": 2.5}}"),
                 "x.json:3:59: \"optimizer.schedule.step_epochs\" must be an integer from 1 to "
                 "1000000, found 2.5");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"warmup_epochs\": -1}}"),
                 "x.json:3:45: \"optimizer.schedule.warmup_epochs\" must be an integer from 0 to "
                 "1000000, found -1");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"cosine\", \"min_lr\": -1}}"),
                 "x.json:3:56: \"optimizer.schedule.min_lr\" must be a number 0 or greater, "
                 "found -1");
    /* min_lr must be below the learning rate, given or by default */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"cosine\", \"min_lr\": 0.001}}"),
                 "x.json:3:56: \"optimizer.schedule.min_lr\" must be below "
                 "\"optimizer.learning_rate\" (0.001), found 0.001");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"name\": \"adam\",\n"
                      "\"schedule\": {\"name\": \"cosine\", \"min_lr\": 0.002}}"),
                 "x.json:4:42: \"optimizer.schedule.min_lr\" must be below "
                 "\"optimizer.learning_rate\" (0.001), found 0.002");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"cosine\", \"min_lr\": 0.01},\n"
                      "\"learning_rate\": 0.005}"),
                 "x.json:4:18: \"optimizer.schedule.min_lr\" must be below "
                 "\"optimizer.learning_rate\" (0.005), found 0.01");
    /* shape */
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": \"cosine\"}"),
                 "x.json:3:27: \"optimizer.schedule\" must be an object, found a string");
    EXPECT_USAGE(CFG3("\"optimizer\": {\"schedule\": {\"name\": \"step\", \"gama\": 0.5}}"),
                 "x.json:3:44: unknown key \"gama\" in \"optimizer.schedule\" "
                 "(did you mean \"gamma\"?)");
}
END_TEST

/* ---- early stopping and the best checkpoint -------------------------------------- */

START_TEST(test_config_early_stopping_needs_validation_data)
{
    nn_config cfg;
    parse_ok(&cfg, CFG3V("\"training\": {\"early_stopping\": {\"patience\": 3}}"));
    ck_assert(cfg.early_stopping.enabled);
    ck_assert_int_eq(cfg.early_stopping.patience, 3);
    ck_assert(cfg.early_stopping.min_delta == 0.0);
    nn_config_free(&cfg);
    parse_ok(&cfg, "{\"data\": {\"train\": {\"images\": \"a\", \"labels\": \"b\"}, "
                   "\"validation\": {\"images\": \"c\", \"labels\": \"d\"}}, " LAYERS ", "
                   "\"training\": {\"early_stopping\": {\"patience\": 1, \"min_delta\": 0.001}}}");
    ck_assert(cfg.early_stopping.enabled);
    ck_assert_int_eq(cfg.early_stopping.patience, 1);
    ck_assert(cfg.early_stopping.min_delta == 0.001);
    nn_config_free(&cfg);

    EXPECT_USAGE(CFG3("\"training\": {\"early_stopping\": {\"patience\": 3}}"),
                 "x.json:3:14: training.early_stopping needs validation data (set "
                 "data.validation_fraction or data.validation)");
    EXPECT_USAGE(CFG3V("\"training\": {\"early_stopping\": {\"min_delta\": 0.1}}"),
                 "x.json:3:32: missing required key \"training.early_stopping.patience\"");
    EXPECT_USAGE(CFG3V("\"training\": {\"early_stopping\": {}}"),
                 "x.json:3:32: missing required key \"training.early_stopping.patience\"");
    EXPECT_USAGE(CFG3V("\"training\": {\"early_stopping\": {\"patience\": 0}}"),
                 "x.json:3:45: \"training.early_stopping.patience\" must be an integer from 1 "
                 "to 1000000, found 0");
    EXPECT_USAGE(CFG3V("\"training\": {\"early_stopping\": {\"patience\": 2, \"min_delta\": -1}}"),
                 "x.json:3:61: \"training.early_stopping.min_delta\" must be a number 0 or "
                 "greater, found -1");
    EXPECT_USAGE(CFG3V("\"training\": {\"early_stopping\": {\"patiense\": 2}}"),
                 "x.json:3:33: unknown key \"patiense\" in \"training.early_stopping\" "
                 "(did you mean \"patience\"?)");
    EXPECT_USAGE(CFG3V("\"training\": {\"early_stopping\": true}"),
                 "x.json:3:32: \"training.early_stopping\" must be an object, found a boolean");
    EXPECT_USAGE(CFG3V("\"training\": {\"early_stoping\": {}}"),
                 "x.json:3:14: unknown key \"early_stoping\" in \"training\" "
                 "(did you mean \"early_stopping\"?)");
}
END_TEST

START_TEST(test_config_keep_best_needs_validation_data)
{
    nn_config cfg;
    parse_ok(&cfg, CFG3V("\"checkpoint\": {\"path\": \"m.ckpt\", \"keep_best\": true}"));
    ck_assert(cfg.keep_best);
    ck_assert_str_eq(cfg.checkpoint_path, "cfgdir/m.ckpt");
    nn_config_free(&cfg);
    parse_ok(&cfg, CFG3("\"checkpoint\": {\"keep_best\": false}"));
    ck_assert(!cfg.keep_best);
    nn_config_free(&cfg);

    EXPECT_USAGE(CFG3("\"checkpoint\": {\"path\": \"m.ckpt\", \"keep_best\": true}"),
                 "x.json:3:47: checkpoint.keep_best needs validation data (set "
                 "data.validation_fraction or data.validation)");
    /* without a path: valid here, since --checkpoint may give one (the
     * training command checks; tests/cli/run.sh) */
    parse_ok(&cfg, CFG3V("\"checkpoint\": {\"keep_best\": true}"));
    ck_assert(cfg.keep_best);
    ck_assert_ptr_null(cfg.checkpoint_path);
    nn_config_free(&cfg);
    EXPECT_USAGE(CFG3V("\"checkpoint\": {\"keep_best\": 1}"),
                 "x.json:3:29: \"checkpoint.keep_best\" must be true or false, found a number");
    EXPECT_USAGE(CFG3V("\"checkpoint\": {\"keepbest\": true}"),
                 "x.json:3:16: unknown key \"keepbest\" in \"checkpoint\" "
                 "(did you mean \"keep_best\"?)");
}
END_TEST

/* ---- canonical JSON and --set for the new keys ------------------------------------ */

static const char rich_config[] =
    "{" TRAIN_VAL ",\n"
    "\"model\": {\"layers\": [\n"
    "  {\"units\": 16, \"activation\": \"leaky_relu\", \"init\": \"he\", \"dropout\": 0.25},\n"
    "  {\"units\": 8, \"activation\": \"elu\", \"alpha\": 0.5},\n"
    "  {\"units\": 3, \"activation\": \"softmax\", \"init\": \"glorot\"}]},\n"
    "\"loss\": \"cross_entropy\",\n"
    "\"optimizer\": {\"name\": \"adamw\", \"weight_decay\": 0.01, \"clip_norm\": 1,\n"
    "  \"schedule\": {\"name\": \"cosine\", \"min_lr\": 1e-5, \"warmup_epochs\": 2}},\n"
    "\"training\": {\"early_stopping\": {\"patience\": 5}},\n"
    "\"checkpoint\": {\"path\": \"r.ckpt\", \"keep_best\": true}}";

START_TEST(test_config_to_json_writes_the_new_keys_that_apply)
{
    nn_config cfg;
    parse_ok(&cfg, rich_config);
    char *json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(json);
    ck_assert_str_eq(json,
                     "{\"seed\":1,"
                     "\"data\":{\"train\":{\"images\":\"a\",\"labels\":\"b\"},"
                     "\"validation_fraction\":0.1,\"test_fraction\":0,\"scale\":\"auto\","
                     "\"stream\":\"auto\",\"max_memory_mb\":4096,\"shuffle_buffer\":0},"
                     "\"model\":{\"layers\":["
                     "{\"units\":16,\"activation\":\"leaky_relu\",\"alpha\":0.01,\"init\":\"he\","
                     "\"dropout\":0.25,\"batch_norm\":false},"
                     "{\"units\":8,\"activation\":\"elu\",\"alpha\":0.5,\"init\":\"auto\","
                     "\"dropout\":0,\"batch_norm\":false},"
                     "{\"units\":3,\"activation\":\"softmax\",\"init\":\"glorot\"}]},"
                     "\"loss\":\"cross_entropy\","
                     "\"optimizer\":{\"name\":\"adamw\",\"learning_rate\":0.001,\"beta1\":0.9,"
                     "\"beta2\":0.999,\"eps\":1e-08,\"weight_decay\":0.01,\"clip_norm\":1,"
                     "\"schedule\":{\"name\":\"cosine\",\"min_lr\":1e-05,\"warmup_epochs\":2}},"
                     "\"training\":{\"epochs\":200,\"batch_size\":32,\"shuffle\":true,"
                     "\"early_stopping\":{\"patience\":5,\"min_delta\":0}},"
                     "\"checkpoint\":{\"path\":\"r.ckpt\",\"every_epochs\":1,\"every_seconds\":5,\"keep_best\":true}}");
    free(json);
    nn_config_free(&cfg);

    /* sgd keys, a step schedule, huber_delta */
    parse_ok(&cfg, CFG3("\"loss\": \"huber\", \"optimizer\": {\"name\": \"sgd\", \"momentum\": 0.9, "
                        "\"nesterov\": true, \"schedule\": {\"name\": \"step\"}}"));
    json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"loss\":\"huber\",\"huber_delta\":1,"
                                       "\"optimizer\":{\"name\":\"sgd\",\"learning_rate\":0.1,"
                                       "\"momentum\":0.9,\"nesterov\":true,\"weight_decay\":0,"
                                       "\"clip_norm\":0,\"schedule\":{\"name\":\"step\","
                                       "\"gamma\":0.1,\"step_epochs\":10,\"warmup_epochs\":0}}"));
    free(json);
    nn_config_free(&cfg);

    parse_ok(&cfg, CFG3("\"optimizer\": {\"schedule\": {\"name\": \"exponential\"}}"));
    json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(strstr(json, "\"schedule\":{\"name\":\"exponential\",\"gamma\":0.95,"
                                       "\"warmup_epochs\":0}"));
    free(json);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_to_json_round_trips_the_new_keys)
{
    assert_round_trip(rich_config);
    assert_round_trip(CFG3("\"loss\": \"huber\", \"huber_delta\": 0.30000000000000004, "
                           "\"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.05, "
                           "\"momentum\": 0.9, \"nesterov\": true, \"weight_decay\": 1e-4, \"clip_norm\": 2.5, "
                           "\"schedule\": {\"name\": \"step\", \"gamma\": 0.5, "
                           "\"step_epochs\": 7, \"warmup_epochs\": 1}}"));
    assert_round_trip(CFG3("\"loss\": \"mae\", \"optimizer\": {\"name\": \"adam\", "
                           "\"beta1\": 0.8, \"beta2\": 0.9999, \"eps\": 1e-10, "
                           "\"schedule\": {\"name\": \"exponential\", \"gamma\": 0.99}}"));
    assert_round_trip(NET("{\"units\": 8, \"activation\": \"leaky_relu\", \"alpha\": 0.2, "
                          "\"dropout\": 0.1}, {\"units\": 1, \"activation\": \"sigmoid\"}",
                          "\"loss\": \"binary_cross_entropy\""));
    assert_round_trip(CFG3V("\"training\": {\"early_stopping\": {\"patience\": 2, "
                            "\"min_delta\": 1e-3}}, \"checkpoint\": {\"path\": \"b.ckpt\", "
                            "\"keep_best\": true, \"every_epochs\": 0}"));
    assert_round_trip(REG_NET("[{\"units\": 8, \"activation\": \"relu\", \"init\": \"he\"}, "
                              "{\"units\": 2}]", "\"loss\": \"huber\", \"huber_delta\": 3"));
}
END_TEST

START_TEST(test_config_set_reaches_the_new_keys)
{
    static const char two[] = "{" TRAIN_VAL ", \"model\": {\"layers\": [{\"units\": 10}, "
                              "{\"units\": 3}]}}";
    nn_config cfg;
    PARSE_SETS_OK(&cfg, MINIMAL, "optimizer.name=adam", "optimizer.beta1=0.8");
    ck_assert_int_eq(cfg.optimizer, NN_OPT_ADAM);
    ck_assert(cfg.beta1 == 0.8);
    ck_assert(cfg.learning_rate == 0.001);
    nn_config_free(&cfg);

    PARSE_SETS_OK(&cfg, two, "model.layers.0.dropout=0.2", "model.layers.0.activation=leaky_relu",
                  "model.layers.0.alpha=0.2", "model.layers.0.init=he");
    ck_assert(cfg.layers[0].dropout == 0.2);
    ck_assert_int_eq(cfg.layers[0].act, NN_ACT_LEAKY_RELU);
    ck_assert(cfg.layers[0].alpha == 0.2);
    ck_assert_int_eq(cfg.layers[0].init, NN_INIT_HE);
    nn_config_free(&cfg);

    PARSE_SETS_OK(&cfg, two, "loss=cross_entropy", "model.layers.1.activation=softmax",
                  "optimizer.schedule.name=step", "optimizer.schedule.step_epochs=5",
                  "training.early_stopping.patience=4", "checkpoint.path=x.ckpt",
                  "checkpoint.keep_best=true");
    ck_assert_int_eq(cfg.loss, NN_LOSS_CROSS_ENTROPY);
    ck_assert_int_eq(cfg.layers[1].act, NN_ACT_SOFTMAX);
    ck_assert_int_eq(cfg.schedule.name, NN_SCHED_NAME_STEP);
    ck_assert_int_eq(cfg.schedule.step_epochs, 5);
    ck_assert(cfg.early_stopping.enabled);
    ck_assert_int_eq(cfg.early_stopping.patience, 4);
    ck_assert(cfg.keep_best);
    nn_config_free(&cfg);

    PARSE_SETS_OK(&cfg, MINIMAL, "loss=huber", "huber_delta=0.5", "optimizer.clip_norm=1",
                  "optimizer.weight_decay=0.001");
    ck_assert(cfg.huber_delta == 0.5);
    ck_assert(cfg.clip_norm == 1.0);
    ck_assert(cfg.weight_decay == 0.001);
    nn_config_free(&cfg);

    /* errors name the argument that broke the config, also when the other
     * half of the conflict is in the file */
    EXPECT_SETS_USAGE(MINIMAL, "--set optimizer.momentum=0.9: \"optimizer.momentum\" applies "
                               "only to sgd", "optimizer.name=adam", "optimizer.momentum=0.9");
    EXPECT_SETS_USAGE(CFG3("\"optimizer\": {\"momentum\": 0.9}"),
                      "--set optimizer.name=adam: \"optimizer.momentum\" applies only to sgd",
                      "optimizer.name=adam");
    EXPECT_SETS_USAGE(MINIMAL, "--set optimizer.beta1=0.8: \"optimizer.beta1\" applies only to "
                               "adam and adamw", "optimizer.name=sgd", "optimizer.beta1=0.8");
    EXPECT_SETS_USAGE(MINIMAL, "--set model.layers.0.alpha=0.1: \"model.layers.0.alpha\" applies "
                               "only to leaky_relu and elu", "model.layers.0.alpha=0.1");
    EXPECT_SETS_USAGE(two, "--set model.layers.1.dropout=0.2: \"model.layers.1.dropout\" is not "
                           "allowed on the output layer: dropout zeroes a layer's outputs at "
                           "random, and these outputs are the predictions",
                      "model.layers.1.dropout=0.2");
    EXPECT_SETS_USAGE(NET("{\"units\": 8}, {\"units\": 3, \"activation\": \"softmax\"}",
                          "\"loss\": \"cross_entropy\""),
                      "--set model.layers.1.activation=sigmoid: loss \"cross_entropy\" needs a "
                      "softmax output layer (the last layer's activation is \"sigmoid\")",
                      "model.layers.1.activation=sigmoid");
    EXPECT_SETS_USAGE(MINIMAL, "--set training.early_stopping.patience=3: "
                               "training.early_stopping needs validation data (set "
                               "data.validation_fraction or data.validation)",
                      "training.early_stopping.patience=3");
    EXPECT_SETS_USAGE(MINIMAL, "--set optimizer.schedule.min_lr=0.5: \"optimizer.schedule.min_lr\" "
                               "must be below \"optimizer.learning_rate\" (0.001), found 0.5",
                      "optimizer.schedule.name=cosine", "optimizer.schedule.min_lr=0.5");
    EXPECT_SETS_USAGE(MINIMAL, "--set huber_delta=2: \"huber_delta\" applies only to loss "
                               "\"huber\"", "huber_delta=2");
}
END_TEST

/* ---- batch normalization ----------------------------------------------------- */

#define BN_OUTPUT_LAYER                                                                   \
    " is not allowed on the output layer: batch normalization is for hidden layers (the " \
    "output layer's values are the predictions)"
#define BN_ONLY " applies only to layers with \"batch_norm\": true"
#define BN_BATCH(layer)                                                                  \
    "\"training.batch_size\" must be at least 2 with batch normalization (in "           \
    "\"model.layers." layer "\"): a batch of one row has no batch statistics"

START_TEST(test_config_batch_norm_defaults_when_absent)
{
    nn_config cfg;
    parse_ok(&cfg, NET("{\"units\": 8}, {\"units\": 3}", "\"seed\": 1"));
    for (int i = 0; i < 2; i++) {
        ck_assert(!cfg.layers[i].batch_norm);
        ck_assert(cfg.layers[i].batch_norm_momentum == 0.1);
        ck_assert(cfg.layers[i].batch_norm_eps == 1e-5);
    }
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_parses_batch_norm_keys)
{
    nn_config cfg;
    parse_ok(&cfg, NET("{\"units\": 8, \"batch_norm\": true},\n"
                       "{\"units\": 8, \"batch_norm\": true, \"batch_norm_momentum\": 0, "
                       "\"batch_norm_eps\": 1e-3},\n"
                       "{\"units\": 8, \"batch_norm_momentum\": 1, \"batch_norm\": true},\n"
                       "{\"units\": 8, \"batch_norm\": false},\n"
                       "{\"units\": 3, \"batch_norm\": false}",
                       "\"training\": {\"batch_size\": 2}"));
    ck_assert(cfg.layers[0].batch_norm);
    ck_assert(cfg.layers[0].batch_norm_momentum == 0.1);
    ck_assert(cfg.layers[0].batch_norm_eps == 1e-5);
    ck_assert(cfg.layers[1].batch_norm);
    ck_assert(cfg.layers[1].batch_norm_momentum == 0.0); /* [0, 1]: both ends allowed */
    ck_assert(cfg.layers[1].batch_norm_eps == 1e-3);
    ck_assert(cfg.layers[2].batch_norm_momentum == 1.0);
    ck_assert(!cfg.layers[3].batch_norm);
    ck_assert(!cfg.layers[4].batch_norm); /* false is allowed on the output layer */
    ck_assert_int_eq(cfg.batch_size, 2);
    nn_config_free(&cfg);

    /* the keys reach every layer through --set too */
    static const char two[] = "{" TRAIN ", \"model\": {\"layers\": [{\"units\": 10}, "
                              "{\"units\": 3}]}}";
    PARSE_SETS_OK(&cfg, two, "model.layers.0.batch_norm=true",
                  "model.layers.0.batch_norm_momentum=0.01", "model.layers.0.batch_norm_eps=1e-3");
    ck_assert(cfg.layers[0].batch_norm);
    ck_assert(cfg.layers[0].batch_norm_momentum == 0.01);
    ck_assert(cfg.layers[0].batch_norm_eps == 1e-3);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_rejects_batch_norm_on_the_output_layer)
{
    EXPECT_USAGE(NET("{\"units\": 8}, {\"units\": 3, \"batch_norm\": true}", "\"seed\": 1"),
                 "x.json:2:49: \"model.layers.1.batch_norm\"" BN_OUTPUT_LAYER);
    EXPECT_USAGE(NET("{\"units\": 3, \"batch_norm\": true}", "\"seed\": 1"),
                 "x.json:2:35: \"model.layers.0.batch_norm\"" BN_OUTPUT_LAYER);
    /* a value that is no boolean is a type error, there as anywhere */
    EXPECT_USAGE(NET("{\"units\": 3, \"batch_norm\": 1}", "\"seed\": 1"),
                 "x.json:2:49: \"model.layers.0.batch_norm\" must be true or false, found a "
                 "number");
    /* an appended output layer makes the former one a hidden layer */
    nn_config cfg;
    PARSE_SETS_OK(&cfg, NET("{\"units\": 3, \"batch_norm\": false}", "\"seed\": 1"),
                  "model.layers.0.batch_norm=true", "model.layers.1.units=2");
    ck_assert(cfg.layers[0].batch_norm);
    nn_config_free(&cfg);
    EXPECT_SETS_USAGE(NET("{\"units\": 8}, {\"units\": 3}", "\"seed\": 1"),
                      "--set model.layers.1.batch_norm=true: \"model.layers.1.batch_norm\""
                      BN_OUTPUT_LAYER, "model.layers.1.batch_norm=true");
}
END_TEST

START_TEST(test_config_batch_norm_parameters_need_batch_norm)
{
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm_momentum\": 0.5}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:35: \"model.layers.0.batch_norm_momentum\"" BN_ONLY);
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm\": false, \"batch_norm_eps\": 1e-3}, "
                     "{\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:56: \"model.layers.0.batch_norm_eps\"" BN_ONLY);
    /* at the batch_norm value when that was written later */
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm_eps\": 1e-3, \"batch_norm\": false}, "
                     "{\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:73: \"model.layers.0.batch_norm_eps\"" BN_ONLY);
    /* on the output layer, where batch_norm cannot be true */
    EXPECT_USAGE(NET("{\"units\": 8}, {\"units\": 3, \"batch_norm_eps\": 1e-3}", "\"seed\": 1"),
                 "x.json:2:49: \"model.layers.1.batch_norm_eps\"" BN_ONLY);
    /* the check comes before the value's own */
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm_momentum\": \"x\"}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:35: \"model.layers.0.batch_norm_momentum\"" BN_ONLY);
    /* a --set that turns batch normalization off is the one named */
    EXPECT_SETS_USAGE(NET("{\"units\": 8, \"batch_norm\": true, \"batch_norm_eps\": 1e-3}, "
                          "{\"units\": 3}", "\"seed\": 1"),
                      "--set model.layers.0.batch_norm=false: \"model.layers.0.batch_norm_eps\""
                      BN_ONLY, "model.layers.0.batch_norm=false");
}
END_TEST

START_TEST(test_config_rejects_out_of_range_batch_norm_values)
{
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm\": true, \"batch_norm_momentum\": 1.5}, "
                     "{\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:78: \"model.layers.0.batch_norm_momentum\" must be a number from 0 to "
                 "1, found 1.5");
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm\": true, \"batch_norm_momentum\": -0.1}, "
                     "{\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:78: \"model.layers.0.batch_norm_momentum\" must be a number from 0 to "
                 "1, found -0.1");
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm\": true, \"batch_norm_eps\": 0}, {\"units\": 3}",
                     "\"seed\": 1"),
                 "x.json:2:73: \"model.layers.0.batch_norm_eps\" must be a number greater than 0, "
                 "found 0");
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm\": true, \"batch_norm_eps\": \"1e-5\"}, "
                     "{\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:73: \"model.layers.0.batch_norm_eps\" must be a number, found a string");
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm\": \"true\"}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:49: \"model.layers.0.batch_norm\" must be true or false, found a "
                 "string");
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_nrom\": true}, {\"units\": 3}", "\"seed\": 1"),
                 "x.json:2:35: unknown key \"batch_nrom\" in \"model.layers.0\" "
                 "(did you mean \"batch_norm\"?)");
}
END_TEST

START_TEST(test_config_batch_norm_needs_batches_of_two_or_more)
{
    EXPECT_USAGE(NET("{\"units\": 8, \"batch_norm\": true}, {\"units\": 3}",
                     "\"training\": {\"batch_size\": 1}"),
                 "x.json:3:28: " BN_BATCH("0"));
    /* at the first batch_norm when that was written later */
    EXPECT_USAGE("{\"training\": {\"batch_size\": 1}, " TRAIN ",\n"
                 "\"model\": {\"layers\": [{\"units\": 8}, {\"units\": 8, \"batch_norm\": true}, "
                 "{\"units\": 8, \"batch_norm\": true}, {\"units\": 3}]}}",
                 "x.json:2:63: " BN_BATCH("1"));
    EXPECT_SETS_USAGE(NET("{\"units\": 8, \"batch_norm\": true}, {\"units\": 3}", "\"seed\": 1"),
                      "--set training.batch_size=1: " BN_BATCH("0"), "training.batch_size=1");
    EXPECT_SETS_USAGE(CFG3("\"training\": {\"batch_size\": 1}"),
                      "--set model.layers.0.batch_norm=true: " BN_BATCH("0"),
                      "model.layers.1.units=3", "model.layers.0.batch_norm=true");

    /* two rows are enough; one is fine without batch normalization */
    nn_config cfg;
    parse_ok(&cfg, NET("{\"units\": 8, \"batch_norm\": true}, {\"units\": 3}",
                       "\"training\": {\"batch_size\": 2}"));
    nn_config_free(&cfg);
    parse_ok(&cfg, NET("{\"units\": 8, \"batch_norm\": false}, {\"units\": 3}",
                       "\"training\": {\"batch_size\": 1}"));
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_to_json_writes_batch_norm_on_hidden_layers)
{
    nn_config cfg;
    parse_ok(&cfg, NET("{\"units\": 8, \"batch_norm\": true, \"batch_norm_momentum\": 0.01},\n"
                       "{\"units\": 4},\n{\"units\": 3, \"batch_norm\": false}", "\"seed\": 1"));
    char *json = nn_config_to_json(&cfg);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"model\":{\"layers\":["
                                       "{\"units\":8,\"activation\":\"relu\",\"init\":\"auto\","
                                       "\"dropout\":0,\"batch_norm\":true,"
                                       "\"batch_norm_momentum\":0.01,\"batch_norm_eps\":1e-05},"
                                       "{\"units\":4,\"activation\":\"relu\",\"init\":\"auto\","
                                       "\"dropout\":0,\"batch_norm\":false},"
                                       "{\"units\":3,\"activation\":\"softmax\","
                                       "\"init\":\"auto\"}]}"));
    free(json);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_config_to_json_round_trips_batch_norm)
{
    assert_round_trip(NET("{\"units\": 8, \"batch_norm\": true},\n"
                          "{\"units\": 8, \"batch_norm\": true, "
                          "\"batch_norm_momentum\": 0.30000000000000004, "
                          "\"batch_norm_eps\": 1e-300},\n"
                          "{\"units\": 8, \"batch_norm\": false},\n"
                          "{\"units\": 3, \"batch_norm\": false}",
                          "\"training\": {\"batch_size\": 2}"));
    assert_round_trip(REG_NET("[{\"units\": 8, \"activation\": \"relu\", \"batch_norm\": true, "
                              "\"batch_norm_momentum\": 1, \"dropout\": 0.2}, {\"units\": 2}]",
                              "\"loss\": \"mae\""));
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
    tcase_add_test(tc, test_config_parses_csv_sources_with_every_key);
    tcase_add_test(tc, test_config_csv_source_defaults);
    tcase_add_test(tc, test_config_rejects_mixed_or_incomplete_sources);
    tcase_add_test(tc, test_config_rejects_bad_csv_options);
    tcase_add_test(tc, test_config_rejects_bad_targets);
    tcase_add_test(tc, test_config_regression_needs_one_output_per_target);
    tcase_add_test(tc, test_config_regression_test_and_validation_match_train);
    tcase_add_test(tc, test_config_set_overrides_top_level_and_nested_keys);
    tcase_add_test(tc, test_config_set_takes_unquoted_text_as_a_string);
    tcase_add_test(tc, test_config_set_indexes_arrays_and_appends);
    tcase_add_test(tc, test_config_set_creates_missing_objects);
    tcase_add_test(tc, test_config_set_rejects_malformed_arguments);
    tcase_add_test(tc, test_config_set_errors_name_the_argument);
    tcase_add_test(tc, test_config_set_keeps_file_positions_for_file_values);
    tcase_add_test(tc, test_config_load_with_sets_reads_the_file_then_applies_sets);
    tcase_add_test(tc, test_config_to_json_writes_csv_sources);
    tcase_add_test(tc, test_config_to_json_round_trips_csv_sources);
    tcase_add_test(tc, test_config_new_keys_default_when_absent);
    tcase_add_test(tc, test_config_parses_layer_alpha_init_and_dropout);
    tcase_add_test(tc, test_config_rejects_bad_layer_alpha_init_and_dropout);
    tcase_add_test(tc, test_config_softmax_only_on_a_classification_output_of_two_or_more_units);
    tcase_add_test(tc, test_config_accepts_each_sound_loss_pairing);
    tcase_add_test(tc, test_config_rejects_each_unsound_loss_pairing);
    tcase_add_test(tc, test_config_huber_delta_only_with_huber);
    tcase_add_test(tc, test_config_parses_optimizer_keys);
    tcase_add_test(tc, test_config_rejects_optimizer_keys_that_do_not_apply);
    tcase_add_test(tc, test_config_rejects_out_of_range_optimizer_values);
    tcase_add_test(tc, test_config_parses_schedules);
    tcase_add_test(tc, test_config_rejects_bad_schedules);
    tcase_add_test(tc, test_config_early_stopping_needs_validation_data);
    tcase_add_test(tc, test_config_keep_best_needs_validation_data);
    tcase_add_test(tc, test_config_to_json_writes_the_new_keys_that_apply);
    tcase_add_test(tc, test_config_to_json_round_trips_the_new_keys);
    tcase_add_test(tc, test_config_set_reaches_the_new_keys);
    tcase_add_test(tc, test_config_batch_norm_defaults_when_absent);
    tcase_add_test(tc, test_config_parses_batch_norm_keys);
    tcase_add_test(tc, test_config_rejects_batch_norm_on_the_output_layer);
    tcase_add_test(tc, test_config_batch_norm_parameters_need_batch_norm);
    tcase_add_test(tc, test_config_rejects_out_of_range_batch_norm_values);
    tcase_add_test(tc, test_config_batch_norm_needs_batches_of_two_or_more);
    tcase_add_test(tc, test_config_to_json_writes_batch_norm_on_hidden_layers);
    tcase_add_test(tc, test_config_to_json_round_trips_batch_norm);
    tcase_add_test(tc, test_config_precision_is_written_only_when_bf16);
    suite_add_tcase(s, tc);
    return s;
}
