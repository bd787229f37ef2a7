/*
 * bare_mhd: the ceiling of CallFeed's HTTP side, for the benchmark harness (bench/).
 *
 *   bare_mhd --port P [--host 127.0.0.1]
 *
 * A libmicrohttpd server started exactly as CallFeed's HTTPServer starts its daemon (see
 * Sources/HTTPServer/HTTPServer.swift and cshim_mhd_start in Sources/CShims/cshims.c), without
 * TLS:
 *
 *   flags    MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG
 *   options  MHD_OPTION_SOCK_ADDR (IPv4 host:port), MHD_OPTION_NOTIFY_COMPLETED,
 *            MHD_OPTION_CONNECTION_LIMIT 4096, MHD_OPTION_CONNECTION_TIMEOUT 30 s,
 *            MHD_OPTION_CONNECTION_MEMORY_LIMIT 18432 (max_header_bytes 16384 + 2048),
 *            MHD_OPTION_LISTEN_BACKLOG_SIZE 1024, MHD_OPTION_NOTIFY_CONNECTION
 *
 * but with a handler that does no work: it reads the whole upload (counting its bytes) and answers
 * 202 with a JSON body of exactly the length of CallFeed's answer
 * ({"status":"accepted","event_id":"<uuid>","revision":"<sha-256 hex>"}), built per request the
 * way CallFeed builds it (MHD_create_response_from_buffer with MHD_RESPMEM_MUST_COPY plus a
 * Content-Type header). Whatever rate loadgen reaches against this is the most CallFeed could
 * reach with this server configuration on this machine; the gap to CallFeed is CallFeed's own
 * work (parsing, mapping, Kafka, the Swift runtime).
 *
 * Routes: any POST -> 202 (above); GET /healthz -> 200 {"status":"ok"}; other GETs -> 404;
 * other methods -> 405. Prints "listening <port>" on stdout once the daemon runs (--port 0 picks a
 * free port); SIGTERM or SIGINT stops the daemon and prints request and byte counts on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* CallFeed's defaults (Sources/CallFeedApp/Configuration.swift, HTTPServerConfiguration). */
#define CONNECTION_LIMIT 4096u
#define CONNECTION_TIMEOUT_S 30u
#define MAX_HEADER_BYTES 16384u
#define CONNECTION_MEMORY_LIMIT ((size_t)MAX_HEADER_BYTES + 2048u)   /* connectionMemoryBytes */
#define LISTEN_BACKLOG 1024u

static const char ACCEPTED_BODY[] =
    "{\"status\":\"accepted\",\"event_id\":\"00000000-0000-0000-0000-000000000000\","
    "\"revision\":\"0000000000000000000000000000000000000000000000000000000000000000\"}";
static const char HEALTHY_BODY[] = "{\"status\":\"ok\"}";
static const char NOT_FOUND_BODY[] = "{\"error\":\"not found\"}";
static const char NOT_ALLOWED_BODY[] = "{\"error\":\"method not allowed\"}";

/* Touched only by MHD's single internal thread; read after MHD_stop_daemon has joined it. */
static struct {
    uint64_t requests, accepted, body_bytes, connections_opened, connections_closed, failed_queues;
} stats;

/* One per request, in *con_cls from the first call to the completion callback. */
struct request {
    uint64_t body_bytes;
};

static enum MHD_Result answer(struct MHD_Connection *connection, unsigned int status, const char *body,
                              size_t len) {
    struct MHD_Response *response = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (response == NULL) {
        stats.failed_queues++;
        return MHD_NO;
    }
    enum MHD_Result result = MHD_add_response_header(response, "Content-Type", "application/json");
    if (result == MHD_YES) result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    if (result != MHD_YES) stats.failed_queues++;
    return result;
}

