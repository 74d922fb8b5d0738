package dev.based4j.cuda.driver;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CUDA driver functions this backend uses, bound with the JDK's foreign-function API ({@code java.lang.foreign})
 * to {@code libcuda.so.1}. Each method checks the {@code CUresult} and throws {@link CudaException} naming the call
 * and the error. Where {@code cuda.h} maps a name to a versioned symbol ({@code cuMemAlloc → cuMemAlloc_v2}), the
 * versioned one is bound, as a C program compiled against the header would call it.
 *
 * <p>Opaque handles ({@code CUcontext}, {@code CUmodule}, {@code CUfunction}, {@code CUstream}, {@code CUevent}) are
 * zero-length {@link MemorySegment}s holding the address; device pointers ({@code CUdeviceptr}) are {@code long}s.
 * Instances are shared per library and thread-safe; the library stays loaded for the life of the process.
 */
public final class CudaDriver {
    /** {@code CU_STREAM_NON_BLOCKING}: no implicit synchronisation with the legacy default stream. */
    public static final int STREAM_NON_BLOCKING = 1;
    /** {@code CU_EVENT_DEFAULT}. */
    public static final int EVENT_DEFAULT = 0;
    /** {@code CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT}. */
    public static final int ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR}. */
    public static final int ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR}. */
    public static final int ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    /** {@code CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN}. */
    public static final int ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    /** {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}. */
    public static final int FUNCTION_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private static final int JIT_ERROR_LOG_BUFFER = 5;
    private static final int JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
    private static final int JIT_LOG_BYTES = 16 * 1024;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    private static final MemoryLayout PTR = ValueLayout.ADDRESS;
    private static final Map<String, CudaDriver> LOADED = new ConcurrentHashMap<>();

    private final String library;
    private final MethodHandle cuInit;
    private final MethodHandle cuDriverGetVersion;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDeviceGetAttribute;
    private final MethodHandle cuDeviceTotalMem;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuDevicePrimaryCtxRelease;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuCtxSynchronize;
    private final MethodHandle cuModuleLoadDataEx;
    private final MethodHandle cuModuleUnload;
    private final MethodHandle cuModuleGetFunction;
    private final MethodHandle cuFuncSetAttribute;
    private final MethodHandle cuLaunchKernel;
    private final MethodHandle cuMemAlloc;
    private final MethodHandle cuMemFree;
    private final MethodHandle cuMemGetInfo;
    private final MethodHandle cuMemcpyHtoDAsync;
    private final MethodHandle cuMemcpyDtoHAsync;
    private final MethodHandle cuMemcpyDtoDAsync;
    private final MethodHandle cuMemsetD8Async;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamSynchronize;
    private final MethodHandle cuStreamDestroy;
    private final MethodHandle cuEventCreate;
    private final MethodHandle cuEventRecord;
    private final MethodHandle cuEventSynchronize;
    private final MethodHandle cuEventElapsedTime;
    private final MethodHandle cuEventDestroy;
    private final MethodHandle cuGetErrorName;
    private final MethodHandle cuGetErrorString;

    private CudaDriver(String library, SymbolLookup lookup) {
        this.library = library;
        Linker linker = Linker.nativeLinker();
        Binder b = new Binder(library, lookup, linker);
        cuInit = b.bind("cuInit", FunctionDescriptor.of(INT, INT));
        cuDriverGetVersion = b.bind("cuDriverGetVersion", FunctionDescriptor.of(INT, PTR));
        cuDeviceGetCount = b.bind("cuDeviceGetCount", FunctionDescriptor.of(INT, PTR));
        cuDeviceGet = b.bind("cuDeviceGet", FunctionDescriptor.of(INT, PTR, INT));
        cuDeviceGetName = b.bind("cuDeviceGetName", FunctionDescriptor.of(INT, PTR, INT, INT));
        cuDeviceGetAttribute = b.bind("cuDeviceGetAttribute", FunctionDescriptor.of(INT, PTR, INT, INT));
        cuDeviceTotalMem = b.bind("cuDeviceTotalMem_v2", FunctionDescriptor.of(INT, PTR, INT));
        cuDevicePrimaryCtxRetain = b.bind("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(INT, PTR, INT));
        cuDevicePrimaryCtxRelease = b.bind("cuDevicePrimaryCtxRelease_v2", FunctionDescriptor.of(INT, INT));
        cuCtxSetCurrent = b.bind("cuCtxSetCurrent", FunctionDescriptor.of(INT, PTR));
        cuCtxSynchronize = b.bind("cuCtxSynchronize", FunctionDescriptor.of(INT));
        cuModuleLoadDataEx = b.bind("cuModuleLoadDataEx", FunctionDescriptor.of(INT, PTR, PTR, INT, PTR, PTR));
        cuModuleUnload = b.bind("cuModuleUnload", FunctionDescriptor.of(INT, PTR));
        cuModuleGetFunction = b.bind("cuModuleGetFunction", FunctionDescriptor.of(INT, PTR, PTR, PTR));
        cuFuncSetAttribute = b.bind("cuFuncSetAttribute", FunctionDescriptor.of(INT, PTR, INT, INT));
        cuLaunchKernel = b.bind("cuLaunchKernel",
                FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, INT, INT, PTR, PTR, PTR));
        cuMemAlloc = b.bind("cuMemAlloc_v2", FunctionDescriptor.of(INT, PTR, LONG));
        cuMemFree = b.bind("cuMemFree_v2", FunctionDescriptor.of(INT, LONG));
        cuMemGetInfo = b.bind("cuMemGetInfo_v2", FunctionDescriptor.of(INT, PTR, PTR));
        cuMemcpyHtoDAsync = b.bind("cuMemcpyHtoDAsync_v2", FunctionDescriptor.of(INT, LONG, PTR, LONG, PTR));
        cuMemcpyDtoHAsync = b.bind("cuMemcpyDtoHAsync_v2", FunctionDescriptor.of(INT, PTR, LONG, LONG, PTR));
        cuMemcpyDtoDAsync = b.bind("cuMemcpyDtoDAsync_v2", FunctionDescriptor.of(INT, LONG, LONG, LONG, PTR));
        cuMemsetD8Async = b.bind("cuMemsetD8Async", FunctionDescriptor.of(INT, LONG, BYTE, LONG, PTR));
        cuStreamCreate = b.bind("cuStreamCreate", FunctionDescriptor.of(INT, PTR, INT));
        cuStreamSynchronize = b.bind("cuStreamSynchronize", FunctionDescriptor.of(INT, PTR));
        cuStreamDestroy = b.bind("cuStreamDestroy_v2", FunctionDescriptor.of(INT, PTR));
        cuEventCreate = b.bind("cuEventCreate", FunctionDescriptor.of(INT, PTR, INT));
        cuEventRecord = b.bind("cuEventRecord", FunctionDescriptor.of(INT, PTR, PTR));
        cuEventSynchronize = b.bind("cuEventSynchronize", FunctionDescriptor.of(INT, PTR));
        // cuda.h 12.8+ maps cuEventElapsedTime to _v2; older drivers only have the first version (same signature)
        cuEventElapsedTime = b.bindFirst(FunctionDescriptor.of(INT, PTR, PTR, PTR), "cuEventElapsedTime_v2",
                "cuEventElapsedTime");
        cuEventDestroy = b.bind("cuEventDestroy_v2", FunctionDescriptor.of(INT, PTR));
        cuGetErrorName = b.bind("cuGetErrorName", FunctionDescriptor.of(INT, INT, PTR));
        cuGetErrorString = b.bind("cuGetErrorString", FunctionDescriptor.of(INT, INT, PTR));
    }

    /**
     * Loads the driver library (once per name per process) and binds every function; calls nothing in it.
     *
     * @param library a library name for the system loader ({@code libcuda.so.1}) or a path
     * @throws NativeLibraryException when the library cannot be loaded or lacks a function
     */
    public static CudaDriver load(String library) {
        return LOADED.computeIfAbsent(library, name -> new CudaDriver(name, lookup(name)));
    }

    /** @return the platform's default name of the driver library: {@code libcuda.so.1}, {@code nvcuda.dll} on Windows */
    public static String defaultLibrary() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")
                ? "nvcuda.dll"
                : "libcuda.so.1";
    }

    /**
     * Opens a native library. A path is opened only when it names a regular file: the system loader would block
     * forever opening a FIFO, and a folder or device is never a library.
     *
     * @throws NativeLibraryException naming the library when it cannot be opened, or is a path to something that
     *     is not a regular file
     */
    static SymbolLookup lookup(String library) {
        boolean path = library.indexOf('/') >= 0 || library.indexOf('\\') >= 0;
        try {
            if (path) {
                Path file = Path.of(library);
                if (Files.exists(file) && !Files.isRegularFile(file)) {
                    throw new NativeLibraryException(library, "cannot load " + library
                            + ": not a regular file (a folder, a FIFO or a device), so not opened", null);
                }
                return SymbolLookup.libraryLookup(file, Arena.global());
            }
            return SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            throw new NativeLibraryException(library, "cannot load " + library + ": " + e.getMessage(), e);
        }
    }

    /** @return the name or path this driver was loaded from */
    public String library() {
        return library;
    }

    // ---------------------------------------------------------------- init and devices

    /** {@code cuInit(0)}. */
    public void init() {
        int r;
        try {
            r = (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuInit", r);
    }

    /** @return {@code cuDriverGetVersion}: 1000·major + 10·minor, e.g. 13000 for CUDA 13.0 */
    public int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDriverGetVersion", (int) cuDriverGetVersion.invokeExact(out));
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return {@code cuDeviceGetCount} */
    public int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDeviceGetCount", (int) cuDeviceGetCount.invokeExact(out));
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return the {@code CUdevice} of ordinal {@code ordinal} */
    public int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDeviceGet", (int) cuDeviceGet.invokeExact(out, ordinal));
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return {@code cuDeviceGetName} */
    public String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(out, 256, device));
            return out.getString(0, StandardCharsets.UTF_8);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return {@code cuDeviceGetAttribute(attribute)} */
    public int deviceAttribute(int attribute, int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check("cuDeviceGetAttribute", (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** @return {@code cuDeviceTotalMem}, bytes */
    public long deviceTotalMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            check("cuDeviceTotalMem_v2", (int) cuDeviceTotalMem.invokeExact(out, device));
            return out.get(LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------- contexts

    /** @return the device's primary context, retained ({@code cuDevicePrimaryCtxRetain}) */
    public MemorySegment primaryContextRetain(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            check("cuDevicePrimaryCtxRetain", (int) cuDevicePrimaryCtxRetain.invokeExact(out, device));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuDevicePrimaryCtxRelease}. */
    public void primaryContextRelease(int device) {
        int r;
        try {
            r = (int) cuDevicePrimaryCtxRelease.invokeExact(device);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuDevicePrimaryCtxRelease_v2", r);
    }

    /** {@code cuCtxSetCurrent}: binds {@code context} to the calling thread. */
    public void setCurrentContext(MemorySegment context) {
        int r;
        try {
            r = (int) cuCtxSetCurrent.invokeExact(context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuCtxSetCurrent", r);
    }

    /** {@code cuCtxSynchronize}. */
    public void contextSynchronize() {
        int r;
        try {
            r = (int) cuCtxSynchronize.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuCtxSynchronize", r);
    }

    // ---------------------------------------------------------------- modules and launches

    /**
     * Loads a module from a PTX text or a cubin/fatbin image ({@code cuModuleLoadDataEx}); the PTX must end with a
     * NUL byte. When the driver refuses it, the exception's message carries the JIT error log.
     */
    public MemorySegment moduleLoadData(MemorySegment image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            MemorySegment log = a.allocate(JIT_LOG_BYTES);
            MemorySegment options = a.allocate(INT, 2);
            options.setAtIndex(INT, 0, JIT_ERROR_LOG_BUFFER);
            options.setAtIndex(INT, 1, JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            MemorySegment values = a.allocate(ValueLayout.ADDRESS, 2);
            values.setAtIndex(ValueLayout.ADDRESS, 0, log);
            // the size option passes its value in the pointer slot itself
            values.setAtIndex(ValueLayout.ADDRESS, 1, MemorySegment.ofAddress(JIT_LOG_BYTES));
            int r = (int) cuModuleLoadDataEx.invokeExact(out, image, 2, options, values);
            if (r != CudaErrors.SUCCESS) {
                String jitLog = log.getString(0, StandardCharsets.UTF_8).strip();
                throw new CudaException("cuModuleLoadDataEx", r, errorName(r),
                        errorString(r) + (jitLog.isEmpty() ? "" : "; JIT log: " + jitLog));
            }
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuModuleUnload}. */
    public void moduleUnload(MemorySegment module) {
        int r;
        try {
            r = (int) cuModuleUnload.invokeExact(module);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuModuleUnload", r);
    }

    /** @return the kernel {@code name} of {@code module} ({@code cuModuleGetFunction}) */
    public MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int r = (int) cuModuleGetFunction.invokeExact(out, module, a.allocateFrom(name));
            if (r != CudaErrors.SUCCESS) {
                throw new CudaException("cuModuleGetFunction(" + name + ")", r, errorName(r), errorString(r));
            }
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuFuncSetAttribute}. */
    public void functionSetAttribute(MemorySegment function, int attribute, int value) {
        int r;
        try {
            r = (int) cuFuncSetAttribute.invokeExact(function, attribute, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuFuncSetAttribute", r);
    }

    /**
     * {@code cuLaunchKernel} with {@code kernelParams} (an array of pointers to each argument's value) and no
     * {@code extra}.
     */
    public void launchKernel(MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int blockY,
            int blockZ, int sharedBytes, MemorySegment stream, MemorySegment kernelParams) {
        int r;
        try {
            r = (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes,
                    stream, kernelParams, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuLaunchKernel", r);
    }

    // ---------------------------------------------------------------- memory

    /** @return a device allocation of {@code bytes} ({@code cuMemAlloc}) */
    public long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            check("cuMemAlloc_v2", (int) cuMemAlloc.invokeExact(out, bytes));
            return out.get(LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuMemFree}. */
    public void memFree(long pointer) {
        int r;
        try {
            r = (int) cuMemFree.invokeExact(pointer);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuMemFree_v2", r);
    }

    /** @return {@code {free, total}} bytes of the current context's device ({@code cuMemGetInfo}) */
    public long[] memGetInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(LONG);
            MemorySegment total = a.allocate(LONG);
            check("cuMemGetInfo_v2", (int) cuMemGetInfo.invokeExact(free, total));
            return new long[] {free.get(LONG, 0), total.get(LONG, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuMemcpyHtoDAsync}: {@code bytes} from host {@code src} to device {@code dst}, ordered on {@code stream}. */
    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        int r;
        try {
            r = (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuMemcpyHtoDAsync_v2", r);
    }

    /** {@code cuMemcpyDtoHAsync}: complete only after the stream is synchronised. */
    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        int r;
        try {
            r = (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuMemcpyDtoHAsync_v2", r);
    }

    /** {@code cuMemcpyDtoDAsync}. */
    public void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        int r;
        try {
            r = (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuMemcpyDtoDAsync_v2", r);
    }

    /** {@code cuMemsetD8Async}: fills {@code bytes} bytes at {@code dst} with {@code value}, ordered on {@code stream}. */
    public void memsetD8Async(long dst, byte value, long bytes, MemorySegment stream) {
        int r;
        try {
            r = (int) cuMemsetD8Async.invokeExact(dst, value, bytes, stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuMemsetD8Async", r);
    }

    // ---------------------------------------------------------------- streams and events

    /** @return a new stream ({@code cuStreamCreate}) */
    public MemorySegment streamCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            check("cuStreamCreate", (int) cuStreamCreate.invokeExact(out, flags));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuStreamSynchronize}: waits for everything enqueued; reports errors of earlier launches. */
    public void streamSynchronize(MemorySegment stream) {
        int r;
        try {
            r = (int) cuStreamSynchronize.invokeExact(stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuStreamSynchronize", r);
    }

    /** {@code cuStreamDestroy}. */
    public void streamDestroy(MemorySegment stream) {
        int r;
        try {
            r = (int) cuStreamDestroy.invokeExact(stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuStreamDestroy_v2", r);
    }

    /** @return a new event ({@code cuEventCreate}) */
    public MemorySegment eventCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            check("cuEventCreate", (int) cuEventCreate.invokeExact(out, flags));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuEventRecord}. */
    public void eventRecord(MemorySegment event, MemorySegment stream) {
        int r;
        try {
            r = (int) cuEventRecord.invokeExact(event, stream);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuEventRecord", r);
    }

    /** {@code cuEventSynchronize}. */
    public void eventSynchronize(MemorySegment event) {
        int r;
        try {
            r = (int) cuEventSynchronize.invokeExact(event);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuEventSynchronize", r);
    }

    /** @return milliseconds between two recorded, completed events ({@code cuEventElapsedTime}) */
    public float eventElapsedTime(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(FLOAT);
            check("cuEventElapsedTime", (int) cuEventElapsedTime.invokeExact(out, start, end));
            return out.get(FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuEventDestroy}. */
    public void eventDestroy(MemorySegment event) {
        int r;
        try {
            r = (int) cuEventDestroy.invokeExact(event);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        check("cuEventDestroy_v2", r);
    }

    // ---------------------------------------------------------------- errors

    /** @return the driver's name of {@code code} ({@code cuGetErrorName}), else {@link CudaErrors#name} */
    public String errorName(int code) {
        return driverText(cuGetErrorName, code).orElseGet(() -> CudaErrors.name(code));
    }

    /** @return the driver's description of {@code code} ({@code cuGetErrorString}), or empty text */
    public String errorString(int code) {
        return driverText(cuGetErrorString, code).orElse("");
    }

    private static Optional<String> driverText(MethodHandle h, int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int r = (int) h.invokeExact(code, out);
            MemorySegment p = out.get(ValueLayout.ADDRESS, 0);
            if (r != CudaErrors.SUCCESS || p.equals(MemorySegment.NULL)) {
                return Optional.empty();
            }
            return Optional.of(p.reinterpret(1024).getString(0, StandardCharsets.UTF_8));
        } catch (Throwable t) {
            return Optional.empty();
        }
    }

    /**
     * Throws {@link CudaException} naming {@code call} unless {@code code} is {@code CUDA_SUCCESS}.
     *
     * @param call the function that returned {@code code}
     */
    public void check(String call, int code) {
        if (code != CudaErrors.SUCCESS) {
            throw new CudaException(call, code, errorName(code), errorString(code));
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked exception from a native call", t);
    }

    /** Looks functions up in one library and makes downcall handles, naming the library when one is missing. */
    static final class Binder {
        private final String library;
        private final SymbolLookup lookup;
        private final Linker linker;

        Binder(String library, SymbolLookup lookup, Linker linker) {
            this.library = library;
            this.lookup = lookup;
            this.linker = linker;
        }

        MethodHandle bind(String symbol, FunctionDescriptor descriptor) {
            MemorySegment address = lookup.find(symbol).orElseThrow(() -> new NativeLibraryException(library,
                    library + " has no function " + symbol + " (a driver or library older than this backend needs?)",
                    null));
            return linker.downcallHandle(address, descriptor);
        }

        MethodHandle bindFirst(FunctionDescriptor descriptor, String... symbols) {
            for (String s : symbols) {
                Optional<MemorySegment> address = lookup.find(s);
                if (address.isPresent()) {
                    return linker.downcallHandle(address.get(), descriptor);
                }
            }
            throw new NativeLibraryException(library,
                    library + " has none of the functions " + String.join(", ", symbols), null);
        }
    }
}
