package dev.files;

import dev.files.StoreBinding.Action;
import dev.files.storage.StoreMarker;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A chunk store and its database are bound by an identity recorded in both at first use; a node
 * started on a database and a store that do not belong together refuses to start, says which
 * identities it found and what to check, and deletes nothing (the orphan scan of a node with the
 * wrong database would delete every file that database does not know).
 */
class StoreIdentityTest {

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final UUID company = UUID.randomUUID();
  private final UUID user = UUID.randomUUID();
  private final String token = TestNode.userToken(user, company);

  @AfterEach
  void clean() throws Exception {
    List<AutoCloseable> last = new ArrayList<>(cleanup);
    java.util.Collections.reverse(last);
    for (AutoCloseable c : last) {
      try {
        c.close();
      } catch (Exception ignored) {
        // already stopped
      }
    }
  }

  private TestNode node(Map<String, ?> overrides) throws Exception {
    TestNode n = TestNode.start(overrides);
    cleanup.add(n);
    return n;
  }

  /** A node with one uploaded file; returns the node and the file's bytes. */
  private TestNode nodeWithAFile(byte[] content) throws Exception {
    TestNode n = node(Map.of());
    HttpResponse<String> up = new Api(n).upload(company, token, "kept.bin", null, content);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    return n;
  }

  private static UUID marker(Path storage) throws Exception {
    return StoreMarker.read(storage);
  }

  private static String jdbc(String db) {
    return "jdbc:postgresql://" + TestNode.PG.replaceFirst("^postgresql://([^@]*@)?", "") + "/" + db + "?user=postgres";
  }

  private static UUID dbIdentity(String db) throws Exception {
    try (var c = DriverManager.getConnection(jdbc(db)); var s = c.createStatement();
         var rs = s.executeQuery("SELECT store_id FROM store_identity")) {
      return rs.next() ? (UUID) rs.getObject(1) : null;
    }
  }

