package dev.based4j.opencl.runtime;

import static org.lwjgl.opencl.CL10.*;

import dev.based4j.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.lwjgl.PointerBuffer;
import org.lwjgl.opencl.CL12;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * An OpenCL context with one in-order command queue on one device: buffers, host copies, the program cache
 * (each kernel family's source compiled once per element type, on first use) and kernel launches.
 *
 * <p>Thread safety: launches and program builds take one lock, because a {@code cl_kernel}'s arguments are
 * shared state; the queue is in order, so kernels run in the order they were enqueued.
 */
public final class ClContext implements AutoCloseable {
    private static final String SOURCES = "/dev/based4j/opencl/kernels/";

    private final long context;
    private final long queue;
    private final long device;
    private final long localMemoryBytes;
    private final long maxWorkGroupSize;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, ClProgram> programs = new HashMap<>();
    private final Map<String, String> sources = new HashMap<>();
    private final List<ClBuffer> freeScratch = new ArrayList<>();
    private volatile boolean closed;

    /** At most this many idle scratch buffers are kept for reuse; more are released. */
    private static final int MAX_IDLE_SCRATCH = 8;

    private ClContext(long context, long queue, long device, long localMemoryBytes, long maxWorkGroupSize) {
        this.context = context;
        this.queue = queue;
        this.device = device;
        this.localMemoryBytes = localMemoryBytes;
        this.maxWorkGroupSize = maxWorkGroupSize;
    }

    /**
     * Creates a context and an in-order queue on {@code device} of {@code platform}.
     *
     * @throws dev.based4j.opencl.OpenClException when OpenCL refuses
     */
    public static ClContext create(long platform, long device, long localMemoryBytes, long maxWorkGroupSize) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            PointerBuffer props = stack.mallocPointer(3);
            props.put(CL_CONTEXT_PLATFORM).put(platform).put(0L).flip();
            PointerBuffer devices = stack.mallocPointer(1);
            devices.put(0, device);
            long context = clCreateContext(props, devices, null, 0L, err);
            ClCheck.check(err.get(0), "clCreateContext");
            long queue = clCreateCommandQueue(context, device, 0L, err);
            if (err.get(0) != CL_SUCCESS) {
                clReleaseContext(context);
                ClCheck.check(err.get(0), "clCreateCommandQueue");
            }
            JvmSignalHandlers.restore("clCreateContext");
            return new ClContext(context, queue, device, localMemoryBytes, maxWorkGroupSize);
        }
    }

    /** @return {@code CL_DEVICE_LOCAL_MEM_SIZE} */
    public long localMemoryBytes() {
        return localMemoryBytes;
    }

    /** @return {@code CL_DEVICE_MAX_WORK_GROUP_SIZE} */
    public long maxWorkGroupSize() {
        return maxWorkGroupSize;
    }

    // ---------------------------------------------------------------- buffers

    /** A buffer whose content is undefined; for scratch that a kernel writes completely. */
    public ClBuffer allocate(long bytes) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long mem = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, err);
            ClCheck.check(err.get(0), "clCreateBuffer(" + bytes + " bytes)");
            return new ClBuffer(mem, bytes);
        }
    }

    /**
     * A scratch buffer of at least {@code bytes} bytes with undefined content, taken from a pool of buffers this
     * context keeps for reuse (allocating and first-touching hundreds of megabytes per call costs more than the
     * kernels that use them). Closing it returns it to the pool: safe while enqueued kernels still use it, because
     * the queue is in order, so the next user's kernels run after them.
     */
    public Scratch scratch(long bytes) {
        synchronized (freeScratch) {
            ClBuffer best = null;
            for (ClBuffer b : freeScratch) {
                if (b.byteSize() >= bytes && (best == null || b.byteSize() < best.byteSize())) {
                    best = b;
                }
            }
            if (best != null) {
                freeScratch.remove(best);
                return new Scratch(best);
            }
        }
        return new Scratch(allocate(bytes));
    }

    /** A pooled scratch buffer; {@link #close()} returns it to the pool. */
    public final class Scratch implements ClMemory, AutoCloseable {
        private final ClBuffer buffer;
        private boolean returned;

        private Scratch(ClBuffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public long memory() {
            return buffer.memory();
        }

        /** Returns the buffer to the pool (or releases it when the pool is full or the context closed). */
        @Override
        public void close() {
            if (returned) {
                return;
            }
            returned = true;
            synchronized (freeScratch) {
                if (!closed && freeScratch.size() < MAX_IDLE_SCRATCH) {
                    freeScratch.add(buffer);
                    return;
                }
            }
            buffer.close();
        }
    }

    /** A zero-filled buffer. */
    public ClBuffer allocateZeroed(long bytes) {
        ClBuffer buffer = allocate(bytes);
        try {
            fillZero(buffer, bytes);
            return buffer;
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
    }

    /** Sets the first {@code bytes} bytes of {@code memory} to zero. */
    public void fillZero(ClMemory memory, long bytes) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            var pattern = stack.calloc(1);
            lock.lock();
            try {
                ClCheck.check(CL12.clEnqueueFillBuffer(queue, memory.memory(), pattern, 0L, bytes, null, null),
                        "clEnqueueFillBuffer");
            } finally {
                lock.unlock();
            }
        }
    }

    /** A buffer holding a copy of {@code host}. */
    public ClBuffer upload(MemorySegment host) {
        long bytes = host.byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = host.isNative() ? host : arena.allocate(bytes, 64).copyFrom(host);
            try (MemoryStack stack = MemoryStack.stackPush()) {
                IntBuffer err = stack.mallocInt(1);
                long mem = nclCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, src.address(),
                        MemoryUtil.memAddress(err));
                ClCheck.check(err.get(0), "clCreateBuffer(" + bytes + " bytes, CL_MEM_COPY_HOST_PTR)");
                return new ClBuffer(mem, bytes);
            }
        }
    }

    /** A buffer holding {@code values}. */
    public ClBuffer upload(int[] values) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) values.length * Integer.BYTES, 64);
            MemorySegment.copy(values, 0, seg, java.lang.foreign.ValueLayout.JAVA_INT, 0, values.length);
            return upload(seg);
        }
    }

    /** A buffer holding {@code values} as {@code dtype}. */
    public ClBuffer upload(double[] values, DType dtype) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) values.length * dtype.byteSize(), 64);
            if (dtype == DType.F64) {
                MemorySegment.copy(values, 0, seg, java.lang.foreign.ValueLayout.JAVA_DOUBLE, 0, values.length);
            } else {
                for (int i = 0; i < values.length; i++) {
                    seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) values[i]);
                }
            }
            return upload(seg);
        }
    }

    /** Copies {@code src} into {@code dst} (blocking; waits for the kernels before it). */
    public void read(ClMemory src, MemorySegment dst) {
        long bytes = dst.byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment target = dst.isNative() ? dst : arena.allocate(bytes, 64);
            lock.lock();
            try {
                ClCheck.check(nclEnqueueReadBuffer(queue, src.memory(), CL_TRUE, 0L, bytes, target.address(), 0, 0L, 0L),
                        "clEnqueueReadBuffer(" + bytes + " bytes)");
            } finally {
                lock.unlock();
            }
            JvmSignalHandlers.restore("clEnqueueReadBuffer");
            if (target != dst) {
                dst.copyFrom(target);
            }
        }
    }

    /**
     * Enqueues a copy of {@code bytes} bytes of {@code src} from {@code srcOffset} into {@code dst} at
     * {@code dstOffset} on the device ({@code clEnqueueCopyBuffer}); it runs after the kernels enqueued before it and
     * before those enqueued after.
     */
    public void copy(ClMemory src, long srcOffset, ClMemory dst, long dstOffset, long bytes) {
        lock.lock();
        try {
            ClCheck.check(clEnqueueCopyBuffer(queue, src.memory(), dst.memory(), srcOffset, dstOffset, bytes, null,
                    null), "clEnqueueCopyBuffer(" + bytes + " bytes)");
        } finally {
            lock.unlock();
        }
    }

    /** Waits for every enqueued command. */
    public void finish() {
        int code = clFinish(queue);
        JvmSignalHandlers.restore("clFinish");
        ClCheck.check(code, "clFinish");
    }

    // ---------------------------------------------------------------- programs and kernels

    /**
     * A launch of kernel {@code kernel} of the program built from {@code common.cl} + {@code family.cl} for
     * {@code dtype}.
     */
    public Launch launch(String family, DType dtype, String kernel) {
        return new Launch(family, "", dtype, kernel);
    }

    /**
     * A launch of kernel {@code kernel} of the program variant built with the extra options {@code variant}
     * (for example {@code -DVW=8}); each variant is compiled once, like the plain program.
     */
    public Launch launch(String family, String variant, DType dtype, String kernel) {
        return new Launch(family, variant, dtype, kernel);
    }

    /** @return the largest work-group size kernel {@code kernel} of {@code family} runs with on this device */
    public long maxWorkGroupSize(String family, DType dtype, String kernel) {
        return maxWorkGroupSize(family, "", dtype, kernel);
    }

    /** @return the largest work-group size of {@code kernel} in the given program variant */
    public long maxWorkGroupSize(String family, String variant, DType dtype, String kernel) {
        lock.lock();
        try {
            return Math.min(maxWorkGroupSize, program(family, variant, dtype).kernel(kernel)[1]);
        } finally {
            lock.unlock();
        }
    }

    private ClProgram program(String family, String variant, DType dtype) {
        String key = family + "/" + variant + "/" + dtype.label();
        ClProgram p = programs.get(key);
        if (p == null) {
            if (closed) {
                throw new IllegalStateException("context: closed");
            }
            String source = source("common") + "\n" + source(family);
            String options = (dtype == DType.F64 ? "-DREAL=double -DREAL_IS_DOUBLE=1" : "-DREAL=float")
                    + (variant.isEmpty() ? "" : " " + variant);
            p = compile(family + ".cl (" + dtype.label() + (variant.isEmpty() ? "" : " " + variant) + ")", source,
                    options);
            programs.put(key, p);
        }
        return p;
    }

    /** Builds {@code source} on this context's device; the caller owns the program. */
    ClProgram compile(String name, String source, String options) {
        return ClProgram.build(name, context, device, source, options);
    }

    private String source(String family) {
        return sources.computeIfAbsent(family, f -> {
            try (InputStream in = ClContext.class.getResourceAsStream(SOURCES + f + ".cl")) {
                if (in == null) {
                    throw new IllegalStateException("kernel source " + SOURCES + f + ".cl is missing from the jar");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("reading kernel source " + f + ".cl", e);
            }
        });
    }

    /** Releases the programs, the queue and the context. Idempotent. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            clFinish(queue);
            synchronized (freeScratch) {
                freeScratch.forEach(ClBuffer::close);
                freeScratch.clear();
            }
            programs.values().forEach(ClProgram::release);
            programs.clear();
            clReleaseCommandQueue(queue);
            clReleaseContext(context);
        } finally {
            lock.unlock();
        }
    }

    /** Arguments of one kernel launch, set and enqueued together under the context's lock. */
    public final class Launch {
        private final String family;
        private final String variant;
        private final DType dtype;
        private final String kernel;
        private final List<Object> args = new ArrayList<>();

        private Launch(String family, String variant, DType dtype, String kernel) {
            this.family = family;
            this.variant = variant;
            this.dtype = dtype;
            this.kernel = kernel;
        }

        private record Real(double value) {}

        private record Local(long bytes) {}

        private record Mem(long handle) {}

        /** A buffer argument; {@code null} passes a NULL pointer (for arguments the kernel does not read). */
        public Launch mem(ClMemory memory) {
            args.add(new Mem(memory == null ? 0L : memory.memory()));
            return this;
        }

        /** An {@code int} argument. */
        public Launch i(int value) {
            args.add(value);
            return this;
        }

        /** A {@code long} argument. */
        public Launch l(long value) {
            args.add(value);
            return this;
        }

        /** A {@code REAL} argument, rounded to float for F32 programs. */
        public Launch real(double value) {
            args.add(new Real(value));
            return this;
        }

        /** A {@code __local} buffer of {@code bytes} bytes. */
        public Launch local(long bytes) {
            args.add(new Local(bytes));
            return this;
        }

        /** Enqueues over a 1-D range; {@code local} 0 lets OpenCL choose. */
        public void run(long global, long local) {
            run(new long[] {global}, local == 0 ? null : new long[] {local});
        }

        /** Enqueues over an N-D range; {@code local} null lets OpenCL choose. */
        public void run(long[] global, long[] local) {
            lock.lock();
            try (MemoryStack stack = MemoryStack.stackPush()) {
                long k = program(family, variant, dtype).kernel(kernel)[0];
                for (int i = 0; i < args.size(); i++) {
                    Object a = args.get(i);
                    int code = switch (a) {
                        case Mem m -> clSetKernelArg1p(k, i, m.handle());
                        case Integer v -> clSetKernelArg1i(k, i, v);
                        case Long v -> clSetKernelArg1l(k, i, v);
                        case Real r -> dtype == DType.F64 ? clSetKernelArg1d(k, i, r.value())
                                : clSetKernelArg1f(k, i, (float) r.value());
                        case Local l -> clSetKernelArg(k, i, l.bytes());
                        default -> throw new IllegalStateException("unknown kernel argument " + a);
                    };
                    ClCheck.check(code, "clSetKernelArg(" + kernel + ", " + i + ")");
                }
                PointerBuffer g = stack.mallocPointer(global.length);
                for (int i = 0; i < global.length; i++) {
                    g.put(i, global[i]);
                }
                PointerBuffer l = null;
                if (local != null) {
                    l = stack.mallocPointer(local.length);
                    for (int i = 0; i < local.length; i++) {
                        l.put(i, local[i]);
                    }
                }
                int code = clEnqueueNDRangeKernel(queue, k, global.length, null, g, l, null, null);
                // PoCL may compile the kernel for this launch's sizes while enqueueing it
                JvmSignalHandlers.restore("clEnqueueNDRangeKernel");
                ClCheck.check(code, "clEnqueueNDRangeKernel(" + family + "." + kernel + ")");
            } finally {
                lock.unlock();
            }
        }
    }
}
