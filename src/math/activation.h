/* activation.h - the activation kinds, forward and local derivative: the
 * scalar formulas that the kernels (kernels/) and the layers (nn/) share.
 *
 * Element-wise activations a = f(z), with a parameter alpha where one is
 * used.  The derivative is written in terms of the activation's OUTPUT a,
 * which is what the forward pass keeps (the pre-activation z is not stored):
 *
 *   identity    a = z                                 da/dz = 1
 *   sigmoid     a = 1 / (1 + e^-z)                    da/dz = a (1 - a)
 *   tanh        a = tanh z                            da/dz = 1 - a^2
 *   relu        a = max(z, 0)                         da/dz = a > 0 ? 1 : 0
 *   leaky_relu  a = z > 0 ? z : alpha z               da/dz = a > 0 ? 1 : alpha
 *   elu         a = z > 0 ? z : alpha (e^z - 1)       da/dz = a > 0 ? 1 : a + alpha
 *   softplus    a = ln(1 + e^z)                       da/dz = 1 - e^-a  (= sigmoid z)
 *
 * alpha must be >= 0 (the config's range): then a > 0 exactly when z > 0,
 * so the branch on a is the branch on z.  alpha == 0 is allowed (leaky_relu
 * is then relu, elu is max(z, 0)).  At a kink (z = 0) the derivative is the
 * LEFT one (0 for relu, alpha for leaky_relu and elu): any value in between
 * is a valid subgradient, and one fixed choice keeps results reproducible.
 * The elu derivative a + alpha = alpha e^z is that of z < 0 written in a.
 * The softplus derivative 1 - e^-a = e^z / (1 + e^z) is computed as
 * -expm1(-a), exact for small a too.
 *
 * softmax is not element-wise: y_j = e^{z_j} / sum_k e^{z_k} over a row.
 * nn_act_apply/nn_act_grad treat it as the identity (the pre-activation
 * passes through; the caller then applies nn_softmax_rows), and its
 * backward is the vector-Jacobian product nn_softmax_backward, never an
 * element-wise factor.
 *
 * nn_act_forward/nn_act_derivative are the alpha-free forms the kernels
 * inline (sigmoid and identity as before; the others with the default
 * alpha of nn_act_default_alpha).  Every function has a double twin
 * (suffix _d) with the same formulas, used by the double-precision gradient
 * check (src/gradcheck.c) and by the tests. */
#ifndef NN_MATH_ACTIVATION_H
#define NN_MATH_ACTIVATION_H

#include <math.h>
#include <stddef.h>

/* The numeric values are stored in checkpoints: append, never renumber. */
typedef enum {
    NN_ACT_IDENTITY = 0,
    NN_ACT_SIGMOID = 1,
    NN_ACT_TANH = 2,
    NN_ACT_RELU = 3,
    NN_ACT_LEAKY_RELU = 4, /* slope alpha for z < 0 (layer "alpha", default 0.01) */
    NN_ACT_ELU = 5,        /* alpha (e^z - 1) for z < 0 (layer "alpha", default 1) */
    NN_ACT_SOFTPLUS = 6,
    NN_ACT_SOFTMAX = 7     /* output layer only, row-wise */
} nn_act;
/* Name <-> value; the names are the config's spelling ("sigmoid", ...).
 * nn_act_from_name returns -1 for an unknown name; nn_act_name gives "?"
 * for an unknown value. */
const char *nn_act_name(nn_act a);
int nn_act_from_name(const char *s);


/* The config's default alpha: 0.01 for leaky_relu, 1 for elu, 0 otherwise
 * (unused). */
static inline double nn_act_default_alpha(nn_act act)
{
    return act == NN_ACT_LEAKY_RELU ? 0.01 : act == NN_ACT_ELU ? 1.0 : 0.0;
}

/* ---- float ----------------------------------------------------------------- */

/* a = f(z) with parameter alpha (leaky_relu, elu). */
static inline float nn_act_apply(nn_act act, float alpha, float z)
{
    switch (act) {
    case NN_ACT_SIGMOID:
        /* expf(-z) overflows to +inf for z < -88, giving exactly 0: no NaN. */
        return 1.0f / (1.0f + expf(-z));
    case NN_ACT_TANH:
        return tanhf(z);
    case NN_ACT_RELU:
        return z > 0.0f ? z : 0.0f;
    case NN_ACT_LEAKY_RELU:
        return z > 0.0f ? z : alpha * z;
    case NN_ACT_ELU:
        return z > 0.0f ? z : alpha * expm1f(z);
    case NN_ACT_SOFTPLUS:
        /* ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|): e^-|z| <= 1 never
         * overflows, and log1p keeps the small tail exact. */
        return (z > 0.0f ? z : 0.0f) + log1pf(expf(-fabsf(z)));
    case NN_ACT_IDENTITY:
    case NN_ACT_SOFTMAX: /* row-wise: see nn_softmax_rows */
    default:
        return z;
    }
}

/* da/dz in terms of the output a = f(z). */
static inline float nn_act_grad(nn_act act, float alpha, float a)
{
    switch (act) {
    case NN_ACT_SIGMOID:
        return a * (1.0f - a);
    case NN_ACT_TANH:
        return 1.0f - a * a;
    case NN_ACT_RELU:
        return a > 0.0f ? 1.0f : 0.0f;
    case NN_ACT_LEAKY_RELU:
        return a > 0.0f ? 1.0f : alpha;
    case NN_ACT_ELU:
        return a > 0.0f ? 1.0f : a + alpha;
    case NN_ACT_SOFTPLUS:
        return -expm1f(-a);
    case NN_ACT_IDENTITY:
    case NN_ACT_SOFTMAX: /* row-wise: see nn_softmax_backward */
    default:
        return 1.0f;
    }
}

