/*
 * loadgen: an HTTP/1.1 load generator for CallFeed's benchmark harness (bench/).
 *
 *   loadgen --host 127.0.0.1 --port 8080 --path '/webhooks/callkeeper?token=T' --body FILE
 *           [--header 'K: V']... --connections C --duration SECONDS [--warmup SECONDS]
 *           [--rate R] [--seq-start N]
 *
 * It POSTs the same body over C keep-alive connections from one thread (epoll, non-blocking
 * sockets) and prints one JSON line with throughput, exact latency percentiles and status counts.
 *
 * Two modes:
 *
 *  - Closed loop (no --rate): each connection sends its next request as soon as the previous
 *    answer is complete, so the figure is the server's throughput at concurrency C. Latency runs
 *    from the moment the request is sent to the moment its answer is complete.
 *
 *  - Open loop (--rate R, in requests per second over all connections): request k is *scheduled*
 *    at start + k/R. It goes out on any idle connection at or after that time; while every
 *    connection is busy, due requests wait in a FIFO queue. Latency runs from the scheduled time,
 *    not the send time, so time spent queued behind a slow server counts (the correction for
 *    "coordinated omission" that wrk2 makes): a closed loop, or an open loop that measured from the
 *    send, would quietly stop offering load while the server stalls and report only the fast
 *    answers. "late" counts requests sent more than one interval (1/R) after their scheduled time:
 *    if it is more than a handful, the C connections were not enough for the rate, or the server
 *    could not keep up.
 *
 * Every request can be a distinct call: if the body contains the 12-character placeholder
 * @@SEQ@@@@@@@, each request replaces every occurrence with its sequence number, zero-padded to
 * 12 digits (Content-Length stays the same). Numbers run from --seq-start (default derived from the
 * clock, so separate runs do not collide); the JSON reports the first and last used.
 *
 * Measurement window: requests whose origin (send time in a closed loop, scheduled time in an open
 * loop) falls in the --warmup seconds are sent but not counted. At the end of the window no new
 * request goes out; requests already sent are waited for (up to 5 s, then "unfinished") and
 * counted, so a slow tail is not cut off. In an open loop, requests scheduled inside the window but
 * still queued at its end are reported as "unsent". Only 2xx answers count towards "rps" and the
 * latency figures; every answer is counted by status in "status". Errors (refused or failed
 * connects, resets, the server closing a connection before answering, malformed answers) are
 * counted by kind and are not fatal: the connection reconnects (after 100 ms if it had not yet
 * completed an answer, so a server that is down is not hammered in a tight loop).
 *
 * Answers are parsed as HTTP/1.1: status line, Content-Length, Connection: close; an answer
 * without Content-Length is read until the server closes. Chunked answers are not supported and
 * count as protocol errors. Requests are never pipelined: one outstanding request per connection.
 *
 * Latencies are kept in full (8 bytes per request) and sorted at the end, so percentiles are exact
 * (nearest-rank).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define TOOL_NAME "loadgen"
#include "common.h"

#define RBUF_SIZE 8192                        /* status line + headers must fit */
#define DRAIN_NS (5 * NS_PER_S)               /* wait this long for answers after the window */
#define RETRY_NS (100 * 1000000ULL)           /* reconnect delay after a failure */
#define TIMER_TAG UINT64_MAX                  /* epoll data of the timerfd */
#define MAX_EVENTS 256

/* ---------------------------------------------------------------------------------------------
 * Configuration
 */

static const char *opt_host = "127.0.0.1";
static const char *opt_port = NULL;
static const char *opt_path = NULL;
static const char *opt_body = NULL;
static const char **opt_headers = NULL;
static size_t opt_header_count = 0;
static long opt_connections = 0;
static double opt_duration = 0;
static double opt_warmup = 0;
static double opt_rate = 0;                  /* 0: closed loop */
static uint64_t opt_seq_start = 0;
static bool opt_seq_given = false;

