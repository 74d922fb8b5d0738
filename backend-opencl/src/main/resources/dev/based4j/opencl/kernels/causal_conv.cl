/*
 * Causal depthwise convolution with a shift-register state (based-math.md d): out[b,t,c] = Σ_j w[c,j]·u[t-K+1+j]
 * where u[i] is x[b,i,c] for i ≥ 0 and the state's window[b,c,K+i] (the last K earlier inputs, oldest first)
 * otherwise. One work-item per (batch, channel) walks the sequence: channels are contiguous in x, so neighbouring
 * work-items read neighbouring addresses. At the end the window takes the last K inputs; window[S+j] is read before
 * window[j] is written, so the shift runs in place.
 */
__kernel void causal_conv(__global const REAL* x, __global const REAL* w, __global REAL* window, __global REAL* out,
                          const int batch, const int seq, const int channels, const int taps) {
    const size_t gid = get_global_id(0);
    if (gid >= (size_t) batch * channels) {
        return;
    }
    const int b = (int) (gid / channels);
    const int c = (int) (gid - (size_t) b * channels);
    __global REAL* st = window + gid * taps;
    __global const REAL* wc = w + (size_t) c * taps;
    __global const REAL* xb = x + (size_t) b * seq * channels + c;
    for (int t = 0; t < seq; t++) {
        REAL s = 0;
        for (int j = 0; j < taps; j++) {
            const int i = t - taps + 1 + j;
            const REAL u = i >= 0 ? xb[(size_t) i * channels] : st[taps + i];
            s += wc[j] * u;
        }
        out[((size_t) b * seq + t) * channels + c] = s;
    }
    for (int j = 0; j < taps; j++) {
        const int i = seq - taps + j;
        st[j] = i >= 0 ? xb[(size_t) i * channels] : st[taps + i];
    }
}
