package dev.based4j.hardening;

import dev.based4j.model.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The child process of the tokenizer cases of {@link AdversarialInputsTest}: for each folder given, prints
 * {@code CASE name}, then loads its {@code tokenizer.json}, encodes its {@code prompt.txt} (or a short text) and
 * decodes the ids, and prints {@code ACCEPTED n} or {@code REFUSED ExceptionClass: message}. A native panic aborts
 * this process (exit 134), not the test; the last {@code CASE} line names the input that did it.
 */
public final class TokenizerProbe {
    private TokenizerProbe() {}

    /** @param args the case folders */
    public static void main(String[] args) throws Exception {
        for (String a : args) {
            Path dir = Path.of(a);
            System.out.println("CASE " + dir.getFileName());
            System.out.flush();
            Path promptFile = dir.resolve("prompt.txt");
            String prompt = Files.exists(promptFile) ? Files.readString(promptFile) : "hello world";
            try (TextTokenizer t = TextTokenizer.fromTokenizerJson(dir.resolve(TextTokenizer.TOKENIZER_FILE))) {
                int[] ids = t.encode(prompt);
                t.decode(ids);
                System.out.println("ACCEPTED " + ids.length);
            } catch (RuntimeException e) {
                System.out.println("REFUSED " + e.getClass().getSimpleName() + ": "
                        + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
            System.out.flush();
        }
    }
}
