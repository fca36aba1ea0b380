package dev.files.support;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The tests' HTTP client ({@link Api#CLIENT}): a java.net.http client that checks every exchange of
 * the test suite against {@code docs/openapi.yaml} ({@link OpenApiValidator}) and fails the request
 * (an {@link AssertionError} from {@code send}) when the answer, or an accepted request, does not
 * match the document, so that the document cannot drift from what the service answers.
 *
 * <p>The first {@link #CAPTURE} bytes of each request body are kept as they are sent (enough for a
 * multipart body's fields and part headers); a response body is checked when the test reads it as a
 * String or byte[]. {@code -Dopenapi.validate=false} turns the checks off.
 */
public final class ValidatingHttpClient extends HttpClient {

  /** Request body bytes kept for the check. */
  static final int CAPTURE = 64 * 1024;

  private static final boolean ENABLED = !"false".equals(System.getProperty("openapi.validate"));
  private static volatile OpenApiValidator validator;
  /** The operations the suite's requests reached (and passed the check), by operationId. */
  public static final Set<String> EXERCISED = ConcurrentHashMap.newKeySet();
  /** Exchanges checked so far. */
  public static final AtomicLong CHECKED = new AtomicLong();

  private final HttpClient delegate;

  public ValidatingHttpClient(HttpClient delegate) {
    this.delegate = delegate;
  }

  /** The validator of {@code docs/openapi.yaml} (the working directory is the project's, under Maven). */
  public static OpenApiValidator validator() {
    if (validator == null) {
      synchronized (ValidatingHttpClient.class) {
        if (validator == null) {
          validator = new OpenApiValidator(Path.of("docs/openapi.yaml"));
        }
      }
    }
    return validator;
  }

  @Override
  public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException, InterruptedException {
    if (!ENABLED) {
      return delegate.send(request, handler);
    }
    Capture capture = new Capture();
    HttpResponse<T> response = delegate.send(capture.wrap(request), handler);
    check(request, capture, response);
    return response;
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    if (!ENABLED) {
      return delegate.sendAsync(request, handler);
    }
    Capture capture = new Capture();
    return delegate.sendAsync(capture.wrap(request), handler).thenApply(r -> {
      check(request, capture, r);
      return r;
    });
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                                          HttpResponse.PushPromiseHandler<T> push) {
    return sendAsync(request, handler);
  }

  private static void check(HttpRequest request, Capture capture, HttpResponse<?> response) {
    Object body = response.body();
    byte[] bytes = body instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : body instanceof byte[] b ? b : null;
    OpenApiValidator.Exchange x = new OpenApiValidator.Exchange(request.method(), request.uri(),
        headers(request.headers()), capture.bytes(), capture.length.get(), response.statusCode(),
        headers(response.headers()), bytes);
    OpenApiValidator.Result result = validator().check(x);
    CHECKED.incrementAndGet();
    if (!result.problems().isEmpty()) {
      throw new AssertionError("docs/openapi.yaml does not match " + request.method() + " " + request.uri()
          + " -> " + response.statusCode() + ":\n  " + String.join("\n  ", result.problems())
          + (bytes == null ? "" : "\n  body: " + new String(bytes, 0, Math.min(bytes.length, 500), StandardCharsets.UTF_8)));
    }
    if (result.operationId() != null) {
      EXERCISED.add(result.operationId());
    }
  }

  private static Map<String, List<String>> headers(HttpHeaders h) {
    Map<String, List<String>> out = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    out.putAll(h.map());
    return out;
  }

  /** Keeps the first {@link #CAPTURE} bytes of a request body as they are sent, and counts them all. */
  private static final class Capture {
    private final ByteArrayOutputStream start = new ByteArrayOutputStream();
    final AtomicLong length = new AtomicLong();

    synchronized byte[] bytes() {
      return start.toByteArray();
    }

    synchronized void keep(ByteBuffer b) {
      ByteBuffer d = b.duplicate();
      length.addAndGet(d.remaining());
      int n = Math.min(d.remaining(), CAPTURE - start.size());
      if (n > 0) {
        byte[] copy = new byte[n];
        d.get(copy);
        start.write(copy, 0, n);
      }
    }

    HttpRequest wrap(HttpRequest request) {
      Optional<HttpRequest.BodyPublisher> body = request.bodyPublisher();
      if (body.isEmpty()) {
        return request;
      }
      HttpRequest.BodyPublisher inner = body.get();
      HttpRequest.BodyPublisher tee = new HttpRequest.BodyPublisher() {
        @Override
        public long contentLength() {
          return inner.contentLength();
        }

        @Override
        public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
          inner.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
              subscriber.onSubscribe(s);
            }

            @Override
            public void onNext(ByteBuffer item) {
              keep(item);
              subscriber.onNext(item);
            }

            @Override
            public void onError(Throwable t) {
              subscriber.onError(t);
            }

            @Override
            public void onComplete() {
              subscriber.onComplete();
            }
          });
        }
      };
      return HttpRequest.newBuilder(request, (n, v) -> true).method(request.method(), tee).build();
    }
  }

  @Override
  public Optional<CookieHandler> cookieHandler() {
    return delegate.cookieHandler();
  }

  @Override
  public Optional<Duration> connectTimeout() {
    return delegate.connectTimeout();
  }

  @Override
  public Redirect followRedirects() {
    return delegate.followRedirects();
  }

  @Override
  public Optional<ProxySelector> proxy() {
    return delegate.proxy();
  }

  @Override
  public SSLContext sslContext() {
    return delegate.sslContext();
  }

  @Override
  public SSLParameters sslParameters() {
    return delegate.sslParameters();
  }

  @Override
  public Optional<Authenticator> authenticator() {
    return delegate.authenticator();
  }

  @Override
  public Version version() {
    return delegate.version();
  }

  @Override
  public Optional<Executor> executor() {
    return delegate.executor();
  }
}