/* MHD calls this once with the headers, once per body chunk, then once with no data. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)cls;
    (void)version;
    (void)upload_data;
    struct request *request = *con_cls;
    if (request == NULL) {
        request = calloc(1, sizeof *request);
        if (request == NULL) return MHD_NO;       /* MHD closes the connection */
        *con_cls = request;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        request->body_bytes += *upload_data_size;
        *upload_data_size = 0;                    /* consumed */
        return MHD_YES;
    }
    stats.requests++;
    stats.body_bytes += request->body_bytes;
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
        stats.accepted++;
        return answer(connection, MHD_HTTP_ACCEPTED, ACCEPTED_BODY, sizeof ACCEPTED_BODY - 1);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0) {
        if (strcmp(url, "/healthz") == 0) return answer(connection, MHD_HTTP_OK, HEALTHY_BODY, sizeof HEALTHY_BODY - 1);
        return answer(connection, MHD_HTTP_NOT_FOUND, NOT_FOUND_BODY, sizeof NOT_FOUND_BODY - 1);
    }
    return answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, NOT_ALLOWED_BODY, sizeof NOT_ALLOWED_BODY - 1);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)connection;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

/* CallFeed tracks connections here for its read deadlines; this only counts them. */
static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    (void)cls;
    (void)connection;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) stats.connections_opened++;
    else stats.connections_closed++;
}

static void usage(FILE *to) {
    fputs("usage: bare_mhd --port PORT [--host IPV4]\n"
          "\n"
          "A libmicrohttpd server with CallFeed's daemon flags and options that answers every POST\n"
          "202 with a CallFeed-sized JSON body after reading the upload (GET /healthz: 200).\n"
          "Prints 'listening <port>' once started; stops on SIGTERM or SIGINT.\n"
          "\n"
          "  --port PORT   port to listen on (0: any free port)\n"
          "  --host IPV4   address to bind (default 127.0.0.1)\n"
          "  --help        this text\n",
          to);
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1";
    long port = -1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'p': {
            char *end;
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || port < 0 || port > 65535) {
                fprintf(stderr, "bare_mhd: --port: invalid port '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case 'H': host = optarg; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "bare_mhd: unknown or incomplete option '%s'\n\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || port < 0) {
        fputs(port < 0 ? "bare_mhd: --port is required\n\n" : "bare_mhd: unexpected argument\n\n", stderr);
        usage(stderr);
        return 2;
    }

    struct sockaddr_in local;
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &local.sin_addr) != 1) {
        fprintf(stderr, "bare_mhd: --host: not an IPv4 address: '%s'\n", host);
        return 2;
    }

    /* Block the stop signals before MHD starts its thread, so the thread inherits the mask and
     * only sigwait() below receives them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if (rc != 0) {
        fprintf(stderr, "bare_mhd: pthread_sigmask: %s\n", strerror(rc));
        return 1;
    }

    /* The same option array as cshim_mhd_start (without the TLS entries). */
    struct MHD_OptionItem ops[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &local},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)CONNECTION_MEMORY_LIMIT, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, LISTEN_BACKLOG, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned int flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                                                 MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "bare_mhd: cannot listen on %s:%ld: %s\n", host, port, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL) {
        fputs("bare_mhd: cannot read the bound port\n", stderr);
        MHD_stop_daemon(daemon);
        return 1;
    }
    printf("listening %u\n", (unsigned)info->port);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "bare_mhd: cannot write to stdout: %s\n", strerror(errno));
        MHD_stop_daemon(daemon);
        return 1;
    }

    int sig = 0;
    rc = sigwait(&stop_signals, &sig);
    if (rc != 0) fprintf(stderr, "bare_mhd: sigwait: %s\n", strerror(rc));
    MHD_stop_daemon(daemon);
    fprintf(stderr,
            "bare_mhd: stopped by %s: requests=%llu accepted=%llu body_bytes=%llu connections=%llu "
            "failed_answers=%llu\n",
            rc == 0 ? strsignal(sig) : "error", (unsigned long long)stats.requests,
            (unsigned long long)stats.accepted, (unsigned long long)stats.body_bytes,
            (unsigned long long)stats.connections_opened, (unsigned long long)stats.failed_queues);
    return rc == 0 ? 0 : 1;
}
