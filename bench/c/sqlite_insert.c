/*
 * sqlite_insert: a raw SQLite prepared-insert loop, the ceiling for CallFeed's SQLite sink in the
 * benchmark harness (bench/).
 *
 *   sqlite_insert --from SRC.db --to DST.db --table calls [--table call_revisions]... [--batch 500]
 *
 * For each table, in the order given: its CREATE TABLE statement and its CREATE INDEX statements
 * are copied from SRC's sqlite_master into a fresh DST (the file, and any -wal, -shm or -journal
 * next to it, is deleted first), and every row of SRC's table is read into memory with its storage
 * class (integer, real, text, blob, null). None of that is timed.
 *
 * Timed: one prepared `INSERT INTO t VALUES (?, ...)` executed per row, binding every value with
 * its own type, in `BEGIN IMMEDIATE ... COMMIT` transactions of --batch rows (the last one may be
 * shorter). The indexes exist during the inserts, as they do in CallFeed's warehouse.
 *
 * DST is opened like CallFeed's SQLite sink opens its database (Sources/Warehouse/SQLiteSink.swift
 * and Sources/Warehouse/SQLite/SQLiteConnection.swift): SQLITE_OPEN_FULLMUTEX, extended result
 * codes, busy timeout 5 s, PRAGMA journal_mode = WAL (checked), PRAGMA synchronous = FULL, and
 * SQLite's other defaults (WAL autocheckpoint at 1000 pages included). As in the sink, the pragmas
 * are set right after opening, before the schema is created.
 *
 * So the gap between this and `callfeed warehouse bench` is the sink's own work: its
 * read-before-write (the stored revision), INSERT OR IGNORE into call_revisions plus the upsert
 * into calls, building values from events. Rows are counted in DST afterwards; a mismatch fails.
 *
 * Prints one JSON line per table and one for all of them ("table":"*", inserted one after the
 * other):  {"table":"calls","rows":N,"seconds":S,"rows_per_s":R}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOOL_NAME "sqlite_insert"
#include "common.h"

static double now_s(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Dies with SQLite's message unless rc is one of the expected codes. */
static void check(sqlite3 *db, int rc, int expected, const char *what) {
    if (rc != expected)
        die("%s: %s (%s)", what, db ? sqlite3_errmsg(db) : "no handle", sqlite3_errstr(rc));
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, unsigned int flags) {
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(db, sql, -1, flags, &stmt, NULL);
    if (rc != SQLITE_OK) die("preparing '%s': %s (%s)", sql, sqlite3_errmsg(db), sqlite3_errstr(rc));
    if (stmt == NULL) die("preparing '%s': empty statement", sql);
    return stmt;
}

static void exec(sqlite3 *db, const char *sql) {
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite_insert: executing '%s': %s\n", sql, message ? message : sqlite3_errstr(rc));
        sqlite3_free(message);
        exit(1);
    }
}

/* "name" with embedded quotes doubled, for use as an SQL identifier. Caller frees. */
static char *quote_identifier(const char *name) {
    char *q = sqlite3_mprintf("\"%w\"", name);
    if (q == NULL) die("out of memory");
    return q;
}

/* ---------------------------------------------------------------------------------------------
 * A table's rows in memory: values row-major; text and blob bytes in one arena, addressed by
 * offset (the arena moves when it grows).
 */

struct value {
    int type;                    /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL */
    union {
        sqlite3_int64 i;
        double f;
        struct { size_t offset, len; } bytes;
    } v;
};

struct table {
    const char *name;
    char *create_sql;
    char **index_sql;
    size_t index_count;
    int columns;
    size_t rows;
    struct value *values;        /* rows * columns */
    size_t values_cap;
    char *arena;
    size_t arena_len, arena_cap;
};

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return p;
    size_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(p, cap2 * elem);
    if (q == NULL) die("out of memory (%zu bytes)", cap2 * elem);
    *cap = cap2;
    return q;
}

static size_t arena_put(struct table *t, const void *bytes, size_t len) {
    t->arena = grow(t->arena, &t->arena_cap, t->arena_len + len + 1, 1);
    size_t offset = t->arena_len;
    if (len > 0) memcpy(t->arena + offset, bytes, len);
    t->arena_len += len;
    return offset;
}

