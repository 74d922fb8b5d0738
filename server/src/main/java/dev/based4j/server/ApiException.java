package dev.based4j.server;

/**
 * A request the server answers with an OpenAI-style error object:
 * {@code {"error": {"message", "type", "param", "code"}}} and the HTTP status.
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    /**
     * @param status HTTP status
     * @param type OpenAI error type ({@code invalid_request_error}, {@code server_error}, ...)
     * @param param the request field at fault, or null
     * @param code a machine-readable code, or null
     * @param message what is wrong; for a field, starts with the field's name
     */
    public ApiException(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** @return a 400 naming {@code param}; the message reads {@code param: message} */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, param + ": " + message);
    }

    /** @return the HTTP status */
    public int status() {
        return status;
    }

    /** @return the OpenAI error type */
    public String type() {
        return type;
    }

    /** @return the field at fault, or null */
    public String param() {
        return param;
    }

    /** @return the code, or null */
    public String code() {
        return code;
    }
}
