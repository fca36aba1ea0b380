package example.sibling;

import dev.files.api.FileEvent;
import dev.files.api.FilesApi;
import dev.files.api.FilesApiFailure;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A sibling verticle of the files service (docs/event-bus.md). It follows one company's file events
 * with the consumer loop of docs/event-bus.md ("Positions and replay") and prints each once, in
 * position order ({@code event <position> <type> <file_id> <name>}), then stores a small report as its
 * application's file through {@code files.api} and prints the report's download link
 * ({@code stored report.txt as <file_id>: <url>}); the report's own {@code file.uploaded} follows.
 *
 * <p>The loop: subscribe; replay ({@code files.api} action {@code events}) from the last position handled;
 * then hand on each event received whose position is above it, and replay first when an event's
 * {@code previous_position} shows a gap (an event published while this sibling was away, or across a
 * partition). A real consumer keeps {@code last} in its own storage; this one starts from
 * {@code "after"} of its configuration (0: the company's first retained event) and prints
 * {@code missed events: ...} when the service no longer retains some.
 *
 * <p>Configuration: {@code {"token": an application JWT of the company, "company_id": uuid, "after"?: position}}.
 * Run it in the cluster of {@code scripts/cluster} with {@code scripts/sibling}, which makes both.
 */
public class ExampleSibling extends VerticleBase {

  private static final int PAGE = 100;

  private FilesApi files;
  private String company;
  /** The position of the last event printed. */
  private long last;
  private boolean replaying;
  private boolean again;

  @Override
  public Future<?> start() {
    company = config().getString("company_id");
    last = config().getLong("after", 0L);
    files = FilesApi.proxy(vertx, config().getString("token"));
    return vertx.eventBus().<JsonObject>consumer(FileEvent.address(company), message -> received(FileEvent.from(message.body())))
        .completion()
        .onSuccess(listening -> {
          System.out.println("listening to " + FileEvent.address(company) + " from position " + last);
          replay();
          String report = Base64.getEncoder().encodeToString("a report made by a sibling\n".getBytes(StandardCharsets.UTF_8));
          files.create(company, "report.txt", "text/plain", report)
              .compose(created -> {
                String id = created.getJsonObject("resource").getString("id");
                return files.read(company, id).map(link -> "stored report.txt as " + id + ": " + link.getString("url"));
              })
              .onSuccess(System.out::println)
              .onFailure(err -> System.out.println("files.api failed (" + FilesApiFailure.of(err) + "): " + err.getMessage()));
        });
  }

  /** An event from the bus: a duplicate is dropped, a gap (or a replay under way) makes it replay first. */
  private void received(FileEvent event) {
    if (event.position() <= last) {
      return;
    }
    if (replaying || event.previousPosition() > last) {
      replay();
      return;
    }
    print(event);
  }

  /** Reads the events after {@code last} page by page, printing each; once more if an event came meanwhile. */
  private void replay() {
    if (replaying) {
      again = true;
      return;
    }
    replaying = true;
    again = false;
    files.events(company, last, PAGE).onComplete(ar -> {
      replaying = false;
      if (ar.succeeded()) {
        JsonArray page = ar.result().getJsonArray("events");
        for (int i = 0; i < page.size(); i++) {
          FileEvent event = FileEvent.from(page.getJsonObject(i));
          if (event.position() > last) {
            print(event);
          }
        }
        if (page.size() == PAGE || again) {
          replay();
        }
      } else if (FilesApiFailure.of(ar.cause()) == FilesApiFailure.GONE) {
        System.out.println("missed events: " + ar.cause().getMessage());
        last = FileEvent.earliestAvailable(ar.cause().getMessage()) - 1;
        replay();
      } else {
        System.out.println("replay failed (" + FilesApiFailure.of(ar.cause()) + "), again in 1 s: " + ar.cause().getMessage());
        vertx.setTimer(1000, t -> replay());
      }
    });
  }

  private void print(FileEvent event) {
    last = event.position();
    String name = event.resource() == null ? "" : event.resource().getJsonObject("metadata").getString("name");
    System.out.println("event " + event.position() + " " + event.type() + " " + event.fileId() + " " + name);
  }
}
