/* main.c - the command line: options, dispatch to the commands (cli.h),
 * error printing and exit codes.  The only file that prints errors or exits. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "cli/out.h"
#include "cli/train_report.h"
#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "data/convert.h"
#include "data/source.h"
#include "dist/dist.h"
#include "eval/plot.h"
#include "export/onnx.h"
#include "kernels/kernels.h"
#include "pool/pool.h"
#include "util/version.h"

/* Returned for a malformed command line: the error is followed by the usage line. */
enum { USAGE_HINT = -2 };

static const char usage_line[] =
    "usage: nntrain [OPTIONS] CONFIG.json | --eval ... | --predict ... | --gradcheck ... | "
    "--cv K ... | --inspect FILE | --plot FILE | --init DATA | --export CKPT -o FILE "
    "(see nntrain --help)";

static void print_help(FILE *f, long cores)
{
    fprintf(f,
            "nntrain %s - train a multilayer perceptron from the command line\n"
            "\n"
            "usage:\n"
            "  nntrain [OPTIONS] CONFIG.json                 train\n"
            "  nntrain --eval [OPTIONS] CONFIG.json          evaluate the config's checkpoint on "
            "its test data\n"
            "  nntrain --eval --checkpoint FILE --data SPEC  the same without a config\n"
            "  nntrain --predict --checkpoint FILE [--data SPEC|-]\n"
            "                                                one CSV line per sample to stdout\n"
            "  nntrain --cv K [OPTIONS] CONFIG.json          K-fold cross-validation, no checkpoint\n"
            "  nntrain --gradcheck [OPTIONS] CONFIG.json     check every gradient against finite\n"
            "                                                differences\n"
            "  nntrain --inspect FILE                        describe a checkpoint\n"
            "  nntrain --plot CHECKPOINT > curves.svg        draw its learning curves\n"
            "  nntrain --init DATA [--label COLUMN] [-o FILE]\n"
            "                                                a config for the CSV file DATA\n"
            "  nntrain --convert SPEC -o PREFIX              write the data SPEC as NumPy arrays\n"
            "                                                PREFIX-x.npy and PREFIX-y.npy\n"
            "  nntrain --export CHECKPOINT -o FILE           the model as ONNX (opset 13) to FILE\n"
            "  nntrain --help | --version\n"
            "\n"
            "options:\n"
            "  --eval               evaluate instead of training (default: train)\n"
            "  --predict            predict the samples of --data (default: stdin)\n"
            "  --scores             with --predict, append the output vector (default: off)\n"
            "  --gradcheck          check the config's gradients in double precision against\n"
            "                       central differences; exit 1 above 1e-6 (default: off)\n"
            "  --inspect FILE       describe the checkpoint FILE\n"
            "  --cv K               K-fold cross-validation (K from 2 to the rows): train K\n"
            "                       models, print each fold's metrics, their mean and std\n"
            "  --plot X             alone: draw the learning curves of checkpoint X as SVG on\n"
            "                       stdout; with --eval: draw the confusion matrix (regression:\n"
            "                       predicted against true) as SVG into the file X\n"
            "  --init DATA          print a config for the CSV file DATA, each choice\n"
            "                       explained in a note on stderr\n"
            "  --label COLUMN       with --init, the label column: a header name or a 0-based\n"
            "                       index, negative from the end (default: the last column)\n"
            "  -o, --output FILE    with --init, write the config to FILE, which must not\n"
            "                       exist, paths relative to its folder (default: stdout);\n"
            "                       with --convert, the PREFIX of the files written; with\n"
            "                       --export, the ONNX file to write (replaced whole)\n"
            "  --convert SPEC       write the data SPEC (as for --data) as PREFIX-x.npy,\n"
            "                       PREFIX-y.npy and, for string labels, PREFIX-classes.json\n"
            "  --export CHECKPOINT  write the checkpoint's model as an ONNX file (-o FILE):\n"
            "                       input \"input\" (batch, features), output \"output\", the\n"
            "                       values --predict --scores --precision fp32 prints\n"
            "  --checkpoint FILE    checkpoint to write, resume from, evaluate or predict with\n"
            "                       (default: the config's checkpoint.path)\n"
            "  --data SPEC          data instead of the config's: a CSV file, an IDX images\n"
            "                       file, IMAGES,LABELS (two IDX files), or - for stdin; the\n"
            "                       format is known from the bytes (default: data.train when\n"
            "                       training, data.test with --eval, stdin with --predict)\n"
            "  --set KEY=VALUE      set a config key by dotted path, e.g.\n"
            "                       --set optimizer.learning_rate=0.1 --set "
            "model.layers.0.units=64\n"
            "                       (repeatable; default: none)\n"
            "  --resume             continue training from the checkpoint; training.epochs\n"
            "                       is the total (default: off, start from scratch)\n"
            "  --epochs N           total epochs, overrides training.epochs (default: the "
            "config's);\n"
            "                       with --resume, +N is N more than the checkpoint's\n"
            "  --seed N             random seed, overrides seed (default: the config's)\n"
            "  --threads N          worker threads (default: all online cores, %ld here)\n"
            "  --precision P        with --eval or --predict, run the model's products in\n"
            "                       fp32 or bf16 (default: the precision it was trained in;\n"
            "                       training takes training.precision from the config)\n"
            "  --json               machine-readable output: JSON lines, null for a number\n"
            "                       that is not finite (default: text)\n"
            "  --profile            training: after each epoch, where its time went (data,\n"
            "                       forward, loss, backward, optimizer, dense kernels) on\n"
            "                       stderr (default: off)\n"
            "  -q, --quiet          no progress bar, notes, per-epoch lines or summary\n"
            "                       (default: off)\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n"
            "\n"
            "environment:\n"
            "  NNTRAIN_ISA=FAMILY   force the kernel family: scalar, avx2 or avx512 for fp32\n"
            "                       runs; scalar, avx2bf16, avx512bf16 or amx for bf16 runs\n"
            "                       (default: the best this processor supports; --gradcheck\n"
            "                       checks every family of the config's precision unless\n"
            "                       this names one)\n"
            "\n"
            "exit status: 0 success, 1 error while running (files, data, I/O, divergence, a\n"
            "non-finite --eval loss), 2 invalid command line or config, 130/143 interrupted.\n"
            "A closed stdout (| head) is not an error: its output stops, training goes on.\n",
            NN_VERSION, cores);
}

