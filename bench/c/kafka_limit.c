/*
 * kafka_limit: Kafka's own ceiling for CallFeed's benchmark harness (bench/), with no HTTP.
 *
 *   kafka_limit --bootstrap HOST:PORT --topic T --body FILE --count N [--inflight K]
 *               [--property k=v]... [--seq-start N]
 *
 * A librdkafka producer configured like CallFeed's (Sources/Kafka/KafkaProducer.swift and
 * Builders.makeProducer in Sources/CallFeedApp/Builders.swift) sends N copies of the body file,
 * each a distinct message: every @@SEQ@@@@@@@ in the body is replaced by the message's 12-digit
 * sequence number, and the key is that number (the same 12 digits).
 *
 * Properties, in the order they are applied:
 *   bootstrap.servers=--bootstrap, client.id=callfeed-bench-kafka-limit,
 *   message.timeout.ms=10000 (CallFeed's kafka.delivery_timeout_ms default), linger.ms=2;
 *   then every --property (which may override those); then CallFeed's enforced durability
 *   contract enable.idempotence=true, acks=all, which --property may not change.
 *
 * What it measures:
 *  - With --inflight K, at most K messages wait for their delivery report at once. This models K
 *    HTTP connections, each waiting for Kafka's acknowledgement before answering its webhook and
 *    sending the next: compare with loadgen's closed loop at K connections.
 *  - Without --inflight, it produces as fast as librdkafka's queue accepts (on QUEUE_FULL it serves
 *    delivery reports and retries): the producer's throughput ceiling on this cluster.
 * Throughput runs from the first measured produce call to the last delivery report; latency per
 * message from its produce call to its delivery report (the produce timestamp travels in the
 * message's opaque). Every delivery error is counted; the exit status is 1 if there was any.
 *
 * Before the clock starts, one warm-up message per partition is produced (explicitly to that
 * partition) and acknowledged, so broker connections and the idempotent producer's id request are
 * not timed. They use the sequence numbers just before seq_first and are reported as
 * warmup_messages (they are in the topic too).
 *
 * Note: CallFeed publishes two messages per accepted webhook (the raw body to the raw topic and
 * the CallEvent to the calls topic, with record headers) and answers once both are acknowledged;
 * this tool produces one message per count, without headers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOOL_NAME "kafka_limit"
#include "common.h"

#define MESSAGE_TIMEOUT_MS "10000"
#define DRAIN_GRACE_NS (10 * NS_PER_S)           /* beyond message.timeout.ms, before giving up */

_Static_assert(sizeof(void *) >= sizeof(uint64_t), "the produce timestamp travels in msg_opaque");

/* ---------------------------------------------------------------------------------------------
 * Arguments
 */

static const char *opt_bootstrap, *opt_topic, *opt_body;
static uint64_t opt_count;
static uint64_t opt_inflight;                   /* 0: unbounded */
static char **opt_properties;                   /* "k=v" */
static size_t opt_property_count;
static uint64_t opt_seq_start;
static bool opt_seq_given;

static void usage(FILE *to) {
    fputs("usage: kafka_limit --bootstrap HOST:PORT --topic T --body FILE --count N [--inflight K]\n"
          "                   [--property k=v]... [--seq-start N]\n"
          "\n"
          "Produces N messages (the body, with @@SEQ@@@@@@@ replaced by the sequence number; key = that\n"
          "number) with CallFeed's producer settings and prints one JSON line: throughput from the first\n"
          "produce to the last delivery report, and per-message produce-to-acknowledgement latency.\n"
          "\n"
          "  --bootstrap HOST:PORT  bootstrap.servers (required)\n"
          "  --topic T              topic, which must exist (required)\n"
          "  --body FILE            message value (required)\n"
          "  --count N              measured messages (required)\n"
          "  --inflight K           at most K messages awaiting acknowledgement at once (models K HTTP\n"
          "                         connections); default: as many as librdkafka's queue takes\n"
          "  --property k=v         extra librdkafka property (repeatable), e.g. linger.ms=5;\n"
          "                         enable.idempotence=true and acks=all are enforced\n"
          "  --seq-start N          sequence number of the first warm-up message (default: from the clock)\n"
          "  --help                 this text\n",
          to);
}

