package dev.based4j.cuda.device;

import dev.based4j.cuda.driver.CudaDriver;
import dev.based4j.cuda.driver.KernelArgs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One device as the backend uses it: the retained primary context, one non-blocking stream on which every copy
 * and kernel is ordered, and the loaded kernel modules. Work on the device runs through {@link #run} or
 * {@link #call}: under one lock (so that intermediate buffers are never shared by two calls in flight) with the
 * context bound to the calling thread, so any thread may use it.
 */
public final class CudaContext implements AutoCloseable {
    private final CudaDriver driver;
    private final int ordinal;
    private final int device;
    private final String deviceName;
    private final int computeCapability;
    private final int multiprocessors;
    private final int maxSharedOptIn;
    private final long totalMemory;
    private final int driverVersion;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final KernelImages.Plan plan;
    private final Map<String, MemorySegment> modules = new LinkedHashMap<>();
    private final Map<String, Kernel> kernels = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean closed;

    /**
     * A kernel function ready to launch.
     *
     * @param name its C name, e.g. {@code la_taylor_chunked_f32}
     * @param function the {@code CUfunction}
     */
    public record Kernel(String name, MemorySegment function) {}

    private CudaContext(CudaDriver driver, int ordinal, KernelImages.Mode mode, String nvrtcLibrary) {
        this.driver = driver;
        this.ordinal = ordinal;
        driver.init();
        this.device = driver.device(ordinal);
        this.deviceName = driver.deviceName(device);
        this.computeCapability = 10 * driver.deviceAttribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
                + driver.deviceAttribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        this.multiprocessors = driver.deviceAttribute(CudaDriver.ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
        this.maxSharedOptIn = driver.deviceAttribute(CudaDriver.ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device);
        this.totalMemory = driver.deviceTotalMemory(device);
        this.driverVersion = driver.driverVersion();
        this.plan = KernelImages.plan(computeCapability, mode, nvrtcLibrary, KernelImages.MODULES);
        this.context = driver.primaryContextRetain(device);
        MemorySegment s = null;
        try {
            driver.setCurrentContext(context);
            s = driver.streamCreate(CudaDriver.STREAM_NON_BLOCKING);
            try (Arena a = Arena.ofConfined()) {
                for (Map.Entry<String, String> e : plan.ptx().entrySet()) {
                    modules.put(e.getKey(), driver.moduleLoadData(a.allocateFrom(e.getValue())));
                }
            }
        } catch (RuntimeException e) {
            for (MemorySegment m : modules.values()) {
                quietly(() -> driver.moduleUnload(m));
            }
            if (s != null) {
                MemorySegment created = s;
                quietly(() -> driver.streamDestroy(created));
            }
            quietly(() -> driver.primaryContextRelease(device));
            throw e;
        }
        this.stream = s;
    }

    /**
     * Opens device {@code ordinal}: initialises the driver, retains the primary context, creates the stream and
     * loads every kernel module (JIT-compiling the PTX for the device; the driver caches the result on disk).
     *
     * @throws dev.based4j.cuda.driver.CudaException when a driver call fails
     * @throws IllegalStateException when no kernels fit the device
     */
    public static CudaContext open(CudaDriver driver, int ordinal, KernelImages.Mode mode, String nvrtcLibrary) {
        return new CudaContext(driver, ordinal, mode, nvrtcLibrary);
    }

    /** @return the bound driver */
    public CudaDriver driver() {
        return driver;
    }

    /** @return the stream every operation is ordered on */
    public MemorySegment stream() {
        return stream;
    }

    /** @return the device ordinal this context was opened on */
    public int ordinal() {
        return ordinal;
    }

    /** @return the device's memory, bytes */
    public long totalMemory() {
        return totalMemory;
    }

    /** @return the driver's CUDA version, 1000·major + 10·minor */
    public int driverVersion() {
        return driverVersion;
    }

    /** @return the device's name, e.g. {@code NVIDIA H200} */
    public String deviceName() {
        return deviceName;
    }

    /** @return 10·major + minor, e.g. 90 */
    public int computeCapability() {
        return computeCapability;
    }

    /** @return streaming multiprocessors */
    public int multiprocessors() {
        return multiprocessors;
    }

    /** @return the most dynamic shared memory a block may opt in to, bytes */
    public int maxSharedOptIn() {
        return maxSharedOptIn;
    }

    /** @return where the kernels came from */
    public KernelImages.Plan plan() {
        return plan;
    }

    /** @return e.g. {@code NVIDIA H200 #0 (sm_90, 132 SMs, 139.8 GiB, driver CUDA 13.0; packaged PTX ...)} */
    public String describe() {
        return String.format(java.util.Locale.ROOT, "%s #%d (sm_%d, %d SMs, %.1f GiB, driver CUDA %d.%d; %s)",
                deviceName, ordinal, computeCapability, multiprocessors, totalMemory / (double) (1L << 30),
                driverVersion / 1000, driverVersion % 1000 / 10, plan.describe());
    }

    /**
     * Runs {@code body} under the device's lock with the context bound to the calling thread.
     *
     * @throws IllegalStateException when the context was closed
     */
    public <T> T call(Supplier<T> body) {
        lock.lock();
        try {
            makeCurrent();
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs {@code body} under the device's lock with the context bound to the calling thread.
     *
     * @throws IllegalStateException when the context was closed
     */
    public void run(Runnable body) {
        call(() -> {
            body.run();
            return null;
        });
    }

    /** Binds the primary context to the calling thread (the caller holds the lock, see {@link #run}). */
    private void makeCurrent() {
        ensureOpen();
        driver.setCurrentContext(context);
    }

    /**
     * @return the kernel {@code name} of {@code module} (the caller holds the lock); its dynamic shared-memory limit is raised to the device's
     *     opt-in maximum once, so launches may ask for more than the default 48 KiB
     */
    public Kernel kernel(String module, String name) {
        return kernels.computeIfAbsent(name, n -> {
            MemorySegment m = modules.get(module);
            if (m == null) {
                throw new IllegalStateException("kernel module " + module + " is not loaded");
            }
            MemorySegment f = driver.moduleGetFunction(m, n);
            driver.functionSetAttribute(f, CudaDriver.FUNCTION_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    maxSharedOptIn);
            return new Kernel(n, f);
        });
    }

    /**
     * Enqueues a launch on the stream; the caller holds the lock ({@link #run}).
     *
     * @param sharedBytes dynamic shared memory per block
     * @param arguments appends the kernel's arguments in order
     * @throws IllegalArgumentException when the grid or the shared memory exceeds what the device allows
     */
    public void launch(Kernel kernel, int gridX, int gridY, int gridZ, int block, long sharedBytes,
            Consumer<KernelArgs> arguments) {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || gridY > 65535 || gridZ > 65535) {
            throw new IllegalArgumentException("grid: " + kernel.name() + " cannot launch grid (" + gridX + ", "
                    + gridY + ", " + gridZ + ")");
        }
        if (sharedBytes > maxSharedOptIn) {
            throw new IllegalArgumentException("shapes: " + kernel.name() + " needs " + sharedBytes
                    + " bytes of shared memory per block for these sizes, the device allows " + maxSharedOptIn);
        }
        try (Arena a = Arena.ofConfined()) {
            KernelArgs args = new KernelArgs(a);
            arguments.accept(args);
            driver.launchKernel(kernel.function(), gridX, gridY, gridZ, block, 1, 1, (int) sharedBytes, stream,
                    args.pointerArray());
        }
    }

    /** @return a new device allocation; the caller holds the lock */
    public long allocate(long bytes) {
        return driver.memAlloc(bytes);
    }

    /** Frees a device allocation (the driver waits for work that may still use it); the caller holds the lock. */
    public void free(long pointer) {
        driver.memFree(pointer);
    }

    /**
     * Frees a device allocation from any thread (the free action of a tensor, which may run on the cleaner's
     * thread). After {@link #close()} it does nothing: releasing the primary context freed the memory.
     */
    public void release(long pointer) {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            makeCurrent();
            driver.memFree(pointer);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Enqueues a copy of {@code bytes} bytes from {@code source} at {@code sourceOffset} to {@code destination} at
     * {@code destinationOffset} on the stream.
     *
     * @throws IllegalArgumentException when the byte range does not lie in both buffers
     */
    public void copy(CudaBuffer source, long sourceOffset, CudaBuffer destination, long destinationOffset,
            long bytes) {
        if (bytes < 0 || sourceOffset < 0 || destinationOffset < 0 || sourceOffset > source.bytes() - bytes
                || destinationOffset > destination.bytes() - bytes) {
            throw new IllegalArgumentException("bytes: " + bytes + " from offset " + sourceOffset + " of "
                    + source.bytes() + " to offset " + destinationOffset + " of " + destination.bytes()
                    + " do not fit both buffers");
        }
        if (bytes > 0) {
            run(() -> driver.memcpyDtoDAsync(destination.pointer() + destinationOffset, source.pointer() + sourceOffset,
                    bytes, stream));
        }
    }

    /**
     * Times device work with CUDA events recorded on the stream around {@code work}, which enqueues on this
     * context (the backend's kernels do).
     *
     * @return milliseconds of device time between the two events
     */
    public double elapsedMillis(Runnable work) {
        MemorySegment[] events = call(() -> new MemorySegment[] {
            driver.eventCreate(CudaDriver.EVENT_DEFAULT), driver.eventCreate(CudaDriver.EVENT_DEFAULT)
        });
        try {
            run(() -> driver.eventRecord(events[0], stream));
            work.run();
            return call(() -> {
                driver.eventRecord(events[1], stream);
                driver.eventSynchronize(events[1]);
                return (double) driver.eventElapsedTime(events[0], events[1]);
            });
        } finally {
            run(() -> {
                driver.eventDestroy(events[0]);
                driver.eventDestroy(events[1]);
            });
        }
    }

    /** Waits for everything enqueued and reports errors of earlier launches; the caller holds the lock. */
    public void synchronize() {
        driver.streamSynchronize(stream);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("CUDA context of " + deviceName + " was closed");
        }
    }

    /**
     * Unloads the modules, destroys the stream and releases the primary context. Waits for work of other threads
     * under the lock. Idempotent.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            quietly(() -> driver.setCurrentContext(context));
            quietly(() -> driver.streamSynchronize(stream));
            for (MemorySegment m : modules.values()) {
                quietly(() -> driver.moduleUnload(m));
            }
            quietly(() -> driver.streamDestroy(stream));
            quietly(() -> driver.primaryContextRelease(device));
            closed = true;
        } finally {
            lock.unlock();
        }
    }

    private static void quietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException ignored) {
            // closing: the first failure must not keep the rest from being released
        }
    }
}
