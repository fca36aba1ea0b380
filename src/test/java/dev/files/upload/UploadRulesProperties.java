package dev.files.upload;

import dev.files.error.Kind;
import dev.files.model.CommittedChunk;
import dev.files.model.FileRecord;
import dev.files.crypto.DataKeys;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.Tuple;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of {@link UploadRules}, over generated histories of one file: initialised or not,
 * chunks sent in any order by its owner, an application or another user, with or without totals
 * (right, late, or contradicting), wrong sizes, numbers out of range, whole-file uploads and
 * overwrites, each commit delivered one to three times (a retried event-bus question) in any
 * interleaving with the others, time passing, retired objects swept after the grace, and
 * abandoned uploads expired. A small model of the store and of the HTTP handler (which removes the
 * object of a refused chunk) runs beside the rules. After every step:
 * <ul>
 *   <li>every chunk row points at an object that is in the store and not retired; every retired
 *       object is still in the store until the sweep takes it;</li>
 *   <li>an upload is complete exactly when chunks 1..total_chunks are all stored with the right
 *       total, and no chunk above total_chunks stays once it is known;</li>
 *   <li>the live content is the concatenation of the last accepted copy of each chunk 1..N;</li>
 *   <li>a commit takes effect at most once, and a new upload never reuses a generation number.</li>
 * </ul>
 */
class UploadRulesProperties {

  /** upload.retire_grace_ms of the model; it must be shorter than {@link #EXPIRE_AFTER}, as in the configuration. */
  static final long GRACE = 100;
  /** upload.expire_after_ms of the model: an upload untouched this long may be abandoned. */
  static final long EXPIRE_AFTER = 150;
  static final UUID FILE = UUID.fromString("00000000-0000-0000-0000-00000000f11e");
  static final UUID COMPANY = UUID.fromString("00000000-0000-0000-0000-0000000c0a7a");
  static final Requester OWNER = new Requester(UUID.fromString("00000000-0000-0000-0000-000000000001"), null, false);
  static final Requester APP = new Requester(UUID.fromString("00000000-0000-0000-0000-000000000002"),
      UUID.fromString("00000000-0000-0000-0000-000000000002"), false);
  static final Requester STRANGER = new Requester(UUID.fromString("00000000-0000-0000-0000-000000000003"), null, false);
  static final List<Requester> WHO = List.of(OWNER, OWNER, APP, APP, STRANGER);
  static final DataKeys.Wrapped KEY = new DataKeys.Wrapped("test", new byte[]{1, 2, 3});

  // ---------------------------------------------------------------- histories

  sealed interface Step permits Send, Deliver, Tick, Sweep, Expire {
  }

  /**
   * A client request whose bytes are stored; its commit is then delivered by {@link Deliver} steps.
   *
   * @param who        index in {@link #WHO}
   * @param whole      a whole file (no chunk_number)
   * @param number     chunk number (0 is out of range; above the plan's count may be too)
   * @param chunksMode total_chunks: 0 absent, 1 the plan's, 2 a wrong one
   * @param sizeMode   total_size: 0 absent, 1 the plan's, 2 a wrong one
   * @param wrongSize  the chunk holds one byte more than the plan says
   * @param variant    which bytes (copies of a chunk with different content)
   * @param deliveries how many times the commit is delivered (the question timed out before the last)
   * @param answerLost the last answer is lost too (the handler keeps the object: outcome unknown)
   */
  record Send(int who, boolean whole, int number, int chunksMode, int sizeMode, boolean wrongSize, int variant,
              int deliveries, boolean answerLost) implements Step {
  }

  /** The next delivery of the in-flight commit {@code pick} (modulo their number). */
  record Deliver(int pick) implements Step {
  }

  record Tick(int ms) implements Step {
  }

  /** The sweep removes retired objects whose grace has ended. */
  record Sweep() implements Step {
  }

  /** The sweep abandons the upload in progress if untouched for {@link #EXPIRE_AFTER} (the file if it never completed). */
  record Expire() implements Step {
  }