static void parse_args(int argc, char **argv) {
    enum { OPT_BOOTSTRAP = 1, OPT_TOPIC, OPT_BODY, OPT_COUNT, OPT_INFLIGHT, OPT_PROPERTY, OPT_SEQ, OPT_HELP };
    static const struct option options[] = {
        {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
        {"topic", required_argument, NULL, OPT_TOPIC},
        {"body", required_argument, NULL, OPT_BODY},
        {"count", required_argument, NULL, OPT_COUNT},
        {"inflight", required_argument, NULL, OPT_INFLIGHT},
        {"property", required_argument, NULL, OPT_PROPERTY},
        {"seq-start", required_argument, NULL, OPT_SEQ},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_BOOTSTRAP: opt_bootstrap = optarg; break;
        case OPT_TOPIC: opt_topic = optarg; break;
        case OPT_BODY: opt_body = optarg; break;
        case OPT_COUNT: opt_count = parse_u64("--count", optarg, 1, 1000000000); break;
        case OPT_INFLIGHT: opt_inflight = parse_u64("--inflight", optarg, 1, 10000000); break;
        case OPT_PROPERTY: {
            char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg) die("--property: expected k=v, got '%s'", optarg);
            char **grown = realloc(opt_properties, (opt_property_count + 1) * sizeof *grown);
            if (grown == NULL) die("out of memory");
            opt_properties = grown;
            opt_properties[opt_property_count++] = optarg;
            break;
        }
        case OPT_SEQ: opt_seq_start = parse_u64("--seq-start", optarg, 0, SEQ_MAX); opt_seq_given = true; break;
        case OPT_HELP: usage(stdout); exit(0);
        default:
            fprintf(stderr, "kafka_limit: unknown or incomplete option '%s'\n\n", argv[optind - 1]);
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc || !opt_bootstrap || !opt_topic || !opt_body || opt_count == 0) {
        fputs("kafka_limit: --bootstrap, --topic, --body and --count are required\n\n", stderr);
        usage(stderr);
        exit(2);
    }
    if (!opt_seq_given) opt_seq_start = default_seq_start();
}

/* ---------------------------------------------------------------------------------------------
 * The message
 */

static char *body;
static size_t body_len;
static size_t *seq_offsets;
static size_t seq_offset_count;

static void load_body(void) {
    body = read_file(opt_body, &body_len);
    seq_offsets = find_placeholders(body, 0, body_len, &seq_offset_count);
}

/* Writes seq's 12 digits into key and at every placeholder of the body. */
static void stamp_seq(uint64_t seq, char key[PLACEHOLDER_LEN]) {
    stamp_seq_at(body, seq_offsets, seq_offset_count, seq, key);
}

/* ---------------------------------------------------------------------------------------------
 * Delivery reports (served by rd_kafka_poll on the main thread, so no locking)
 */

static struct {
    bool measuring;
    uint64_t outstanding;        /* produced, no delivery report yet */
    uint64_t delivered, errors;
    uint64_t last_report_ns;
    uint64_t *latencies;
    size_t len, cap;
    char first_error[256];
} run;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    (void)opaque;
    uint64_t now = now_ns();
    uint64_t produced_at = (uint64_t)(uintptr_t)msg->_private;
    run.outstanding--;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        run.errors++;
        if (run.first_error[0] == '\0')
            snprintf(run.first_error, sizeof run.first_error, "%s", rd_kafka_err2str(msg->err));
        return;
    }
    if (!run.measuring) return;
    run.delivered++;
    run.last_report_ns = now;
    if (run.len == run.cap) {
        size_t cap = run.cap ? run.cap * 2 : 65536;
        uint64_t *grown = realloc(run.latencies, cap * sizeof *grown);
        if (grown == NULL) die("out of memory for %zu latencies", cap);
        run.latencies = grown;
        run.cap = cap;
    }
    run.latencies[run.len++] = now - produced_at;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    fprintf(stderr, "kafka_limit: librdkafka: %s: %s\n", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, why, sizeof why);
        die("fatal producer error %s: %s", rd_kafka_err2name(fatal), why);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Producer
 */

static void set_property(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        die("property %s=%s: %s", name, value, err);
}

/* CallFeed's producer configuration (see the header comment). */
static rd_kafka_t *make_producer(void) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) die("rd_kafka_conf_new failed");
    set_property(conf, "bootstrap.servers", opt_bootstrap);
    set_property(conf, "client.id", "callfeed-bench-kafka-limit");
    set_property(conf, "message.timeout.ms", MESSAGE_TIMEOUT_MS);
    set_property(conf, "linger.ms", "2");
    for (size_t i = 0; i < opt_property_count; i++) {
        char *kv = opt_properties[i];
        char *eq = strchr(kv, '=');
        *eq = '\0';
        const char *name = kv, *value = eq + 1;
        if ((strcmp(name, "enable.idempotence") == 0 && strcmp(value, "true") != 0) ||
            (strcmp(name, "acks") == 0 && strcmp(value, "all") != 0 && strcmp(value, "-1") != 0))
            die("--property %s=%s: CallFeed enforces enable.idempotence=true and acks=all", name, value);
        set_property(conf, name, value);
        *eq = '=';
    }
    set_property(conf, "enable.idempotence", "true");
    set_property(conf, "acks", "all");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        die("cannot create the producer: %s", err);
    }
    return rk;                   /* rd_kafka_new took conf */
}

/* message.timeout.ms as configured (a --property may change it). */
static uint64_t message_timeout_ns;