typedef struct {
    bool eval, predict, scores, gradcheck, help, version;
    char **sets; /* --set KEY=VALUE arguments, in order (point into argv) */
    int n_sets;
    bool inspect; /* the positional argument is a checkpoint to describe */
    const char *config;
    const char *checkpoint;
    const char *data;
    const char *plot; /* --plot: a checkpoint to draw, or with --eval the SVG to write */
    long long seed, epochs, cv;
    const char *init, *label, *output; /* --init DATA, --label COLUMN, -o FILE */
    const char *convert;               /* --convert SPEC */
    const char *export_ckpt;           /* --export CHECKPOINT */
    const char *precision;             /* --precision fp32|bf16, as given */
    nn_precision prec;                 /* its value */
    bool has_seed, has_epochs;
    bool more_epochs; /* --epochs +N: N more than the checkpoint's (with --resume) */
    nn_run_opts run;
} options;

/* Whole-string unsigned decimal in [lo, hi], with overflow detection. */
static int parse_count(const char *opt, const char *s, long long lo, long long hi,
                       long long *out, nn_error *err)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < (unsigned long long)lo || v > (unsigned long long)hi)
        goto bad;
    *out = (long long)v;
    return 0;
bad:
    nn_error_set(err, NN_EXIT_USAGE, "%s: expected an integer from %lld to %lld, found '%s'",
                 opt, lo, hi, s ? s : "");
    return -1;
}