static char *dup_text(const unsigned char *s) {
    char *d = strdup((const char *)s);
    if (d == NULL) die("out of memory");
    return d;
}

/* Reads the table's schema and every row from src. */
static void load_table(sqlite3 *src, struct table *t) {
    sqlite3_stmt *q = prepare(src, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", 0);
    check(src, sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC), SQLITE_OK, "binding the table name");
    int rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) die("table %s not found in the source database", t->name);
    check(src, rc, SQLITE_ROW, "reading the table's schema");
    if (sqlite3_column_type(q, 0) != SQLITE_TEXT) die("table %s has no CREATE statement", t->name);
    t->create_sql = dup_text(sqlite3_column_text(q, 0));
    check(src, sqlite3_finalize(q), SQLITE_OK, "finalizing");

    /* Indexes made by UNIQUE / PRIMARY KEY constraints have no sql: CREATE TABLE makes them. */
    q = prepare(src, "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL "
                     "ORDER BY rowid", 0);
    check(src, sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC), SQLITE_OK, "binding the table name");
    size_t cap = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        t->index_sql = grow(t->index_sql, &cap, t->index_count + 1, sizeof *t->index_sql);
        t->index_sql[t->index_count++] = dup_text(sqlite3_column_text(q, 0));
    }
    check(src, rc, SQLITE_DONE, "reading the table's indexes");
    check(src, sqlite3_finalize(q), SQLITE_OK, "finalizing");

    char *quoted = quote_identifier(t->name);
    char *sql = sqlite3_mprintf("SELECT * FROM %s", quoted);
    if (sql == NULL) die("out of memory");
    q = prepare(src, sql, 0);
    t->columns = sqlite3_column_count(q);
    size_t cols = (size_t)t->columns;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        t->values = grow(t->values, &t->values_cap, (t->rows + 1) * cols, sizeof *t->values);
        struct value *row = t->values + t->rows * cols;
        for (int c = 0; c < t->columns; c++) {
            struct value *v = &row[c];
            v->type = sqlite3_column_type(q, c);
            switch (v->type) {
            case SQLITE_INTEGER: v->v.i = sqlite3_column_int64(q, c); break;
            case SQLITE_FLOAT: v->v.f = sqlite3_column_double(q, c); break;
            case SQLITE_TEXT: {
                const unsigned char *text = sqlite3_column_text(q, c);
                if (text == NULL) die("out of memory reading %s", t->name);
                v->v.bytes.len = (size_t)sqlite3_column_bytes(q, c);
                v->v.bytes.offset = arena_put(t, text, v->v.bytes.len);
                break;
            }
            case SQLITE_BLOB: {
                const void *blob = sqlite3_column_blob(q, c);
                v->v.bytes.len = (size_t)sqlite3_column_bytes(q, c);
                if (blob == NULL && v->v.bytes.len > 0) die("out of memory reading %s", t->name);
                v->v.bytes.offset = arena_put(t, blob, v->v.bytes.len);
                break;
            }
            case SQLITE_NULL: break;
            default: die("unexpected value type %d in %s", v->type, t->name);
            }
        }
        t->rows++;
    }
    check(src, rc, SQLITE_DONE, "reading rows");
    check(src, sqlite3_finalize(q), SQLITE_OK, "finalizing");
    sqlite3_free(sql);
    sqlite3_free(quoted);
    /* Texts and blobs are bound from the arena: make sure it exists even if every one is empty
     * (binding a NULL pointer would store NULL instead of '' or x''). */
    t->arena = grow(t->arena, &t->arena_cap, 1, 1);
}

static void free_table(struct table *t) {
    free(t->create_sql);
    for (size_t i = 0; i < t->index_count; i++) free(t->index_sql[i]);
    free(t->index_sql);
    free(t->values);
    free(t->arena);
}

/* ---------------------------------------------------------------------------------------------
 * Destination
 */

static void remove_file(const char *path) {
    if (unlink(path) != 0 && errno != ENOENT) die("cannot delete %s: %s", path, strerror(errno));
}