static void usage(FILE *to) {
    fputs(
        "usage: loadgen --host HOST --port PORT --path PATH --body FILE --connections C\n"
        "               --duration SECONDS [--warmup SECONDS] [--rate R] [--header 'K: V']...\n"
        "               [--seq-start N]\n"
        "\n"
        "POSTs FILE (Content-Type: application/json) to http://HOST:PORT/PATH over C keep-alive\n"
        "connections and prints one JSON line: throughput of 2xx answers, exact latency\n"
        "percentiles, answers by status, errors.\n"
        "\n"
        "  --host HOST         server address (default 127.0.0.1)\n"
        "  --port PORT         server port (required)\n"
        "  --path PATH         request target, e.g. '/webhooks/callkeeper?token=T' (required)\n"
        "  --body FILE         request body (required); every @@SEQ@@@@@@@ in it is replaced by\n"
        "                      the request's 12-digit sequence number\n"
        "  --header 'K: V'     extra request header (repeatable)\n"
        "  --connections C     concurrent connections (required)\n"
        "  --duration S        measured seconds (required, may be fractional)\n"
        "  --warmup S          seconds before the measurement, not counted (default 0)\n"
        "  --rate R            open loop: R requests/s in total on fixed schedule, latency from\n"
        "                      the scheduled time (default: closed loop)\n"
        "  --seq-start N       first sequence number (default: derived from the clock)\n"
        "  --help              this text\n",
        to);
}

static double parse_double(const char *name, const char *s, double min) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min) || v > 1e9)
        die("%s: invalid number '%s' (must be >= %g)", name, s, min);
    return v;
}

static void parse_args(int argc, char **argv) {
    enum { OPT_HOST = 1, OPT_PORT, OPT_PATH, OPT_BODY, OPT_HEADER, OPT_CONN, OPT_DUR, OPT_WARM, OPT_RATE, OPT_SEQ, OPT_HELP };
    static const struct option options[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"path", required_argument, NULL, OPT_PATH},
        {"body", required_argument, NULL, OPT_BODY},
        {"header", required_argument, NULL, OPT_HEADER},
        {"connections", required_argument, NULL, OPT_CONN},
        {"duration", required_argument, NULL, OPT_DUR},
        {"warmup", required_argument, NULL, OPT_WARM},
        {"rate", required_argument, NULL, OPT_RATE},
        {"seq-start", required_argument, NULL, OPT_SEQ},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_HOST: opt_host = optarg; break;
        case OPT_PORT: parse_u64("--port", optarg, 1, 65535); opt_port = optarg; break;
        case OPT_PATH: opt_path = optarg; break;
        case OPT_BODY: opt_body = optarg; break;
        case OPT_HEADER: {
            const char *colon = strchr(optarg, ':');
            if (colon == NULL || colon == optarg || strpbrk(optarg, "\r\n") != NULL)
                die("--header: expected 'Name: value' on one line, got '%s'", optarg);
            const char **grown = realloc(opt_headers, (opt_header_count + 1) * sizeof *grown);
            if (grown == NULL) die("out of memory");
            opt_headers = grown;
            opt_headers[opt_header_count++] = optarg;
            break;
        }
        case OPT_CONN: opt_connections = (long)parse_u64("--connections", optarg, 1, 100000); break;
        case OPT_DUR: opt_duration = parse_double("--duration", optarg, 0.001); break;
        case OPT_WARM: opt_warmup = parse_double("--warmup", optarg, 0); break;
        case OPT_RATE: opt_rate = parse_double("--rate", optarg, 0.001); break;
        case OPT_SEQ: opt_seq_start = parse_u64("--seq-start", optarg, 0, SEQ_MAX); opt_seq_given = true; break;
        case OPT_HELP: usage(stdout); exit(0);
        default:
            fprintf(stderr, "loadgen: unknown or incomplete option '%s'\n\n", argv[optind - 1]);
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadgen: unexpected argument '%s'\n\n", argv[optind]);
        usage(stderr);
        exit(2);
    }
    if (opt_port == NULL || opt_path == NULL || opt_body == NULL || opt_connections == 0 || opt_duration == 0) {
        fputs("loadgen: --port, --path, --body, --connections and --duration are required\n\n", stderr);
        usage(stderr);
        exit(2);
    }
    if (opt_path[0] != '/' || strpbrk(opt_path, " \r\n") != NULL)
        die("--path must start with '/' and contain no spaces or line breaks");
    if (!opt_seq_given) opt_seq_start = default_seq_start();
}

/* ---------------------------------------------------------------------------------------------
 * The request template: headers and body built once; each connection has its own copy in which
 * the placeholders are overwritten per request.
 */

static char *req_template;
static size_t req_len;
static size_t *seq_offsets;                  /* where each placeholder starts in the request */
static size_t seq_offset_count;

