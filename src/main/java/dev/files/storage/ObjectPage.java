package dev.files.storage;

import java.util.List;

/**
 * One page of an {@link ObjectStore#list} listing.
 *
 * @param objects the objects of this page, in ascending key order
 * @param next    the token for the next page, or {@code null} when this page is the last
 */
public record ObjectPage(List<ObjectInfo> objects, String next) {

  public ObjectPage {
    objects = List.copyOf(objects);
  }

  /** Whether more pages follow. */
  public boolean hasNext() {
    return next != null;
  }
}
