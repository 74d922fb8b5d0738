/**
 * Feature maps φ of linear attention: a sealed family of records, one per map of the BASED paper's comparison
 * ({@link dev.based4j.featuremap.Taylor} is the one BASED uses). Each knows its output dimension, carries its
 * weights where it has any, and has a float64 reference implementation ({@link
 * dev.based4j.featuremap.FeatureMap#apply}). Formulas: {@code spec/based-math.md} a and f.
 */
package dev.based4j.featuremap;
