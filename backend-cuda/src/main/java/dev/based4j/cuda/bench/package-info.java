/** Device timings of the CUDA backend ({@link dev.based4j.cuda.bench.CudaTimings}), run by the device script. */
package dev.based4j.cuda.bench;