static bool has_header(const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < opt_header_count; i++)
        if (strncasecmp(opt_headers[i], name, n) == 0 && opt_headers[i][n] == ':') return true;
    return false;
}

static void build_request(void) {
    size_t body_len;
    char *body = read_file(opt_body, &body_len);
    size_t head_cap = 1024 + strlen(opt_path) + strlen(opt_host);
    for (size_t i = 0; i < opt_header_count; i++) head_cap += strlen(opt_headers[i]) + 2;
    char *head = malloc(head_cap);
    if (head == NULL) die("out of memory");
    int len = snprintf(head, head_cap, "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Length: %zu\r\n%s",
                       opt_path, opt_host, opt_port, body_len,
                       has_header("Content-Type") ? "" : "Content-Type: application/json\r\n");
    if (len < 0 || (size_t)len >= head_cap) die("request head too long");
    size_t head_len = (size_t)len;
    for (size_t i = 0; i < opt_header_count; i++) {
        head_len += (size_t)snprintf(head + head_len, head_cap - head_len, "%s\r\n", opt_headers[i]);
        if (head_len >= head_cap) die("request head too long");
    }
    head_len += (size_t)snprintf(head + head_len, head_cap - head_len, "\r\n");

    req_len = head_len + body_len;
    req_template = malloc(req_len);
    if (req_template == NULL) die("out of memory");
    memcpy(req_template, head, head_len);
    memcpy(req_template + head_len, body, body_len);
    free(head);
    free(body);

    /* Non-overlapping occurrences in the body only. */
    seq_offsets = find_placeholders(req_template, head_len, req_len, &seq_offset_count);
}

/* Writes seq as 12 zero-padded digits at every placeholder of buf. */
static void stamp_seq(char *buf, uint64_t seq) {
    char digits[PLACEHOLDER_LEN];
    stamp_seq_at(buf, seq_offsets, seq_offset_count, seq, digits);
}

/* ---------------------------------------------------------------------------------------------
 * Connections
 */

enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_SENDING, C_RECEIVING };
enum err_kind { E_CONNECT, E_IO, E_CLOSED, E_PROTOCOL, E_KINDS };
static const char *const err_names[E_KINDS] = {"connect", "io", "closed", "protocol"};

struct conn {
    int fd;
    enum conn_state state;
    uint32_t events;           /* epoll interest registered for fd */
    bool in_idle_stack;
    bool answered;             /* an answer completed since the last connect */
    uint64_t retry_at;         /* C_DOWN: when to reconnect */
    char *req;                 /* this connection's copy of the request */
    size_t sent;
    uint64_t origin;           /* latency origin of the outstanding request */
    bool counted;              /* the outstanding request is inside the measurement window */
    /* answer parsing */
    size_t rlen;               /* header bytes in rbuf */
    bool in_body;
    bool until_close;          /* no Content-Length: the body ends when the server closes */
    bool close_after;          /* Connection: close (or HTTP/1.0 without keep-alive) */
    uint64_t body_left;
    int status;
    char rbuf[RBUF_SIZE];
};

enum phase { P_WARMUP, P_MEASURE, P_DRAIN };

static struct addrinfo *server_addr;
static int epfd, tfd;
static struct conn *conns;
static size_t conn_count;
static size_t *idle_stack;
static size_t idle_top;
static size_t idle_count, busy_count, down_count;     /* kept by set_state() */
static enum phase phase = P_WARMUP;
static uint64_t t_start, t_warm_end, t_end;
static uint64_t timer_armed_at;

static uint64_t next_seq;
static uint64_t sent_requests;
/* statistics of counted requests */
static uint64_t responses, ok_responses, late, unfinished, reconnects;
static uint64_t errors[E_KINDS];
static uint64_t status_counts[1000];
static uint64_t *latencies;
static size_t lat_len, lat_cap;
/* open loop */
static double interval_ns;
static uint64_t issued, k_warm, k_end;

static uint64_t scheduled_at(uint64_t k) { return t_start + (uint64_t)((double)k * interval_ns); }

static void record_latency(uint64_t ns) {
    if (lat_len == lat_cap) {
        size_t cap = lat_cap ? lat_cap * 2 : 65536;
        uint64_t *grown = realloc(latencies, cap * sizeof *grown);
        if (grown == NULL) die("out of memory for %zu latencies", cap);
        latencies = grown;
        lat_cap = cap;
    }
    latencies[lat_len++] = ns;
}

