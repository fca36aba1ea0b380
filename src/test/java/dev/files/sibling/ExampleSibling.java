package dev.files.sibling;

import dev.files.api.FilesApi;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A sibling verticle using files.api (docs/event-bus.md): stores a text it made as its application's
 * file, reads it back and publishes a download link on {@code sibling.reports}. Configuration:
 * {@code {"token": application JWT, "company_id": uuid, "text": string}}.
 */
public class ExampleSibling extends VerticleBase {

  @Override
  public Future<?> start() {
    FilesApi files = FilesApi.proxy(vertx, config().getString("token"));
    String company = config().getString("company_id");
    byte[] text = config().getString("text").getBytes(StandardCharsets.UTF_8);
    return files.create(company, "report.txt", "text/plain", Base64.getEncoder().encodeToString(text))
        .compose(created -> files.read(company, created.getJsonObject("resource").getString("id"))
            .map(link -> link.put("resource", created.getJsonObject("resource"))))
        .onSuccess(link -> vertx.eventBus().publish("sibling.reports", link))
        .onFailure(err -> vertx.eventBus().publish("sibling.reports", new JsonObject().put("error", err.getMessage())));
  }
}
