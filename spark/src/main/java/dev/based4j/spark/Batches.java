package dev.based4j.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * Pulls up to {@code size} rows at a time from a partition, hands them to {@code process} and yields its rows in
 * order: a partition is never held whole, only one batch of inputs and outputs.
 */
final class Batches<I, O> implements Iterator<O> {
    private final Iterator<I> source;
    private final int size;
    private final Function<List<I>, List<O>> process;
    private Iterator<O> current = java.util.Collections.emptyIterator();

    Batches(Iterator<I> source, int size, Function<List<I>, List<O>> process) {
        this.source = source;
        this.size = size;
        this.process = process;
    }

    @Override
    public boolean hasNext() {
        while (!current.hasNext() && source.hasNext()) {
            List<I> batch = new ArrayList<>(size);
            while (batch.size() < size && source.hasNext()) {
                batch.add(source.next());
            }
            current = process.apply(batch).iterator();
        }
        return current.hasNext();
    }

    @Override
    public O next() {
        if (!hasNext()) {
            throw new NoSuchElementException("no more rows in this partition");
        }
        return current.next();
    }
}
