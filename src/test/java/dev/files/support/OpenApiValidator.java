package dev.files.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks one HTTP exchange against the OpenAPI 3.1 document {@code docs/openapi.yaml}, with JSON
 * Schema draft 2020-12 (the dialect of OpenAPI 3.1; networknt's validator, format assertions on).
 *
 * <p>The answer is always checked: its route and method must be documented (else it must be a 404 or
 * 405 error), its status must be listed for the operation, its Content-Type must match a listed media
 * type, a JSON body must match the schema, required headers must be present, every header the
 * document lists must match its schema, and every header outside {@link #GENERIC_HEADERS} must be
 * listed. The request is checked when the service accepted it (status below 400): every query
 * parameter must be documented and match its schema (as must path parameters and documented request
 * headers), the operation's security must be met, and the body's media type must be listed (for
 * multipart bodies, the file part must be there and the text fields must be documented names).
 * A refused request (4xx) may well break the document: that is what tests of refusals do. CORS
 * preflights are not operations of the API and are not checked.
 */
public final class OpenApiValidator {

  /** Headers any answer may carry without the document listing them (transport, CORS, caching, hardening). */
  static final Set<String> GENERIC_HEADERS = Set.of("content-type", "content-length", "transfer-encoding", "connection",
      "keep-alive", "date", "vary", "cache-control", "x-content-type-options", "accept-ranges", "retry-after",
      "x-request-id");

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PARAM = Pattern.compile("\\{([^}]+)}");

  private final JsonNode doc;
  private final List<Route> routes = new ArrayList<>();
  private final Map<String, JsonSchema> schemas = new ConcurrentHashMap<>();
  private final JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
  private final SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();

  /** A documented path: its template, the regex matching it, and the names of its parameters. */
  private record Route(String template, Pattern regex, List<String> names) {
  }

  /** One exchange as a client saw it. */
  public record Exchange(String method, URI uri, Map<String, List<String>> requestHeaders, byte[] requestBodyStart,
                         long requestBodyLength, int status, Map<String, List<String>> responseHeaders,
                         byte[] responseBody) {
  }

  /** The result of a check: the operation (or null), and what does not match the document. */
  public record Result(String operationId, List<String> problems) {
  }

  public OpenApiValidator(Path document) {
    try {
      this.doc = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(document));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Iterator<String> it = doc.path("paths").fieldNames(); it.hasNext(); ) {
      String template = it.next();
      List<String> names = new ArrayList<>();
      Matcher m = PARAM.matcher(template);
      StringBuilder regex = new StringBuilder("^");
      int last = 0;
      while (m.find()) {
        regex.append(Pattern.quote(template.substring(last, m.start()))).append("([^/]+)");
        names.add(m.group(1));
        last = m.end();
      }
      regex.append(Pattern.quote(template.substring(last))).append("$");
      routes.add(new Route(template, Pattern.compile(regex.toString()), names));
    }
  }

  /** The parsed document. */
  public JsonNode document() {
    return doc;
  }

  /** Every operationId of the document. */
  public List<String> operationIds() {
    List<String> ids = new ArrayList<>();
    doc.path("paths").forEach(item -> item.fields().forEachRemaining(e -> {
      if (e.getValue().has("operationId")) {
        ids.add(e.getValue().get("operationId").asText());
      }
    }));
    return ids;
  }

  /** What does not match the schema at {@code schemaPointer} (a JSON pointer into the document, {@code #/...}). */
  public List<String> validate(String schemaPointer, JsonNode value) {
    List<String> out = new ArrayList<>();
    for (ValidationMessage m : schema(schemaPointer).validate(value)) {
      out.add(m.getMessage());
    }
    return out;
  }

  /** Checks {@code x}. */
  public Result check(Exchange x) {
    List<String> problems = new ArrayList<>();
    if (x.method().equals("OPTIONS") && header(x.requestHeaders(), "Access-Control-Request-Method") != null) {
      return new Result(null, problems); // a CORS preflight: HTTP machinery, not an operation of the API
    }
    String path = x.uri().getRawPath();
    Route route = null;
    Map<String, String> pathParams = new LinkedHashMap<>();
    for (Route r : routes) {
      Matcher m = r.regex().matcher(path);
      if (m.matches()) {
        route = r;
        for (int i = 0; i < r.names().size(); i++) {
          pathParams.put(r.names().get(i), URLDecoder.decode(m.group(i + 1), StandardCharsets.UTF_8));
        }
        break;
      }
    }
    String method = x.method().toLowerCase(Locale.ROOT);
    JsonNode item = route == null ? null : doc.path("paths").path(route.template());
    JsonNode op = item == null ? null : item.get(method);
    if (op == null) {
      if (x.status() != 404 && x.status() != 405) {
        problems.add(x.method() + " " + path + " is not documented, yet answered " + x.status());
      } else {
        checkBody(problems, "#/components/schemas/Error", x.responseBody(), "error body");
      }
      return new Result(null, problems);
    }
    String opId = op.path("operationId").asText();
    String pointer = "#/paths/" + escape(route.template()) + "/" + method;
    List<JsonNode> params = new ArrayList<>();
    item.path("parameters").forEach(p -> params.add(resolve(p)));
    op.path("parameters").forEach(p -> params.add(resolve(p)));
    checkResponse(problems, x, op, pointer, method);
    if (x.status() < 400) {
      checkRequest(problems, x, op, pointer, params, pathParams);
    }
    return new Result(opId, problems);
  }

  private void checkRequest(List<String> problems, Exchange x, JsonNode op, String pointer, List<JsonNode> params,
                            Map<String, String> pathParams) {
    Map<String, List<String>> query = query(x.uri());
    for (JsonNode p : params) {
      String name = p.path("name").asText();
      String in = p.path("in").asText();
      String value = switch (in) {
        case "path" -> pathParams.get(name);
        case "query" -> query.containsKey(name) ? query.get(name).get(0) : null;
        case "header" -> header(x.requestHeaders(), name);
        default -> null;
      };
      if (value == null) {
        if (p.path("required").asBoolean(false)) {
          problems.add("required " + in + " parameter " + name + " is missing");
        }
        continue;
      }
      checkValue(problems, p.path("schema"), value, in + " parameter " + name);
    }
    for (String name : query.keySet()) {
      boolean documented = params.stream().anyMatch(p -> p.path("in").asText().equals("query") && p.path("name").asText().equals(name));
      if (!documented) {
        problems.add("query parameter " + name + " is not documented");
      }
    }
    checkSecurity(problems, x, op, query);
    checkRequestBody(problems, x, op, pointer);
  }

  private void checkSecurity(List<String> problems, Exchange x, JsonNode op, Map<String, List<String>> query) {
    JsonNode security = op.has("security") ? op.get("security") : doc.path("security");
    if (!security.isArray() || security.isEmpty()) {
      return;
    }
    boolean met = false;
    for (JsonNode requirement : security) {
      if (requirement.isEmpty()) {
        met = true;
      }
      for (Iterator<String> it = requirement.fieldNames(); it.hasNext(); ) {
        JsonNode scheme = doc.path("components").path("securitySchemes").path(it.next());
        if (scheme.path("type").asText().equals("http")) {
          String auth = header(x.requestHeaders(), "Authorization");
          met |= auth != null && auth.regionMatches(true, 0, scheme.path("scheme").asText() + " ", 0,
              scheme.path("scheme").asText().length() + 1);
        } else if (scheme.path("type").asText().equals("apiKey") && scheme.path("in").asText().equals("query")) {
          met |= query.containsKey(scheme.path("name").asText());
        }
      }
    }
    if (!met) {
      problems.add("answered " + x.status() + " without the credentials the document requires (" + security + ")");
    }
  }

  private void checkRequestBody(List<String> problems, Exchange x, JsonNode op, String pointer) {
    JsonNode body = resolve(op.path("requestBody"));
    boolean hasBody = x.requestBodyLength() > 0;
    String type = header(x.requestHeaders(), "Content-Type");
    if (!hasBody) {
      if (body.path("required").asBoolean(false)) {
        problems.add("the request has no body, which the document requires");
      }
      return;
    }
    if (body.isMissingNode()) {
      problems.add("the request has a body, which the document does not describe");
      return;
    }
    String media = matchMedia(body.path("content"), type);
    if (media == null) {
      problems.add("request body type " + type + " is not documented (" + names(body.path("content")) + ")");
      return;
    }
    String schemaPointer = pointer + "/requestBody/content/" + escape(media) + "/schema";
    if (media.equals("multipart/form-data")) {
      checkMultipart(problems, x, body.path("content").path(media).path("schema"), type);
    } else if (isJson(media) && x.requestBodyStart().length == x.requestBodyLength()) {
      checkBody(problems, op.path("requestBody").has("$ref") ? null : schemaPointer, x.requestBodyStart(), "request body");
    }
  }

  private void checkMultipart(List<String> problems, Exchange x, JsonNode schema, String type) {
    JsonNode form = resolve(schema);
    Matcher b = Pattern.compile("boundary=\"?([^\";]+)\"?").matcher(type);
    if (!b.find()) {
      problems.add("multipart body without a boundary");
      return;
    }
    String text = new String(x.requestBodyStart(), StandardCharsets.ISO_8859_1);
    String delimiter = "--" + b.group(1);
    boolean filePart = false;
    for (String part : text.split(Pattern.quote(delimiter))) {
      int headEnd = part.indexOf("\r\n\r\n");
      if (headEnd < 0) {
        continue;
      }
      String head = part.substring(0, headEnd);
      Matcher name = Pattern.compile("(?i)content-disposition:[^\r\n]*;\\s*name=\"([^\"]*)\"").matcher(head);
      boolean hasFilename = Pattern.compile("(?i)content-disposition:[^\r\n]*;\\s*filename=").matcher(head).find();
      if (!name.find()) {
        continue;
      }
      if (hasFilename) {
        filePart = true;
      } else if (!form.path("properties").has(name.group(1)) && !isDocumentedQueryName(name.group(1))) {
        problems.add("multipart field " + name.group(1) + " is not documented");
      }
    }
    if (!filePart && form.path("required").toString().contains("\"file\"")) {
      problems.add("the multipart body has no file part");
    }
  }

  private boolean isDocumentedQueryName(String name) {
    for (JsonNode p : doc.path("components").path("parameters")) {
      if (p.path("in").asText().equals("query") && p.path("name").asText().equals(name)) {
        return true;
      }
    }
    return false;
  }

  private void checkResponse(List<String> problems, Exchange x, JsonNode op, String pointer, String method) {
    String status = Integer.toString(x.status());
    JsonNode responses = op.path("responses");
    String key = responses.has(status) ? status : responses.has("default") ? "default" : null;
    if (key == null) {
      problems.add("status " + status + " is not documented (" + names(responses) + ")");
      return;
    }
    JsonNode response = resolve(responses.get(key));
    String responsePointer = responses.get(key).has("$ref") ? responses.get(key).get("$ref").asText()
        : pointer + "/responses/" + key;
    JsonNode headers = response.path("headers");
    for (Iterator<Map.Entry<String, JsonNode>> it = headers.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode h = resolve(e.getValue());
      String value = header(x.responseHeaders(), e.getKey());
      if (value == null) {
        if (h.path("required").asBoolean(false)) {
          problems.add("required response header " + e.getKey() + " is missing");
        }
      } else {
        checkValue(problems, h.path("schema"), value, "response header " + e.getKey());
      }
    }
    for (String name : x.responseHeaders().keySet()) {
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.startsWith(":") || lower.startsWith("access-control-") || GENERIC_HEADERS.contains(lower)) {
        continue;
      }
      boolean documented = false;
      for (Iterator<String> it = headers.fieldNames(); it.hasNext(); ) {
        documented |= it.next().equalsIgnoreCase(name);
      }
      if (!documented) {
        problems.add("response header " + name + " is not documented for " + status);
      }
    }
    JsonNode content = response.path("content");
    String type = header(x.responseHeaders(), "Content-Type");
    boolean bodyExpected = !method.equals("head") && x.status() != 204 && x.status() != 304;
    if (content.isMissingNode() || content.isEmpty()) {
      if (bodyExpected && x.responseBody() != null && x.responseBody().length > 0) {
        problems.add("status " + status + " has a body, which the document does not describe");
      }
      return;
    }
    String media = matchMedia(content, type);
    if (media == null) {
      problems.add("response type " + type + " is not documented for " + status + " (" + names(content) + ")");
      return;
    }
    if (bodyExpected && isJson(media) && x.responseBody() != null) {
      checkBody(problems, responsePointer + "/content/" + escape(media) + "/schema", x.responseBody(), "response body");
    }
  }

  private void checkBody(List<String> problems, String schemaPointer, byte[] body, String what) {
    if (schemaPointer == null || body == null) {
      return;
    }
    JsonNode value;
    try {
      value = JSON.readTree(body);
    } catch (IOException e) {
      problems.add(what + " is not JSON: " + new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8));
      return;
    }
    for (ValidationMessage m : schema(schemaPointer).validate(value)) {
      problems.add(what + ": " + m.getMessage());
    }
  }

  private void checkValue(List<String> problems, JsonNode schema, String raw, String what) {
    JsonNode s = resolve(schema);
    JsonNode value;
    String type = s.path("type").asText();
    if (type.equals("integer") || type.equals("number")) {
      try {
        value = JSON.getNodeFactory().numberNode(new java.math.BigDecimal(raw.strip()));
        if (type.equals("integer") && !raw.strip().matches("-?[0-9]+")) {
          problems.add(what + " is not an integer: " + raw);
          return;
        }
      } catch (NumberFormatException e) {
        problems.add(what + " is not a number: " + raw);
        return;
      }
    } else {
      value = JSON.getNodeFactory().textNode(raw);
    }
    ObjectNode wrapper = JSON.createObjectNode();
    wrapper.set("components", doc.path("components"));
    wrapper.set("allOf", JSON.createArrayNode().add(schema));
    JsonSchema compiled = schemas.computeIfAbsent("inline:" + schema, k -> factory.getSchema(wrapper, config));
    for (ValidationMessage m : compiled.validate(value)) {
      problems.add(what + " '" + raw + "': " + m.getMessage());
    }
  }

  /** The schema at a JSON pointer of the document, compiled once; its $refs resolve in the document. */
  private JsonSchema schema(String pointer) {
    return schemas.computeIfAbsent(pointer, p -> {
      ObjectNode wrapper = JSON.createObjectNode();
      wrapper.put("$schema", "https://json-schema.org/draft/2020-12/schema");
      wrapper.set("components", doc.path("components"));
      wrapper.set("paths", doc.path("paths"));
      wrapper.put("$ref", p);
      return factory.getSchema(wrapper, config);
    });
  }

  /** Follows a local {@code $ref} (possibly several). */
  private JsonNode resolve(JsonNode node) {
    JsonNode n = node;
    for (int i = 0; i < 10 && n.has("$ref"); i++) {
      n = doc.at(n.get("$ref").asText().substring(1));
    }
    return n;
  }

  private static String matchMedia(JsonNode content, String type) {
    if (type == null) {
      return null;
    }
    String t = type.split(";")[0].strip().toLowerCase(Locale.ROOT);
    if (content.has(t)) {
      return t;
    }
    String range = t.contains("/") ? t.substring(0, t.indexOf('/')) + "/*" : null;
    if (range != null && content.has(range)) {
      return range;
    }
    return content.has("*/*") ? "*/*" : null;
  }

  private static boolean isJson(String media) {
    return media.equals("application/json") || media.endsWith("+json");
  }

  private static String names(JsonNode object) {
    List<String> out = new ArrayList<>();
    object.fieldNames().forEachRemaining(out::add);
    return String.join(", ", out);
  }

  private static String escape(String pointerToken) {
    return pointerToken.replace("~", "~0").replace("/", "~1");
  }

  private static String header(Map<String, List<String>> headers, String name) {
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
        return e.getValue().get(0);
      }
    }
    return null;
  }

  private static Map<String, List<String>> query(URI uri) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    return out;
  }
}
