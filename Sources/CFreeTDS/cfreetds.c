#define MSDBLIB 1
#include "cfreetds.h"

#include <sybfront.h>
#include <sybdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

struct cf_tds {
    DBPROCESS *proc;
    char message[1024];
    int msgno;
};

/* Messages raised while no DBPROCESS exists yet (login) go here. */
static __thread char login_message[1024];

static void keep(DBPROCESS *proc, const char *text, int msgno) {
    struct cf_tds *c = proc ? (struct cf_tds *)dbgetuserdata(proc) : NULL;
    char *target = c ? c->message : login_message;
    size_t len = strlen(target);
    if (len > 0 && len < 1000) { strncat(target, "; ", 1023 - len); len += 2; }
    if (len < 1000) strncat(target, text, 1023 - len);
    if (c && msgno) c->msgno = msgno;
}

static int on_error(DBPROCESS *proc, int severity, int dberr, int oserr, char *dberrstr, char *oserrstr) {
    (void)severity; (void)dberr;
    char text[600];
    snprintf(text, sizeof text, "%s%s%s", dberrstr ? dberrstr : "DB-Library error", (oserr != DBNOERR && oserrstr) ? ": " : "",
             (oserr != DBNOERR && oserrstr) ? oserrstr : "");
    keep(proc, text, 0);
    return INT_CANCEL;
}

