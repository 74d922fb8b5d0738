package dev.based4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.based4j.layer.WeightSource;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A model directory in the Hugging Face layout: {@code config.json} plus either {@code model.safetensors} or
 * {@code model.safetensors.index.json} with its shards. Every weight file is opened and its header checked when the
 * checkpoint opens; tensors are read into host memory this process owns and checked when asked for
 * ({@link SafetensorsFile#tensor}), so nothing read depends on the file afterwards.
 *
 * <p>Tensor names are normalised as the original {@code from_pretrained_hf} does: a leading {@code model.} is
 * dropped and keys containing {@code metrics} (training counters) are skipped.
 *
 * <p><b>PyTorch {@code .bin} files are not read.</b> They are Python pickles, a format that runs code; a reader safe
 * against hostile files would re-implement a restricted unpickler plus PyTorch's storage layout, which is a security
 * surface of its own. Converting once with the reference tools is one line (see {@link #CONVERSION_COMMAND}), and a
 * directory holding only {@code pytorch_model.bin} gets an error that quotes it.
 */
public final class Checkpoint implements AutoCloseable {
    /** The configuration file. */
    public static final String CONFIG_FILE = "config.json";
    /** The single weight file. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** The index of a sharded checkpoint. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** How to turn a PyTorch {@code pytorch_model.bin} into {@code model.safetensors} (needs torch, safetensors). */
    public static final String CONVERSION_COMMAND = "python -c \"import torch; from safetensors.torch import save_file; "
            + "sd = torch.load('pytorch_model.bin', map_location='cpu', weights_only=True); "
            + "save_file({k: v.contiguous() for k, v in sd.items() if k != 'lm_head.weight' and 'metrics' not in k}, "
            + "'model.safetensors')\"";

    private final Path directory;
    private final BasedConfig config;
    private final List<SafetensorsFile> files;
    private final Map<String, Located> tensors;

    private record Located(SafetensorsFile file, String storedName) {}

    private Checkpoint(Path directory, BasedConfig config, List<SafetensorsFile> files, Map<String, Located> tensors) {
        this.directory = directory;
        this.config = config;
        this.files = files;
        this.tensors = tensors;
    }

    /**
     * Opens {@code directory}: reads {@code config.json}, maps the weights and checks their headers (not yet the
     * tensor names and shapes: {@link BasedModel} does that against the config).
     *
     * @throws CheckpointException naming the file and the problem
     */
    public static Checkpoint open(Path directory) {
        Objects.requireNonNull(directory, "directory");
        if (!Files.isDirectory(directory)) {
            throw new CheckpointException(directory + ": not a directory (expected a model directory with "
                    + CONFIG_FILE + " and " + WEIGHTS_FILE + ")");
        }
        Path configFile = directory.resolve(CONFIG_FILE);
        if (!Files.exists(configFile)) {
            throw new CheckpointException(directory + ": no " + CONFIG_FILE);
        }
        BasedConfig config = BasedConfig.read(configFile);
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            Map<String, Located> tensors = new LinkedHashMap<>();
            Path index = directory.resolve(INDEX_FILE);
            Path single = directory.resolve(WEIGHTS_FILE);
            if (Files.exists(index)) {
                openSharded(directory, index, files, tensors);
            } else if (Files.exists(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                files.add(f);
                for (String stored : f.entries().keySet()) {
                    add(tensors, stored, new Located(f, stored));
                }
            } else if (Files.exists(directory.resolve("pytorch_model.bin"))
                    || Files.exists(directory.resolve("pytorch_model.bin.index.json"))) {
                throw new CheckpointException(directory + ": has PyTorch pytorch_model.bin weights but no "
                        + WEIGHTS_FILE + "; based4j reads safetensors only (a pickle can run code). Convert once, in"
                        + " that directory: " + CONVERSION_COMMAND);
            } else {
                throw new CheckpointException(directory + ": no " + WEIGHTS_FILE + " and no " + INDEX_FILE);
            }
            return new Checkpoint(directory, config, List.copyOf(files), Collections.unmodifiableMap(tensors));
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static void add(Map<String, Located> tensors, String stored, Located where) {
        if (stored.contains("metrics")) {
            return;
        }
        String name = stored.startsWith("model.") ? stored.substring("model.".length()) : stored;
        Located before = tensors.putIfAbsent(name, where);
        if (before != null) {
            throw new CheckpointException(where.file().path() + ": tensor '" + stored + "' and '" + before.storedName()
                    + "' in " + before.file().path().getFileName() + " both name '" + name + "'");
        }
    }

    private static void openSharded(Path directory, Path index, List<SafetensorsFile> files,
            Map<String, Located> tensors) {
        JsonNode root;
        try {
            root = ConfigJson.MAPPER.readTree(UntrustedFiles.readText(index, UntrustedFiles.TABLE_LIMIT));
        } catch (JsonProcessingException e) {
            throw new CheckpointException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new CheckpointException(index + ": expected an object 'weight_map' from tensor name to shard file");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String shardName = e.getValue().isTextual() ? e.getValue().asText() : "";
            if (shardName.isEmpty() || shardName.contains("/") || shardName.contains("\\") || shardName.equals("..")
                    || shardName.equals(".") || !shardName.endsWith(".safetensors")) {
                throw new CheckpointException(index + ": weight_map." + e.getKey() + ": expected a .safetensors file"
                        + " name in the same directory, got " + e.getValue());
            }
            SafetensorsFile shard = shards.get(shardName);
            if (shard == null) {
                Path p = directory.resolve(shardName);
                if (!Files.exists(p)) {
                    throw new CheckpointException(index + ": shard '" + shardName + "' (holding '" + e.getKey()
                            + "') does not exist");
                }
                shard = SafetensorsFile.open(p);
                files.add(shard);
                shards.put(shardName, shard);
            }
            if (!shard.entries().containsKey(e.getKey())) {
                throw new CheckpointException(index + ": lists tensor '" + e.getKey() + "' in shard '" + shardName
                        + "', whose header has no such tensor");
            }
            add(tensors, e.getKey(), new Located(shard, e.getKey()));
        }
        for (SafetensorsFile shard : shards.values()) {
            for (String stored : shard.entries().keySet()) {
                JsonNode listed = map.get(stored);
                if (listed == null || !listed.asText().equals(shard.path().getFileName().toString())) {
                    throw new CheckpointException(shard.path() + ": holds tensor '" + stored + "', which "
                            + INDEX_FILE + " places " + (listed == null ? "nowhere" : "in '" + listed.asText() + "'"));
                }
            }
        }
    }

    /** @return the directory */
    public Path directory() {
        return directory;
    }

    /** @return the architecture read from {@code config.json} */
    public BasedConfig config() {
        return config;
    }

    /** @return the weight files */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** @return normalised names of every tensor, sorted */
    public Set<String> tensorNames() {
        return Collections.unmodifiableSet(new TreeSet<>(tensors.keySet()));
    }

    /** @return the header entry of {@code name} (normalised name) */
    public Optional<SafetensorsFile.Entry> entry(String name) {
        Located l = tensors.get(name);
        return l == null ? Optional.empty() : Optional.of(l.file().entries().get(l.storedName()));
    }

    /** @return which file holds {@code name} */
    public Optional<Path> fileOf(String name) {
        Located l = tensors.get(name);
        return l == null ? Optional.empty() : Optional.of(l.file().path());
    }

    /** @return bytes of tensor data over all files */
    public long weightBytes() {
        return files.stream().mapToLong(SafetensorsFile::dataBytes).sum();
    }

    /**
     * @return tensor {@code name} as {@code dtype}, read and checked into host memory this process owns
     *     ({@link SafetensorsFile#tensor})
     * @throws CheckpointException naming the tensor when it is missing, or the file when it cannot be read or holds a
     *     value that is not finite
     */
    public HostTensor tensor(String name, DType dtype) {
        Located l = tensors.get(name);
        if (l == null) {
            throw new CheckpointException(directory + ": missing tensor '" + name + "'");
        }
        return l.file().tensor(l.storedName(), dtype);
    }

    /** @return the weights as a source that converts to {@code dtype} */
    public WeightSource weights(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        return name -> tensor(name, dtype);
    }

    /**
     * @throws CheckpointException naming the first weight file that was modified, truncated or replaced since the
     *     checkpoint was opened (tensors read before and after the change would come from different files)
     */
    public void checkUnchanged() {
        files.forEach(SafetensorsFile::checkUnchanged);
    }

    /** Closes every file. Tensors already read stay valid. Idempotent. */
    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    /**
     * Writes a checkpoint directory in the released layout: {@code config.json} and {@code model.safetensors}, or
     * with {@code shards > 1} that many {@code model-0000i-of-0000n.safetensors} plus {@code model.safetensors.index.json}.
     *
     * @param tensors weights by checkpoint name, in the order to write
     * @param stored element type on disk
     * @param shards number of weight files, at least 1
     */
    public static void write(Path directory, BasedConfig config, Map<String, HostTensor> tensors, StoredType stored,
            int shards) {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(tensors, "tensors");
        if (shards < 1 || shards > Math.max(1, tensors.size())) {
            throw new IllegalArgumentException("shards: expected 1.." + Math.max(1, tensors.size()) + ", got " + shards);
        }
        try {
            Files.createDirectories(directory);
            Files.writeString(directory.resolve(CONFIG_FILE), config.toJson());
        } catch (IOException e) {
            throw new CheckpointException(directory + ": cannot write: " + e.getMessage(), e);
        }
        if (shards == 1) {
            SafetensorsWriter.write(directory.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"), stored);
            return;
        }
        List<String> names = new ArrayList<>(tensors.keySet());
        var index = ConfigJson.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size",
                tensors.values().stream().mapToLong(t -> t.shape().elementCount() * stored.byteSize()).sum());
        var weightMap = index.putObject("weight_map");
        int per = Math.ceilDiv(names.size(), shards);
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            Map<String, HostTensor> part = new LinkedHashMap<>();
            for (String n : names.subList(Math.min(names.size(), s * per), Math.min(names.size(), (s + 1) * per))) {
                part.put(n, tensors.get(n));
                weightMap.put(n, file);
            }
            SafetensorsWriter.write(directory.resolve(file), part, Map.of("format", "pt"), stored);
        }
        try {
            Files.writeString(directory.resolve(INDEX_FILE), ConfigJson.MAPPER.writeValueAsString(index));
        } catch (IOException e) {
            throw new CheckpointException(directory + ": cannot write " + INDEX_FILE + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "Checkpoint[" + directory + ", " + tensors.size() + " tensors in " + files.size() + " file(s)]";
    }
}