static sqlite3 *open_destination(const char *path) {
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char *p = sqlite3_mprintf("%s%s", path, suffixes[i]);
        if (p == NULL) die("out of memory");
        remove_file(p);
        sqlite3_free(p);
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite_insert: cannot open %s: %s\n", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        exit(1);
    }
    check(db, sqlite3_extended_result_codes(db, 1), SQLITE_OK, "extended result codes");
    check(db, sqlite3_busy_timeout(db, 5000), SQLITE_OK, "busy timeout");
    sqlite3_stmt *q = prepare(db, "PRAGMA journal_mode = WAL", 0);
    check(db, sqlite3_step(q), SQLITE_ROW, "PRAGMA journal_mode = WAL");
    const unsigned char *mode = sqlite3_column_text(q, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
        die("%s cannot use WAL journal mode (got %s)", path, mode ? (const char *)mode : "nothing");
    check(db, sqlite3_finalize(q), SQLITE_OK, "finalizing");
    exec(db, "PRAGMA synchronous = FULL");
    return db;
}

static void bind_value(sqlite3 *db, sqlite3_stmt *insert, int index, const struct value *v, const char *arena) {
    int rc;
    switch (v->type) {
    case SQLITE_INTEGER: rc = sqlite3_bind_int64(insert, index, v->v.i); break;
    case SQLITE_FLOAT: rc = sqlite3_bind_double(insert, index, v->v.f); break;
    case SQLITE_TEXT:
        rc = sqlite3_bind_text64(insert, index, arena + v->v.bytes.offset, v->v.bytes.len, SQLITE_STATIC, SQLITE_UTF8);
        break;
    case SQLITE_BLOB:
        rc = sqlite3_bind_blob64(insert, index, arena + v->v.bytes.offset, v->v.bytes.len, SQLITE_STATIC);
        break;
    default: rc = sqlite3_bind_null(insert, index); break;
    }
    check(db, rc, SQLITE_OK, "binding a value");
}

/* The timed part: returns seconds. */
static double insert_rows(sqlite3 *db, const struct table *t, size_t batch) {
    char *quoted = quote_identifier(t->name);
    size_t cols = (size_t)t->columns;
    /* "INSERT INTO t VALUES (?,?,...)" */
    size_t cap = strlen(quoted) + 32 + 2 * cols;
    char *sql = malloc(cap);
    if (sql == NULL) die("out of memory");
    int n = snprintf(sql, cap, "INSERT INTO %s VALUES (", quoted);
    if (n < 0 || (size_t)n >= cap) die("statement too long");
    size_t len = (size_t)n;
    for (size_t c = 0; c < cols; c++) {
        sql[len++] = c ? ',' : '?';
        if (c) sql[len++] = '?';
    }
    sql[len++] = ')';
    sql[len] = '\0';

    double started = now_s();
    sqlite3_stmt *begin = prepare(db, "BEGIN IMMEDIATE", SQLITE_PREPARE_PERSISTENT);
    sqlite3_stmt *commit = prepare(db, "COMMIT", SQLITE_PREPARE_PERSISTENT);
    sqlite3_stmt *insert = prepare(db, sql, SQLITE_PREPARE_PERSISTENT);
    if (sqlite3_bind_parameter_count(insert) != t->columns) die("unexpected parameter count for %s", t->name);
    for (size_t r = 0; r < t->rows; r++) {
        if (r % batch == 0) {
            check(db, sqlite3_step(begin), SQLITE_DONE, "BEGIN IMMEDIATE");
            check(db, sqlite3_reset(begin), SQLITE_OK, "reset");
        }
        const struct value *row = t->values + r * cols;
        for (size_t c = 0; c < cols; c++) bind_value(db, insert, (int)c + 1, &row[c], t->arena);
        check(db, sqlite3_step(insert), SQLITE_DONE, "INSERT");
        check(db, sqlite3_reset(insert), SQLITE_OK, "reset");
        if (r % batch == batch - 1 || r == t->rows - 1) {
            check(db, sqlite3_step(commit), SQLITE_DONE, "COMMIT");
            check(db, sqlite3_reset(commit), SQLITE_OK, "reset");
        }
    }
    check(db, sqlite3_finalize(insert), SQLITE_OK, "finalizing");
    check(db, sqlite3_finalize(commit), SQLITE_OK, "finalizing");
    check(db, sqlite3_finalize(begin), SQLITE_OK, "finalizing");
    double seconds = now_s() - started;

    free(sql);
    sqlite3_free(quoted);
    return seconds;
}

