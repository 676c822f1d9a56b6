#include "cli/progress.h"

#include "util/clock.h"

void nn_progress_init(nn_progress *p, FILE *out, bool enabled)
{
    p->enabled = enabled;
    p->out = out;
    p->last_draw = -1.0;
}

void nn_progress_update(nn_progress *p, long epoch, long epochs, long batch, long batches,
                        double started, double samples)
{
    if (!p->enabled)
        return;
    double now = nn_now();
    if (p->last_draw >= 0 && now - p->last_draw < 0.1 && batch < batches)
        return;
    p->last_draw = now;
    enum { WIDTH = 24 };
    char bar[WIDTH + 1];
    int filled = batches > 0 ? (int)((double)WIDTH * batch / batches) : WIDTH;
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[WIDTH] = '\0';
    double elapsed = now - started;
    double rate = elapsed > 0 ? samples / elapsed : 0.0;
    double eta = batch > 0 ? elapsed * (double)(batches - batch) / (double)batch : 0.0;
    long eta_s = (long)(eta + 0.5);
    fprintf(p->out, "\r\033[Kepoch %ld/%ld [%s] batch %ld/%ld  %.0f samples/s  ETA %ld:%02ld",
            epoch, epochs, bar, batch, batches, rate, eta_s / 60, eta_s % 60);
    fflush(p->out);
}

void nn_progress_clear(nn_progress *p)
{
    if (!p->enabled || p->last_draw < 0)
        return;
    fputs("\r\033[K", p->out);
    fflush(p->out);
    p->last_draw = -1.0;
}