static int on_message(DBPROCESS *proc, DBINT msgno, int msgstate, int severity, char *msgtext, char *srvname, char *procname, int line) {
    (void)msgstate; (void)srvname; (void)procname; (void)line;
    if (severity <= 10) return 0; /* informational: changed database context, language, ... */
    char text[700];
    snprintf(text, sizeof text, "SQL Server message %d (severity %d): %s", (int)msgno, severity, msgtext ? msgtext : "");
    keep(proc, text, (int)msgno);
    return 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_result = -1;
static void init_once(void) {
    if (dbinit() == FAIL) return;
    dberrhandle(on_error);
    dbmsghandle(on_message);
    init_result = 0;
}

int cf_tds_init(void) {
    pthread_once(&once, init_once);
    return init_result;
}

static void copy_out(char *error, size_t error_len, const char *text) {
    if (!error || error_len == 0) return;
    snprintf(error, error_len, "%s", text && *text ? text : "FreeTDS gave no reason");
}

cf_tds *cf_tds_open(const char *server, const char *user, const char *password, const char *database, const char *app,
                    int login_timeout_seconds, int query_timeout_seconds, char *error, size_t error_len) {
    if (cf_tds_init() != 0) { copy_out(error, error_len, "dbinit failed"); return NULL; }
    login_message[0] = 0;
    LOGINREC *login = dblogin();
    if (!login) { copy_out(error, error_len, "dblogin: out of memory"); return NULL; }
    DBSETLUSER(login, user);
    DBSETLPWD(login, password);
    DBSETLAPP(login, app);
    if (database && *database) DBSETLDBNAME(login, database);
    DBSETLVERSION(login, DBVERSION_74);
    DBSETLCHARSET(login, "UTF-8");
    dbsetlogintime(login_timeout_seconds > 0 ? login_timeout_seconds : 15);
    dbsettime(query_timeout_seconds > 0 ? query_timeout_seconds : 60);
    DBPROCESS *proc = dbopen(login, server);
    dbloginfree(login);
    if (!proc) { copy_out(error, error_len, login_message); return NULL; }
    struct cf_tds *c = calloc(1, sizeof *c);
    if (!c) { dbclose(proc); copy_out(error, error_len, "out of memory"); return NULL; }
    c->proc = proc;
    dbsetuserdata(proc, (BYTE *)c);
    return c;
}

int cf_tds_exec(cf_tds *c, const char *sql, char *error, size_t error_len, int *msgno) {
    c->message[0] = 0;
    c->msgno = 0;
    if (msgno) *msgno = 0;
    dbcancel(c->proc);  /* drop anything left of an earlier result */
    if (dbcmd(c->proc, sql) == FAIL || dbsqlexec(c->proc) == FAIL) goto failed;
    /* Skip results without columns (SET statements) to the first row set. */
    RETCODE rc;
    while ((rc = dbresults(c->proc)) == SUCCEED) {
        if (dbnumcols(c->proc) > 0) return 0;
    }
    if (rc == NO_MORE_RESULTS && c->message[0] == 0) return 0;  /* no row set: a batch of statements */
failed:
    if (msgno) *msgno = c->msgno;
    copy_out(error, error_len, c->message);
    return -1;
}

int cf_tds_numcols(cf_tds *c) { return dbnumcols(c->proc); }

const char *cf_tds_colname(cf_tds *c, int column) { return dbcolname(c->proc, column + 1); }

const char *cf_tds_type_name(int type) {
    switch (type) {
    case SYBBIT: case SYBBITN: return "bit";
    case SYBINT1: return "tinyint";
    case SYBINT2: return "smallint";
    case SYBINT4: return "int";
    case SYBINT8: return "bigint";
    case SYBINTN: return "int";
    case SYBREAL: return "real";
    case SYBFLT8: case SYBFLTN: return "float";
    case SYBDECIMAL: return "decimal";
    case SYBNUMERIC: return "numeric";
    case SYBMONEY: case SYBMONEYN: return "money";
    case SYBMONEY4: return "smallmoney";
    case SYBDATETIME: case SYBDATETIMN: return "datetime";
    case SYBDATETIME4: return "smalldatetime";
    case SYBMSDATETIME2: return "datetime2";
    case SYBMSDATETIMEOFFSET: return "datetimeoffset";
    case SYBMSDATE: return "date";
    case SYBMSTIME: return "time";
    case SYBBINARY: return "binary";
    case SYBVARBINARY: return "varbinary";
    case SYBIMAGE: return "image";
    case 36: return "uniqueidentifier";  /* SYBUNIQUE (tds.h; not in sybdb.h) */
    default: return "nvarchar";
    }
}

const char *cf_tds_coltypename(cf_tds *c, int column) { return cf_tds_type_name(dbcoltype(c->proc, column + 1)); }

int cf_tds_nextrow(cf_tds *c, char *error, size_t error_len) {
    c->message[0] = 0;
    STATUS s = dbnextrow(c->proc);
    if (s == NO_MORE_ROWS) return 0;
    if (s == FAIL) { copy_out(error, error_len, c->message); return -1; }
    return 1;  /* REG_ROW (compute rows do not occur in CallFeed's queries) */
}

static int is_date_type(int type) {
    return type == SYBDATETIME || type == SYBDATETIMN || type == SYBDATETIME4 || type == SYBMSDATETIME2 ||
           type == SYBMSDATETIMEOFFSET || type == SYBMSDATE || type == SYBMSTIME;
}

int cf_tds_cell(cf_tds *c, int column, char *buffer, int buffer_len, int *needed) {
    int col = column + 1;
    BYTE *data = dbdata(c->proc, col);
    DBINT len = dbdatlen(c->proc, col);
    if (data == NULL && len == 0) return -1;  /* NULL */
    int type = dbcoltype(c->proc, col);
    if (is_date_type(type)) {
        /* ISO text, not DB-Library's locale format ("Mar  1 2024 12:34:56:789PM"). */
        DBDATEREC2 d;
        if (dbanydatecrack(c->proc, &d, type, data) == FAIL) return -1;
        char text[64];
        int n;
        if (type == SYBMSDATE) {
            n = snprintf(text, sizeof text, "%04d-%02d-%02d", (int)d.year, (int)d.month, (int)d.day);
        } else if (type == SYBMSTIME) {
            n = snprintf(text, sizeof text, "%02d:%02d:%02d.%07d", (int)d.hour, (int)d.minute, (int)d.second, (int)(d.nanosecond / 100));
        } else if (type == SYBDATETIME4) {
            /* smalldatetime: whole minutes. */
            n = snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d", (int)d.year, (int)d.month, (int)d.day,
                         (int)d.hour, (int)d.minute, (int)d.second);
        } else if (type == SYBDATETIME || type == SYBDATETIMN) {
            /* datetime: 1/300 s ticks, printed as the milliseconds SQL Server itself shows; three
               digits convert back to the same tick (the keyset's "after" value), seven would not. */
            n = snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%03d", (int)d.year, (int)d.month, (int)d.day,
                         (int)d.hour, (int)d.minute, (int)d.second, (int)((d.nanosecond + 500000) / 1000000));
        } else {
            n = snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%07d", (int)d.year, (int)d.month, (int)d.day,
                         (int)d.hour, (int)d.minute, (int)d.second, (int)(d.nanosecond / 100));
            if (type == SYBMSDATETIMEOFFSET) {
                int tz = (int)d.tzone;  /* minutes east of UTC */
                int a = tz < 0 ? -tz : tz;
                n += snprintf(text + n, sizeof text - n, " %c%02d:%02d", tz < 0 ? '-' : '+', a / 60, a % 60);
            }
        }
        if (needed) *needed = n + 1;
        if (n + 1 > buffer_len) return -2;
        memcpy(buffer, text, (size_t)n + 1);
        return n;
    }
    if (type == SYBCHAR || type == SYBVARCHAR || type == SYBTEXT || type == SYBNVARCHAR || type == SYBNTEXT) {
        if (needed) *needed = len + 1;
        if (len + 1 > buffer_len) return -2;
        memcpy(buffer, data, (size_t)len);
        buffer[len] = 0;
        return len;
    }
    /* Numbers, money, bits, uniqueidentifiers, binary (hex): DB-Library's own conversion. */
    int room = len * 2 + 64;
    if (needed) *needed = room;
    if (room > buffer_len) return -2;
    DBINT n = dbconvert(c->proc, type, data, len, SYBCHAR, (BYTE *)buffer, buffer_len - 1);
    if (n < 0) return -1;
    buffer[n] = 0;
    /* dbconvert pads CHAR output with blanks on the right. */
    while (n > 0 && buffer[n - 1] == ' ') buffer[--n] = 0;
    return n;
}

int cf_tds_dead(cf_tds *c) { return c == NULL || dbdead(c->proc); }

void cf_tds_close(cf_tds *c) {
    if (!c) return;
    dbclose(c->proc);
    free(c);
}