static void set_state(struct conn *c, enum conn_state s) {
    switch (c->state) {
    case C_IDLE: idle_count--; break;
    case C_SENDING: case C_RECEIVING: busy_count--; break;
    case C_DOWN: down_count--; break;
    case C_CONNECTING: break;
    }
    switch (s) {
    case C_IDLE:
        idle_count++;
        if (!c->in_idle_stack) {
            c->in_idle_stack = true;
            idle_stack[idle_top++] = (size_t)(c - conns);
        }
        break;
    case C_SENDING: case C_RECEIVING: busy_count++; break;
    case C_DOWN: down_count++; break;
    case C_CONNECTING: break;
    }
    c->state = s;
}

/* An idle connection, or NULL. Entries of connections that left C_IDLE are skipped (a connection
 * is in the stack at most once, so it never grows beyond conn_count). */
static struct conn *pop_idle(void) {
    while (idle_top > 0) {
        struct conn *c = &conns[idle_stack[--idle_top]];
        c->in_idle_stack = false;
        if (c->state == C_IDLE) return c;
    }
    return NULL;
}

static void set_interest(struct conn *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)(c - conns)};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl MOD: %s", strerror(errno));
    c->events = events;
}

/* Closes the socket; the main loop reconnects it at retry_at. */
static void conn_close(struct conn *c, uint64_t retry_at) {
    if (c->fd >= 0 && close(c->fd) != 0 && errno != EINTR) die("close: %s", strerror(errno));
    c->fd = -1;
    c->retry_at = retry_at;
    set_state(c, C_DOWN);
}

/* A connection failed. An outstanding request is lost (counted if inside the window); a connect
 * failure is counted if it happens inside the window. */
static void conn_fail(struct conn *c, enum err_kind kind, uint64_t now) {
    if (c->state == C_SENDING || c->state == C_RECEIVING) {
        if (c->counted) errors[kind]++;
    } else if (phase == P_MEASURE) {
        errors[kind]++;
    }
    conn_close(c, c->answered ? now : now + RETRY_NS);
}

static void conn_connect(struct conn *c, uint64_t now) {
    c->answered = false;
    c->fd = socket(server_addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket: %s", strerror(errno));
    int one = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        die("setsockopt TCP_NODELAY: %s", strerror(errno));
    int rc = connect(c->fd, server_addr->ai_addr, server_addr->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        set_state(c, C_CONNECTING);
        conn_fail(c, E_CONNECT, now);
        return;
    }
    c->events = rc == 0 ? EPOLLIN : EPOLLOUT;
    struct epoll_event ev = {.events = c->events, .data.u64 = (uint64_t)(c - conns)};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl ADD: %s", strerror(errno));
    set_state(c, rc == 0 ? C_IDLE : C_CONNECTING);
}

static void on_connected(struct conn *c, uint64_t now) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) die("getsockopt: %s", strerror(errno));
    if (err != 0) {
        conn_fail(c, E_CONNECT, now);
        return;
    }
    set_interest(c, EPOLLIN);      /* EPOLLIN while idle notices the server closing it */
    set_state(c, C_IDLE);
}

static void try_send(struct conn *c, uint64_t now) {
    while (c->sent < req_len) {
        ssize_t n = send(c->fd, c->req + c->sent, req_len - c->sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_interest(c, EPOLLOUT);
            return;
        } else {
            conn_fail(c, E_IO, now);
            return;
        }
    }
    c->rlen = 0;
    c->in_body = false;
    set_interest(c, EPOLLIN);
    set_state(c, C_RECEIVING);
}

static void send_request(struct conn *c, uint64_t now, uint64_t origin, bool counted) {
    stamp_seq(c->req, next_seq++);
    sent_requests++;
    c->origin = origin;
    c->counted = counted;
    c->sent = 0;
    set_state(c, C_SENDING);
    try_send(c, now);
}

static void complete_answer(struct conn *c, uint64_t now) {
    if (c->counted) {
        responses++;
        status_counts[c->status]++;
        if (c->status >= 200 && c->status < 300) {
            ok_responses++;
            record_latency(now - c->origin);
        }
    }
    c->answered = true;
    if (c->close_after || c->until_close) {
        reconnects++;
        conn_close(c, now);
    } else {
        set_state(c, C_IDLE);
    }
}

