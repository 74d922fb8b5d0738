package dev.based4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.based4j.layer.WeightSource;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
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
 * <p>Weights may be stored as F32, F64, BF16 or F16, and are read in the {@link WeightFormat} the model asks for one
 * tensor at a time ({@link #weights}): a BF16 file read as bf16 is copied as is, an F32 file read as bf16 is rounded
 * a chunk at a time, and read as int8 it is quantized a chunk of rows at a time, so no float copy of the whole model
 * is ever made. A checkpoint saved quantized ({@link #convert}) holds each matrix (projection, MLP, embedding, head)
 * as {@code I8} values under its own name and its scales as {@code F32} under {@code <name>.scales} ({@code [out]}
 * for one scale per output channel, {@code [out, in / group]} per group), and says so in the {@code __metadata__} of
 * its file: {@code "quantization": "int8"} or {@code "int8-g<group>"}. Such a checkpoint loads only as that format,
 * and gives back exactly the values and scales that were saved.
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

    /** The {@code __metadata__} key of a quantized checkpoint's weight files: {@code int8} or {@code int8-g<N>}. */
    public static final String QUANTIZATION = "quantization";
    /** Files copied along by {@link #convert} when the source directory has them. */
    static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "vocab.json", "merges.txt",
            "tokenizer_config.json", "special_tokens_map.json", "generation_config.json");

    private final Path directory;
    private final BasedConfig config;
    private final List<SafetensorsFile> files;
    private final Map<String, Located> tensors;
    private final WeightFormat quantization;

    private record Located(SafetensorsFile file, String storedName) {}

    private Checkpoint(Path directory, BasedConfig config, List<SafetensorsFile> files, Map<String, Located> tensors,
            WeightFormat quantization) {
        this.directory = directory;
        this.config = config;
        this.files = files;
        this.tensors = tensors;
        this.quantization = quantization;
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
            return new Checkpoint(directory, config, List.copyOf(files), Collections.unmodifiableMap(tensors),
                    quantization(files));
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /**
     * @return the int8 format the weight files declare in their {@code __metadata__}, or null when none does
     * @throws CheckpointException naming the file when a value is not an int8 format or files disagree
     */
    private static WeightFormat quantization(List<SafetensorsFile> files) {
        WeightFormat found = null;
        SafetensorsFile where = null;
        for (SafetensorsFile f : files) {
            String text = f.metadata().get(QUANTIZATION);
            WeightFormat q = null;
            if (text != null) {
                try {
                    q = WeightFormat.parse(text);
                } catch (IllegalArgumentException e) {
                    q = null;
                }
                if (q == null || q.type() != DType.I8) {
                    throw new CheckpointException(f.path() + ": __metadata__." + QUANTIZATION + " is '" + text
                            + "', expected int8 or int8-g<N> (N in " + Weight.MIN_GROUP + ".." + Weight.MAX_GROUP + ")");
                }
            }
            if (where != null && !java.util.Objects.equals(q, found)) {
                throw new CheckpointException(f.path() + ": __metadata__." + QUANTIZATION + " is "
                        + (q == null ? "absent" : "'" + q.label() + "'") + " but " + where.path().getFileName()
                        + " says " + (found == null ? "nothing" : "'" + found.label() + "'")
                        + "; every weight file of a checkpoint is stored alike");
            }
            found = q;
            where = f;
        }
        return found;
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

    /** @return the int8 format the checkpoint is stored in ({@code __metadata__.quantization}), if any */
    public Optional<WeightFormat> quantization() {
        return Optional.ofNullable(quantization);
    }

    /**
     * The weights as a source: {@link WeightSource#get} reads a tensor as {@code dtype} (norms, biases, convolutions);
     * {@link WeightSource#weight} reads a matrix in the format asked for, one tensor at a time
     * ({@link #weight}).
     */
    public WeightSource weights(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        return new WeightSource() {
            @Override
            public HostTensor get(String name) {
                return tensor(name, dtype);
            }

            @Override
            public HostWeight weight(String name, Shape expected, WeightFormat format) {
                return Checkpoint.this.weight(name, expected, format);
            }
        };
    }

    /**
     * Reads the matrix {@code name} in {@code format}: stored int8 values with their {@code name.scales} as they are
     * (the checkpoint is then quantized in exactly that format), else the stored floats as {@code format}: as is,
     * rounded to bf16 or f16, or quantized to int8 a chunk of rows at a time.
     *
     * @throws CheckpointException naming the tensor when it is missing, not of shape {@code expected}, stored int8 but
     *     asked for in another format, stored float in a quantized checkpoint, its scales are missing, of the wrong
     *     shape or type or not finite, or a value does not fit the format
     */
    public HostWeight weight(String name, Shape expected, WeightFormat format) {
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(format, "format");
        Located l = tensors.get(name);
        if (l == null) {
            throw new CheckpointException(directory + ": missing tensor '" + name + "'");
        }
        SafetensorsFile.Entry e = l.file().entries().get(l.storedName());
        List<Long> want = java.util.Arrays.stream(expected.dims()).asLongStream().boxed().toList();
        if (!e.shape().equals(want)) {
            throw new CheckpointException(l.file().path() + ": tensor '" + name + "' expected shape " + expected
                    + ", found " + e.shapeText());
        }
        if (e.dtype() == StoredType.I8 || quantization != null) {
            HostWeight w = storedInt8(name, l, e);
            if (!w.format().equals(format)) {
                throw new CheckpointException(l.file().path() + ": tensor '" + name + "' is stored quantized as "
                        + w.format().label() + " (with '" + name + WeightSource.SCALES + "'); load the checkpoint with"
                        + " weights " + w.format().label() + ", not " + format.label());
            }
            return w;
        }
        return switch (format.type()) {
            case I8 -> l.file().quantized(l.storedName(), format.groupSize());
            default -> HostWeight.of(l.file().tensor(l.storedName(), format.type()));
        };
    }

    /** A matrix of a quantized checkpoint: its int8 values and its scales, checked against each other. */
    private HostWeight storedInt8(String name, Located l, SafetensorsFile.Entry e) {
        String scalesName = name + WeightSource.SCALES;
        if (quantization == null) {
            throw new CheckpointException(l.file().path() + ": tensor '" + name + "' is I8, but no weight file says how"
                    + " it is quantized (__metadata__." + QUANTIZATION + " is absent)");
        }
        if (e.dtype() != StoredType.I8) {
            throw new CheckpointException(l.file().path() + ": tensor '" + name + "' is " + e.dtype() + ", but the"
                    + " checkpoint is quantized as " + quantization.label() + " (__metadata__." + QUANTIZATION
                    + ") and expects I8 values with their scales '" + scalesName + "'");
        }
        Located s = tensors.get(scalesName);
        if (s == null) {
            throw new CheckpointException(directory + ": missing tensor '" + scalesName + "', the scales of the I8"
                    + " values '" + name + "'");
        }
        SafetensorsFile.Entry se = s.file().entries().get(s.storedName());
        if (se.dtype() != StoredType.F32 && se.dtype() != StoredType.F64) {
            throw new CheckpointException(s.file().path() + ": tensor '" + scalesName + "' is " + se.dtype()
                    + "; scales must be F32 or F64");
        }
        HostTensor values = l.file().tensor(l.storedName(), DType.I8);
        HostTensor scales = s.file().tensor(s.storedName(), se.dtype() == StoredType.F64 ? DType.F64 : DType.F32);
        HostWeight w;
        try {
            w = HostWeight.stored(name, values, scales);
        } catch (IllegalArgumentException ex) {
            throw new CheckpointException(s.file().path() + ": " + ex.getMessage(), ex);
        }
        if (!w.format().equals(quantization)) {
            throw new CheckpointException(s.file().path() + ": tensor '" + scalesName + "' " + se.shapeText()
                    + " gives " + w.format().label() + ", but the checkpoint is quantized as " + quantization.label()
                    + " (__metadata__." + QUANTIZATION + ")");
        }
        return w;
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
     * Writes the checkpoint of {@code source} to {@code target} with every matrix (projections, MLP, embedding, head)
     * stored in {@code format}: bf16 or f16 rounded, int8 quantized (values under each name, float32 scales under
     * {@code <name>.scales}, {@code __metadata__.quantization} naming the format), or f32/f64; norms, biases and
     * convolutions stay as they are (f32, or f64 when stored so). One {@code model.safetensors}, {@code config.json}
     * and the tokenizer files are copied along. Tensors are read, converted and written one at a time. Loading the
     * result in {@code format} gives exactly the weights {@link #weight} gives from {@code source} in that format.
     *
     * @throws CheckpointException naming the file when {@code source} is not a valid checkpoint (as
     *     {@link BasedModel#load} checks it), {@code target} is {@code source} or a directory that is not empty, or a
     *     file cannot be written
     */
    public static void convert(Path source, Path target, WeightFormat format) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(format, "format");
        Path to = target.toAbsolutePath().normalize();
        if (to.equals(source.toAbsolutePath().normalize())) {
            throw new CheckpointException(target + ": the converted checkpoint must go to another directory than its"
                    + " source");
        }
        try (Checkpoint ck = open(source)) {
            BasedModel.checkAgainstConfig(ck, ck.config());
            if (Files.exists(to) && (!Files.isDirectory(to) || !isEmpty(to))) {
                throw new CheckpointException(target + ": exists and is not an empty directory; the converted"
                        + " checkpoint goes to a new one");
            }
            List<SafetensorsWriter.Stored> layout = new ArrayList<>();
            for (var e : ck.config().weightShapes().entrySet()) {
                String name = e.getKey();
                Shape shape = e.getValue();
                StoredType storedAs = ck.entry(name).orElseThrow().dtype();
                if (shape.rank() != 2) {
                    DType keep = storedAs == StoredType.F64 ? DType.F64 : DType.F32;
                    layout.add(new SafetensorsWriter.Stored(name, keep, shape));
                } else if (format.type() != DType.I8) {
                    layout.add(new SafetensorsWriter.Stored(name, format.type(), shape));
                } else {
                    layout.add(new SafetensorsWriter.Stored(name, DType.I8, shape));
                    boolean f64 = ck.entry(name + WeightSource.SCALES).map(x -> x.dtype() == StoredType.F64)
                            .orElse(false);
                    int runs = format.groupSize() == 0 ? 1 : shape.dim(1) / Math.max(1, format.groupSize());
                    layout.add(new SafetensorsWriter.Stored(name + WeightSource.SCALES, f64 ? DType.F64 : DType.F32,
                            format.groupSize() == 0 ? Shape.of(shape.dim(0)) : Shape.of(shape.dim(0), runs)));
                }
            }
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("format", "pt");
            if (format.type() == DType.I8) {
                metadata.put(QUANTIZATION, format.label());
            }
            Files.createDirectories(to);
            Files.copy(ck.directory().resolve(CONFIG_FILE), to.resolve(CONFIG_FILE));
            for (String f : TOKENIZER_FILES) {
                Path p = ck.directory().resolve(f);
                if (Files.isRegularFile(p)) {
                    Files.copy(p, to.resolve(f));
                }
            }
            HostWeight[] last = {null};
            SafetensorsWriter.writeAsStored(to.resolve(WEIGHTS_FILE), layout, metadata, entry -> {
                if (entry.name().endsWith(WeightSource.SCALES) && last[0] != null) {
                    HostWeight w = last[0];
                    last[0] = null;
                    return w.scales();
                }
                if (entry.shape().rank() != 2) {
                    return ck.tensor(entry.name(), entry.dtype());
                }
                HostWeight w = ck.weight(entry.name(), entry.shape(), format);
                last[0] = w.scales() == null ? null : w;
                return w.values();
            });
            ck.checkUnchanged();
        } catch (IOException e) {
            throw new CheckpointException(target + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static boolean isEmpty(Path directory) throws IOException {
        try (var entries = Files.list(directory)) {
            return entries.findAny().isEmpty();
        }
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