static void read_message_timeout(rd_kafka_t *rk) {
    char value[64];
    size_t size = sizeof value;
    if (rd_kafka_conf_get(rd_kafka_conf(rk), "message.timeout.ms", value, &size) != RD_KAFKA_CONF_OK)
        die("cannot read back message.timeout.ms");
    char *end;
    errno = 0;
    unsigned long long ms = strtoull(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0') die("unexpected message.timeout.ms '%s'", value);
    /* 0 means no timeout: then give up an hour after the last report instead. */
    message_timeout_ns = (ms ? ms : 3600000ULL) * 1000000ULL;
}

/* Produces one message with the next sequence number; waits (serving delivery reports) while the
 * queue is full. */
static void produce(rd_kafka_topic_t *rkt, rd_kafka_t *rk, int32_t partition, uint64_t seq) {
    char key[PLACEHOLDER_LEN];
    stamp_seq(seq, key);
    for (;;) {
        uint64_t at = now_ns();
        if (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, body, body_len, key, sizeof key,
                             (void *)(uintptr_t)at) == 0) {
            run.outstanding++;
            return;
        }
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce: %s", rd_kafka_err2str(err));
        rd_kafka_poll(rk, 10);
    }
}

/* Serves delivery reports until at most `limit` messages are outstanding; dies if that takes
 * longer than message.timeout.ms plus a grace (librdkafka should have failed them by then). */
static void wait_outstanding(rd_kafka_t *rk, uint64_t limit) {
    uint64_t deadline = 0;
    while (run.outstanding > limit) {
        rd_kafka_poll(rk, 100);
        uint64_t now = now_ns();
        if (deadline == 0) deadline = now + message_timeout_ns + DRAIN_GRACE_NS;
        if (now > deadline)
            die("%llu messages still unacknowledged long after message.timeout.ms",
                (unsigned long long)run.outstanding);
    }
}

static int32_t partition_count(rd_kafka_t *rk, rd_kafka_topic_t *rkt) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) die("metadata of %s: %s", opt_topic, rd_kafka_err2str(err));
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topics[0].partition_cnt < 1) {
        rd_kafka_resp_err_t terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        rd_kafka_metadata_destroy(md);
        die("topic %s: %s", opt_topic, rd_kafka_err2str(terr));
    }
    int32_t n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    load_body();
    rd_kafka_t *rk = make_producer();
    read_message_timeout(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, opt_topic, NULL);
    if (rkt == NULL) die("topic %s: %s", opt_topic, rd_kafka_err2str(rd_kafka_last_error()));

    /* Warm-up: one acknowledged message per partition, not measured. */
    int32_t partitions = partition_count(rk, rkt);
    uint64_t seq = opt_seq_start;
    for (int32_t p = 0; p < partitions; p++) produce(rkt, rk, p, seq++);
    wait_outstanding(rk, 0);
    if (run.errors > 0) die("warm-up messages failed: %s", run.first_error);

    /* Measured. */
    run.measuring = true;
    uint64_t seq_first = seq;
    uint64_t started = now_ns();
    for (uint64_t i = 0; i < opt_count; i++) {
        if (opt_inflight > 0) wait_outstanding(rk, opt_inflight - 1);
        produce(rkt, rk, RD_KAFKA_PARTITION_UA, seq++);
        if (opt_inflight == 0) rd_kafka_poll(rk, 0);   /* serve reports as they come */
    }
    wait_outstanding(rk, 0);
    uint64_t ended = run.last_report_ns > started ? run.last_report_ns : now_ns();

    qsort(run.latencies, run.len, sizeof *run.latencies, cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < run.len; i++) sum += (double)run.latencies[i];
    double seconds = (double)(ended - started) / 1e9;
    printf("{\"count\":%llu,\"inflight\":%llu,\"topic\":\"%s\",\"partitions\":%d,\"value_bytes\":%zu,"
           "\"delivered\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.1f,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,"
           "\"warmup_messages\":%d,\"seq_first\":%llu,\"seq_last\":%llu}\n",
           (unsigned long long)opt_count, (unsigned long long)opt_inflight, opt_topic, partitions, body_len,
           (unsigned long long)run.delivered, (unsigned long long)run.errors, seconds,
           seconds > 0 ? (double)run.delivered / seconds : 0.0, percentile_ms(run.latencies, run.len, 50), percentile_ms(run.latencies, run.len, 90),
           percentile_ms(run.latencies, run.len, 99), run.len ? (double)run.latencies[run.len - 1] / 1e6 : 0.0,
           run.len ? sum / (double)run.len / 1e6 : 0.0, partitions, (unsigned long long)seq_first,
           (unsigned long long)(seq - 1));
    if (fflush(stdout) != 0) die("cannot write the report: %s", strerror(errno));
    if (run.errors > 0) fprintf(stderr, "kafka_limit: %llu delivery errors, the first: %s\n",
                                (unsigned long long)run.errors, run.first_error);

    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(run.latencies);
    free(body);
    free(seq_offsets);
    free(opt_properties);
    return run.errors > 0 ? 1 : 0;
}
