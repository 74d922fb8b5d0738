/**
 * Running BASED language models: {@link dev.based4j.model.BasedConfig} reads a released {@code config.json},
 * {@link dev.based4j.model.Checkpoint} opens its safetensors weights (single file or sharded, header checked
 * before any tensor is touched, each tensor read into memory the process owns and checked finite),
 * {@link dev.based4j.model.MemoryBudget} holds what a model needs to the memory the JVM can give before it is
 * allocated, {@link dev.based4j.model.BasedModel} runs embedding, blocks and
 * tied head on any backend whose {@link dev.based4j.Capabilities#runsModels()} holds, and
 * {@link dev.based4j.model.Generator} prefills a prompt and decodes with the carried state.
 */
package dev.based4j.model;
