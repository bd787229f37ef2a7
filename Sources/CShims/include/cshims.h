// C bodies for what Swift cannot call directly: variadic C functions and cast macros.
// Every function here is a one-line forward; the Swift wrappers own the handles.
#ifndef CALLFEED_CSHIMS_H
#define CALLFEED_CSHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <librdkafka/rdkafka.h>

// MARK: libcurl (curl_easy_setopt / curl_easy_getinfo are variadic)
CURLcode cshim_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode cshim_curl_setopt_ptr(CURL *handle, CURLoption option, const void *value);
CURLcode cshim_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
typedef size_t (*cshim_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
CURLcode cshim_curl_setopt_writefunction(CURL *handle, cshim_curl_data_callback cb);
CURLcode cshim_curl_setopt_headerfunction(CURL *handle, cshim_curl_data_callback cb);
CURLcode cshim_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

// MARK: libmicrohttpd (MHD_start_daemon / MHD_get_daemon_info are variadic)
/// Starts a daemon bound to `ipv4` (dotted quad) and `port` (0 = any free port), with the options
/// CallFeed needs passed as an MHD_OPTION_ARRAY. Returns NULL on failure (errno tells why).
/// `notify` (may be NULL) sees every connection start and close.
/// `tls_cert_pem` and `tls_key_pem` (PEM text, both or neither): serve HTTPS (add MHD_USE_TLS to
/// `flags`). MHD hands them to GnuTLS, which copies them, during this call: they need not outlive it.
struct MHD_Daemon *cshim_mhd_start(unsigned int flags, const char *ipv4, uint16_t port,
                                   MHD_AccessHandlerCallback handler, void *handler_cls,
                                   MHD_RequestCompletedCallback completed, void *completed_cls,
                                   MHD_NotifyConnectionCallback notify, void *notify_cls,
                                   unsigned int connection_limit, unsigned int connection_timeout_seconds,
                                   size_t connection_memory_limit,
                                   const char *tls_cert_pem, const char *tls_key_pem);
/// The connection's socket (MHD_get_connection_info is variadic); -1 if unknown. MHD owns it:
/// never close it (shutdown() is how another thread makes MHD drop the connection).
int cshim_mhd_connection_fd(struct MHD_Connection *connection);
/// The port the daemon actually listens on (useful with port 0).
uint16_t cshim_mhd_bound_port(struct MHD_Daemon *daemon);

// MARK: SQLite (SQLITE_TRANSIENT is a cast macro)
int cshim_sqlite3_bind_text_transient(sqlite3_stmt *stmt, int index, const char *text, int length);

// MARK: librdkafka: produce with headers (rd_kafka_producev is variadic)
/// Produces one message. On success librdkafka owns `headers` (may be NULL); on failure the caller
/// still owns them and must destroy them. Returns the error code (RD_KAFKA_RESP_ERR_NO_ERROR on success).
rd_kafka_resp_err_t cshim_rd_kafka_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                           const void *key, size_t key_len,
                                           const void *value, size_t value_len,
                                           rd_kafka_headers_t *headers, void *msg_opaque);

#endif