  /**
   * @param planned     the file the client means to send has this many chunks; chunk n holds n bytes
   * @param initialised the history starts with an initialisation (else the file does not exist)
   * @param initChunks  the initialisation declares total_chunks
   * @param initSize    the initialisation declares total_size
   */
  record History(int planned, boolean initialised, boolean initChunks, boolean initSize, List<Step> steps) {
  }

  @Provide
  Arbitrary<History> histories() {
    Arbitrary<Step> send = Combinators.combine(
            Arbitraries.integers().between(0, WHO.size() - 1),
            Arbitraries.integers().between(0, 9).map(i -> i == 0),
            Arbitraries.integers().between(0, 6),
            Arbitraries.integers().between(0, 5).map(i -> i <= 1 ? 0 : i <= 4 ? 1 : 2),
            Arbitraries.integers().between(0, 5).map(i -> i <= 1 ? 0 : i <= 4 ? 1 : 2),
            Arbitraries.integers().between(0, 9).map(i -> i == 0),
            Arbitraries.integers().between(0, 2),
            Arbitraries.integers().between(0, 119)) // deliveries: 1 (4 in 6), 2, 3; the last answer lost: 1 in 20
        .as((who, whole, number, chunks, size, wrong, variant, d) -> (Step) new Send(who, whole, number, chunks, size,
            wrong, variant, d % 6 <= 3 ? 1 : d % 6 - 2, d / 6 == 0));
    Arbitrary<Step> step = Arbitraries.frequencyOf(
        Tuple.of(10, send),
        Tuple.of(12, Arbitraries.integers().between(0, 7).map(i -> (Step) new Deliver(i))),
        Tuple.of(4, Arbitraries.integers().between(1, 120).map(i -> (Step) new Tick(i))),
        Tuple.of(2, Arbitraries.just(new Sweep())),
        Tuple.of(2, Arbitraries.just(new Expire())));
    return Combinators.combine(Arbitraries.integers().between(1, 5), Arbitraries.of(true, true, true, false),
            Arbitraries.of(true, false), Arbitraries.of(true, false), step.list().ofMinSize(1).ofMaxSize(40))
        .as(History::new);
  }

  // ---------------------------------------------------------------- the properties

  @Property(tries = 10_000)
  void everyHistoryKeepsTheStoreConsistentAndCompletesExactlyWhenEveryChunkIsThere(@ForAll("histories") History h) {
    World w = new World(h);
    for (Step s : h.steps()) {
      w.step(s);
      w.check();
    }
    while (!w.inFlight.isEmpty()) { // every question is eventually delivered
      w.step(new Deliver(0));
      w.check();
    }
    // what the generated histories went through (printed by jqwik after the run)
    Statistics.label("an upload completed").collect(w.completions > 0);
    Statistics.label("an overwrite completed").collect(w.completions > 1);
    Statistics.label("a delivery repeated a commit that took effect").collect(w.repeats > 0);
    Statistics.label("a copy was retired").collect(w.retirements > 0);
    Statistics.label("an upload was abandoned").collect(w.expiries > 0);
    Statistics.label("a delivery came too late (409)").collect(w.tooLate > 0);
  }

