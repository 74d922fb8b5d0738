/**
 * The float64 reference: plain, obviously-correct loops that follow the formulas of {@code spec/} one to one.
 * This is what "correct" means for every backend; the CPU backend's F64 path runs it and the conformance suite
 * compares against it. Arrays are row-major and flattened; dimension arguments say how to read them.
 */
package dev.based4j.reference;
