package dev.based4j.onnx;

import dev.based4j.Availability;

/** Child JVM of {@link LongCommandLineTest}: probes the onnx backend and runs one kernel. */
public final class LongCommandLineMain {
    private LongCommandLineMain() {}

    public static void main(String[] args) {
        Availability a = new OnnxBackendProvider().probe();
        System.out.println("onnx probe: " + (a.usable() ? "usable " + a.device() : a.reason()));
        try (dev.based4j.Backend b = dev.based4j.Backends.select("onnx");
                dev.based4j.tensor.Tensor x = b.upload(dev.based4j.tensor.HostTensor.of(new float[] {1, -2},
                        dev.based4j.tensor.Shape.of(2)));
                dev.based4j.tensor.Tensor y = b.silu(x)) {
            System.out.println("silu ran: " + java.util.Arrays.toString(b.download(y).toDoubleArray()));
        }
    }
}
