/**
 * Entry points: {@link dev.based4j.Backends} selects a backend at run time; {@link dev.based4j.Settings} lists
 * every setting with its system property and environment variable.
 */
package dev.based4j;
