/**
 * The recall-capacity experiment: how much one attention head recalls for the size of its recurrent state.
 *
 * <p>It runs MQAR ({@link dev.based4j.recall.MqarGenerator}) through {@link
 * dev.based4j.recall.capacity.AssociativeRecallModel}, a one-head model built by hand rather than trained: random
 * key and value embeddings, the previous token's key written with the current token's value (the shift that the
 * BaseConv layer of the paper's MQAR models learns), and one head of the backend's kernels as the memory
 * ({@link dev.based4j.recall.capacity.RecallMixer}: linear attention with each feature map, a sliding window, the
 * fused linear-plus-window layer, full softmax attention). {@link
 * dev.based4j.recall.capacity.CapacityExperiment} sweeps mixers, numbers of pairs and seeds;
 * {@link dev.based4j.recall.capacity.CapacityResults} summarises, and the writers turn the results into a table,
 * CSV files and two charts shaped like the BASED paper's figures.
 */
package dev.based4j.recall.capacity;
