package dev.based4j.cuda.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class KernelImagesTest {
    /** Set by the build to the nvcc it used; empty when the machine had none. */
    private static final String NVCC = System.getProperty("based4j.cuda.ptxExpected", "");
    private static final Pattern KERNEL = Pattern.compile("extern \"C\" __global__ void(?: __launch_bounds__\\([^)]*\\))?"
            + "[\\s\\\\]+(\\w+?)_##SUF\\(");

    @Test
    void packagesPtxForSm80AndSm90WhenTheBuildHadNvcc() {
        assumeTrue(!NVCC.isBlank(), "this build had no nvcc, so no PTX is packaged (NVRTC compiles at run time)");
        assertThat(KernelImages.packagedArchitectures()).containsExactly(80, 90);
        assertThat(KernelImages.packagedCompiler()).get().asString().matches("\\d+\\.\\d+");
    }

    @Test
    void everyKernelOfEverySourceIsInThePackagedPtxInBothPrecisions() throws IOException {
        assumeTrue(!NVCC.isBlank(), "this build had no nvcc, so no PTX is packaged");
        for (int arch : List.of(80, 90)) {
            for (String module : KernelImages.MODULES) {
                String ptx = resource("/dev/based4j/cuda/ptx/sm_" + arch + "/" + module + ".ptx");
                assertThat(ptx).as("PTX of %s for sm_%d", module, arch).contains(".target sm_" + arch);
                for (String kernel : kernelsOf(module)) {
                    assertThat(ptx).as("%s in %s.ptx (sm_%d)", kernel, module, arch)
                            .contains(".entry " + kernel + "_f32(").contains(".entry " + kernel + "_f64(");
                }
            }
        }
    }

    @Test
    void sourcesDeclareTheKernelsTheBackendLaunches() {
        List<String> all = new ArrayList<>();
        for (String module : KernelImages.MODULES) {
            all.addAll(kernelsOf(module));
        }
        assertThat(all).contains("la_taylor_chunked", "la_taylor_quadratic", "la_taylor_state_update", "la_generic",
                "la_decode", "swa_prefill", "swa_decode", "swa_ring_write", "based_far_stream", "based_decode",
                "causal_conv", "causal_conv_inplace", "conv_window_update", "feature_map", "linear", "rms_norm", "silu",
                "gelu", "add", "mul", "embedding", "rotary", "split_heads", "merge_heads", "slice");
    }

    private static List<String> kernelsOf(String module) {
        Matcher m = KERNEL.matcher(KernelImages.source(module));
        List<String> names = new ArrayList<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        assertThat(names).as("kernels declared in %s.cu", module).isNotEmpty();
        return names;
    }

    private static String resource(String path) throws IOException {
        try (InputStream in = KernelImagesTest.class.getResourceAsStream(path)) {
            assertThat(in).as("resource %s", path).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
