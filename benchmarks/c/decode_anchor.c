/*
 * The hand-written C anchors of the performance targets, measured on the machine at hand: one fused BASED linear-attention decode
 * step (H heads, Taylor f = 16 -> D = 273 features, dv = 64, F32, update and read-out in one pass over each state
 * row) and the FMA peak of one core, so that the JMH figures of based4j can be read as ratios to what plain C gets
 * out of the same CPU. A measurement tool, not part of the build or of CI.
 *
 *   gcc -O3 -march=native -ffp-contract=fast -fopenmp -o decode_anchor benchmarks/c/decode_anchor.c
 *   ./decode_anchor [batch] [threads] [layout]     layout: 273 (canonical, as the anchor), 153 (compact)
 *
 * The state is B*H*(dv*D + D) floats; with B = 1 it is 1.1 MB (273) or 0.63 MB (153), the "state in cache" case.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define H 16
#define F 16
#define DV 64

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* phi of one vector into out[0..d): [1, x/f^(1/4), (x_i x_j)/(sqrt2 sqrt f)] in the full or the upper layout */
static void taylor(const float *x, float *out, int compact, float twice) {
    const float ls = 1.0f / sqrtf(sqrtf((float) F));
    const float qs = 1.0f / (sqrtf(2.0f) * sqrtf((float) F));
    int o = 0;
    out[o++] = 1.0f;
    for (int i = 0; i < F; i++) out[o++] = x[i] * ls;
    for (int i = 0; i < F; i++) {
        float xi = x[i] * qs;
        if (compact) {
            out[o++] = xi * x[i];
            for (int j = i + 1; j < F; j++) out[o++] = twice * xi * x[j];
        } else {
            for (int j = 0; j < F; j++) out[o++] = xi * x[j];
        }
    }
}

/* one head: s[r,:] += v[r] * pk; num[r] = pq . s[r,:]; z += pk; den = pq . z */
static void head_step(float *restrict s, float *restrict z, const float *restrict pq, const float *restrict pk,
                      const float *restrict v, float *restrict y, int d) {
    float den = 0.0f;
#pragma omp simd reduction(+ : den)
    for (int i = 0; i < d; i++) {
        z[i] += pk[i];
        den += pq[i] * z[i];
    }
    for (int r = 0; r < DV; r++) {
        float *row = s + (size_t) r * d;
        float acc = 0.0f;
        float vr = v[r];
#pragma omp simd reduction(+ : acc)
        for (int i = 0; i < d; i++) {
            float t = row[i] + vr * pk[i];
            row[i] = t;
            acc += pq[i] * t;
        }
        y[r] = acc / (den + 1e-12f);
    }
}

static double peak_fma(void) {
    /* 12 independent chains of 8-float FMAs: the throughput bound, not latency */
    typedef float v8 __attribute__((vector_size(32)));
    v8 a[12];
    v8 m = {1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f, 1.0000001f};
    v8 c = {1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f, 1e-7f};
    for (int k = 0; k < 12; k++) a[k] = c * (float) k;
    long iters = 50000000;
    double t0 = now();
    for (long n = 0; n < iters; n++) {
        for (int k = 0; k < 12; k++) a[k] = a[k] * m + c;
    }
    double t = now() - t0;
    float sink = 0;
    for (int k = 0; k < 12; k++) sink += a[k][0];
    if (sink == 42.0f) printf("#");
    return iters * 12.0 * 8 * 2 / t / 1e9;
}

int main(int argc, char **argv) {
    int batch = argc > 1 ? atoi(argv[1]) : 1;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    int d = argc > 3 ? atoi(argv[3]) : 273;
    int compact = d != 1 + F + F * F;
    if (d != 1 + F + F * F && d != 1 + F + F * (F + 1) / 2) {
        fprintf(stderr, "layout: expected 273 or 153, got %d\n", d);
        return 2;
    }
    omp_set_num_threads(threads);
    int rows = batch * H;
    float *s = aligned_alloc(64, sizeof(float) * (size_t) rows * DV * d + 64);
    float *z = aligned_alloc(64, sizeof(float) * (size_t) rows * d + 64);
    float *q = malloc(sizeof(float) * rows * F), *k = malloc(sizeof(float) * rows * F);
    float *v = malloc(sizeof(float) * rows * DV), *y = malloc(sizeof(float) * rows * DV);
    srand(1);
    for (size_t i = 0; i < (size_t) rows * DV * d; i++) s[i] = (float) rand() / RAND_MAX * 1e-3f;
    for (size_t i = 0; i < (size_t) rows * d; i++) z[i] = 1.0f;
    for (int i = 0; i < rows * F; i++) { q[i] = (float) rand() / RAND_MAX - 0.5f; k[i] = (float) rand() / RAND_MAX - 0.5f; }
    for (int i = 0; i < rows * DV; i++) v[i] = (float) rand() / RAND_MAX - 0.5f;
    int steps = 20000 / batch;
    double best = 1e30;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = now();
        for (int n = 0; n < steps; n++) {
#pragma omp parallel for schedule(static)
            for (int bh = 0; bh < rows; bh++) {
                float pq[273], pk[273];
                taylor(q + bh * F, pq, compact, 2.0f);
                taylor(k + bh * F, pk, compact, 1.0f);
                head_step(s + (size_t) bh * DV * d, z + (size_t) bh * d, pq, pk, v + bh * DV, y + bh * DV, d);
            }
        }
        double per = (now() - t0) / steps;
        if (per < best) best = per;
    }
    double flops = 4.0 * rows * 273 * (DV + 1); /* counted with the 273 formula, as the JMH benchmarks count */
    printf("decode B=%d threads=%d layout=%d: %.2f us per step, %.2f us per layer-token, %.1f GFLOP/s (273-counted)\n",
           batch, threads, d, best * 1e6, best * 1e6 / batch, flops / best / 1e9);
    printf("fma peak (one thread): %.1f GFLOP/s\n", peak_fma());
    printf("check %g\n", (double) y[0]);
    return 0;
}
