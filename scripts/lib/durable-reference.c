/*
 * The durable reference of scripts/bench: the floor for storing each uploaded file durably, one at
 * a time. A minimal HTTP/1.1 server on 127.0.0.1 that, for every POST or PUT with a body:
 *
 *   1. writes the body (as it arrives, multipart or not: it is not parsed) to a new file in
 *      DIRECTORY, through a 1 MiB buffer;
 *   2. fdatasync(2)s the file, then fsync(2)s DIRECTORY (so the new name survives a crash);
 *   3. inserts a row (name, size in bytes) into the table "files" with synchronous_commit on, in a
 *      transaction of its own (one WAL flush per file);
 *   4. answers 201 with {"name": "...", "size": N} (size in bytes).
 *
 * Connections are kept alive (HTTP/1.1, unless "Connection: close"); each connection has a thread
 * of its own and handles one request at a time. At most POOL inserts run at once: the threads
 * share POOL PostgreSQL connections (as the service shares its db.pool_size). GET /health answers
 * 200. A body must come with Content-Length (411 otherwise); "Expect: 100-continue" is answered.
 * Errors: 400 (a request it cannot parse, then the connection is closed), 405 (another method),
 * 411, 431 (headers over 64 KiB), 500 (a write or sync failed: the file is removed), 503 (the
 * insert failed: the file is removed).
 *
 * usage: durable-reference PORT DIRECTORY CONNINFO [POOL]   (POOL: default 8)
 * Build: cc -O2 -pthread durable-reference.c -I$(pg_config --includedir) -lpq (scripts/bench does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024)    /* largest request head (bytes) */
#define BODY_BUF (1024 * 1024)  /* body buffer (bytes) */

static const char *dir_path;
static int dir_fd;
static const char *conninfo;
static uint64_t next_name;

/* --- a fixed pool of PostgreSQL connections, each with the insert prepared */
static PGconn **pool;
static int pool_size, pool_free_count;
static int *pool_free;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;

static PGconn *db_connect(void) {
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "durable-reference: PostgreSQL: %s", PQerrorMessage(c));
    PQfinish(c);
    return NULL;
  }
  PGresult *r = PQexec(c, "SET synchronous_commit = on");
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (ok) {
    r = PQprepare(c, "ins", "INSERT INTO files (name, size) VALUES ($1, $2)", 2, NULL);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (!ok) {
    fprintf(stderr, "durable-reference: PostgreSQL: %s", PQerrorMessage(c));
    PQfinish(c);
    return NULL;
  }
  return c;
}

static int pool_take(void) {
  pthread_mutex_lock(&pool_lock);
  while (pool_free_count == 0) pthread_cond_wait(&pool_cond, &pool_lock);
  int i = pool_free[--pool_free_count];
  pthread_mutex_unlock(&pool_lock);
  return i;
}

static void pool_give(int i) {
  pthread_mutex_lock(&pool_lock);
  pool_free[pool_free_count++] = i;
  pthread_cond_signal(&pool_cond);
  pthread_mutex_unlock(&pool_lock);
}

/* Inserts the row of one file; 0 when committed (synchronous_commit on: the WAL is flushed). */
static int insert_row(const char *name, long long size) {
  int i = pool_take();
  if (!pool[i] || PQstatus(pool[i]) != CONNECTION_OK) { /* connect again after a failure */
    PQfinish(pool[i]);
    pool[i] = db_connect();
  }
  int ok = 0;
  if (pool[i]) {
    char size_text[32];
    snprintf(size_text, sizeof size_text, "%lld", size);
    const char *values[2] = {name, size_text};
    PGresult *r = PQexecPrepared(pool[i], "ins", 2, values, NULL, NULL, 0);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "durable-reference: insert: %s", PQerrorMessage(pool[i]));
    PQclear(r);
  }
  pool_give(i);
  return ok ? 0 : -1;
}