/* Case-insensitive: does the comma-separated header value contain token? */
static bool has_token(const char *v, size_t n, const char *token) {
    size_t t = strlen(token);
    for (size_t i = 0; i + t <= n; i++)
        if (strncasecmp(v + i, token, t) == 0 && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
            (i + t == n || v[i + t] == ',' || v[i + t] == ' '))
            return true;
    return false;
}

/* Parses the status line and headers in rbuf[0..len) (without the final blank line). Returns
 * false if malformed or unsupported. */
static bool parse_head(struct conn *c, size_t len) {
    const char *p = c->rbuf, *end = c->rbuf + len;
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (eol == NULL) eol = end;
    /* "HTTP/1.x SSS reason" */
    if (eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || p[9] < '1' || p[9] > '9' ||
        p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' || (eol - p > 12 && p[12] != ' '))
        return false;
    bool http10 = p[7] == '0';
    c->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    bool have_length = false, keep_alive = false;
    uint64_t length = 0;
    c->close_after = false;
    for (p = eol + 2; p < end; p = eol + 2) {
        eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (eol == NULL) eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL) return false;
        size_t name_len = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) v++;
        size_t vlen = (size_t)(eol - v);
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
        if (name_len == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            if (vlen == 0 || vlen > 18) return false;
            uint64_t value = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9') return false;
                value = value * 10 + (uint64_t)(v[i] - '0');
            }
            if (have_length && value != length) return false;
            have_length = true;
            length = value;
        } else if (name_len == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
            if (!(vlen == 8 && strncasecmp(v, "identity", 8) == 0)) return false;  /* chunked: unsupported */
        } else if (name_len == 10 && strncasecmp(p, "Connection", 10) == 0) {
            if (has_token(v, vlen, "close")) c->close_after = true;
            if (has_token(v, vlen, "keep-alive")) keep_alive = true;
        }
    }
    if (http10 && !keep_alive) c->close_after = true;
    c->until_close = false;
    if (c->status < 200 || c->status == 204 || c->status == 304) {
        c->body_left = 0;
    } else if (have_length) {
        c->body_left = length;
    } else {
        c->until_close = true;
        c->body_left = UINT64_MAX;
    }
    return true;
}

/* Feeds n new bytes (already in rbuf at rlen for the head, anywhere for the body). Returns true
 * once the answer is complete. */
static bool consume(struct conn *c, size_t n, bool *bad) {
    if (c->in_body) {
        if (c->until_close) return false;
        if (n > c->body_left) { *bad = true; return false; }   /* bytes beyond the answer */
        c->body_left -= n;
        return c->body_left == 0;
    }
    size_t from = c->rlen > 3 ? c->rlen - 3 : 0;
    c->rlen += n;
    for (;;) {
        char *blank = memmem(c->rbuf + from, c->rlen - from, "\r\n\r\n", 4);
        if (blank == NULL) {
            if (c->rlen == RBUF_SIZE) *bad = true;             /* head too large */
            return false;
        }
        size_t head_len = (size_t)(blank - c->rbuf);
        size_t rest = c->rlen - head_len - 4;
        if (!parse_head(c, head_len)) { *bad = true; return false; }
        if (c->status < 200) {                                 /* 1xx: an interim answer */
            memmove(c->rbuf, blank + 4, rest);
            c->rlen = rest;
            from = 0;
            continue;
        }
        c->in_body = true;
        if (c->until_close) return false;
        if (rest > c->body_left) { *bad = true; return false; }
        c->body_left -= rest;
        return c->body_left == 0;
    }
}

