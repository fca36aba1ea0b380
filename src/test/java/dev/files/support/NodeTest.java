package dev.files.support;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

import java.util.Map;
import java.util.UUID;

/**
 * Base of the tests that talk to one real node per class: the node (own database, storage and
 * port), an API client, a company, a user of it and that user's token. Subclasses give configuration
 * overrides with {@link #settings()}; their own {@code @BeforeAll} methods run after the node started.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class NodeTest {

  protected TestNode node;
  protected Api api;
  protected final UUID company = UUID.randomUUID();
  protected final UUID user = UUID.randomUUID();
  /** A user token of {@link #user} for {@link #company}. */
  protected String token;

  /** Configuration overrides (dotted keys) of this class's node. */
  protected Map<String, ?> settings() {
    return Map.of();
  }

  @BeforeAll
  final void startNode() throws Exception {
    node = TestNode.start(settings());
    api = new Api(node);
    token = TestNode.userToken(user, company);
  }

  @AfterAll
  final void stopNode() throws Exception {
    node.close();
  }
}
