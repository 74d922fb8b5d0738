/**
 * The heap backend: a based4j plugin in one page. It supplies memory and two kernel families (the Taylor feature
 * map and linear attention); based4j validates every call and reports every other family as unsupported.
 */
module org.example.heap {
    requires dev.based4j.api;

    provides dev.based4j.spi.BackendProvider with org.example.heap.HeapBackendProvider;
}