static int parse_args(int argc, char **argv, options *o, nn_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->config) {
                nn_error_set(err, NN_EXIT_USAGE, "more than one config file: '%s' and '%s'",
                             o->config, a);
                return -1;
            }
            o->config = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc && !o->config)
                o->config = argv[++i];
            if (i + 1 < argc) {
                nn_error_set(err, NN_EXIT_USAGE, "unexpected argument '%s'", argv[i + 1]);
                return -1;
            }
            break;
        }
        /* "--name=value" or "--name value" for the options that take a value */
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, a, len);
        name[len] = '\0';
        if (eq)
            val = eq + 1;
        static const char *const with_value[] = {"--checkpoint", "--data",    "--epochs",
                                                 "--seed",       "--threads", "--set",
                                                 "--cv",         "--plot",    "--init",
                                                 "--label",      "-o",        "--output",
                                                 "--precision",  "--convert",
                                                 "--export"};
        bool takes = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            takes |= strcmp(name, with_value[k]) == 0;
        if (takes && !val) {
            if (i + 1 >= argc) {
                nn_error_set(err, NN_EXIT_USAGE, "option '%s' needs a value", name);
                return -1;
            }
            val = argv[++i];
        } else if (!takes && val) {
            nn_error_set(err, NN_EXIT_USAGE, "option '%s' takes no value", name);
            return -1;
        }
        long long n;
        if (!strcmp(name, "-h") || !strcmp(name, "--help"))
            o->help = true;
        else if (!strcmp(name, "-V") || !strcmp(name, "--version"))
            o->version = true;
        else if (!strcmp(name, "--eval"))
            o->eval = true;
        else if (!strcmp(name, "--predict"))
            o->predict = true;
        else if (!strcmp(name, "--scores"))
            o->scores = true;
        else if (!strcmp(name, "--gradcheck"))
            o->gradcheck = true;
        else if (!strcmp(name, "--set"))
            o->sets[o->n_sets++] = (char *)val;
        else if (!strcmp(name, "--resume"))
            o->run.resume = true;
        else if (!strcmp(name, "--json"))
            o->run.json = true;
        else if (!strcmp(name, "--profile"))
            o->run.profile = true;
        else if (!strcmp(name, "-q") || !strcmp(name, "--quiet"))
            o->run.quiet = true;
        else if (!strcmp(name, "--inspect"))
            o->inspect = true;
        else if (!strcmp(name, "--checkpoint"))
            o->checkpoint = val;
        else if (!strcmp(name, "--data"))
            o->data = val;
        else if (!strcmp(name, "--plot"))
            o->plot = val;
        else if (!strcmp(name, "--init"))
            o->init = val;
        else if (!strcmp(name, "--label"))
            o->label = val;
        else if (!strcmp(name, "--convert"))
            o->convert = val;
        else if (!strcmp(name, "--export"))
            o->export_ckpt = val;
        else if (!strcmp(name, "-o") || !strcmp(name, "--output"))
            o->output = val;
        else if (!strcmp(name, "--precision")) {
            int p = nn_precision_from_name(val);
            if (p < 0) {
                nn_error_set(err, NN_EXIT_USAGE, "--precision: expected fp32 or bf16, found '%s'",
                             val);
                return -1;
            }
            o->precision = val;
            o->prec = (nn_precision)p;
        }
        else if (!strcmp(name, "--epochs")) {
            o->more_epochs = val && val[0] == '+';
            if (o->more_epochs && parse_count(name, val + 1, 1, 1000000, &o->epochs, err) < 0) {
                nn_error_set(err, NN_EXIT_USAGE,
                             "%s: expected +N with N an integer from 1 to 1000000, found '%s'",
                             name, val);
                return -1;
            }
            if (!o->more_epochs && parse_count(name, val, 1, 1000000, &o->epochs, err) < 0)
                return -1;
            o->has_epochs = true;
        } else if (!strcmp(name, "--seed")) {
            if (parse_count(name, val, 0, 9007199254740992LL, &o->seed, err) < 0)
                return -1;
            o->has_seed = true;
        } else if (!strcmp(name, "--cv")) {
            if (parse_count(name, val, 2, NN_CV_MAX_FOLDS, &o->cv, err) < 0)
                return -1;
        } else if (!strcmp(name, "--threads")) {
            if (parse_count(name, val, 1, 1024, &n, err) < 0)
                return -1;
            o->run.threads = (int)n;
        } else {
            nn_error_set(err, NN_EXIT_USAGE, "unknown option '%s'", a);
            return -1;
        }
        if (takes && !*val) {
            nn_error_set(err, NN_EXIT_USAGE, "option '%s' needs a non-empty value", name);
            return -1;
        }
    }
    return 0;
}

