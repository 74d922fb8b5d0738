package dev.based4j.examples;

import dev.based4j.Backends;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.model.TextTokenizer;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j generate}: loads a checkpoint directory (or builds a tiny model from a seed), generates a
 * continuation of the prompt and streams it; ends with prefill and decode throughput on standard error.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text with a BASED checkpoint (config.json + model.safetensors in the released layout).",
                "Text streams to standard output as it is generated; the load progress and the prefill and decode"
                        + " tokens/s go to standard error."})
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** Where the model comes from: a directory or a seed. */
    static final class Source {
        @Option(names = "--model", paramLabel = "DIR",
                description = "Model directory: config.json, model.safetensors (or an index and shards), and"
                        + " tokenizer.json or vocab.json + merges.txt for text prompts.")
        Path model;

        @Option(names = "--tiny-seed", paramLabel = "SEED",
                description = "Instead of --model: a built-in tiny model (the golden tiny_lm shape, vocabulary 100)"
                        + " with random weights made from SEED. It has no tokenizer: use --prompt-ids.")
        Long tinySeed;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    /** The prompt: text or ids. */
    static final class Prompt {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text (needs the model's tokenizer).")
        String text;

        @Option(names = "--prompt-ids", paramLabel = "IDS", split = ",",
                description = "Prompt as comma-separated token ids, e.g. 1,5,9 (no tokenizer needed).")
        int[] ids;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    @Option(names = "--print-ids", description = "Print the generated ids, one line, comma-separated (implied when"
            + " the model has no tokenizer).")
    boolean printIds;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64", description = "Tokens to generate at"
            + " most (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "Sampling temperature; 0 is greedy (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0",
            description = "Sample among the K most likely tokens; 0 keeps all (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1",
            description = "Sample among the most likely tokens whose probability adds up to P (default"
                    + " ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Sampling seed (default"
            + " ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop-ids", paramLabel = "IDS", split = ",",
            description = "Token ids that end generation (default: the config's eos_token_id, if any).")
    int[] stopIds;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Backend (cpu, opencl, cuda, onnx, ...); default: based4j.backend / BASED4J_BACKEND, else"
                    + " the best usable one.")
    String backendName;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "f32",
            description = "Element type of weights and activations: f32 or f64 (default ${DEFAULT-VALUE}).")
    String dtypeName;

    @Option(names = "--weights", paramLabel = "FORMAT",
            description = "How the matrices (projections, MLP, embedding, head) are stored: f32, f64, bf16, f16, int8"
                    + " (one scale per output channel) or int8-g<N> (per group of N inputs); activations, states and"
                    + " sums stay in --dtype. Default: the checkpoint's own (int8 when it was saved quantized), else"
                    + " --dtype.")
    String weightsName;

    @Option(names = "--max-context", paramLabel = "N", defaultValue = "" + DEFAULT_MAX_CONTEXT,
            description = "Most tokens a sequence may hold, prompt plus generated: BASED's state has a fixed size, "
                    + "so this limit is the command line's, not the model's (default ${DEFAULT-VALUE}).")
    int maxContext;

    @Option(names = "--warm-up", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "Before the prompt, prefill up to " + Generator.PREFILL_CHUNK + " tokens and run up to "
                    + WarmUp.MAX_DECODE_STEPS + " planned decode steps on a scratch state, so that the JIT has compiled"
                    + " the kernels before the prompt's prefill and the streamed tokens. It adds its own compute (more"
                    + " for a larger model) and does not make the run shorter; its time goes to standard error"
                    + " (default: off).")
    boolean warmUp;

    @Mixin
    TimeLimit timeLimit;

    /**
     * Default of {@code --max-context}. A BASED model has no learned positions and a state of fixed size, so its own
     * context has no end; this bound keeps a mistyped {@code --max-tokens} from running for days, and can be raised.
     */
    static final int DEFAULT_MAX_CONTEXT = 1 << 20;
    /** Heap per generated or prompt token: the boxed id in the generator's list, its copies in the result. */
    static final long HEAP_BYTES_PER_TOKEN = 40;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        RunControl control = RunControl.current();
        DType dtype = Based4j.computeType(dtypeName);
        WeightFormat format = weightFormat(weightsName, dtype);
        if (source.model != null && !Files.isDirectory(source.model)) {
            throw new Based4j.UserError("--model: " + source.model + " is not a directory");
        }
        if (maxTokens < 1) {
            throw new Based4j.UserError("--max-tokens: expected at least 1, got " + maxTokens);
        }
        if (maxContext < 1) {
            throw new Based4j.UserError("--max-context: expected at least 1, got " + maxContext);
        }
        if (prompt.ids != null) {
            checkContext(prompt.ids.length);
        }
        BasedConfig config = source.tinySeed != null ? BasedConfig.tiny()
                : BasedConfig.read(source.model.resolve(Checkpoint.CONFIG_FILE));
        checkMemory(config, dtype, format);
        // the tokenizer is loaded whenever the model folder has one (it also prints the generated text)
        boolean hasTokenizer = source.model != null && TextTokenizer.isPresent(source.model);
        String tokenizerOption = prompt.text != null ? "--prompt" : "--model";
        if (hasTokenizer) {
            TokenizerCache.check(tokenizerOption);
        }
        timeLimit.applyTo(control);
        try (Backend backend = backendName == null ? Backends.select() : Backends.select(backendName);
                BasedModel model = load(backend, config, dtype, format, err);
                TextTokenizer tokenizer = hasTokenizer ? TokenizerCache.load(tokenizerOption, source.model) : null) {
            int[] ids = promptIds(tokenizer);
            checkContext(ids.length);
            Set<Integer> stops = new HashSet<>();
            if (stopIds != null) {
                Arrays.stream(stopIds).forEach(stops::add);
            } else {
                model.config().eosTokenId().ifPresent(stops::add);
            }
            GenerationOptions options = new GenerationOptions(maxTokens, temperature, topK, topP, seed, stops);
            if (warmUp) {
                WarmUp.Result w = WarmUp.run(model, Math.min(ids.length, Generator.PREFILL_CHUNK),
                        Math.min(maxTokens - 1, WarmUp.MAX_DECODE_STEPS), control);
                err.println("warm-up: " + w.describe() + " (before the prompt)");
                err.flush();
            }
            boolean ids2 = printIds || tokenizer == null;
            TextTokenizer.StreamingDecoder decoder = tokenizer == null ? null : tokenizer.streamingDecoder();
            if (decoder != null && prompt.text != null) {
                out.print(prompt.text);
                out.flush();
            }
            Generator.Cancellation cancellation = new Generator.Cancellation();
            control.onStop(cancellation::cancel);
            Generator.Result r = new Generator(model).generate(ids, options, (seq, token, index) -> {
                if (decoder != null) {
                    out.print(decoder.push(token));
                    out.flush();
                }
            }, cancellation);
            if (decoder != null) {
                out.println(decoder.flush());
            }
            if (ids2) {
                out.println(Arrays.stream(r.tokens().get(0)).mapToObj(Integer::toString)
                        .collect(Collectors.joining(",")));
            }
            out.flush();
            err.printf("prefill: %d tokens, %.2f tokens/s; decode: %d tokens, %.2f tokens/s (%s, %s%s on %s)%n",
                    r.prefillTokens(), r.prefillTokensPerSecond(), r.decodeTokens(), r.decodeTokensPerSecond(),
                    r.reasons().get(0).name().toLowerCase(java.util.Locale.ROOT), model.dtype().label(),
                    model.weightFormat().isReduced() ? ", " + model.weightFormat().label() + " weights" : "",
                    backend.name());
            err.flush();
            if (r.reasons().get(0) == Generator.StopReason.CANCELLED && control.stopRequested()) {
                throw control.stopped("after " + r.tokens().get(0).length + " of at most " + maxTokens
                        + " generated tokens (printed above)");
            }
            return 0;
        }
    }

    /**
     * Bounds the run by the context limit: the prompt plus {@code --max-tokens} must fit {@code --max-context}.
     *
     * @throws Based4j.UserError naming --max-tokens, the prompt's length and the limit
     */
    private void checkContext(int promptTokens) {
        if ((long) promptTokens + maxTokens > maxContext) {
            throw new Based4j.UserError("--max-tokens: " + maxTokens + " plus a prompt of " + promptTokens
                    + " token" + (promptTokens == 1 ? "" : "s") + " exceed the context limit of " + maxContext + " tokens (--max-context); generate fewer "
                    + "or raise --max-context");
        }
    }

    /**
     * @return the format {@code --weights} names, or null (the checkpoint's own, else the compute type) when absent
     * @throws Based4j.UserError naming --weights when it is not a format, or does not fit {@code --dtype}
     */
    static WeightFormat weightFormat(String name, DType dtype) {
        if (name == null) {
            return null;
        }
        try {
            WeightFormat f = WeightFormat.parse(name);
            f.requireFits(dtype);
            return f;
        } catch (IllegalArgumentException e) {
            throw new Based4j.UserError("--" + e.getMessage() + " (--dtype " + dtype.label() + ")");
        }
    }

    /** Checks weights, logits and token lists against the memory budget before loading anything. */
    private void checkMemory(BasedConfig config, DType dtype, WeightFormat format) {
        long context = (long) maxContext;
        long vocab = config.paddedVocabSize();
        // without --weights a quantized checkpoint loads smaller than this: the compute type bounds it
        WeightFormat f = format != null ? format : WeightFormat.of(dtype);
        long weights;
        try {
            weights = BasedModel.weightBytes(config, dtype, f);
        } catch (ArithmeticException e) {
            weights = Long.MAX_VALUE;
        }
        MemoryBudget.current().check("--max-tokens " + maxTokens + " with --max-context " + maxContext + " and "
                + (source.model == null ? "the tiny model" : "--model " + source.model) + " in " + dtype.label(),
                java.util.List.of(
                        MemoryBudget.Need.offHeap("weights (" + config.parameterCount() + " parameters, "
                                + (f.isReduced() ? f.label() + " matrices, " : "") + dtype.label() + ")", weights),
                        MemoryBudget.Need.offHeap("prefill logits [" + Generator.PREFILL_CHUNK + ", " + vocab + "]",
                                MemoryBudget.times(Generator.PREFILL_CHUNK, vocab, dtype.byteSize(), 2)),
                        MemoryBudget.Need.heap("token ids (" + context + " at most)",
                                MemoryBudget.times(context, HEAP_BYTES_PER_TOKEN)),
                        MemoryBudget.Need.heap("a row of logits [" + vocab + "]", MemoryBudget.times(vocab, 8))));
    }

    private BasedModel load(Backend backend, BasedConfig config, DType dtype, WeightFormat format, PrintWriter err) {
        if (source.tinySeed != null) {
            return BasedModel.random(backend, config, source.tinySeed, dtype,
                    format != null ? format : WeightFormat.of(dtype));
        }
        long totalMb = Math.max(1, BasedModel.weightBytes(config, dtype, format != null ? format
                : WeightFormat.of(dtype)) >> 20);
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("loading").setInitialMax(totalMb).setUnit(" MB", 1)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(100).continuousUpdate()
                .setConsumer(new DelegatingProgressBarConsumer(line -> {
                    err.print("\r" + line);
                    err.flush();
                })).build()) {
            BasedModel m = BasedModel.load(source.model, backend, dtype, format,
                    (name, done, total) -> bar.stepTo(done >> 20));
            bar.stepTo(totalMb);
            return m;
        } finally {
            err.println();
        }
    }

    private int[] promptIds(TextTokenizer tokenizer) {
        if (prompt.ids != null) {
            if (prompt.ids.length == 0) {
                throw new Based4j.UserError("--prompt-ids: expected at least one token id");
            }
            return prompt.ids;
        }
        if (tokenizer == null) {
            throw new Based4j.UserError("--prompt: " + (source.model == null ? "the tiny model" : source.model)
                    + " has no tokenizer (tokenizer.json or vocab.json + merges.txt); give the prompt as --prompt-ids");
        }
        int[] ids = tokenizer.encode(prompt.text);
        if (ids.length == 0) {
            throw new Based4j.UserError("--prompt: the text encodes to no tokens");
        }
        return ids;
    }

}
