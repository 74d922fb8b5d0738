package dev.based4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExecutorModelsTest {
    static final ModelSpec SPEC = ModelSpec.at(TinyCheckpoints.ids().toString()).onBackend("cpu");

    @Test
    void aJvmLoadsEachSpecOnceAndSharesItBetweenTasks() {
        LoadedModel first = ExecutorModels.get(SPEC);
        assertThat(ExecutorModels.get(ModelSpec.at(TinyCheckpoints.ids().toString()).onBackend("cpu")))
                .isSameAs(first);
        assertThat(first.folder()).isEqualTo(TinyCheckpoints.ids());
        assertThat(first.tokenizer()).isNull();
    }

    @Test
    void anotherWeightFormatIsAnotherModel() {
        LoadedModel f64 = ExecutorModels.get(SPEC.withWeightFormat("f64"));
        assertThat(f64).isNotSameAs(ExecutorModels.get(SPEC));
        assertThat(f64.model().dtype().label()).isEqualTo("f64");
    }

    @Test
    void storedWeightsLoadInTheirFormatAsAModelOfTheirOwn() {
        LoadedModel int8 = ExecutorModels.get(SPEC.withWeights("int8"));
        assertThat(int8).isNotSameAs(ExecutorModels.get(SPEC));
        assertThat(int8.model().weightFormat().label()).isEqualTo("int8");
        assertThat(int8.model().dtype().label()).isEqualTo("f32");
        assertThat(int8.model().weightBytes()).isLessThan(ExecutorModels.get(SPEC).model().weightBytes() / 3);
    }

    @Test
    void aFailedLoadIsNotRememberedSoARetryLoadsAgain() {
        ModelSpec unknownBackend = SPEC.onBackend("no-such-backend");
        assertThatThrownBy(() -> ExecutorModels.get(unknownBackend)).hasMessageContaining("no-such-backend");
        assertThatThrownBy(() -> ExecutorModels.get(unknownBackend)).hasMessageContaining("no-such-backend");
    }

    @Test
    void aRelativePathThatIsNowhereNamesThePlacesLookedAt() {
        assertThatThrownBy(() -> ExecutorModels.resolve("missing-model"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("model path 'missing-model': no such folder on this executor; looked at ")
                .hasMessageContaining("missing-model")
                .hasMessageContaining("--files");
    }

    @Test
    void aBlankPathIsRefusedWhenTheSpecIsMade() {
        assertThatThrownBy(() -> ModelSpec.at(" ")).hasMessage(
                "path: expected the model folder as the executors see it, got a blank string");
    }
}
