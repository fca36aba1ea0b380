import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The event listener of scripts/chaos: a sibling verticle (docs/event-bus.md) that records every event
 * it receives on {@code files.events.<company_id>} and {@code files.events}, and replays the
 * company's events through the {@code files.api} action {@code events} when asked.
 *
 * <p>Configuration: {@code {"company_id": uuid, "token": application JWT of the company, "dir": path}}.
 * Every event received appends {@code received <address> <event id> <type> <file_id>} to
 * {@code dir/events.log}. When the file {@code dir/replay.request} appears (checked every 500 ms), it
 * is removed, the company's events are read from position 0 with {@code events} ({@code after},
 * {@code limit} 500, as long as a page is full), each as {@code replayed <event id> <type> <file_id>}
 * in {@code dir/replay.log}, which ends with {@code replay done <count>}, or with
 * {@code replay unavailable <message>} when the service has no such action.
 */
public class ChaosSibling extends VerticleBase {

  private Path dir;
  private PrintWriter events;

  @Override
  public Future<?> start() throws IOException {
    String company = config().getString("company_id");
    String token = config().getString("token");
    dir = Path.of(config().getString("dir"));
    events = new PrintWriter(Files.newBufferedWriter(dir.resolve("events.log"), StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND), true);
    vertx.setPeriodic(500, t -> {
      Path request = dir.resolve("replay.request");
      if (Files.exists(request)) {
        try {
          Files.deleteIfExists(request);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        replay(company, token);
      }
    });
    Future<Void> one = vertx.eventBus().<JsonObject>consumer("files.events." + company,
        m -> record("company", m.body())).completion();
    Future<Void> all = vertx.eventBus().<JsonObject>consumer("files.events", m -> record("all", m.body())).completion();
    return Future.all(one, all).onSuccess(v -> System.out.println("chaos sibling listening"));
  }

  private void record(String address, JsonObject e) {
    events.println("received " + address + " " + e.getString("id") + " " + e.getString("type") + " "
        + e.getString("file_id") + " " + position(e));
  }

  private static Object position(JsonObject e) {
    Object p = e.getValue("position");
    return p == null ? e.getValue("seq", "-") : p;
  }

  private void replay(String company, String token) {
    try {
      PrintWriter out = new PrintWriter(Files.newBufferedWriter(dir.resolve("replay.log"), StandardCharsets.UTF_8), true);
      page(company, token, 0L, out, 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void page(String company, String token, long after, PrintWriter out, int count) {
    DeliveryOptions opts = new DeliveryOptions().addHeader("action", "events")
        .addHeader("authorization", "Bearer " + token).setSendTimeout(30_000);
    JsonObject body = new JsonObject().put("company_id", company).put("after", after).put("limit", 500);
    vertx.eventBus().<JsonObject>request("files.api", body, opts).onComplete(ar -> {
      if (ar.failed()) {
        Throwable err = ar.cause();
        String code = err instanceof ReplyException re ? String.valueOf(re.failureCode()) : "-";
        out.println("replay unavailable " + code + " " + String.valueOf(err.getMessage()).replace('\n', ' '));
        out.close();
        return;
      }
      JsonObject reply = ar.result().body();
      JsonArray list = reply.getJsonArray("events", new JsonArray());
      long last = after;
      int n = count;
      for (int i = 0; i < list.size(); i++) {
        JsonObject e = list.getJsonObject(i);
        out.println("replayed " + e.getString("id") + " " + e.getString("type") + " " + e.getString("file_id")
            + " " + position(e));
        Object p = position(e);
        if (p instanceof Number num) {
          last = Math.max(last, num.longValue());
        }
        n++;
      }
      if (list.size() >= 500 && last > after) {
        page(company, token, last, out, n);
      } else {
        out.println("replay done " + n);
        out.close();
      }
    });
  }
}
