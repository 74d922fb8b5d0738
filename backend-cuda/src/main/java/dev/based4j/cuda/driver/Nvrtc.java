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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * NVRTC, CUDA's run-time compiler, bound with {@code java.lang.foreign}: compiles CUDA C++ source to PTX when no
 * packaged PTX fits the device. Optional: the backend works without it whenever packaged PTX does.
 */
public final class Nvrtc {
    /** Library names tried in order when none is configured. */
    public static final List<String> DEFAULT_LIBRARIES = List.of("libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12");

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final MemoryLayout PTR = ValueLayout.ADDRESS;

    private final String library;
    private final MethodHandle nvrtcVersion;
    private final MethodHandle nvrtcCreateProgram;
    private final MethodHandle nvrtcCompileProgram;
    private final MethodHandle nvrtcGetPTXSize;
    private final MethodHandle nvrtcGetPTX;
    private final MethodHandle nvrtcGetProgramLogSize;
    private final MethodHandle nvrtcGetProgramLog;
    private final MethodHandle nvrtcDestroyProgram;
    private final MethodHandle nvrtcGetErrorString;

    private Nvrtc(String library, SymbolLookup lookup) {
        this.library = library;
        CudaDriver.Binder b = new CudaDriver.Binder(library, lookup, Linker.nativeLinker());
        nvrtcVersion = b.bind("nvrtcVersion", FunctionDescriptor.of(INT, PTR, PTR));
        nvrtcCreateProgram = b.bind("nvrtcCreateProgram", FunctionDescriptor.of(INT, PTR, PTR, PTR, INT, PTR, PTR));
        nvrtcCompileProgram = b.bind("nvrtcCompileProgram", FunctionDescriptor.of(INT, PTR, INT, PTR));
        nvrtcGetPTXSize = b.bind("nvrtcGetPTXSize", FunctionDescriptor.of(INT, PTR, PTR));
        nvrtcGetPTX = b.bind("nvrtcGetPTX", FunctionDescriptor.of(INT, PTR, PTR));
        nvrtcGetProgramLogSize = b.bind("nvrtcGetProgramLogSize", FunctionDescriptor.of(INT, PTR, PTR));
        nvrtcGetProgramLog = b.bind("nvrtcGetProgramLog", FunctionDescriptor.of(INT, PTR, PTR));
        nvrtcDestroyProgram = b.bind("nvrtcDestroyProgram", FunctionDescriptor.of(INT, PTR));
        nvrtcGetErrorString = b.bind("nvrtcGetErrorString", FunctionDescriptor.of(PTR, INT));
    }

    /**
     * Loads NVRTC from {@code library}, or from the first of {@link #DEFAULT_LIBRARIES} the system loader finds
     * when {@code library} is empty.
     *
     * @throws NativeLibraryException naming every name tried when none loads
     */
    public static Nvrtc load(String library) {
        List<String> names = library == null || library.isBlank() ? DEFAULT_LIBRARIES : List.of(library.strip());
        List<String> failures = new ArrayList<>();
        for (String name : names) {
            try {
                preloadBuiltins(name);
                return new Nvrtc(name, CudaDriver.lookup(name));
            } catch (NativeLibraryException e) {
                failures.add(e.getMessage());
            }
        }
        throw new NativeLibraryException(String.join(", ", names), "NVRTC not found: " + String.join("; ", failures),
                null);
    }

