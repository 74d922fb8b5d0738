package dev.based4j.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** The outcome of one row, and how it becomes output rows and SQL function values. */
final class Results {
    /** A row's result struct, or why it has none. */
    sealed interface Outcome {
        /** @param value a row of the result type */
        record Value(Row value) implements Outcome {}

        /** @param problem the sentence for the error column */
        record Error(String problem) implements Outcome {}
    }

    private Results() {}

    /** @return {@code type}'s fields, all nullable, plus a nullable string {@code error} */
    static StructType withError(StructType type) {
        StructType out = new StructType();
        for (StructField f : type.fields()) {
            out = out.add(f.name(), f.dataType(), true);
        }
        return out.add("error", DataTypes.StringType, true);
    }

    /** @return {@code input}'s values followed by the result struct (or null) and the error (or null) */
    static Row appended(Row input, Outcome outcome) {
        Object[] values = new Object[input.length() + 2];
        for (int i = 0; i < input.length(); i++) {
            values[i] = input.get(i);
        }
        if (outcome instanceof Outcome.Value v) {
            values[input.length()] = v.value();
        } else {
            values[input.length() + 1] = ((Outcome.Error) outcome).problem();
        }
        return RowFactory.create(values);
    }

    /** @return the struct a SQL function returns: the result's fields (nulls on error) and the error */
    static Row flattened(Outcome outcome, int resultFields) {
        List<Object> values = new ArrayList<>(resultFields + 1);
        if (outcome instanceof Outcome.Value v) {
            for (int i = 0; i < resultFields; i++) {
                values.add(v.value().get(i));
            }
            values.add(null);
        } else {
            for (int i = 0; i < resultFields; i++) {
                values.add(null);
            }
            values.add(((Outcome.Error) outcome).problem());
        }
        return RowFactory.create(values.toArray());
    }
}
