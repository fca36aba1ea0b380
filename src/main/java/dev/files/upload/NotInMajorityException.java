package dev.files.upload;

/**
 * This node takes no upload session: at its last lease refresh it saw fewer cluster members than
 * half of the nodes holding a valid lease (it is in a minority part of a split cluster, or cut off
 * from the others). HTTP 503 with {@code Retry-After: 1}; nothing was changed, and another node (one
 * in the majority) can take the request. See {@link SessionOwnership}.
 */
public class NotInMajorityException extends UploadException {

  /** @param why what this node sees, e.g. "it sees 1 cluster member(s) of 3 leased nodes" */
  public NotInMajorityException(String why) {
    super(503, "this node takes no upload session: it is not in the majority of the cluster (" + why
        + "); try another node");
  }
}
