package dev.files.events;

import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.AdvisoryLocks;
import dev.files.db.EventRepository;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Publishes the events of the {@code event_outbox} table ({@link Outbox}), on one node of the cluster
 * at a time.
 *
 * <p>Every node runs a relay. A relay opens a connection of its own to PostgreSQL and tries, every
 * {@code events.poll_ms}, to take the session-level advisory lock {@link #LOCK_KEY}; the one that holds
 * it is the only one that publishes. The lock lives as long as that connection: when the node stops or
 * dies, or the connection breaks, PostgreSQL releases it and another node's relay takes it at its next
 * try (a machine that vanishes without closing its connection keeps the lock until PostgreSQL finds the
 * connection dead: its {@code tcp_keepalives_*} settings bound that time).
 *
 * <p>A frozen node (SIGSTOP, a long pause) keeps its connection, hence the lock, open. So the relay's
 * connection is named {@code files outbox relay <node_id>} ({@code application_name}), and a relay that
 * does not get the lock ends the holder's connection ({@code pg_terminate_backend}) when the holder's node
 * lease ({@code nodes.lease_until}, refreshed every quarter of {@code cluster.lease_ms}) has lapsed by the
 * database's clock: the same rule by which other nodes take a frozen node's upload sessions over. It then
 * takes the lock at its next try. A frozen relay that resumes finds its connection gone and stops
 * publishing; what it had read before it froze it may still publish once, late: duplicates with the
 * same {@code id}.
 *
 * <p>The relay holding the lock runs cycles of one statement each ({@link EventRepository#cycle}, one commit): it marks
 * published what it published in the previous cycle, gives the rows without a position their positions
 * (the next numbers of the cluster's sequence, in {@code seq} order), and reads the numbered, unpublished
 * rows in position order; it then publishes each body with its {@code position} and
 * {@code previous_position} ({@link EventLog#event}) on {@code files.events} and on
 * {@code files.events.<company_id>}. All of it goes through its locking connection (if it lost the lock,
 * it can neither number nor mark anything). A cycle that published rows is followed at once by another,
 * which marks them and numbers what was committed meanwhile: under load, marking and numbering share one
 * commit. A relay that dies between publishing and the next cycle leaves its last rows unmarked, and the
 * next holder publishes them again, with the same {@code id} and {@code position}. Publishing is a hint: "published"
 * means "sent once on the event bus", not "delivered" (a publish reaches nobody across a partition); the
 * rows are the record, replayed by {@link EventLog} until {@code events.retention_ms} after publication.
 * Changes of one file take its row lock before writing their event, so {@code seq} follows their
 * order and events of a file are published in order. It runs when woken ({@code files.events.relay},
 * sent by {@link Outbox#wake} after a commit) and every {@code events.poll_ms}; it removes rows published
 * more than {@code events.retention_ms} ago. A crash between publishing and marking publishes those
 * events again, with the same {@code id}.
 */
public final class OutboxRelay extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(OutboxRelay.class);
  /** The advisory lock the relaying node holds (per database): the bytes of "files_ev". */
  public static final long LOCK_KEY = 0x66696C65735F6576L;
  static final int BATCH = 100;
  private static final long CLEANUP_EVERY_MS = 60_000;

  /** Prefix of the relay connection's {@code application_name}; the node id follows. */
  public static final String APPLICATION_NAME = "files outbox relay ";

  private final PgConnectOptions connectOptions;
  private final String nodeId;
  private final long pollMs;
  private final long retentionMs;
  private final InternalBus bus;

  private PgConnection conn;
  private boolean connecting;
  private volatile boolean leading;
  private boolean draining;
  private boolean again;
  private long lastCleanup;
  private MessageConsumer<Object> wake;
  /** Seq numbers of the rows published by the last cycle, marked published by the next one. */
  private List<Long> toMark = new ArrayList<>();
  private boolean stopped;

  /**
   * @param connectOptions the database of the service ({@code db.url})
   * @param nodeId         this node's id (the {@code nodes} row of its lease)
   * @param pollMs         {@code events.poll_ms}: how often to try the lock and look for unpublished events
   * @param retentionMs    {@code events.retention_ms}: how long published rows are kept
   * @param bus            the node's internal bus (the wake-ups it listens to)
   */
  public OutboxRelay(PgConnectOptions connectOptions, String nodeId, long pollMs, long retentionMs, InternalBus bus) {
    this.bus = bus;
    this.connectOptions = new PgConnectOptions(connectOptions).addProperty("application_name", APPLICATION_NAME + nodeId);
    this.nodeId = nodeId;
    this.pollMs = pollMs;
    this.retentionMs = retentionMs;
  }

  @Override
  public Future<?> start() {
    vertx.setPeriodic(0, pollMs, t -> tick());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    PgConnection c = conn;
    conn = null;
    if (c == null) {
      return Future.succeededFuture();
    }
    return flushMarks(c).recover(err -> Future.succeededFuture()).eventually(c::close); // releases the lock at once
  }

  /** True while this node's relay holds the lock and publishes (for tests and operations). */
  public boolean leading() {
    return leading;
  }

  private void tick() {
    if (stopped) {
      return;
    }
    if (conn == null) {
      connect();
    } else if (!leading) {
      tryLock();
    } else {
      drain();
    }
  }

  private void connect() {
    if (connecting) {
      return;
    }
    connecting = true;
    PgConnection.connect(vertx, connectOptions).onComplete(ar -> {
      connecting = false;
      if (ar.failed()) {
        LOG.debug("outbox relay: cannot connect: {}", ar.cause().toString());
        return;
      }
      if (stopped) {
        ar.result().close();
        return;
      }
      conn = ar.result();
      PgConnection mine = conn;
      mine.exceptionHandler(err -> LOG.debug("outbox relay connection: {}", err.toString()));
      mine.closeHandler(v -> lost(mine));
      tryLock();
    });
  }

  private void tryLock() {
    PgConnection c = conn;
    AdvisoryLocks.tryLock(c, LOCK_KEY).onComplete(ar -> {
      if (ar.failed()) {
        LOG.debug("outbox relay: lock attempt failed: {}", ar.cause().toString());
        c.close();
        return;
      }
      if (!ar.result()) {
        endLapsedHolder(c);
        return;
      }
      if (c != conn || leading) {
        return;
      }
      leading = true;
      LOG.info("outbox relay: this node publishes the file events");
      wake = vertx.eventBus().consumer(Addresses.EVENTS_RELAY, bus.guard(m -> drain()));
      drain();
    });
  }

  /**
   * Ends the connection holding the lock when it is another node's relay whose node lease has lapsed
   * (that node is frozen or cut off from the database); the lock is free once its backend exits.
   */
  private void endLapsedHolder(PgConnection c) {
    EventRepository.endLapsedHolder(c, LOCK_KEY, APPLICATION_NAME, APPLICATION_NAME + nodeId)
        .onSuccess(ended -> ended.forEach(name -> LOG.warn("outbox relay: '{}' held the relay lock though its node lease had"
            + " lapsed (frozen or cut off): its connection was ended, this node takes over", name)))
        .onFailure(err -> LOG.debug("outbox relay: cannot look at the lock's holder: {}", err.toString()));
  }

  /** The relay's connection closed: the lock (if held) is gone with it. */
  private void lost(PgConnection c) {
    if (c != conn) {
      return;
    }
    conn = null;
    if (leading) {
      leading = false;
      if (wake != null) {
        wake.unregister();
        wake = null;
      }
      if (!stopped) {
        LOG.warn("outbox relay: connection to the database lost; another node (or this one, once reconnected) takes over");
      }
    }
  }

  private void drain() {
    if (!leading || conn == null) {
      return;
    }
    if (draining) {
      again = true;
      return;
    }
    draining = true;
    again = false;
    PgConnection c = conn;
    batch(c).compose(n -> cleanup(c).map(n)).onComplete(ar -> {
      draining = false;
      if (ar.failed()) {
        LOG.warn("outbox relay: publishing failed, retried at the next poll: {}", ar.cause().toString());
      } else if (ar.result() > 0 || again) { // at once: marks what it published, numbers what came meanwhile
        drain();
      }
    });
  }

  /**
   * One cycle, one statement ({@link EventRepository#cycle}), hence one commit: marks published the rows this relay
   * published in the previous cycle, numbers the rows without a position (at most {@value #BATCH}, in
   * {@code seq} order), and answers every numbered, unpublished row in position order, which it then
   * publishes; their marks ride on the next cycle ({@link #drain} runs it at once). Answers how many
   * rows it published.
   */
  private Future<Integer> batch(PgConnection c) {
    Long[] marks = toMark.toArray(new Long[0]);
    return EventRepository.cycle(c, BATCH, marks).map(rows -> {
      if (c != conn) {
        return 0; // the lock was lost meanwhile: the rows are the next holder's
      }
      toMark = new ArrayList<>();
      for (EventRepository.Numbered r : rows) {
        JsonObject body = EventLog.event(r.position(), r.previous(), r.body());
        vertx.eventBus().publish(Addresses.EVENTS, body);
        vertx.eventBus().publish(Addresses.events(body.getString("company_id")), body);
        toMark.add(r.seq());
      }
      return rows.size();
    });
  }

  /** Marks the rows published by the last cycle, at once (before the relay lets go of its lock). */
  private Future<Void> flushMarks(PgConnection c) {
    if (toMark.isEmpty()) {
      return Future.succeededFuture();
    }
    Long[] marks = toMark.toArray(new Long[0]);
    toMark = new ArrayList<>();
    return EventRepository.markPublished(c, marks);
  }

  private Future<Void> cleanup(PgConnection c) {
    long now = System.currentTimeMillis();
    if (now - lastCleanup < Math.min(retentionMs, CLEANUP_EVERY_MS)) {
      return Future.succeededFuture();
    }
    lastCleanup = now;
    return EventRepository.deletePublished(c, retentionMs);
  }
}
