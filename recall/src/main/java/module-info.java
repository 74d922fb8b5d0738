/**
 * based4j recall experiments: multi-query associative recall (MQAR) data exactly as zoology generates it, an MQAR
 * evaluator for any {@link dev.based4j.recall.TokenModel}, and the recall-capacity experiment that measures how
 * much a linear-attention state, a sliding window and the fused layer recall for their size, on any backend.
 */
module dev.based4j.recall {
    requires transitive dev.based4j.api;
    requires transitive org.knowm.xchart;
    requires me.tongfei.progressbar;
    requires java.desktop;

    exports dev.based4j.recall;
    exports dev.based4j.recall.capacity;
}