/* --gradcheck: the report, then exit 1 when the check failed. */
static int gradcheck(const nn_config *cfg, const nn_run_opts *o, nn_error *err)
{
    nn_gradcheck_report r;
    /* every kernel family of the precision, unless NNTRAIN_ISA names one */
    const char *isa = getenv("NNTRAIN_ISA");
    if (nn_gradcheck_config(cfg, !isa || !*isa, &r, err) < 0)
        return -1;
    nn_cli_print_gradcheck(o->out, cfg, &r, o->json);
    if (r.pass)
        return 0;
    nn_gradcheck_failure(cfg, &r, err);
    return -1;
}

/* Replaces *dst with a source read from the command line's --data SPEC,
 * keeping the CSV options of the source it replaces. */
static int override_source(nn_source *dst, const char *spec, bool need_labels, nn_error *err)
{
    nn_source fresh;
    if (nn_source_from_spec(&fresh, spec, NULL, dst, need_labels, err) < 0)
        return -1;
    nn_source_clear(dst);
    *dst = fresh;
    return 0;
}

/* Selects the kernels for a run in precision prec (NNTRAIN_ISA forcing a
 * family), with the note of a fall-back on stderr unless --quiet. */
static int use_kernels(nn_precision prec, const nn_run_opts *r, nn_error *err)
{
    if (nn_kernels_select(prec, getenv("NNTRAIN_ISA"), err) < 0)
        return -1;
    const char *note = nn_kernels_note();
    if (note && !r->quiet)
        fprintf(r->diag, "nntrain: note: %s\n", note);
    return 0;
}

/* --eval and --predict: the kernels of --precision, or of the precision the
 * checkpoint at path was trained in (the command reads the file again: the
 * kernels must be chosen before its model runs, and a damaged file is
 * reported the same either way). */
static int use_checkpoint_kernels(const options *o, const char *path, nn_error *err)
{
    if (nn_api_checkpoint_kernels(path, o->precision ? (int)o->prec : -1, err) < 0)
        return -1;
    const char *note = nn_kernels_note();
    if (note && !o->run.quiet)
        fprintf(o->run.diag, "nntrain: note: %s\n", note);
    return 0;
}

/* --convert SPEC -o PREFIX: the data as NPY arrays, and a note of what was written. */
static int convert(const options *o, nn_error *err)
{
    nn_convert_info info;
    if (nn_convert(o->convert, o->output, &info, err) < 0)
        return -1;
    if (!o->run.quiet) {
        fprintf(o->run.diag, "nntrain: wrote %s-x.npy (%zu x %zu %s) and %s-y.npy", o->output,
                info.rows, info.features, info.x_descr, o->output);
        if (info.n_targets)
            fprintf(o->run.diag, " (%d targets, <f4)", info.n_targets);
        else
            fprintf(o->run.diag, " (labels 0..%d, <i4)", info.n_classes - 1);
        if (info.classes_file)
            fprintf(o->run.diag, " and %s-classes.json", o->output);
        fprintf(o->run.diag, "\n");
    }
    return 0;
}

/* This process's rank in a distributed run (0 alone), kept past
 * nn_dist_finalize for the final message. */
static int nn_dist_rank_at_start;

/* A failure that ends every process of a distributed run: said by the one
 * that met it, on the real stderr. */
