/**
 * Multi-query associative recall (MQAR), the synthetic task of the Zoology and BASED papers
 * ({@code spec/based-math.md} f): {@link dev.based4j.recall.MqarConfig} and {@link dev.based4j.recall.MqarGenerator}
 * make the sequences and labels exactly as zoology's {@code multiquery_ar} defines them,
 * {@link dev.based4j.recall.MqarSeeds} derives per-segment seeds, and {@link dev.based4j.recall.MqarEvaluator}
 * measures the accuracy of any {@link dev.based4j.recall.TokenModel} on them.
 */
package dev.based4j.recall;