/* --- HTTP */
static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int respond(int fd, int status, const char *reason, int keep, const char *fmt, ...) {
  char body[512], msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int bn = vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  int n = snprintf(msg, sizeof msg,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s",
                   status, reason, bn, keep ? "" : "Connection: close\r\n", body);
  return send_all(fd, msg, (size_t)n);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The value of header NAME in the head [h, end) (lines end with CRLF), copied to out; 0 if found. */
static int header(const char *h, const char *end, const char *name, char *out, size_t out_size) {
  size_t nl = strlen(name);
  for (const char *line = h; line < end;) {
    const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
    if (!eol) eol = end;
    if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
      const char *v = line + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      size_t n = (size_t)(ve - v);
      if (n >= out_size) n = out_size - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return 0;
    }
    line = eol + 2;
  }
  return -1;
}

struct conn {
  int fd;
  char *head;  /* HEAD_MAX bytes: what was read and not yet used */
  size_t have; /* bytes in head */
  char *body;  /* BODY_BUF bytes */
};

/* Reads the body of `length` bytes (first what is already in c->head) into a new file; made
 * durable with its name; then the row. Answers; returns 0 to keep the connection, -1 to close. */
static int store(struct conn *c, long long length, int keep) {
  char name[32];
  snprintf(name, sizeof name, "%020llu", (unsigned long long)__atomic_fetch_add(&next_name, 1, __ATOMIC_RELAXED));
  int f = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (f < 0) {
    perror("durable-reference: open");
    respond(c->fd, 500, "Internal Server Error", 0, "{\"error\":\"cannot create the file\"}");
    return -1;
  }
  long long left = length;
  int failed = 0;
  size_t first = c->have < (unsigned long long)left ? c->have : (size_t)left;
  if (first > 0) {
    failed = write_all(f, c->head, first) < 0;
    memmove(c->head, c->head + first, c->have - first);
    c->have -= first;
    left -= (long long)first;
  }
  while (left > 0 && !failed) {
    ssize_t r = recv(c->fd, c->body, left < BODY_BUF ? (size_t)left : BODY_BUF, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { /* the client went away: nothing is kept */
      close(f);
      unlinkat(dir_fd, name, 0);
      return -1;
    }
    failed = write_all(f, c->body, (size_t)r) < 0;
    left -= r;
  }
  if (!failed) failed = fdatasync(f) < 0;
  if (close(f) < 0) failed = 1;
  if (!failed) failed = fsync(dir_fd) < 0;
  if (failed) {
    perror("durable-reference: write");
    unlinkat(dir_fd, name, 0);
    respond(c->fd, 500, "Internal Server Error", 0, "{\"error\":\"cannot write the file\"}");
    return -1;
  }
  if (insert_row(name, length) < 0) {
    unlinkat(dir_fd, name, 0);
    fsync(dir_fd);
    respond(c->fd, 503, "Service Unavailable", 0, "{\"error\":\"database unavailable\"}");
    return -1;
  }
  return respond(c->fd, 201, "Created", keep, "{\"name\":\"%s\",\"size\":%lld}", name, length) < 0 || !keep ? -1 : 0;
}

/* Handles one request whose head is in c->head; returns 0 to keep the connection, -1 to close. */
static int handle(struct conn *c) {
  char *end = memmem(c->head, c->have, "\r\n\r\n", 4);
  size_t head_len = (size_t)(end - c->head) + 4;
  char *eol = memmem(c->head, head_len, "\r\n", 2);
  char method[16], target[1024], version[16];
  char line[1100];
  size_t ll = (size_t)(eol - c->head) < sizeof line - 1 ? (size_t)(eol - c->head) : sizeof line - 1;
  memcpy(line, c->head, ll);
  line[ll] = 0;
  if (sscanf(line, "%15s %1023s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7) != 0) {
    respond(c->fd, 400, "Bad Request", 0, "{\"error\":\"bad request line\"}");
    return -1;
  }
  char value[256];
  int keep = strcmp(version, "HTTP/1.1") == 0;
  if (header(eol + 2, end + 2, "Connection", value, sizeof value) == 0) {
    if (strcasecmp(value, "close") == 0) keep = 0;
    else if (strcasecmp(value, "keep-alive") == 0) keep = 1;
  }
  long long length = -1;
  if (header(eol + 2, end + 2, "Content-Length", value, sizeof value) == 0) {
    char *e;
    errno = 0;
    length = strtoll(value, &e, 10);
    if (errno || *e || length < 0 || value[0] == 0) {
      respond(c->fd, 400, "Bad Request", 0, "{\"error\":\"bad Content-Length\"}");
      return -1;
    }
  }
  int chunked = header(eol + 2, end + 2, "Transfer-Encoding", value, sizeof value) == 0;
  int expect = header(eol + 2, end + 2, "Expect", value, sizeof value) == 0 && strcasecmp(value, "100-continue") == 0;
  /* what follows the head stays in the buffer: the body's first bytes */
  memmove(c->head, c->head + head_len, c->have - head_len);
  c->have -= head_len;

  if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
    if (chunked || length < 0) {
      respond(c->fd, 411, "Length Required", 0, "{\"error\":\"a body needs Content-Length\"}");
      return -1;
    }
    if (expect && send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) return -1;
    return store(c, length, keep);
  }
  if (chunked || length > 0) {
    respond(c->fd, 405, "Method Not Allowed", 0, "{\"error\":\"POST or PUT a body\"}");
    return -1;
  }
  if (strcmp(method, "GET") == 0 && strcmp(target, "/health") == 0)
    return respond(c->fd, 200, "OK", keep, "{\"status\":\"UP\"}") < 0 || !keep ? -1 : 0;
  return respond(c->fd, 405, "Method Not Allowed", keep, "{\"error\":\"POST or PUT a body\"}") < 0 || !keep ? -1 : 0;
}

static void *serve(void *arg) {
  struct conn c = {.fd = (int)(intptr_t)arg, .head = malloc(HEAD_MAX), .have = 0, .body = malloc(BODY_BUF)};
  if (!c.head || !c.body) goto out;
  for (;;) {
    /* read until a whole head is in the buffer */
    while (!memmem(c.head, c.have, "\r\n\r\n", 4)) {
      if (c.have == HEAD_MAX) {
        respond(c.fd, 431, "Request Header Fields Too Large", 0, "{\"error\":\"headers over 64 KiB\"}");
        goto out;
      }
      ssize_t r = recv(c.fd, c.head + c.have, HEAD_MAX - c.have, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) goto out;
      c.have += (size_t)r;
    }
    if (handle(&c) < 0) break;
  }
out:
  close(c.fd);
  free(c.head);
  free(c.body);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: durable-reference PORT DIRECTORY CONNINFO [POOL]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  dir_path = argv[2];
  conninfo = argv[3];
  pool_size = argc == 5 ? atoi(argv[4]) : 8;
  if (port <= 0 || port > 65535 || pool_size <= 0) {
    fprintf(stderr, "usage: durable-reference PORT DIRECTORY CONNINFO [POOL]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* names: a counter from the start time in ns, so that a restart over the same directory and
   * table does not meet its earlier names */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  next_name = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
  dir_fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    perror(dir_path);
    return 1;
  }
  /* the table, then the pool */
  PGconn *setup = PQconnectdb(conninfo);
  PGresult *r = PQstatus(setup) == CONNECTION_OK
      ? PQexec(setup, "CREATE TABLE IF NOT EXISTS files (name text PRIMARY KEY, size bigint NOT NULL, "
                      "created timestamptz NOT NULL DEFAULT now())")
      : NULL;
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "durable-reference: PostgreSQL: %s", PQerrorMessage(setup));
    return 1;
  }
  PQclear(r);
  PQfinish(setup);
  pool = calloc((size_t)pool_size, sizeof *pool);
  pool_free = calloc((size_t)pool_size, sizeof *pool_free);
  for (int i = 0; i < pool_size; i++) {
    if (!(pool[i] = db_connect())) return 1;
    pool_free[pool_free_count++] = i;
  }

  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1024) < 0) {
    perror("durable-reference: listen");
    return 1;
  }
  fprintf(stderr, "durable-reference: listening on 127.0.0.1:%d, files in %s, %d database connections\n", port, dir_path, pool_size);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (;;) {
    int fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      perror("durable-reference: accept");
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    if (pthread_create(&t, &attr, serve, (void *)(intptr_t)fd) != 0) close(fd);
  }
}
