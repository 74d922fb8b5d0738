/**
 * BASED language models on any based4j backend: Hugging Face {@code config.json} ({@link dev.based4j.model.BasedConfig}),
 * safetensors weights read into memory the process owns ({@link dev.based4j.model.SafetensorsFile}), the GPT-2
 * byte-level BPE tokenizer
 * ({@link dev.based4j.model.TextTokenizer}), the whole model ({@link dev.based4j.model.BasedModel}) and generation
 * ({@link dev.based4j.model.Generator}).
 *
 * <p>A module of its own rather than a package of {@code dev.based4j.api}: the api has no run-time dependencies,
 * and this needs a JSON parser (Jackson) and a tokenizer (DJL's Hugging Face tokenizers). It reads the physical
 * memory size through {@code jdk.management} for its host-memory budget ({@link dev.based4j.model.MemoryBudget}).
 */
module dev.based4j.model {
    requires transitive dev.based4j.api;
    requires com.fasterxml.jackson.databind;
    requires ai.djl.tokenizers;
    requires jdk.management;

    exports dev.based4j.model;
}
