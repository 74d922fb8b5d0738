package dev.based4j.server;

import java.util.List;

/**
 * The plain chat template: the BASED checkpoints are base models without a chat template of their own, so chat
 * messages become a plain transcript the model continues.
 *
 * <pre>
 * {system or developer content}\n\n        (each such message, in place)
 * User: {content}\n
 * Assistant: {content}\n
 * ...
 * Assistant:
 * </pre>
 *
 * Generation also stops at {@value #STOP} (the model starting the user's next turn), which is not part of the
 * answer.
 */
final class ChatTemplate {
    /** Stop string added to every chat request. */
    static final String STOP = "\nUser:";

    private ChatTemplate() {}

    /** One message: its role ({@code system}, {@code developer}, {@code user} or {@code assistant}) and text. */
    record Message(String role, String content) {}

    /** @return the transcript of {@code messages}, ending with the assistant's cue */
    static String render(List<Message> messages) {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) {
            switch (m.role()) {
                case "system", "developer" -> sb.append(m.content()).append("\n\n");
                case "user" -> sb.append("User: ").append(m.content()).append('\n');
                case "assistant" -> sb.append("Assistant: ").append(m.content()).append('\n');
                default -> throw new IllegalArgumentException("role: unexpected '" + m.role() + "'");
            }
        }
        return sb.append("Assistant:").toString();
    }
}