/* The alpha-free forms the kernels call.  For sigmoid and identity these are
 * exactly the operations above (the vector kernels rely on that); the other
 * activations use their default alpha. */
static inline float nn_act_forward(nn_act act, float z)
{
    return nn_act_apply(act, (float)nn_act_default_alpha(act), z);
}

static inline float nn_act_derivative(nn_act act, float a)
{
    return nn_act_grad(act, (float)nn_act_default_alpha(act), a);
}

/* Row-wise softmax of Z (B, K) into Y (B, K); Y may be Z (in place).
 *     y_ij = e^{z_ij - m_i} / sum_k e^{z_ik - m_i},  m_i = max_k z_ik
 * Subtracting the row maximum changes nothing mathematically (it cancels
 * between numerator and denominator) but keeps every exponent <= 0: no
 * overflow for huge logits, and the largest term is exactly 1, so the sum
 * is >= 1 and never 0.  The sum is accumulated in double. */
static inline void nn_softmax_rows(float *Y, const float *Z, int B, int K)
{
    for (int i = 0; i < B; i++) {
        const float *z = Z + (size_t)i * K;
        float *y = Y + (size_t)i * K;
        float m = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > m)
                m = z[k];
        double s = 0.0;
        for (int k = 0; k < K; k++) {
            y[k] = expf(z[k] - m);
            s += y[k];
        }
        float inv = (float)(1.0 / s);
        for (int k = 0; k < K; k++)
            y[k] *= inv;
    }
}

/* The softmax's vector-Jacobian product, row by row: given dY = dC/dY and
 * the forward's Y (both (B, K)), dZ (B, K) = dC/dZ; dZ may be dY.
 * The Jacobian of one row is dy_k/dz_j = y_k (delta_kj - y_j), so
 *     dz_j = sum_k g_k y_k (delta_kj - y_j) = y_j (g_j - sum_k g_k y_k)
 * (K multiplications and one dot product a row instead of a K x K matrix).
 * The dot product is accumulated in double. */
static inline void nn_softmax_backward(float *dZ, const float *dY, const float *Y, int B, int K)
{
    for (int i = 0; i < B; i++) {
        const float *g = dY + (size_t)i * K;
        const float *y = Y + (size_t)i * K;
        float *dz = dZ + (size_t)i * K;
        double dot = 0.0;
        for (int k = 0; k < K; k++)
            dot += (double)g[k] * y[k];
        float d = (float)dot;
        for (int k = 0; k < K; k++)
            dz[k] = y[k] * (g[k] - d);
    }
}

/* ---- double twins (same formulas) -------------------------------------------- */

static inline double nn_act_apply_d(nn_act act, double alpha, double z)
{
    switch (act) {
    case NN_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-z));
    case NN_ACT_TANH:
        return tanh(z);
    case NN_ACT_RELU:
        return z > 0.0 ? z : 0.0;
    case NN_ACT_LEAKY_RELU:
        return z > 0.0 ? z : alpha * z;
    case NN_ACT_ELU:
        return z > 0.0 ? z : alpha * expm1(z);
    case NN_ACT_SOFTPLUS:
        return (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
    case NN_ACT_IDENTITY:
    case NN_ACT_SOFTMAX:
    default:
        return z;
    }
}

static inline double nn_act_grad_d(nn_act act, double alpha, double a)
{
    switch (act) {
    case NN_ACT_SIGMOID:
        return a * (1.0 - a);
    case NN_ACT_TANH:
        return 1.0 - a * a;
    case NN_ACT_RELU:
        return a > 0.0 ? 1.0 : 0.0;
    case NN_ACT_LEAKY_RELU:
        return a > 0.0 ? 1.0 : alpha;
    case NN_ACT_ELU:
        return a > 0.0 ? 1.0 : a + alpha;
    case NN_ACT_SOFTPLUS:
        return -expm1(-a);
    case NN_ACT_IDENTITY:
    case NN_ACT_SOFTMAX:
    default:
        return 1.0;
    }
}

static inline void nn_softmax_rows_d(double *Y, const double *Z, int B, int K)
{
    for (int i = 0; i < B; i++) {
        const double *z = Z + (size_t)i * K;
        double *y = Y + (size_t)i * K;
        double m = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > m)
                m = z[k];
        double s = 0.0;
        for (int k = 0; k < K; k++) {
            y[k] = exp(z[k] - m);
            s += y[k];
        }
        for (int k = 0; k < K; k++)
            y[k] /= s;
    }
}

static inline void nn_softmax_backward_d(double *dZ, const double *dY, const double *Y, int B,
                                         int K)
{
    for (int i = 0; i < B; i++) {
        const double *g = dY + (size_t)i * K;
        const double *y = Y + (size_t)i * K;
        double *dz = dZ + (size_t)i * K;
        double dot = 0.0;
        for (int k = 0; k < K; k++)
            dot += g[k] * y[k];
        for (int k = 0; k < K; k++)
            dz[k] = y[k] * (g[k] - dot);
    }
}

#endif