static void on_fatal(void *ctx, const nn_error *e)
{
    (void)ctx;
    fprintf(stderr, "nntrain: rank %d: %s\n", nn_dist_rank_at_start, e->msg);
}

/* --export CHECKPOINT -o FILE: the ONNX model, and a note of what was written. */
static int export_onnx(const options *o, nn_error *err)
{
    nn_onnx_info info;
    if (nn_onnx_export(o->export_ckpt, o->output, &info, err) < 0)
        return -1;
    if (!o->run.quiet)
        fprintf(o->run.diag, "nntrain: wrote %s (ONNX opset %d, %d nodes, %d weight tensors, "
                "%zu bytes)\n", o->output, NN_ONNX_OPSET, info.nodes, info.initializers,
                info.bytes);
    return 0;
}

/* --eval: what the hooks of nn_api_evaluate keep for the report. */
typedef struct {
    const options *o;
    char ckpt[4200], data[4200]; /* the checkpoint's path and the data's name */
} eval_state;

static void eval_note(void *ctx, const char *note)
{
    const eval_state *s = ctx;
    if (!s->o->run.quiet)
        fprintf(s->o->run.diag, "nntrain: %s\n", note);
}

/* The measured report, before it is shown: the --plot picture of it (first:
 * a failure leaves no report half done), `data` naming the data in it. */
static int eval_plot(void *ctx, const nn_eval_report *r, const char *ckpt, const char *data,
                     nn_error *err)
{
    eval_state *s = ctx;
    const char *plot = s->o->plot;
    snprintf(s->ckpt, sizeof s->ckpt, "%s", ckpt);
    snprintf(s->data, sizeof s->data, "%s", data);
    if (!plot)
        return 0;
    char *svg = NULL;
    size_t n;
    if (nn_plot_eval(r, data, &svg, &n, err) < 0 || nn_cli_write_file(plot, svg, n, err) < 0) {
        if (strncmp(err->msg, plot, strlen(plot)) != 0)
            nn_error_prefix(err, "%s", plot);
        free(svg);
        return -1;
    }
    free(svg);
    return 0;
}

/* --eval (nntrain_evaluate): the checkpoint measured on the test data, and
 * the report.  A loss that is not finite is still reported (null in JSON),
 * then is an error (exit 1), as divergence is in training. */
static int evaluate(const options *o, nn_error *err)
{
    nntrain_eval_options eo = {.sets = (const char *const *)o->sets,
                               .n_sets = o->n_sets,
                               .checkpoint = o->checkpoint,
                               .data = o->data,
                               .precision = o->precision ? (int)o->prec : -1};
    static eval_state s; /* large: the names */
    memset(&s, 0, sizeof s);
    s.o = o;
    nn_api_eval_hooks h = {.on_note = eval_note, .on_report = eval_plot, .ctx = &s, .error = err};
    nntrain_evaluation ev;
    if (nn_api_evaluate(o->config, &eo, &ev, &h, NULL) != NNTRAIN_OK) {
        nntrain_evaluation_free(&ev);
        return -1;
    }
    double loss = ev.metrics.loss;
    bool measured = ev.metrics.samples > 0; /* no rows: the figures are undefined, not an error */
    nn_cli_print_eval(o->run.out, &ev, o->run.json);
    nntrain_evaluation_free(&ev);
    if (!isfinite(loss) && measured) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: the loss on %s is %s: the model's outputs are not finite numbers on "
                     "these data (are they on the scale of the training data?)",
                     s.ckpt, s.data, isnan(loss) ? "NaN" : "infinite");
        return -1;
    }
    return 0;
}

/* Training and --cv K (nntrain_train), the command line's extras in the
 * hooks. */