  /** Every regular file of the store with its content's hash: what must survive a refused start. */
  private static Map<String, String> contents(Path root) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (var all = Tree.walk(root)) {
      for (Path p : (Iterable<Path>) all.filter(Files::isRegularFile)::iterator) {
        out.put(root.relativize(p).toString(), Api.sha256(Files.readAllBytes(p)));
      }
    }
    return out;
  }

  /** The settings of {@code dbOf}'s database with the store at {@code storage}. */
  private static Map<String, Object> combine(TestNode dbOf, Path storage) throws Exception {
    Map<String, Object> s = new HashMap<>(TestNode.settings(Map.of()));
    Files.deleteIfExists(Path.of((String) s.get("storage.local.path")));
    s.put("db.url", dbOf.settings.get("db.url"));
    s.put("storage.local.path", storage.toString());
    return s;
  }

  private static Throwable refusal(Map<String, ?> settings) {
    Throwable[] err = new Throwable[1];
    assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(new java.util.HashMap<>(settings)))).await(120, TimeUnit.SECONDS))
        .satisfies(e -> err[0] = e);
    assertThat(err[0]).isInstanceOf(IllegalStateException.class);
    assertThat(err[0].getMessage()).doesNotContain("\n").contains("refusing to start")
        .contains("db.url").contains("storage.local.path");
    return err[0];
  }

  @Test
  void theFirstStartRecordsOneIdentityInBothAndALaterStartFindsIt() throws Exception {
    TestNode a = node(Map.of());
    UUID id = marker(a.storage);
    assertThat(id).isNotNull();
    assertThat(dbIdentity(a.dbName)).isEqualTo(id);
    assertThat(Files.readString(a.storage.resolve(StoreMarker.FILE)).strip()).isEqualTo(id.toString());

    byte[] content = "still here".getBytes(StandardCharsets.UTF_8);
    UUID file = UUID.fromString(Api.resource(new Api(a).upload(company, token, "a.txt", "text/plain", content)).getString("id"));
    a.stop();
    TestNode again = TestNode.start(a.settings);
    cleanup.add(again::stop);
    assertThat(marker(a.storage)).isEqualTo(id);
    assertThat(dbIdentity(a.dbName)).isEqualTo(id);
    assertThat(new Api(again).download(company, file, token).body()).isEqualTo(content);
    // the marker is not an object: the sweep's listing does not see it
    assertThat(again.node.store().store().list("", null, 1000).await(10, TimeUnit.SECONDS).objects())
        .noneMatch(o -> o.key().contains(StoreMarker.FILE)).isNotEmpty();
  }

  @Test
  void aStoreWithAnotherDatabaseRefusesToStartAndDeletesNothing() throws Exception {
    TestNode a = nodeWithAFile("file of a".getBytes(StandardCharsets.UTF_8));
    TestNode b = nodeWithAFile("file of b".getBytes(StandardCharsets.UTF_8));
    UUID idA = marker(a.storage);
    UUID idB = marker(b.storage);
    a.stop();
    b.stop();
    Map<String, String> before = contents(b.storage);

    Throwable e = refusal(combine(a, b.storage));
    assertThat(e.getMessage()).contains(idA.toString()).contains(idB.toString()).contains("different stores");
    assertThat(contents(b.storage)).isEqualTo(before);
    assertThat(dbIdentity(a.dbName)).isEqualTo(idA);
    assertThat(Db.count(a.dbName, "SELECT count(*) FROM chunks")).isEqualTo(1);
  }

  @Test
  void anEmptyDatabaseOverAStoreWithObjectsRefusesToStart() throws Exception {
    // scripts/run's old accident: no PostgreSQL answered, so an empty private one was started
    TestNode a = nodeWithAFile("the only copy".getBytes(StandardCharsets.UTF_8));
    UUID id = marker(a.storage);
    a.stop();
    Map<String, String> before = contents(a.storage);
    Map<String, Object> fresh = new HashMap<>(TestNode.settings(Map.of()));
    cleanup.add(() -> Db.drop((String) fresh.get("test.db_name")));
    Files.deleteIfExists(Path.of((String) fresh.get("storage.local.path")));
    fresh.put("storage.local.path", a.storage.toString());

    Throwable e = refusal(fresh);
    assertThat(e.getMessage()).contains(id.toString()).contains("holds objects").contains("store identity none");
    assertThat(contents(a.storage)).isEqualTo(before);
    assertThat(dbIdentity((String) fresh.get("test.db_name"))).as("nothing recorded in the wrong database").isNull();

    // the same with a store from before identities (no marker)
    Files.delete(a.storage.resolve(StoreMarker.FILE));
    before = contents(a.storage);
    refusal(fresh);
    assertThat(contents(a.storage)).isEqualTo(before);
    assertThat(dbIdentity((String) fresh.get("test.db_name"))).isNull();
  }

  @Test
  void aDatabaseWithFilesOverAnEmptyStoreRefusesToStart() throws Exception {
    TestNode a = nodeWithAFile("x".getBytes(StandardCharsets.UTF_8));
    a.stop();
    Path empty = Files.createTempDirectory("files-empty-store");
    cleanup.add(() -> Files.deleteIfExists(empty));
    Throwable e = refusal(combine(a, empty));
    assertThat(e.getMessage()).contains(marker(a.storage).toString()).contains("chunk store is empty");
    assertThat(contents(empty)).isEmpty();
  }

  @Test
  void aDeploymentFromBeforeIdentitiesIsAdoptedOnlyWhenItsDatabaseKnowsTheStoresObjects() throws Exception {
    byte[] contentA = "a's file".getBytes(StandardCharsets.UTF_8);
    TestNode a = node(Map.of());
    UUID fileA = UUID.fromString(Api.resource(new Api(a).upload(company, token, "a.txt", null, contentA)).getString("id"));
    TestNode b = nodeWithAFile("b's file".getBytes(StandardCharsets.UTF_8));
    a.stop();
    b.stop();
    for (TestNode n : List.of(a, b)) { // as before this version: no identity anywhere
      Files.delete(n.storage.resolve(StoreMarker.FILE));
      Db.execute(n.dbName, "DELETE FROM store_identity");
    }
    Map<String, String> beforeB = contents(b.storage);

    Throwable e = refusal(combine(a, b.storage));
    assertThat(e.getMessage()).contains("none of the database's objects is in the store");
    assertThat(contents(b.storage)).isEqualTo(beforeB);
    assertThat(dbIdentity(a.dbName)).isNull();

    // a's store with objects a's database does not know (another database's files put there): refused
    List<Path> strangers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Path p = a.storage.resolve("ff" + i + "/stranger.chunk");
      Files.createDirectories(p.getParent());
      Files.write(p, new byte[]{(byte) i});
      strangers.add(p);
    }
    Map<String, String> beforeA = contents(a.storage);
    Throwable mixed = refusal(a.settings);
    assertThat(mixed.getMessage()).contains("the database knows only 1 of 4 objects sampled from the store");
    assertThat(contents(a.storage)).isEqualTo(beforeA);
    for (Path p : strangers) {
      Files.delete(p);
      Files.delete(p.getParent());
    }

    TestNode upgraded = TestNode.start(a.settings);
    cleanup.add(upgraded::stop);
    UUID id = marker(a.storage);
    assertThat(id).isNotNull();
    assertThat(dbIdentity(a.dbName)).isEqualTo(id);
    assertThat(new Api(upgraded).download(company, fileA, token).body()).isEqualTo(contentA);
  }

  @Test
  void aStartCutBetweenTheTwoWritesIsCompletedNextTime() throws Exception {
    TestNode a = node(Map.of());
    UUID id = marker(a.storage);
    a.stop();
    Files.delete(a.storage.resolve(StoreMarker.FILE)); // as if the node died after the database write
    TestNode again = TestNode.start(a.settings);
    cleanup.add(again::stop);
    assertThat(marker(a.storage)).isEqualTo(id);
  }

  @Test
  void theDecisionTable() {
    UUID x = UUID.randomUUID();
    UUID y = UUID.randomUUID();
    for (boolean objects : new boolean[]{false, true}) {
      for (boolean refers : new boolean[]{false, true}) {
        assertThat(StoreBinding.decide(x, x, objects, refers)).isEqualTo(Action.USE);
        assertThat(StoreBinding.decide(x, y, objects, refers)).isEqualTo(Action.REFUSE);
        for (UUID[] ids : new UUID[][]{{null, null}, {x, null}, {null, x}}) {
          Action expected = objects && refers ? Action.ADOPT_IF_SHARED : objects || refers ? Action.REFUSE : Action.RECORD;
          assertThat(StoreBinding.decide(ids[0], ids[1], objects, refers)).isEqualTo(expected);
        }
      }
    }
  }
}
