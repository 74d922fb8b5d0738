/**
 * What a backend plugin implements. A plugin is a {@link dev.based4j.spi.BackendProvider} (found by
 * {@link java.util.ServiceLoader}; cheap to construct; name, {@code probe()}, its settings) whose {@code create()}
 * returns an {@link dev.based4j.spi.Engine}: its {@link dev.based4j.spi.Memory} (allocate, upload, download) and the
 * kernel families it has ({@link dev.based4j.spi.FeatureMapFamily}, {@link dev.based4j.spi.LinearAttentionFamily},
 * {@link dev.based4j.spi.SlidingWindowFamily}, {@link dev.based4j.spi.BasedAttentionFamily},
 * {@link dev.based4j.spi.ConvFamily}, {@link dev.based4j.spi.PlumbingFamily}). based4j validates every call once
 * and hands each family a call record with its dimensions derived and its tensors checked; what a plugin does not
 * supply is unsupported by construction. Users never import this package.
 */
package dev.based4j.spi;
