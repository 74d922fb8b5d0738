package dev.based4j.examples;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.TextTokenizer;
import dev.based4j.server.CharacterCodec;
import dev.based4j.server.LayerStackRunner;
import dev.based4j.server.OpenAiServer;
import dev.based4j.server.SchedulerConfig;
import dev.based4j.server.ServedModel;
import dev.based4j.server.ServerConfig;
import dev.based4j.server.TokenCodec;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j serve}: an OpenAI-compatible HTTP server ({@link OpenAiServer}) for a checkpoint, the seeded tiny
 * model or a seeded stack of {@code based4j bench}'s shapes, until interrupted (Ctrl-C or SIGTERM shut it down
 * gracefully).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over the OpenAI HTTP API: POST /v1/completions and /v1/chat/completions"
                + " (streaming with server-sent events), GET /v1/models, /health and /metrics (Prometheus).",
                "Every active request's sequence runs in one scheduler step after another (continuous batching);"
                        + " prompt states are kept in a prefix cache. See docs/serving.md."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** Where the model comes from. */
    static final class Source {
        @Option(names = "--model", paramLabel = "DIR", description = "Checkpoint directory (config.json,"
                + " model.safetensors, and tokenizer.json or vocab.json + merges.txt for text prompts).")
        Path model;

        @Option(names = "--tiny-seed", paramLabel = "SEED", description = "Instead of --model: the built-in tiny"
                + " model with random weights made from SEED; its 100 ids read as characters (printable ASCII).")
        Long tinySeed;

        @Option(names = "--stack", paramLabel = "NAME", description = "Instead of --model: a seeded stack of the"
                + " shapes 'based4j bench' measures, with an embedding and head over the tiny model's character"
                + " vocabulary: based-small, attention-small, based-360m or attention-360m (full attention's KV cache"
                + " holds --max-total-tokens).")
        String stack;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--backend", paramLabel = "NAME", description = "Backend (cpu, opencl, cuda, onnx, ...); default:"
            + " based4j.backend / BASED4J_BACKEND, else the best usable one.")
    String backendName;

    @Option(names = "--weights", paramLabel = "FORMAT", defaultValue = "f32",
            description = "Weight format in memory: f32 (default; the only one so far).")
    String weights;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = ServerConfig.LOOPBACK,
            description = "Address to bind (default ${DEFAULT-VALUE}: this machine only; 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "TCP port (default"
            + " ${DEFAULT-VALUE}; 0 for any free one).")
    int port;

    @Option(names = "--served-model-name", paramLabel = "ID", description = "Model id clients send (default: the"
            + " checkpoint folder's name, tiny-seed-S, or the stack's name).")
    String servedName;

    @Option(names = "--stack-seed", paramLabel = "SEED", defaultValue = "42", description = "Seed of --stack's"
            + " weights (default ${DEFAULT-VALUE}).")
    long stackSeed;

    @Option(names = "--max-sequences", paramLabel = "N", defaultValue = "64", description = "Sequences decoded"
            + " together at most; each holds a state (default ${DEFAULT-VALUE}).")
    int maxSequences;

    @Option(names = "--max-queue", paramLabel = "N", defaultValue = "256", description = "Requests that may wait"
            + " for a free sequence; more get 429 (default ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--prefill-chunk", paramLabel = "TOKENS", defaultValue = "256", description = "Prompt tokens"
            + " per prefill chunk; cached prefixes are multiples of it (default ${DEFAULT-VALUE}).")
    int prefillChunk;

    @Option(names = "--prefill-tokens-per-step", paramLabel = "TOKENS", defaultValue = "256", description =
            "Prompt tokens prefilled per scheduler step besides the decodes, in whole chunks, at least one chunk"
                    + " (default ${DEFAULT-VALUE}).")
    int prefillPerStep;

    @Option(names = "--prefix-cache-mb", paramLabel = "MB", defaultValue = "1024", description = "Memory for"
            + " cached prefix states, MiB; 0 turns the cache off (default ${DEFAULT-VALUE}).")
    long prefixCacheMb;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", defaultValue = "32768", description = "Longest prompt"
            + " accepted (default ${DEFAULT-VALUE}).")
    int maxPromptTokens;

    @Option(names = "--max-total-tokens", paramLabel = "N", defaultValue = "33792", description = "Most prompt plus"
            + " generated tokens per request (default ${DEFAULT-VALUE}).")
    int maxTotalTokens;

    @Option(names = "--request-timeout", paramLabel = "SECONDS", defaultValue = "600", description = "Deadline of"
            + " a request from its arrival (default ${DEFAULT-VALUE}).")
    long requestTimeout;

    @Option(names = "--shutdown-grace", paramLabel = "SECONDS", defaultValue = "30", description = "How long"
            + " running requests may finish after a shutdown begins (default ${DEFAULT-VALUE}).")
    long shutdownGrace;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!weights.toLowerCase(Locale.ROOT).equals("f32")) {
            throw new Based4j.UserError("--weights: only f32 is available, got '" + weights + "'");
        }
        if (source.model != null && !Files.isDirectory(source.model)) {
            throw new Based4j.UserError("--model: " + source.model + " is not a directory");
        }
        if (requestTimeout < 1 || shutdownGrace < 0) {
            throw new Based4j.UserError(requestTimeout < 1 ? "--request-timeout: expected >= 1 second, got "
                    + requestTimeout : "--shutdown-grace: expected >= 0 seconds, got " + shutdownGrace);
        }
        if (prefixCacheMb < 0 || prefixCacheMb > 1L << 30) {
            throw new Based4j.UserError("--prefix-cache-mb: expected 0.." + (1L << 30) + ", got " + prefixCacheMb);
        }
        SchedulerConfig scheduler = new SchedulerConfig(maxSequences, maxQueue, prefillChunk, prefillPerStep);
        ServerConfig config = new ServerConfig(host, port, scheduler, prefixCacheMb << 20, maxPromptTokens,
                maxTotalTokens, Duration.ofSeconds(requestTimeout), Duration.ofSeconds(shutdownGrace), 16L << 20);
        try (Backend backend = backendName == null ? Backends.select() : Backends.select(backendName);
                Loaded loaded = load(backend)) {
            LayerStackRunner runner = new LayerStackRunner(loaded.stack);
            long slotBytes = runner.stateBytes() * (long) maxSequences;
            long physical = physicalMemory();
            if (physical > 0 && slotBytes + config.prefixCacheBytes() > physical) {
                throw new Based4j.UserError(String.format(Locale.ROOT, "--max-sequences: %d states of %.1f MiB and a"
                        + " prefix cache of %d MiB need more than this machine's %.1f GiB of memory", maxSequences,
                        runner.stateBytes() / 1048576.0, prefixCacheMb, physical / 1073741824.0));
            }
            ServedModel model = new ServedModel(loaded.name, runner, loaded.codec, loaded.samplingVocab,
                    loaded.endOfText);
            OpenAiServer server = OpenAiServer.start(model, config);
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                server.close();
                stopped.countDown();
            }, "based4j-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            out.printf(Locale.ROOT, "based4j serve: '%s' on http://%s:%d/v1 (%s on %s)%n", loaded.name, host,
                    server.port(), loaded.stack.dtype().label(), backend.name());
            out.printf(Locale.ROOT, "  %d sequences x %.2f MiB of state = %.1f MiB; prefix cache %d MiB; prefill"
                            + " chunks of %d tokens, %d prompt tokens per step; positions per sequence: %s%n",
                    maxSequences, runner.stateBytes() / 1048576.0, slotBytes / 1048576.0, prefixCacheMb,
                    prefillChunk, prefillPerStep, runner.maxPositions() == Long.MAX_VALUE ? "unbounded"
                            : Long.toString(runner.maxPositions()));
            out.println("  text: " + (loaded.codec == null ? "none (token-id prompts only)" : loaded.codec)
                    + "; Ctrl-C stops it");
            out.flush();
            stopped.await();
            return 0;
        }
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return -1;
    }

    /** A loaded model and what the server needs besides its stack; closes what it owns. */
    private record Loaded(String name, LayerStack stack, TokenCodec codec, int samplingVocab, OptionalInt endOfText,
            AutoCloseable owner, TextTokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            try (owner) {
                if (tokenizer != null) {
                    tokenizer.close();
                }
            }
        }
    }

    private Loaded load(Backend backend) {
        if (source.tinySeed != null) {
            BasedModel m = BasedModel.random(backend, BasedConfig.tiny(), source.tinySeed, DType.F32);
            return new Loaded(name("tiny-seed-" + source.tinySeed), m.stack(), new CharacterCodec(),
                    m.config().vocabSize(), m.config().eosTokenId(), m, null);
        }
        if (source.stack != null) {
            String[] parts = source.stack.toLowerCase(Locale.ROOT).split("-", 2);
            if (parts.length != 2 || !(parts[0].equals(Tradeoff.BASED) || parts[0].equals(Tradeoff.ATTENTION))
                    || !(parts[1].equals("small") || parts[1].equals("360m"))) {
                throw new Based4j.UserError("--stack: expected based-small, attention-small, based-360m or"
                        + " attention-360m, got '" + source.stack + "'");
            }
            Tradeoff.Size size = Tradeoff.Size.named(parts[1]);
            LayerStack.Config hidden = parts[0].equals(Tradeoff.BASED) ? size.based() : size.attention(maxTotalTokens);
            int vocab = CharacterCodec.VOCAB_SIZE;
            LayerStack.Config withVocab = new LayerStack.Config(vocab, hidden.mixers(), hidden.mlp(), hidden.normEps(),
                    true);
            LayerStack stack = LayerStack.random(backend, DType.F32, withVocab, stackSeed);
            return new Loaded(name(source.stack.toLowerCase(Locale.ROOT)), stack, new CharacterCodec(), vocab,
                    OptionalInt.empty(), stack, null);
        }
        BasedModel m = BasedModel.load(source.model, backend, DType.F32);
        TextTokenizer tokenizer = null;
        try {
            tokenizer = TextTokenizer.isPresent(source.model) ? TextTokenizer.load(source.model) : null;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        Path fileName = source.model.toAbsolutePath().normalize().getFileName();
        return new Loaded(name(fileName == null ? "model" : fileName.toString()), m.stack(),
                tokenizer == null ? null : TokenCodec.of(tokenizer), m.config().vocabSize(), m.config().eosTokenId(),
                m, tokenizer);
    }

    private String name(String fallback) {
        return servedName != null ? servedName : fallback;
    }
}
