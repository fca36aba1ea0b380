package example.sibling;

import dev.files.api.FileEvent;
import dev.files.api.FilesApi;
import dev.files.api.FilesApiFailure;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A sibling verticle of the files service (docs/event-bus.md). It listens to one company's file
 * events and prints each once ({@code event <type> <file_id> <name>}), then stores a small report as
 * its application's file through {@code files.api} and prints the report's download link
 * ({@code stored report.txt as <file_id>: <url>}); the report's own {@code file.uploaded} follows.
 *
 * <p>Configuration: {@code {"token": an application JWT of the company, "company_id": uuid}}. Run it in
 * the cluster of {@code scripts/cluster} with {@code scripts/sibling}, which makes both.
 */
public class ExampleSibling extends VerticleBase {

  /** Ids of the events printed, the last 10,000: an event may come twice, with the same id. */
  private final Set<String> seen = Collections.newSetFromMap(new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > 10_000;
    }
  });

  @Override
  public Future<?> start() {
    String company = config().getString("company_id");
    FilesApi files = FilesApi.proxy(vertx, config().getString("token"));
    return vertx.eventBus().<JsonObject>consumer(FileEvent.address(company), message -> print(FileEvent.from(message.body())))
        .completion()
        .onSuccess(listening -> {
          System.out.println("listening to " + FileEvent.address(company));
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

  private void print(FileEvent event) {
    if (seen.add(event.id())) {
      String name = event.resource() == null ? "" : event.resource().getJsonObject("metadata").getString("name");
      System.out.println("event " + event.type() + " " + event.fileId() + " " + name);
    }
  }
}
