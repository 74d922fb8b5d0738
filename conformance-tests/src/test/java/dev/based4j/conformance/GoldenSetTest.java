package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.conformance.testing.ReferenceBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading golden folders: the bundled set, discovery without an index, and malformed cases. */
class GoldenSetTest {
    @TempDir
    Path dir;

    /** Copies a bundled case into {@code into/name}. */
    private static Path copyBundled(Path into, String name) throws IOException {
        GoldenCase c = GoldenSet.bundled().cases().stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow();
        Path target = Files.createDirectories(into.resolve(name));
        copy("golden/" + name + "/case.json", target.resolve("case.json"));
        for (GoldenCase.TensorSpec t : c.tensors().values()) {
            copy("golden/" + name + "/" + t.file(), target.resolve(t.file()));
            if (t.fileF64() != null) {
                copy("golden/" + name + "/" + t.fileF64(), target.resolve(t.fileF64()));
            }
        }
        return target;
    }

    private static void copy(String resource, Path to) throws IOException {
        try (InputStream in = GoldenSet.class.getResourceAsStream(resource)) {
            Files.write(to, in.readAllBytes());
        }
    }

    @Nested
    class Reading {
        @Test
        void theBundledSetHoldsEveryPublicCaseOfEveryOp() {
            List<GoldenCase> cases = GoldenSet.bundled().cases();
            assertThat(cases).hasSize(32);
            assertThat(cases).extracting(GoldenCase::op).containsAll(GoldenOps.OPS);
        }

        @Test
        void aFolderWithoutIndexIsDiscoveredThroughItsCaseFolders() throws IOException {
            copyBundled(dir, "swa_b2h1l7_hd16_w4");
            copyBundled(dir, "fm_b2h3l5_d8");
            GoldenSet set = GoldenSet.load(dir);
            assertThat(set.cases()).extracting(GoldenCase::name).containsExactly("fm_b2h3l5_d8", "swa_b2h1l7_hd16_w4");
            assertThat(set.conformanceCases()).hasSize(4)
                    .allMatch(c -> c.run(ReferenceBackend.create(), ReferenceBackend::create).passed());
        }

        @Test
        void aSingleCaseFolderIsASetOfOne() throws IOException {
            Path one = copyBundled(dir, "hy_b2h1l5_f8_hd16_w3_p2");
            assertThat(GoldenSet.load(one).cases()).extracting(GoldenCase::name)
                    .containsExactly("hy_b2h1l5_f8_hd16_w3_p2");
        }

        @Test
        void anIndexNamesTheCasesToRun() throws IOException {
            copyBundled(dir, "swa_b2h1l7_hd16_w4");
            copyBundled(dir, "fm_b2h3l5_d8");
            Files.writeString(dir.resolve("index.json"), "{\"cases\": [{\"name\": \"swa_b2h1l7_hd16_w4\", "
                    + "\"op\": \"sliding_window_attn\"}]}");
            assertThat(GoldenSet.load(dir).cases()).extracting(GoldenCase::name).containsExactly("swa_b2h1l7_hd16_w4");
        }
    }

    @Nested
    class Refusing {
        @Test
        void aMissingFolder() {
            assertThatThrownBy(() -> GoldenSet.load(dir.resolve("absent"))).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("absent").hasMessageContaining("does not exist");
        }

        @Test
        void aFolderWithoutCases() {
            assertThatThrownBy(() -> GoldenSet.load(dir)).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("holds no case");
        }

        @Test
        void aMissingTensorFile() throws IOException {
            Path c = copyBundled(dir, "swa_b2h1l7_hd16_w4");
            Files.delete(c.resolve("k.f32"));
            assertThatThrownBy(() -> GoldenSet.load(dir)).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("swa_b2h1l7_hd16_w4").hasMessageContaining("k.f32")
                    .hasMessageContaining("missing file");
        }

        @Test
        void aFileOfTheWrongByteCount() throws IOException {
            Path c = copyBundled(dir, "swa_b2h1l7_hd16_w4");
            byte[] bytes = Files.readAllBytes(c.resolve("o.f64"));
            Files.write(c.resolve("o.f64"), java.util.Arrays.copyOf(bytes, bytes.length - 8));
            assertThatThrownBy(() -> GoldenSet.load(dir)).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("swa_b2h1l7_hd16_w4").hasMessageContaining("o.f64")
                    .hasMessageContaining((bytes.length - 8) + " bytes, expected " + bytes.length);
        }

        @Test
        void anUnknownOp() throws IOException {
            Path c = copyBundled(dir, "swa_b2h1l7_hd16_w4");
            Path json = c.resolve("case.json");
            Files.writeString(json, Files.readString(json).replace("\"sliding_window_attn\"", "\"mamba_scan\""));
            assertThatThrownBy(() -> GoldenSet.load(dir)).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("swa_b2h1l7_hd16_w4").hasMessageContaining("unknown op 'mamba_scan'");
        }

        @Test
        void aCaseJsonThatIsNotJson() throws IOException {
            Path c = copyBundled(dir, "swa_b2h1l7_hd16_w4");
            Files.writeString(c.resolve("case.json"), "{ not json");
            assertThatThrownBy(() -> GoldenSet.load(dir)).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("swa_b2h1l7_hd16_w4").hasMessageContaining("case.json")
                    .hasMessageContaining("not valid JSON");
        }

        @Test
        void anIndexThatListsAMissingCase() throws IOException {
            Files.writeString(dir.resolve("index.json"), "{\"cases\": [{\"name\": \"gone\", \"op\": \"feature_map\"}]}");
            assertThatThrownBy(() -> GoldenSet.load(dir)).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("'gone'").hasMessageContaining("case.json");
        }

        @Test
        void aCaseWithoutAnOutputItsOpNeeds() throws IOException {
            Path c = copyBundled(dir, "swa_b2h1l7_hd16_w4");
            Path json = c.resolve("case.json");
            Files.writeString(json, Files.readString(json).replace("\"o\":", "\"out\":"));
            assertThatThrownBy(() -> GoldenSet.load(dir)).isInstanceOf(GoldenFormatException.class)
                    .hasMessageContaining("swa_b2h1l7_hd16_w4").hasMessageContaining("needs tensor 'o'");
        }
    }
}
