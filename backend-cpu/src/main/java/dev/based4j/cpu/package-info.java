/**
 * The CPU backend: {@link dev.based4j.cpu.CpuBackendProvider} (name {@code cpu}), the
 * {@link dev.based4j.cpu.CpuBackend} it creates and its {@link dev.based4j.cpu.CpuTensor}s in native memory.
 * Applications select it through {@link dev.based4j.Backends}; nothing here needs to be imported.
 */
package dev.based4j.cpu;
