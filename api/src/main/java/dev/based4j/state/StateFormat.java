package dev.based4j.state;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * The saved-state byte format, version {@value #VERSION}. Little-endian throughout:
 *
 * <pre>
 * magic      8 bytes  "B4JSTATE"
 * version    u16      format version (1)
 * count      u16      number of states that follow
 * per state:
 *   kind     u16      {@link StateSnapshot.Kind#code()}
 *   position i64      0 .. {@link #MAX_POSITION} (2^53)
 *   metas    u16, then per entry: name (u16 length + UTF-8), i32 value
 *   tensors  u16, then per entry: name (u16 length + UTF-8), dtype u8 (1 = f32, 2 = f64),
 *            rank u8, dims i32 × rank, element data
 * length     i64      bytes from the magic to here
 * crc32c     u32      CRC-32C of every byte before it
 * </pre>
 *
 * Reading checks the magic and the version first, then the trailer length and the checksum, then every length
 * against the bytes present before allocating, so every truncation and every single-byte change is refused with
 * {@link CorruptStateException}. A checksum only proves the bytes are the ones written, not that a writer told the
 * truth, so every field is also checked against this layout: a position above {@link #MAX_POSITION} (where
 * {@code position + tokens} could wrap negative in a kernel) is refused even with a valid checksum. {@link #load}
 * reads regular files only (a FIFO would block it, {@code /dev/zero} would never end) and refuses a file larger than
 * {@link #MAX_BYTES} or than the heap can give before reading it; {@link #read} stops at the same bound.
 *
 * <p>Versions: this build reads the versions in {@link #READABLE_VERSIONS} and writes {@link #VERSION}. A file of any
 * other version, older or newer, is refused with {@link UnsupportedStateVersionException}, which names the version
 * found and the ones readable; it is never read as if it were the current one. Version 1 is the first version, so
 * there is no older one yet; when the layout changes, the new version number goes into {@link #VERSION} and the
 * reader of version 1 stays, and a version-1 file kept in the tests proves it still loads.
 *
 * <p>Writes are atomic: {@link #save} writes a temporary file beside the target, forces it to the device and moves it
 * over the target, so a crash or a failed write mid-save leaves the old file whole. A crash may leave the temporary
 * file ({@code <name>*.tmp}) behind; nothing reads it.
 */
public final class StateFormat {
    /** The current format version, the one written. */
    public static final int VERSION = 1;
    /** The format versions this build reads. */
    public static final java.util.Set<Integer> READABLE_VERSIONS = java.util.Set.of(1);
    private static final byte[] MAGIC = "B4JSTATE".getBytes(StandardCharsets.US_ASCII);
    /** Upper bound on one file, refused before reading it into memory. */
    public static final long MAX_BYTES = 1L << 34;
    /**
     * The largest position a state may have, 2⁵³: positions stay exact as doubles (rotary angles are computed from
     * them), and {@code position + tokens} of any call fits a {@code long} with room to spare.
     */
    public static final long MAX_POSITION = 1L << 53;

    private StateFormat() {}

    /** Encodes the snapshots. */
    public static byte[] encode(List<StateSnapshot> states) {
        Objects.requireNonNull(states, "states");
        if (states.size() > 0xFFFF) {
            throw new IllegalArgumentException("states: expected at most 65535, got " + states.size());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Writer w = new Writer(out);
        w.bytes(MAGIC);
        w.u16(VERSION);
        w.u16(states.size());
        for (StateSnapshot s : states) {
            Objects.requireNonNull(s, "states: null element");
            w.u16(s.kind().code());
            w.i64(s.position());
            w.u16(s.meta().size());
            for (StateSnapshot.Meta m : s.meta()) {
                w.string(m.name());
                w.i32(m.value());
            }
            w.u16(s.tensors().size());
            for (StateSnapshot.Entry e : s.tensors()) {
                w.string(e.name());
                HostTensor t = e.tensor();
                w.u8(t.dtype() == DType.F32 ? 1 : 2);
                int[] dims = t.shape().dims();
                w.u8(dims.length);
                for (int d : dims) {
                    w.i32(d);
                }
                w.bytes(t.segment().toArray(ValueLayout.JAVA_BYTE));
            }
        }
        w.i64(out.size() + 8L);
        CRC32C crc = new CRC32C();
        byte[] body = out.toByteArray();
        crc.update(body);
        w.i32((int) crc.getValue());
        return out.toByteArray();
    }

    /**
     * Decodes bytes written by {@link #encode}.
     *
     * @throws UnsupportedStateVersionException (a {@link CorruptStateException}) when they are of a format version
     *     this build does not read, named in the message
     * @throws CorruptStateException when the bytes are truncated or corrupted
     */
    public static List<StateSnapshot> decode(byte[] bytes) throws CorruptStateException {
        Objects.requireNonNull(bytes, "bytes");
        int minimum = MAGIC.length + 4 + 12;
        if (bytes.length < minimum) {
            throw new CorruptStateException("state: " + bytes.length + " bytes is shorter than the smallest valid state ("
                    + minimum + " bytes): truncated");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new CorruptStateException("state: not a based4j state file (magic bytes differ at offset " + i + ")");
            }
        }
        int fileVersion = ByteBuffer.wrap(bytes, MAGIC.length, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xFFFF;
        if (!READABLE_VERSIONS.contains(fileVersion)) {
            throw new UnsupportedStateVersionException(fileVersion, "state: written in format version " + fileVersion
                    + (fileVersion > VERSION ? ", newer than" : ", older than") + " this build reads (versions "
                    + new java.util.TreeSet<>(READABLE_VERSIONS) + "); load it with the based4j version that wrote it"
                    + " and resume from a new snapshot, or start a new state");
        }
        ByteBuffer tail = ByteBuffer.wrap(bytes, bytes.length - 12, 12).order(ByteOrder.LITTLE_ENDIAN);
        long declared = tail.getLong();
        int storedCrc = tail.getInt();
        if (declared != bytes.length - 4L) {
            throw new CorruptStateException("state: trailer says " + (declared + 4) + " bytes, file has " + bytes.length
                    + ": truncated or extended");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != storedCrc) {
            throw new CorruptStateException(String.format(
                    "state: checksum mismatch (stored crc32c %08x, computed %08x): the file is corrupted",
                    storedCrc, (int) crc.getValue()));
        }
        Reader r = new Reader(bytes, bytes.length - 12);
        r.pos = MAGIC.length;
        r.u16(); // the version, checked above
        int count = r.u16();
        List<StateSnapshot> out = new ArrayList<>(count);
        for (int s = 0; s < count; s++) {
            int code = r.u16();
            StateSnapshot.Kind kind = StateSnapshot.Kind.ofCode(code);
            if (kind == null) {
                throw new CorruptStateException("state " + s + ": unknown kind code " + code);
            }
            long position = r.i64();
            if (position < 0 || position > MAX_POSITION) {
                throw new CorruptStateException("state " + s + ": position " + position + " outside 0.." + MAX_POSITION
                        + " (the checksum is valid: the writer stored a position no state can have)");
            }
            int metas = r.u16();
            List<StateSnapshot.Meta> meta = new ArrayList<>();
            for (int i = 0; i < metas; i++) {
                meta.add(new StateSnapshot.Meta(r.string(), r.i32()));
            }
            int tensors = r.u16();
            List<StateSnapshot.Entry> entries = new ArrayList<>();
            for (int i = 0; i < tensors; i++) {
                String name = r.string();
                int dt = r.u8();
                if (dt != 1 && dt != 2) {
                    throw new CorruptStateException("state " + s + ", tensor " + name + ": unknown dtype code " + dt);
                }
                DType dtype = dt == 1 ? DType.F32 : DType.F64;
                int rank = r.u8();
                if (rank < 1 || rank > 8) {
                    throw new CorruptStateException("state " + s + ", tensor " + name + ": rank " + rank + " not in 1..8");
                }
                int[] dims = new int[rank];
                long elements = 1;
                for (int d = 0; d < rank; d++) {
                    dims[d] = r.i32();
                    if (dims[d] < 1) {
                        throw new CorruptStateException("state " + s + ", tensor " + name + ": dimension " + dims[d]);
                    }
                    elements *= dims[d];
                    if (elements > r.remaining()) {
                        throw new CorruptStateException("state " + s + ", tensor " + name + ": shape larger than the file");
                    }
                }
                long nbytes = elements * dtype.byteSize();
                if (nbytes > r.remaining()) {
                    throw new CorruptStateException("state " + s + ", tensor " + name + ": needs " + nbytes
                            + " bytes, " + r.remaining() + " left");
                }
                HostTensor t = HostTensor.allocate(Shape.of(dims), dtype);
                MemorySegment.copy(MemorySegment.ofArray(bytes), r.pos, t.segment(), 0, nbytes);
                r.pos += (int) nbytes;
                entries.add(new StateSnapshot.Entry(name, t));
            }
            out.add(new StateSnapshot(kind, position, meta, entries));
        }
        if (r.pos != bytes.length - 12) {
            throw new CorruptStateException("state: " + (bytes.length - 12 - r.pos) + " unexpected bytes before the trailer");
        }
        return out;
    }

    /** Writes the snapshots to {@code out}. */
    public static void write(OutputStream out, List<StateSnapshot> states) throws IOException {
        Objects.requireNonNull(out, "out");
        out.write(encode(states));
    }

    /**
     * Reads all of {@code in} and decodes it.
     *
     * @throws CorruptStateException when the stream holds more than a third of {@link #readLimit()} bytes (read no
     *     further: a stream of unknown length is read into growing buffers and copied once, so it takes up to twice
     *     its size on the heap), or its bytes are not a valid state
     */
    public static List<StateSnapshot> read(InputStream in) throws IOException {
        Objects.requireNonNull(in, "in");
        long limit = readLimit() / 3;
        byte[] bytes = in.readNBytes((int) limit);
        if (bytes.length == limit && in.read() >= 0) {
            throw new CorruptStateException("state: the stream holds more than " + limit + " bytes, the most that can be"
                    + " read (" + limitReason() + "); read no further");
        }
        return decode(bytes);
    }

    /**
     * @return the most bytes one state file may have in this JVM now: the least of {@link #MAX_BYTES}, the largest
     *     array, and what the heap can still give ({@code Runtime.maxMemory()} minus what is in use)
     */
    public static long readLimit() {
        Runtime rt = Runtime.getRuntime();
        long heap = Math.max(0, rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()));
        return Math.min(Math.min(MAX_BYTES, Integer.MAX_VALUE - 8), heap);
    }

    private static String limitReason() {
        return "at most " + MAX_BYTES + " bytes, " + (Integer.MAX_VALUE - 8) + " in one array, and what the heap can"
                + " still give of its " + Runtime.getRuntime().maxMemory() + "-byte maximum";
    }

    /** Saves atomically: writes {@code file}'s sibling temp file, then moves it over {@code file}. */
    public static void save(Path file, List<StateSnapshot> states) throws IOException {
        save(file, states, Long.MAX_VALUE);
    }

    /**
     * {@link #save}, failing with an {@link IOException} once {@code failAfterBytes} bytes are written: lets tests see
     * that a write that fails part-way leaves the old file whole.
     */
    static void save(Path file, List<StateSnapshot> states, long failAfterBytes) throws IOException {
        Objects.requireNonNull(file, "file");
        byte[] bytes = encode(states);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes, 0, (int) Math.min(bytes.length, failAfterBytes));
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                if (failAfterBytes < bytes.length) {
                    throw new IOException("state: write failed after " + failAfterBytes + " of " + bytes.length
                            + " bytes (simulated)");
                }
                // on the device before the move: a crash after the move must not find a renamed but empty file
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            forceDirectory(dir);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Makes the rename durable where the platform allows opening a directory (Linux); elsewhere a no-op. */
    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // not every platform can open a directory; the file itself was forced before the move
        }
    }

    /** Saves the states' snapshots atomically. */
    public static void saveStates(Path file, List<? extends RecurrentState> states) throws IOException {
        Objects.requireNonNull(states, "states");
        List<StateSnapshot> snaps = new ArrayList<>();
        for (RecurrentState s : states) {
            snaps.add(Objects.requireNonNull(s, "states: null element").snapshot());
        }
        save(file, snaps);
    }

    /**
     * Loads a file written by {@link #save}.
     *
     * @throws CorruptStateException when it is not a regular file, larger than {@link #readLimit()}, truncated,
     *     corrupted, of another version, or holds a value this layout does not allow
     */
    public static List<StateSnapshot> load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!Files.isRegularFile(file)) {
            throw new CorruptStateException("state: " + file + (Files.exists(file)
                    ? " is not a regular file (a directory, FIFO, socket or device); a saved state is a regular file"
                    : ": no such file"));
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long limit = readLimit();
            if (size > limit) {
                throw new CorruptStateException("state: " + file + " is " + size + " bytes, above the " + limit
                        + " bytes that can be read (" + limitReason() + "); refused before reading it");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) {
                    throw new CorruptStateException("state: " + file + " shrank while being read (" + buf.position()
                            + " of " + size + " bytes): truncated");
                }
            }
            return decode(buf.array());
        }
    }

    private static final class Writer {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Writer(OutputStream out) {
            this.out = out;
        }

        void bytes(byte[] b) {
            try {
                out.write(b);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        void u8(int v) {
            bytes(new byte[] {(byte) v});
        }

        void u16(int v) {
            buf.clear();
            buf.putShort((short) v);
            bytes(java.util.Arrays.copyOf(buf.array(), 2));
        }

        void i32(int v) {
            buf.clear();
            buf.putInt(v);
            bytes(java.util.Arrays.copyOf(buf.array(), 4));
        }

        void i64(long v) {
            buf.clear();
            buf.putLong(v);
            bytes(java.util.Arrays.copyOf(buf.array(), 8));
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length > 0xFFFF) {
                throw new IllegalArgumentException("name: longer than 65535 bytes: " + s.substring(0, 40) + "...");
            }
            u16(b.length);
            bytes(b);
        }
    }

    private static final class Reader {
        private final ByteBuffer buf;
        private final int end;
        int pos;

        Reader(byte[] bytes, int end) {
            this.buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            this.end = end;
        }

        long remaining() {
            return end - pos;
        }

        private void need(int n) throws CorruptStateException {
            if (pos + n > end) {
                throw new CorruptStateException("state: truncated at byte " + pos + " (needs " + n + " more)");
            }
        }

        int u8() throws CorruptStateException {
            need(1);
            return buf.get(pos++) & 0xFF;
        }

        int u16() throws CorruptStateException {
            need(2);
            int v = buf.getShort(pos) & 0xFFFF;
            pos += 2;
            return v;
        }

        int i32() throws CorruptStateException {
            need(4);
            int v = buf.getInt(pos);
            pos += 4;
            return v;
        }

        long i64() throws CorruptStateException {
            need(8);
            long v = buf.getLong(pos);
            pos += 8;
            return v;
        }

        String string() throws CorruptStateException {
            int n = u16();
            need(n);
            String s = new String(buf.array(), pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }
    }
}
