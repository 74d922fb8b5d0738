/*
 * The memory anchors based4j's decode figures are read against: how fast plain C reads a buffer far larger than the
 * caches (the bound of a decode step that streams every weight once) and runs a STREAM triad, on the machine at hand,
 * with 1 and N threads. A measurement tool, not part of the build or of CI.
 *
 *   gcc -O3 -march=native -fopenmp -o bandwidth_anchor benchmarks/c/bandwidth_anchor.c
 *   ./bandwidth_anchor [MiB per buffer, default 1024] [threads, default all]
 *
 * Prints the best of 7 passes: read GB/s (a vectorised sum of one buffer: bytes read / time) and triad GB/s
 * (a[i] = b[i] + s * c[i]: 3 x 4 bytes per element / time, as STREAM counts it).
 */
#define _POSIX_C_SOURCE 199309L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 1024;
    int threads = argc > 2 ? atoi(argv[2]) : omp_get_max_threads();
    if (mib < 64 || threads < 1) {
        fprintf(stderr, "usage: bandwidth_anchor [MiB >= 64] [threads >= 1]\n");
        return 2;
    }
    omp_set_num_threads(threads);
    long n = mib * 1024 * 1024 / sizeof(float);
    float *a = aligned_alloc(64, n * sizeof(float));
    float *b = aligned_alloc(64, n * sizeof(float));
    float *c = aligned_alloc(64, n * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "bandwidth_anchor: cannot allocate 3 x %ld MiB\n", mib);
        return 1;
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        a[i] = 0;
        b[i] = (float) (i & 1023) * 1e-3f;
        c[i] = (float) (i & 511) * 1e-3f;
    }
    double bestRead = 1e30, bestTriad = 1e30, sink = 0;
    for (int pass = 0; pass < 7; pass++) {
        double t0 = now();
        float sum = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
        for (long i = 0; i < n; i++) {
            sum += b[i];
        }
        double t1 = now();
        sink += sum;
        if (t1 - t0 < bestRead) {
            bestRead = t1 - t0;
        }
        t0 = now();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) {
            a[i] = b[i] + 1.5f * c[i];
        }
        t1 = now();
        sink += a[n / 2];
        if (t1 - t0 < bestTriad) {
            bestTriad = t1 - t0;
        }
    }
    printf("threads %d, buffers %ld MiB: read %.1f GB/s, triad %.1f GB/s (checksum %.3g)\n", threads, mib,
           n * sizeof(float) / bestRead / 1e9, 3.0 * n * sizeof(float) / bestTriad / 1e9, sink);
    free(a);
    free(b);
    free(c);
    return 0;
}