    /**
     * NVRTC opens {@code libnvrtc-builtins.so.X.Y} by name at its first compilation. Given a path (for example
     * into a Python wheel, {@code site-packages/nvidia/cu13/lib}), the loader would not look beside it, so the
     * builtins found there are loaded first: a later open by name then finds them already loaded.
     */
    private static void preloadBuiltins(String library) {
        if (library.indexOf('/') < 0) {
            return;
        }
        java.nio.file.Path dir = java.nio.file.Path.of(library).toAbsolutePath().getParent();
        if (dir == null || !java.nio.file.Files.isDirectory(dir)) {
            return;
        }
        try (java.nio.file.DirectoryStream<java.nio.file.Path> found =
                java.nio.file.Files.newDirectoryStream(dir, "libnvrtc-builtins.so*")) {
            for (java.nio.file.Path p : found) {
                try {
                    CudaDriver.lookup(p.toString());
                } catch (NativeLibraryException ignored) {
                    // a builtins file that does not load (another variant) is not needed
                }
            }
        } catch (java.io.IOException ignored) {
            // unreadable directory: NVRTC will report the missing builtins itself
        }
    }

    /** @return the name or path it was loaded from */
    public String library() {
        return library;
    }

    /** @return {@code {major, minor}} of NVRTC */
    public int[] version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(INT);
            MemorySegment minor = a.allocate(INT);
            check("nvrtcVersion", (int) nvrtcVersion.invokeExact(major, minor));
            return new int[] {major.get(INT, 0), minor.get(INT, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Compiles one source file to PTX.
     *
     * @param source CUDA C++ text
     * @param name the file name used in messages
     * @param headers include name → text of every header it includes
     * @param options compiler options, e.g. {@code --gpu-architecture=compute_90}
     * @return the PTX text
     * @throws IllegalStateException with the compiler's log when compilation fails
     */
    public String compile(String source, String name, Map<String, String> headers, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(PTR);
            List<String> includeNames = List.copyOf(headers.keySet());
            MemorySegment headerTexts = a.allocate(ValueLayout.ADDRESS, Math.max(1, includeNames.size()));
            MemorySegment headerNames = a.allocate(ValueLayout.ADDRESS, Math.max(1, includeNames.size()));
            for (int i = 0; i < includeNames.size(); i++) {
                headerTexts.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(headers.get(includeNames.get(i))));
                headerNames.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(includeNames.get(i)));
            }
            check("nvrtcCreateProgram", (int) nvrtcCreateProgram.invokeExact(prog, a.allocateFrom(source),
                    a.allocateFrom(name), includeNames.size(), headerTexts, headerNames));
            MemorySegment handle = prog.get(ValueLayout.ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ValueLayout.ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) {
                    opts.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(options.get(i)));
                }
                int r = (int) nvrtcCompileProgram.invokeExact(handle, options.size(), opts);
                if (r != 0) {
                    throw new IllegalStateException("NVRTC failed to compile " + name + ": " + errorString(r) + "\n"
                            + log(a, handle));
                }
                MemorySegment size = a.allocate(LONG);
                check("nvrtcGetPTXSize", (int) nvrtcGetPTXSize.invokeExact(handle, size));
                MemorySegment ptx = a.allocate(size.get(LONG, 0));
                check("nvrtcGetPTX", (int) nvrtcGetPTX.invokeExact(handle, ptx));
                return ptx.getString(0, StandardCharsets.UTF_8);
            } finally {
                int ignored = (int) nvrtcDestroyProgram.invokeExact(prog);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private String log(Arena a, MemorySegment handle) throws Throwable {
        MemorySegment size = a.allocate(LONG);
        check("nvrtcGetProgramLogSize", (int) nvrtcGetProgramLogSize.invokeExact(handle, size));
        MemorySegment text = a.allocate(Math.max(1, size.get(LONG, 0)));
        check("nvrtcGetProgramLog", (int) nvrtcGetProgramLog.invokeExact(handle, text));
        return text.getString(0, StandardCharsets.UTF_8);
    }

    private String errorString(int code) {
        try {
            MemorySegment p = (MemorySegment) nvrtcGetErrorString.invokeExact(code);
            return p.equals(MemorySegment.NULL) ? "NVRTC error " + code : p.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "NVRTC error " + code;
        }
    }

    private void check(String call, int code) {
        if (code != 0) {
            throw new IllegalStateException(call + " failed: " + errorString(code) + " (" + code + ")");
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked exception from NVRTC", t);
    }
}