  /** The reported case: total_size 3 chunks, chunks 1 and 5 without total_chunks, chunk 2 with 3: still pending. */
  @Example
  void chunkFiveStoredWhileTotalChunksWasUnknownIsRetiredAndNeverCounts() {
    UploadRules rules = new UploadRules(GRACE);
    FileRecord f = UploadRules.newFile(FILE, COMPANY, OWNER, "gap.bin", null, null, 3L, 0, KEY);
    UploadRules.State s = UploadRules.apply(new UploadRules.State(null, List.of(), Set.of()),
        List.of(new UploadRules.CreateFile(f), new UploadRules.RecordUpload(1, null, 3L, "gap.bin", null)), 0);
    s = accept(rules, s, chunk(1, null, 1, "a"));
    s = accept(rules, s, chunk(5, null, 1, "e"));
    UploadRules.Accepted second = (UploadRules.Accepted) rules.commit(s, chunk(2, 3, 1, "b"), 1, 1);
    assertThat(second.completed()).isFalse();
    assertThat(second.effects()).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(UploadRules.Retire.class,
        r -> assertThat(r.chunks()).extracting(CommittedChunk::chunkNumber).containsExactly(5)));
    assertThat(second.next().chunks()).extracting(CommittedChunk::chunkNumber).containsExactlyInAnyOrder(1, 2);
    UploadRules.Accepted third = (UploadRules.Accepted) rules.commit(second.next(), chunk(3, 3, 1, "c"), 1, 1);
    assertThat(third.completed()).isTrue();
    assertThat(third.next().file().size()).isEqualTo(3);
  }

  /** An overwrite abandoned with generation 2 live-to-be; the next one gets 3, and a late chunk for 2 is refused. */
  @Example
  void anOverwriteAfterAnAbandonedOneTakesANewGeneration() {
    UploadRules rules = new UploadRules(GRACE);
    FileRecord f = UploadRules.newFile(FILE, COMPANY, OWNER, "g.bin", null, 1, 1L, 0, KEY);
    UploadRules.State s = UploadRules.apply(new UploadRules.State(null, List.of(), Set.of()),
        List.of(new UploadRules.CreateFile(f), new UploadRules.RecordUpload(1, 1, 1L, "g.bin", null)), 0);
    s = accept(rules, s, new ChunkCommit(new ChunkCommit.Upload(FILE, COMPANY, OWNER, false),
        new ChunkCommit.Declared(false, 1, 1L, null, null, null),
        new ChunkCommit.Stored(1, 1, "key-a", 1, "a", null, null), UUID.randomUUID()));
    assertThat(s.file().generation()).isEqualTo(1);
    ChunkCommit overwrite = new ChunkCommit(new ChunkCommit.Upload(FILE, COMPANY, APP, false),
        new ChunkCommit.Declared(false, 2, 2L, null, null, null),
        new ChunkCommit.Stored(1, s.file().nextUploadGeneration(), "key-b", 1, "b", null, null), UUID.randomUUID());
    assertThat(overwrite.stored().generation()).isEqualTo(2);
    UploadRules.State started = ((UploadRules.Accepted) rules.commit(s, overwrite, 1, 1)).next();
    // the sweep abandons it: its rows go, the live generation stays, the counter does not go back
    FileRecord g = started.file();
    FileRecord dropped = new FileRecord(g.id(), g.companyId(), g.ownerType(), g.ownerId(), g.userId(), g.applicationId(),
        g.name(), g.mime(), g.generation(), g.size(), g.chunks(), null, null, null, null, null, 0, g.thumbnails(),
        g.thumbnailsStatus(), g.createdAt(), g.updatedAt(), g.dataKeyId(), g.dataKey(), g.lastGeneration());
    UploadRules.State abandoned = new UploadRules.State(dropped, started.chunksOf(1), Set.of());
    assertThat(dropped.nextUploadGeneration()).isEqualTo(3);
    ChunkCommit late = new ChunkCommit(new ChunkCommit.Upload(FILE, COMPANY, APP, false),
        new ChunkCommit.Declared(false, 2, 2L, null, null, null),
        new ChunkCommit.Stored(2, 2, "key-c", 1, "c", null, null), UUID.randomUUID());
    assertThat(rules.commit(abandoned, late, 1, 1)).isEqualTo(new UploadRules.Refused(Kind.CONFLICT,
        "file " + FILE + " changed while chunk 2 was sent (generation 2, now 3); send it again"));
  }

  private static UploadRules.State accept(UploadRules rules, UploadRules.State s, ChunkCommit c) {
    return ((UploadRules.Accepted) rules.commit(s, c, 1, 1)).next();
  }

  private static ChunkCommit chunk(int number, Integer totalChunks, long size, String sha) {
    return new ChunkCommit(new ChunkCommit.Upload(FILE, COMPANY, OWNER, false),
        new ChunkCommit.Declared(false, totalChunks, 3L, null, null, null),
        new ChunkCommit.Stored(number, 1, "key-" + sha, size, sha, null, null), UUID.randomUUID());
  }

  // ---------------------------------------------------------------- the model

  /** A commit asked by the model's HTTP handler, with the deliveries still to come. */
  static final class InFlight {
    final ChunkCommit commit;
    final long askedAt;
    int deliveriesLeft;
    final boolean answerLost;

    InFlight(ChunkCommit commit, long askedAt, int deliveries, boolean answerLost) {
      this.commit = commit;
      this.askedAt = askedAt;
      this.deliveriesLeft = deliveries;
      this.answerLost = answerLost;
    }
  }

  record RetiredRow(UUID commitId, long deleteAfter) {
  }

  static final class World {
    final History h;
    final UploadRules rules = new UploadRules(GRACE);
    long now = 1_000;
    int keys;
    FileRecord file;
    List<CommittedChunk> rows = new ArrayList<>();
    final Map<String, String> objects = new HashMap<>(); // storage key -> content token
    final Map<String, RetiredRow> retired = new HashMap<>();
    final List<InFlight> inFlight = new ArrayList<>();
    final Set<UUID> tookEffect = new HashSet<>();
    final Set<Integer> generationsUsed = new HashSet<>();
    /** Per generation: the last accepted copy (content token) of each chunk number. */
    final Map<Integer, TreeMap<Integer, String>> accepted = new HashMap<>();
    int completions;
    int repeats;
    int retirements;
    int expiries;
    int tooLate;

    World(History h) {
      this.h = h;
      if (h.initialised()) { // the session's init: insert, then record generation 1 with the declared totals
        Integer tc = h.initChunks() ? h.planned() : null;
        Long ts = h.initSize() ? plannedSize() : null;
        FileRecord fresh = UploadRules.newFile(FILE, COMPANY, OWNER, "f.bin", null, tc, ts, now, KEY);
        UploadRules.State s = UploadRules.apply(new UploadRules.State(null, List.of(), Set.of()),
            List.of(new UploadRules.CreateFile(fresh), new UploadRules.RecordUpload(1, tc, ts, fresh.name(), fresh.mime())), now);
        file = s.file();
        generationsUsed.add(1);
      }
    }

    long plannedSize() {
      return (long) h.planned() * (h.planned() + 1) / 2;
    }

    void step(Step step) {
      if (step instanceof Send s) {
        send(s);
      } else if (step instanceof Deliver d) {
        if (!inFlight.isEmpty()) {
          deliver(inFlight.get(d.pick() % inFlight.size()));
        }
      } else if (step instanceof Tick t) {
        now += t.ms();
      } else if (step instanceof Sweep) {
        retired.entrySet().removeIf(e -> {
          if (e.getValue().deleteAfter() < now) {
            objects.remove(e.getKey());
            return true;
          }
          return false;
        });
      } else if (step instanceof Expire) {
        expire();
      }
    }

    /** The HTTP handler: stores the bytes under a new key, encrypted for the generation it reads, and asks. */
    void send(Send s) {
      int number = s.whole() ? 1 : s.number();
      long size = s.whole() ? plannedSize() + (s.wrongSize() ? 1 : 0) : number + (s.wrongSize() ? 1 : 0);
      Integer tc = s.whole() ? null : s.chunksMode() == 0 ? null : s.chunksMode() == 1 ? h.planned() : h.planned() + 1;
      Long ts = s.sizeMode() == 0 ? null : s.sizeMode() == 1 ? plannedSize() : plannedSize() + 1;
      String content = "v" + s.variant() + ":" + (s.whole() ? "whole" : number) + ":" + size;
      String key = "k" + (++keys);
      objects.put(key, content);
      boolean create = file == null;
      int generation = file == null ? 1 : file.nextUploadGeneration();
      ChunkCommit c = new ChunkCommit(new ChunkCommit.Upload(FILE, COMPANY, WHO.get(s.who()), create),
          new ChunkCommit.Declared(s.whole(), tc, ts, null, null, null),
          new ChunkCommit.Stored(number, generation, key, size, content, null, create ? KEY : null), UUID.randomUUID());
      inFlight.add(new InFlight(c, now, s.deliveries(), s.answerLost()));
    }

    void deliver(InFlight q) {
      ChunkCommit c = q.commit;
      Set<UUID> known = retired.values().stream().map(RetiredRow::commitId).collect(Collectors.toSet());
      UploadRules.State before = new UploadRules.State(file, rows, known);
      UploadRules.Decision d = rules.commit(before, c, q.askedAt, now);
      q.deliveriesLeft--;
      boolean last = q.deliveriesLeft == 0;
      if (last) {
        inFlight.remove(q);
      }
      if (d instanceof UploadRules.Refused refusal) {
        if (refusal.kind() == Kind.CONFLICT && refusal.message().contains("waited")) {
          tooLate++;
        }
        // the handler will remove the object: no row, live or retired, may point at it
        require(rows.stream().noneMatch(r -> r.storageKey().equals(c.stored().storageKey())), "refused, yet recorded: %s", c);
        require(!retired.containsKey(c.stored().storageKey()), "refused, yet retired: %s", c);
        if (last && !q.answerLost) {
          objects.remove(c.stored().storageKey()); // the handler removes the object of a refused chunk
        }
        return;
      }
      UploadRules.Accepted a = (UploadRules.Accepted) d;
      if (a.completed()) {
        completions++;
      }
      if (a.repeated()) {
        repeats++;
        require(a.effects().isEmpty(), "a repeated commit changes something: %s", a.effects());
        require(tookEffect.contains(c.commitId()), "a commit that never took effect counted as repeated: %s", c);
      }
      Integer startedGeneration = null;
      for (UploadRules.Effect e : a.effects()) {
        if (e instanceof UploadRules.Discard x) {
          require(x.copy().storageKey().equals(c.stored().storageKey()), "discards another commit's object: %s", x);
          require(tookEffect.add(c.commitId()), "a commit took effect twice: %s", c);
          retired.put(x.copy().storageKey(), new RetiredRow(x.copy().commitId(), now + GRACE));
        } else if (e instanceof UploadRules.PutChunk p) {
          require(tookEffect.add(c.commitId()), "a commit took effect twice: %s", c);
          require(p.chunk().storageKey().equals(c.stored().storageKey()), "records another object: %s", p);
        } else if (e instanceof UploadRules.RecordUpload r && (file == null || file.uploadGeneration() == null)) {
          startedGeneration = r.generation();
        }
      }
      if (startedGeneration != null) {
        require(!generationsUsed.contains(startedGeneration), "generation %s used again", startedGeneration);
        generationsUsed.add(startedGeneration);
      }
      // rows that left the table were retired, with the grace
      Set<String> after = a.next().chunks().stream().map(CommittedChunk::storageKey).collect(Collectors.toSet());
      for (CommittedChunk r : rows) {
        if (!after.contains(r.storageKey())) {
          retired.put(r.storageKey(), new RetiredRow(r.commitId(), now + GRACE));
          retirements++;
        }
      }
      if (!a.repeated() && a.effects().stream().anyMatch(e -> e instanceof UploadRules.PutChunk)) {
        int gen = c.stored().generation();
        TreeMap<Integer, String> copies = accepted.computeIfAbsent(gen, g -> new TreeMap<>());
        if (c.declared().whole()) {
          copies.clear();
        }
        copies.put(c.chunkNumber(), c.stored().sha256());
        Integer n = a.completed() ? Integer.valueOf(a.next().file().chunks()) : a.next().file().totalChunks();
        if (n != null) {
          copies.tailMap(n, false).clear();
        }
        if (a.completed()) {
          require(copies.keySet().equals(new HashSet<>(IntStream.rangeClosed(1, n).boxed().toList())),
              "completed without every chunk 1..%s: %s", n, copies);
        }
      }
      file = a.next().file();
      rows = new ArrayList<>(a.next().chunks());
    }

    /** The session's expire: a pending overwrite is dropped (rows and objects), a never-completed file removed. */
    void expire() {
      if (file == null || file.uploadGeneration() == null || now - file.updatedAt() <= EXPIRE_AFTER) {
        return;
      }
      int gen = file.uploadGeneration();
      expiries++;
      if (file.complete()) {
        rows.removeIf(r -> {
          if (r.generation() == gen) {
            objects.remove(r.storageKey());
            return true;
          }
          return false;
        });
        file = new FileRecord(file.id(), file.companyId(), file.ownerType(), file.ownerId(), file.userId(),
            file.applicationId(), file.name(), file.mime(), file.generation(), file.size(), file.chunks(), null, null, null,
            null, null, 0, file.thumbnails(), file.thumbnailsStatus(), file.createdAt(), now, file.dataKeyId(),
            file.dataKey(), file.lastGeneration());
      } else {
        rows.forEach(r -> objects.remove(r.storageKey()));
        retired.keySet().forEach(objects::remove);
        rows.clear();
        retired.clear();
        file = null;
        generationsUsed.clear(); // a new file, numbered afresh
        accepted.clear();
      }
      accepted.remove(gen);
    }

    void check() {
      Set<String> rowKeys = new HashSet<>();
      Set<String> numbers = new HashSet<>();
      for (CommittedChunk r : rows) {
        require(objects.containsKey(r.storageKey()), "row %s points at an object that is not stored", r);
        require(!retired.containsKey(r.storageKey()), "row %s points at a retired object", r);
        require(r.sha256().equals(objects.get(r.storageKey())), "row %s does not describe its object", r);
        require(rowKeys.add(r.storageKey()), "two rows point at %s", r);
        require(numbers.add(r.generation() + "/" + r.chunkNumber()), "two rows for chunk %s", r);
      }
      require(objects.keySet().containsAll(retired.keySet()), "a retired object went before the sweep: %s", retired);
      if (file == null) {
        require(rows.isEmpty(), "rows without a file: %s", rows);
        return;
      }
      Integer up = file.uploadGeneration();
      if (up != null && file.totalChunks() != null) {
        int n = file.totalChunks();
        List<CommittedChunk> pending = rows.stream().filter(r -> r.generation() == up).toList();
        require(pending.stream().allMatch(r -> r.chunkNumber() >= 1 && r.chunkNumber() <= n),
            "a chunk outside 1..%s stays: %s", n, pending);
        long sum = pending.stream().mapToLong(CommittedChunk::size).sum();
        require(!(pending.size() == n && (file.totalSize() == null || sum == file.totalSize())),
            "every chunk 1..%s is there with the right total, yet the upload is not complete: %s", n, file);
      }
      if (file.complete()) {
        int g = file.generation();
        List<CommittedChunk> live = rows.stream().filter(r -> r.generation() == g)
            .sorted((x, y) -> x.chunkNumber() - y.chunkNumber()).toList();
        require(live.stream().map(CommittedChunk::chunkNumber).toList()
            .equals(IntStream.rangeClosed(1, file.chunks()).boxed().toList()), "live chunks are not 1..N: %s", live);
        require(live.stream().mapToLong(CommittedChunk::size).sum() == file.size(), "live size is not the sum: %s", file);
        TreeMap<Integer, String> copies = accepted.get(g);
        require(copies != null, "generation %s went live without being accepted", g);
        String content = live.stream().map(r -> objects.get(r.storageKey())).collect(Collectors.joining("|"));
        require(content.equals(String.join("|", copies.values())),
            "live content %s is not the last accepted copies %s", content, copies);
        if (file.uploadGeneration() == null) {
          require(rows.stream().allMatch(r -> r.generation() == g), "rows of another generation stay: %s", rows);
        }
      }
    }
  }

  private static void require(boolean condition, String message, Object... args) {
    if (!condition) {
      throw new AssertionError(String.format(message, args));
    }
  }
}