static void on_readable(struct conn *c, uint64_t now) {
    for (;;) {
        char *into = c->in_body ? c->rbuf : c->rbuf + c->rlen;
        size_t room = c->in_body ? RBUF_SIZE : RBUF_SIZE - c->rlen;
        ssize_t n = recv(c->fd, into, room, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (c->state == C_IDLE) {
            /* The server closed (or reset) a keep-alive connection with nothing outstanding: not
             * an error. Anything else arriving here is. */
            if (n > 0) {
                conn_fail(c, E_PROTOCOL, now);
            } else {
                reconnects++;
                conn_close(c, now);
            }
            return;
        }
        if (n < 0) {
            conn_fail(c, E_IO, now);
            return;
        }
        if (n == 0) {
            if (c->in_body && c->until_close) complete_answer(c, now);
            else conn_fail(c, E_CLOSED, now);
            return;
        }
        bool bad = false;
        bool done = consume(c, (size_t)n, &bad);
        if (bad) {
            conn_fail(c, E_PROTOCOL, now);
            return;
        }
        if (done) {
            complete_answer(c, now);
            return;
        }
    }
}

static void arm_timer(uint64_t at) {
    if (at == timer_armed_at) return;
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(at / NS_PER_S);
    its.it_value.tv_nsec = (long)(at % NS_PER_S);
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) die("timerfd_settime: %s", strerror(errno));
    timer_armed_at = at;
}

/* Sends what is due on idle connections. */
static void dispatch(uint64_t now) {
    if (phase == P_DRAIN) return;
    if (opt_rate == 0) {
        struct conn *c;
        while (idle_count > 0 && (c = pop_idle()) != NULL) send_request(c, now, now, phase == P_MEASURE);
        return;
    }
    while (idle_count > 0 && issued < k_end) {
        uint64_t at = scheduled_at(issued);
        if (at > now) break;
        struct conn *c = pop_idle();
        if (c == NULL) break;
        bool counted = issued >= k_warm;
        if (counted && now - at > (uint64_t)interval_ns) late++;
        issued++;
        send_request(c, now, at, counted);
    }
}

static void report(void) {
    qsort(latencies, lat_len, sizeof *latencies, cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < lat_len; i++) sum += (double)latencies[i];
    uint64_t unsent = 0;
    if (opt_rate > 0) unsent = k_end - (issued > k_warm ? issued : k_warm);
    char seq_last[24] = "null";                  /* null: no request was sent */
    if (sent_requests > 0) snprintf(seq_last, sizeof seq_last, "%llu", (unsigned long long)(next_seq - 1));
    uint64_t error_total = 0;
    for (int k = 0; k < E_KINDS; k++) error_total += errors[k];

    printf("{\"mode\":\"%s\",\"connections\":%zu,\"rate_target\":%g,\"duration_s\":%.3f,\"warmup_s\":%.3f,"
           "\"requests\":%llu,\"ok\":%llu,\"errors\":%llu,\"error_kinds\":{",
           opt_rate > 0 ? "open" : "closed", conn_count, opt_rate, opt_duration, opt_warmup,
           (unsigned long long)responses, (unsigned long long)ok_responses, (unsigned long long)error_total);
    for (int k = 0; k < E_KINDS; k++)
        printf("%s\"%s\":%llu", k ? "," : "", err_names[k], (unsigned long long)errors[k]);
    printf("},\"status\":{");
    bool first = true;
    for (int s = 0; s < 1000; s++) {
        if (status_counts[s] == 0) continue;
        printf("%s\"%d\":%llu", first ? "" : ",", s, (unsigned long long)status_counts[s]);
        first = false;
    }
    printf("},\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
           "\"mean_ms\":%.3f,\"late\":%llu,\"unsent\":%llu,\"unfinished\":%llu,\"reconnects\":%llu,"
           "\"placeholders\":%zu,\"seq_first\":%llu,\"seq_last\":%s}\n",
           (double)ok_responses / opt_duration, percentile_ms(latencies, lat_len, 50), percentile_ms(latencies, lat_len, 90), percentile_ms(latencies, lat_len, 99),
           percentile_ms(latencies, lat_len, 99.9), lat_len ? (double)latencies[lat_len - 1] / 1e6 : 0.0,
           lat_len ? sum / (double)lat_len / 1e6 : 0.0, (unsigned long long)late, (unsigned long long)unsent,
           (unsigned long long)unfinished, (unsigned long long)reconnects, seq_offset_count,
           (unsigned long long)opt_seq_start, seq_last);
    if (fflush(stdout) != 0) die("cannot write the report: %s", strerror(errno));
    if (opt_rate > 0 && (unsent > 0 || late > ok_responses / 100))
        fprintf(stderr, "loadgen: the open loop fell behind its schedule (late %llu, unsent %llu): "
                        "more connections, or the server is saturated\n",
                (unsigned long long)late, (unsigned long long)unsent);
}