static int train(const options *o, nn_error *err)
{
    nntrain_train_options to = {.sets = (const char *const *)o->sets,
                                .n_sets = o->n_sets,
                                .checkpoint = o->checkpoint,
                                .resume = o->run.resume,
                                .epochs = o->has_epochs && !o->more_epochs ? o->epochs : 0,
                                .has_seed = o->has_seed,
                                .seed = (uint64_t)o->seed,
                                .profile = o->run.profile,
                                .cv_folds = (int)o->cv};
    nn_api_train_hooks h = {.data = o->data,
                            .more_epochs = o->more_epochs ? o->epochs : 0,
                            .error = err};
    if (o->cv)
        return nn_cli_cv(o->config, &to, &h, &o->run, err);
    h.on_fatal = on_fatal;
    nn_train_report report;
    nn_train_report_init(&report, &to, &h, o->run.json, o->run.quiet, o->run.progress,
                         o->run.out, o->run.diag);
    nntrain_status st = nn_api_train(o->config, &to, &h, NULL);
    nn_train_report_done(&report);
    return st == NNTRAIN_OK ? 0 : -1;
}

static int run(options *o, nn_error *err)
{
    if (o->export_ckpt) {
        if (!o->output) {
            nn_error_set(err, NN_EXIT_USAGE, "--export %s needs -o FILE (the ONNX file to write)",
                         o->export_ckpt);
            return -1; /* one line: the command is clear, the file is missing */
        }
        if (o->config || o->convert || o->init || o->label || o->eval || o->predict ||
            o->scores || o->gradcheck || o->inspect || o->checkpoint || o->data || o->n_sets ||
            o->run.resume || o->run.json || o->run.profile || o->has_seed || o->has_epochs ||
            o->cv || o->plot || o->precision) {
            nn_error_set(err, NN_EXIT_USAGE, "--export CHECKPOINT -o FILE takes only --quiet");
            return USAGE_HINT;
        }
        return export_onnx(o, err);
    }
    if (o->convert) {
        if (!o->output) {
            nn_error_set(err, NN_EXIT_USAGE, "--convert SPEC needs -o PREFIX");
            return USAGE_HINT;
        }
        if (o->config || o->init || o->label || o->eval || o->predict || o->scores ||
            o->gradcheck || o->inspect || o->checkpoint || o->data || o->n_sets ||
            o->run.resume || o->run.json || o->run.profile || o->has_seed || o->has_epochs ||
            o->cv || o->plot || o->precision) {
            nn_error_set(err, NN_EXIT_USAGE, "--convert SPEC -o PREFIX takes only --quiet");
            return USAGE_HINT;
        }
        if (nn_source_check_spec(o->convert, err) < 0)
            return USAGE_HINT;
        return convert(o, err);
    }
    if (o->init || o->label || o->output) {
        if (!o->init) {
            nn_error_set(err, NN_EXIT_USAGE, "%s goes with --init DATA",
                         o->label ? "--label" : "-o");
            return USAGE_HINT;
        }
        if (o->config) {
            nn_error_set(err, NN_EXIT_USAGE,
                         "--init takes the data file as its value; unexpected '%s'", o->config);
            return USAGE_HINT;
        }
        if (o->eval || o->predict || o->scores || o->gradcheck || o->inspect ||
            o->checkpoint || o->data || o->n_sets || o->run.resume || o->run.json ||
            o->run.profile || o->has_seed || o->has_epochs || o->cv || o->plot || o->precision) {
            nn_error_set(err, NN_EXIT_USAGE,
                         "--init DATA takes only --label, -o and --quiet");
            return USAGE_HINT;
        }
        return nn_cli_init(o->init, o->label, o->output, &o->run, err);
    }
    if (o->data && nn_source_check_spec(o->data, err) < 0)
        return USAGE_HINT;
    if (o->inspect) {
        if (!o->config || o->eval || o->predict || o->checkpoint || o->data || o->n_sets ||
            o->run.profile || o->precision) {
            nn_error_set(err, NN_EXIT_USAGE, "--inspect takes one checkpoint file and nothing else");
            return USAGE_HINT;
        }
        return nn_cli_inspect(o->config, &o->run, err);
    }
    if (o->plot && !o->eval) {
        if (o->config || o->predict || o->gradcheck || o->checkpoint || o->data || o->n_sets ||
            o->run.profile || o->run.resume || o->has_epochs || o->has_seed || o->run.json || o->cv ||
            o->precision) {
            nn_error_set(err, NN_EXIT_USAGE,
                         "--plot takes one checkpoint file and nothing else (or goes with --eval, "
                         "naming the SVG file to write)");
            return USAGE_HINT;
        }
        return nn_cli_plot(o->plot, &o->run, err);
    }
    if ((o->eval + o->predict + o->gradcheck + (o->cv > 0)) > 1) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--eval, --predict, --gradcheck and --cv cannot be combined");
        return USAGE_HINT;
    }
    if (o->cv && (o->run.resume || o->checkpoint || o->run.profile)) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--cv trains from scratch and writes no checkpoint: it does not go with "
                     "--resume, --checkpoint or --profile");
        return USAGE_HINT;
    }
    if (o->run.profile && (o->eval || o->predict || o->gradcheck)) {
        nn_error_set(err, NN_EXIT_USAGE, "--profile goes with training");
        return USAGE_HINT;
    }
    if (o->scores && !o->predict) {
        nn_error_set(err, NN_EXIT_USAGE, "--scores goes with --predict");
        return USAGE_HINT;
    }
    if (o->precision && !o->eval && !o->predict) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--precision goes with --eval or --predict (training takes "
                     "training.precision from the config: --set training.precision=%s)",
                     o->precision);
        return USAGE_HINT;
    }
    if (o->more_epochs && (!o->run.resume || o->eval || o->predict || o->gradcheck)) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--epochs +%lld (%lld more epochs than the checkpoint's) goes with --resume",
                     o->epochs, o->epochs);
        return USAGE_HINT;
    }
    if (o->n_sets && !o->config) {
        nn_error_set(err, NN_EXIT_USAGE, "--set changes a config: give CONFIG.json");
        return USAGE_HINT;
    }
    if (o->predict && !o->config) {
        if (!o->checkpoint) {
            nn_error_set(err, NN_EXIT_USAGE, "--predict needs --checkpoint FILE (or CONFIG.json)");
            return USAGE_HINT;
        }
        if (use_checkpoint_kernels(o, o->checkpoint, err) < 0)
            return -1;
        return nn_cli_predict(o->checkpoint, o->data ? o->data : "-", o->scores, &o->run,
                              err);
    }
    if (o->eval && !o->config) {
        if (!o->checkpoint || !o->data) {
            nn_error_set(err, NN_EXIT_USAGE,
                         "--eval needs CONFIG.json, or --checkpoint FILE and --data SPEC");
            return USAGE_HINT;
        }
        return evaluate(o, err);
    }
    if (!o->config) {
        nn_error_set(err, NN_EXIT_USAGE, "no config file given");
        return USAGE_HINT;
    }
    if (o->eval)
        return evaluate(o, err);
    if (!o->predict && !o->gradcheck)
        return train(o, err);

    nn_config cfg;
    if (nn_config_load_with_sets(&cfg, o->config, o->sets, o->n_sets, err) < 0)
        return -1;
    int rc = -1;
    if (o->has_seed)
        cfg.seed = (uint64_t)o->seed;
    if (o->has_epochs && !o->more_epochs)
        cfg.epochs = (int)o->epochs;
    if (o->checkpoint && nn_config_set_checkpoint(&cfg, o->checkpoint, err) < 0)
        goto out;
    if (o->predict && !cfg.checkpoint_path) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "%s: no checkpoint to use: set checkpoint.path or give --checkpoint",
                     o->config);
        goto out;
    }
    if (o->gradcheck) {
        /* the float engine against the double reference in the config's
         * precision (bf16 held to its own bound: check.h) */
        if (use_kernels(cfg.precision, &o->run, err) < 0 ||
            (o->data && override_source(&cfg.train, o->data, true, err) < 0))
            goto out;
        rc = gradcheck(&cfg, &o->run, err);
        goto out;
    }
    if (o->predict) {
        if (use_checkpoint_kernels(o, cfg.checkpoint_path, err) < 0)
            goto out;
        rc = nn_cli_predict(cfg.checkpoint_path, o->data ? o->data : "-", o->scores, &o->run,
                            err);
        goto out;
    }
    nn_error_set(err, NN_EXIT_RUNTIME, "internal error: no command");
