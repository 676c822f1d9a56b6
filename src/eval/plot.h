/* plot.h - pictures of a run as SVG 1.1 documents built in memory: the
 * learning curves of a checkpoint's history (--plot CHECKPOINT) and the
 * confusion matrix or the predicted-against-true scatter of an --eval
 * report (--eval --plot FILE.svg).  Nothing here writes a file or prints;
 * the command line writes the document whole.
 *
 * The documents are self-contained (no script, no external reference, no
 * font files): axes with ticks at round values (1, 2 or 5 times a power of
 * ten), axis labels, a title and a legend.  Numbers are formatted without
 * the C library's locale (integer arithmetic), so the bytes do not depend
 * on LC_NUMERIC.  Text from the data (class names, file names) is escaped
 * for XML, with bytes that are not valid UTF-8 or not allowed in XML shown
 * as "?".
 *
 * Elements that tests (and users with an XML tool) can find: the series
 * are <polyline id="train_loss">, "val_loss", "train_accuracy",
 * "val_accuracy" (regression: "train_r2"/"val_r2", or "train_mae"/"val_mae"
 * when R^2 is undefined throughout); the best epoch is <circle
 * id="best-epoch">; the heatmap cells are <g class="cell"> holding a
 * <rect>, a <title> and (for 30 classes or fewer) a <text> with the count;
 * scatter points are <circle class="point">, the y = x line <line
 * id="identity">. */
#ifndef NN_PLOT_H
#define NN_PLOT_H

#include <stddef.h>

#include "checkpoint/checkpoint.h"
#include "eval/eval.h"
#include "util/error.h"

/* Most classes a heatmap draws (a cell each of K*K). */
#define NN_PLOT_MAX_CLASSES 100

/* The learning curves of checkpoint c read from `name`: two panels, the
 * loss and the accuracy (regression: R^2, or the MAE when R^2 is never
 * defined), training and validation, with the best epoch marked (the
 * checkpoint's best_epoch: the lowest validation loss as training followed
 * it).  Returns 0 with *svg (malloc'd, NUL-terminated, *n bytes), or -1
 * with *err (code 1): "NAME: no history of metrics to plot (...)" for a
 * checkpoint without one. */
int nn_plot_history(const nn_ckpt *c, const char *name, char **svg, size_t *n, nn_error *err);

/* The confusion matrix of a classification report as a heatmap (rows: true
 * class, columns: predicted, counts in the cells, a colour scale), or the
 * outputs against the targets of a regression report.  `title` names the
 * data (shown in the title).  0 with *svg as above, or -1 with *err. */
int nn_plot_eval(const nn_eval_report *r, const char *title, char **svg, size_t *n,
                 nn_error *err);

#endif
