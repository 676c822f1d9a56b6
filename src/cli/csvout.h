/* csvout.h - writing strings and numbers safely into CSV and JSON output. */
#ifndef NN_CSVOUT_H
#define NN_CSVOUT_H

#include <stdio.h>

/* s as a JSON string literal: quotes, backslashes and control characters
 * escaped. */
void nn_json_string(FILE *f, const char *s);

/* v as a JSON number printed with the printf format fmt (one double), or
 * null when v is NaN or infinite: JSON has no such numbers, so every
 * number nntrain writes in JSON goes through here. */
void nn_json_number(FILE *f, const char *fmt, double v);

/* s as one CSV field: as is, or quoted (with inner quotes doubled) when it
 * holds a comma, a quote, CR or LF, or starts or ends with a space. */
void nn_csv_string(FILE *f, const char *s);

#endif
