/**
 * The implementation of {@link dev.based4j.Backend} over a plugin's {@link dev.based4j.spi.Engine}: argument checks,
 * the allocation ledger, write claims, in-flight calls and state backups, one job per class. Not exported.
 */
package dev.based4j.internal;
