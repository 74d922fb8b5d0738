package dev.based4j.conformance;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Where golden files are read from: a folder on disk or the resources bundled with the suite. */
sealed interface GoldenSource {
    /** @return a description of {@code relative} for messages (a path or a resource name) */
    String describe(String relative);

    /** @return the size of {@code relative} in bytes, or -1 when it does not exist */
    long size(String relative);

    /** @return the bytes of {@code relative} */
    byte[] read(String relative) throws IOException;

    /** @return the sub-folders that hold a {@code case.json} (for folders without {@code index.json}) */
    List<String> caseFolders() throws IOException;

    /** A folder on disk. */
    record Folder(Path root) implements GoldenSource {
        @Override
        public String describe(String relative) {
            return root.resolve(relative).toString();
        }

        @Override
        public long size(String relative) {
            Path p = root.resolve(relative);
            try {
                return Files.isRegularFile(p) ? Files.size(p) : -1;
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public byte[] read(String relative) throws IOException {
            return Files.readAllBytes(root.resolve(relative));
        }

        @Override
        public List<String> caseFolders() throws IOException {
            try (Stream<Path> children = Files.list(root)) {
                List<String> out = new ArrayList<>();
                children.filter(p -> Files.isRegularFile(p.resolve("case.json")))
                        .map(p -> p.getFileName().toString()).sorted().forEach(out::add);
                return out;
            }
        }
    }

    /** Resources next to {@link GoldenSet} under {@code golden/}, listed by {@code index.json}. */
    record Bundled(String base) implements GoldenSource {
        @Override
        public String describe(String relative) {
            return "bundled resource " + base + relative;
        }

        private URL url(String relative) {
            return GoldenSet.class.getResource(base + relative);
        }

        @Override
        public long size(String relative) {
            URL u = url(relative);
            if (u == null) {
                return -1;
            }
            try {
                URLConnection c = u.openConnection();
                long n = c.getContentLengthLong();
                if (n >= 0) {
                    return n;
                }
                try (InputStream in = c.getInputStream()) {
                    return in.transferTo(java.io.OutputStream.nullOutputStream());
                }
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public byte[] read(String relative) throws IOException {
            try (InputStream in = GoldenSet.class.getResourceAsStream(base + relative)) {
                if (in == null) {
                    throw new IOException("no resource " + base + relative);
                }
                return in.readAllBytes();
            }
        }

        @Override
        public List<String> caseFolders() {
            // resources cannot be listed inside a jar; the bundled set always has its index.json
            return List.of();
        }
    }
}
