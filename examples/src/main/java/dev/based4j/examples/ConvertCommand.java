package dev.based4j.examples;

import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j convert}: writes a checkpoint folder again with its matrices stored in another weight format
 * ({@link Checkpoint#convert}): bf16 or f16 (half the bytes of f32), or int8 quantized once (a quarter, plus one
 * float32 scale per row or group), so that later loads read the stored format as is. The tensors are read,
 * converted and written one at a time.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Write a checkpoint folder again with its matrices (projections, MLP, embedding, head) stored"
                + " in another format: bf16, f16, int8 (one scale per output channel) or int8-g<N> (per group of N"
                + " inputs).",
                "Norms, biases and convolutions keep their values; config.json and the tokenizer files are copied."
                        + " Loading the result with the same --weights gives exactly the weights a load of the"
                        + " source in that format gives."})
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", required = true,
            description = "The checkpoint folder to read (config.json and model.safetensors, or an index and shards).")
    Path model;

    @Option(names = "--weights", paramLabel = "FORMAT", required = true,
            description = "The format to store the matrices in: f32, f64, bf16, f16, int8 or int8-g<N>.")
    String weightsName;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "The folder to write: a new or empty one.")
    Path out;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        WeightFormat format;
        try {
            format = WeightFormat.parse(weightsName);
        } catch (IllegalArgumentException e) {
            throw new Based4j.UserError("--" + e.getMessage());
        }
        if (!Files.isDirectory(model)) {
            throw new Based4j.UserError("--model: " + model + " is not a directory");
        }
        OutputFiles.checkFolder("--out", out);
        BasedConfig config = BasedConfig.read(model.resolve(Checkpoint.CONFIG_FILE));
        // one tensor at a time: the largest, read and converted, is what the conversion holds at once
        DType keep = format.type() == DType.F64 ? DType.F64 : DType.F32;
        long largest = config.weightShapes().values().stream().mapToLong(s -> s.elementCount()).max().orElse(0);
        MemoryBudget.current().check("--model " + model + " with --weights " + format.label(), List.of(
                MemoryBudget.Need.offHeap("the largest tensor, read and converted",
                        MemoryBudget.times(largest, keep.byteSize() + 1))));
        long t0 = System.nanoTime();
        Checkpoint.convert(model, out, format);
        long bytes;
        try {
            bytes = Files.size(out.resolve(Checkpoint.WEIGHTS_FILE));
        } catch (java.io.IOException e) {
            bytes = -1;
        }
        stdout.printf("wrote %s: %s weights, %s (%s in f32) in %.1f s%n", out, format.label(),
                MemoryBudget.format(bytes), MemoryBudget.format(BasedModel.weightBytes(config, DType.F32,
                        WeightFormat.F32)), (System.nanoTime() - t0) / 1e9);
        stdout.flush();
        return 0;
    }
}
