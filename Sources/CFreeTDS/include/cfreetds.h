// CallFeed's narrow view of FreeTDS DB-Library (Debian freetds-dev): enough to run one query
// on SQL Server and read its rows as text. Everything DB-Library-specific (handlers, macros,
// date cracking) stays in cfreetds.c; Swift sees opaque handles and C strings.
#ifndef CALLFEED_CFREETDS_H
#define CALLFEED_CFREETDS_H

#include <stddef.h>

typedef struct cf_tds cf_tds;

/// dbinit and the error / message handlers, once per process. Returns 0 on success.
int cf_tds_init(void);

/// Connects (TDS 7.4) and runs `setup` (session SET statements). Returns NULL on failure with
/// the reason in `error`. `server` is `host:port`.
cf_tds *cf_tds_open(const char *server, const char *user, const char *password, const char *database,
                    const char *app, int login_timeout_seconds, int query_timeout_seconds,
                    char *error, size_t error_len);

/// Runs a batch and moves to its first result set. Returns 0 on success; otherwise -1 with the
/// server's or the library's words in `error` and the server message number (0 if none) in `*msgno`.
int cf_tds_exec(cf_tds *c, const char *sql, char *error, size_t error_len, int *msgno);

int cf_tds_numcols(cf_tds *c);
/// The column's name (valid until the next query).
const char *cf_tds_colname(cf_tds *c, int column);
/// The column's SQL Server type name as CallFeed maps it (`int`, `datetime2`, `nvarchar`, ...).
const char *cf_tds_coltypename(cf_tds *c, int column);
/// 1 = a row is current, 0 = no more rows, -1 = failure (reason in `error`).
int cf_tds_nextrow(cf_tds *c, char *error, size_t error_len);
/// The current row's cell as text into `buffer`: its length, -1 for NULL, -2 when `buffer` is too
/// small (call again with at least the returned `*needed` bytes).
int cf_tds_cell(cf_tds *c, int column, char *buffer, int buffer_len, int *needed);
/// Whether the connection is unusable.
int cf_tds_dead(cf_tds *c);
void cf_tds_close(cf_tds *c);

/// The type name CallFeed uses for a DB-Library type code (SYBINT4 -> "int"); for tests.
const char *cf_tds_type_name(int type);

#endif