static void raise_fd_limit(size_t need) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit: %s", strerror(errno));
    if (rl.rlim_cur >= need) return;
    rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
        die("need %zu file descriptors, the limit is %llu", need, (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) die("signal: %s", strerror(errno));
    build_request();

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(opt_host, opt_port, &hints, &server_addr);
    if (gai != 0) die("cannot resolve %s:%s: %s", opt_host, opt_port, gai_strerror(gai));

    conn_count = (size_t)opt_connections;
    raise_fd_limit(conn_count + 16);
    conns = calloc(conn_count, sizeof *conns);
    idle_stack = calloc(conn_count, sizeof *idle_stack);
    if (conns == NULL || idle_stack == NULL) die("out of memory");
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) die("timerfd_create: %s", strerror(errno));
    struct epoll_event tev = {.events = EPOLLIN, .data.u64 = TIMER_TAG};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev) != 0) die("epoll_ctl ADD timerfd: %s", strerror(errno));

    next_seq = opt_seq_start;
    t_start = now_ns();
    t_warm_end = t_start + (uint64_t)(opt_warmup * 1e9);
    t_end = t_warm_end + (uint64_t)(opt_duration * 1e9);
    if (opt_warmup == 0) phase = P_MEASURE;
    if (opt_rate > 0) {
        interval_ns = 1e9 / opt_rate;
        /* Slots k with scheduled_at(k) < the window's start / end. */
        k_warm = (uint64_t)((double)(t_warm_end - t_start) / interval_ns);
        while (scheduled_at(k_warm) < t_warm_end) k_warm++;
        k_end = (uint64_t)((double)(t_end - t_start) / interval_ns);
        while (scheduled_at(k_end) < t_end) k_end++;
    }
    for (size_t i = 0; i < conn_count; i++) {
        conns[i].fd = -1;
        conns[i].state = C_CONNECTING;           /* not counted anywhere until conn_connect */
        conns[i].req = malloc(req_len);
        if (conns[i].req == NULL) die("out of memory");
        memcpy(conns[i].req, req_template, req_len);
        conn_connect(&conns[i], t_start);
    }

    struct epoll_event events[MAX_EVENTS];
    uint64_t drain_deadline = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (phase == P_WARMUP && now >= t_warm_end) phase = P_MEASURE;
        if (phase != P_DRAIN && now >= t_end) {
            phase = P_DRAIN;
            drain_deadline = now + DRAIN_NS;
        }
        if (phase == P_DRAIN) {
            if (busy_count == 0) break;
            if (now >= drain_deadline) {
                for (size_t i = 0; i < conn_count; i++)
                    if ((conns[i].state == C_SENDING || conns[i].state == C_RECEIVING) && conns[i].counted)
                        unfinished++;
                break;
            }
        }

        uint64_t wake = phase == P_DRAIN ? drain_deadline : t_end;
        if (down_count > 0 && phase != P_DRAIN) {
            for (size_t i = 0; i < conn_count; i++) {
                struct conn *c = &conns[i];
                if (c->state == C_DOWN && c->retry_at <= now) conn_connect(c, now);
                /* still (or again, if connect failed at once) down: wake up for its retry */
                if (c->state == C_DOWN && c->retry_at < wake) wake = c->retry_at;
            }
        }
        dispatch(now);
        if (opt_rate > 0 && phase != P_DRAIN && idle_count > 0 && issued < k_end) {
            uint64_t at = scheduled_at(issued);
            if (at < wake) wake = at;
        }
        arm_timer(wake);

        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        now = now_ns();
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == TIMER_TAG) {
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
                    die("read timerfd: %s", strerror(errno));
                timer_armed_at = 0;
                continue;
            }
            struct conn *c = &conns[events[i].data.u64];
            switch (c->state) {
            case C_DOWN: break;                        /* closed earlier in this batch */
            case C_CONNECTING: on_connected(c, now); break;
            case C_SENDING: try_send(c, now); break;
            case C_IDLE: case C_RECEIVING: on_readable(c, now); break;
            }
        }
    }

    report();
    for (size_t i = 0; i < conn_count; i++) {
        if (conns[i].fd >= 0) close(conns[i].fd);
        free(conns[i].req);
    }
    free(conns);
    free(idle_stack);
    free(latencies);
    free(req_template);
    free(seq_offsets);
    free(opt_headers);
    freeaddrinfo(server_addr);
    close(tfd);
    close(epfd);
    return 0;
}