out:
    nn_config_free(&cfg);
    return rc;
}


int main(int argc, char **argv)
{
    nn_error err = {0};
    options o = {0};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    o.run.threads = (int)(cores > 1024 ? 1024 : cores);
    o.run.out = stdout;
    o.run.diag = stderr;

    /* A write past RLIMIT_FSIZE must be an error (EFBIG) we report and
     * recover from, not a signal that kills the process mid-checkpoint. */
    signal(SIGXFSZ, SIG_IGN);
    /* A reader that goes away (`nntrain ... | head`) must not kill a run:
     * its writes fail with EPIPE instead, and the output stops (cli/out.h). */
    signal(SIGPIPE, SIG_IGN);
    /* Under mpirun, one of the processes of a distributed run (nntrain-mpi):
     * only rank 0 reports; the others write nothing but their own errors. */
    if (nn_dist_init(&argc, &argv, &err) < 0) {
        fprintf(stderr, "nntrain: %s\n", err.msg);
        return err.code ? err.code : NN_EXIT_RUNTIME;
    }
    FILE *devnull = NULL;
    nn_dist_rank_at_start = nn_dist_rank();
    if (nn_dist_rank() != 0 && (devnull = fopen("/dev/null", "w")) != NULL)
        o.run.out = o.run.diag = devnull;
    o.sets = calloc((size_t)argc, sizeof *o.sets);
    if (!o.sets) {
        fprintf(stderr, "nntrain: out of memory\n");
        nn_dist_finalize();
        return NN_EXIT_RUNTIME;
    }
    int rc = parse_args(argc, argv, &o, &err) < 0 ? USAGE_HINT : 0;
    if (rc == 0 && o.help)
        print_help(stdout, cores);
    else if (rc == 0 && o.version)
        printf("nntrain %s\n", NN_VERSION);
    else if (rc == 0) {
        nn_pool_set_threads(o.run.threads);
        o.run.progress = !o.run.quiet && isatty(STDERR_FILENO);
        rc = run(&o, &err);
    }
    free(o.sets);
    nn_out_flush(stdout);
    if (devnull)
        fclose(devnull);
    int out_err = nn_out_error();
    if (rc == 0 && out_err > 0) {
        nn_error_set(&err, NN_EXIT_RUNTIME, "error writing to standard output: %s",
                     strerror(out_err));
        rc = -1;
    } else if (rc == 0 && out_err < 0) {
        nn_error_set(&err, NN_EXIT_RUNTIME, "error writing to standard output");
        rc = -1;
    }
    if (rc != 0 && !(nn_dist_rank_at_start != 0 && err.scope == NN_ERR_SAME)) {
        /* an error every process has is rank 0's to report */
        if (nn_dist_rank_at_start != 0)
            fprintf(stderr, "nntrain: rank %d: %s\n", nn_dist_rank_at_start, err.msg);
        else
            fprintf(stderr, "nntrain: %s\n", err.msg);
        if (rc == USAGE_HINT)
            fprintf(stderr, "%s\n", usage_line);
        fflush(stderr);
    }
    if (rc != 0 && err.scope != NN_ERR_HERE && nn_dist_size() > 1) {
        /* every process stops here: they wait until all have said what they
         * must (mpirun ends the job at the first that exits non-zero) */
        nn_error e = {0};
        nn_dist_any(0, &e);
    }
    nn_dist_finalize();
    if (rc == 0)
        return NN_EXIT_OK;
    return err.code ? err.code : NN_EXIT_RUNTIME;
}
