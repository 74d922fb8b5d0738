/**
 * Hardening harnesses any backend can run, in one line through {@link
 * dev.based4j.conformance.hardening.BackendHardeningKit} or programmatically: {@link
 * dev.based4j.conformance.hardening.InvalidCallFuzzer} (thousands of random invalid calls, each refused with a
 * documented exception naming the parameter, none corrupting a later valid call), {@link
 * dev.based4j.conformance.hardening.LeakCheck} (kernel calls and state save/load cycles leave the live allocation
 * count and the process RSS where they were), {@link dev.based4j.conformance.hardening.ConcurrencyCheck} (threads on
 * one backend give bit-identical results to the same work done serially; a shared state is refused, not corrupted)
 * and {@link dev.based4j.conformance.hardening.FaultCheck} (a failing kernel leaves the state unchanged and the
 * backend usable). Sizes come from {@link dev.based4j.conformance.hardening.HardeningScale}.
 */
package dev.based4j.conformance.hardening;
