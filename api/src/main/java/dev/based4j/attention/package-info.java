/**
 * Immutable, validated specs of the mixers: {@link dev.based4j.attention.LinearAttentionSpec},
 * {@link dev.based4j.attention.SlidingWindowSpec} (with its {@code lookback}),
 * {@link dev.based4j.attention.BasedAttentionSpec} (the fused linear-plus-window layer) and
 * {@link dev.based4j.attention.BaseConvSpec}. Definitions: {@code spec/sdk-conventions.md}.
 */
package dev.based4j.attention;
