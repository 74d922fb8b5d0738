package dev.based4j.cuda.driver;

/**
 * A native library (the CUDA driver, NVRTC) could not be loaded, or lacks a function this backend calls. Nothing
 * was called in it.
 */
public final class NativeLibraryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String library;

    /**
     * @param library the name or path that was tried
     * @param message what went wrong, naming the library
     * @param cause the loader's error, or null
     */
    public NativeLibraryException(String library, String message, Throwable cause) {
        super(message, cause);
        this.library = library;
    }

    /** @return the name or path that was tried */
    public String library() {
        return library;
    }
}