static sqlite3_int64 count_rows(sqlite3 *db, const char *name) {
    char *quoted = quote_identifier(name);
    char *sql = sqlite3_mprintf("SELECT count(*) FROM %s", quoted);
    if (sql == NULL) die("out of memory");
    sqlite3_stmt *q = prepare(db, sql, 0);
    check(db, sqlite3_step(q), SQLITE_ROW, "counting rows");
    sqlite3_int64 n = sqlite3_column_int64(q, 0);
    check(db, sqlite3_finalize(q), SQLITE_OK, "finalizing");
    sqlite3_free(sql);
    sqlite3_free(quoted);
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Main
 */

/* Prints s as a JSON string. */
static void print_json_string(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void usage(FILE *to) {
    fputs("usage: sqlite_insert --from SRC.db --to DST.db --table NAME [--table NAME]... [--batch N]\n"
          "\n"
          "Copies each table's schema (CREATE TABLE and CREATE INDEX) from SRC into a fresh DST,\n"
          "loads its rows into memory, then times inserting them with one prepared INSERT in\n"
          "transactions of N rows, with CallFeed's SQLite settings (WAL, synchronous=FULL).\n"
          "Prints one JSON line per table and a total (\"table\":\"*\").\n"
          "\n"
          "  --from SRC.db   source database (read only)\n"
          "  --to DST.db     destination; deleted (with -wal, -shm, -journal) and created\n"
          "  --table NAME    table to copy (repeatable, in order)\n"
          "  --batch N       rows per transaction (default 500, CallFeed's load.batch_size)\n"
          "  --help          this text\n",
          to);
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"table", required_argument, NULL, 'T'},
        {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL;
    size_t batch = 500;
    struct table *tables = NULL;
    size_t table_count = 0, table_cap = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'T':
            tables = grow(tables, &table_cap, table_count + 1, sizeof *tables);
            memset(&tables[table_count], 0, sizeof *tables);
            tables[table_count++].name = optarg;
            break;
        case 'b': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 1 || v > 100000000)
                die("--batch: invalid number '%s' (must be 1..100000000)", optarg);
            batch = (size_t)v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "sqlite_insert: unknown or incomplete option '%s'\n\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || from == NULL || to == NULL || table_count == 0) {
        fputs("sqlite_insert: --from, --to and at least one --table are required\n\n", stderr);
        usage(stderr);
        return 2;
    }

    sqlite3 *src = NULL;
    int rc = sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite_insert: cannot open %s: %s\n", from, src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
        sqlite3_close_v2(src);
        return 1;
    }
    for (size_t i = 0; i < table_count; i++) load_table(src, &tables[i]);
    check(src, sqlite3_close(src), SQLITE_OK, "closing the source");

    sqlite3 *dst = open_destination(to);
    for (size_t i = 0; i < table_count; i++) {
        exec(dst, tables[i].create_sql);
        for (size_t k = 0; k < tables[i].index_count; k++) exec(dst, tables[i].index_sql[k]);
    }

    size_t total_rows = 0;
    double total_seconds = 0;
    for (size_t i = 0; i < table_count; i++) {
        struct table *t = &tables[i];
        double seconds = insert_rows(dst, t, batch);
        sqlite3_int64 stored = count_rows(dst, t->name);
        if (stored < 0 || (size_t)stored != t->rows)
            die("%s: %zu rows inserted but %lld stored", t->name, t->rows, (long long)stored);
        printf("{\"table\":");
        print_json_string(t->name);
        printf(",\"rows\":%zu,\"batch\":%zu,\"seconds\":%.3f,\"rows_per_s\":%.1f}\n", t->rows, batch, seconds,
               seconds > 0 ? (double)t->rows / seconds : 0.0);
        total_rows += t->rows;
        total_seconds += seconds;
    }
    printf("{\"table\":\"*\",\"rows\":%zu,\"batch\":%zu,\"seconds\":%.3f,\"rows_per_s\":%.1f}\n", total_rows, batch,
           total_seconds, total_seconds > 0 ? (double)total_rows / total_seconds : 0.0);
    if (fflush(stdout) != 0) die("cannot write the report: %s", strerror(errno));

    check(dst, sqlite3_close(dst), SQLITE_OK, "closing the destination");
    for (size_t i = 0; i < table_count; i++) free_table(&tables[i]);
    free(tables);
    return 0;
}
