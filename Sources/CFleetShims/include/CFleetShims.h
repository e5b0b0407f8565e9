#ifndef CFLEETSHIMS_H
#define CFLEETSHIMS_H

// Everything the daemon needs from C. Headers come in as they are; a cfs_* function exists only
// where Swift cannot call the library directly (variadic calls, function-like macros).

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <microhttpd.h>

// MARK: - errno / signals

/// errno is a macro over a thread-local; Swift's Glibc import of it is not available everywhere.
int cfs_errno(void);
void cfs_set_errno(int value);
/// SIG_IGN is a cast macro. Sockets then report EPIPE instead of killing the process.
void cfs_ignore_sigpipe(void);
/// The process environment (`environ` is only declared under _GNU_SOURCE).
char **cfs_environ(void);
/// Starts writing a file's dirty pages to disk and returns without waiting for them
/// (sync_file_range with SYNC_FILE_RANGE_WRITE, a GNU extension); -1 with errno on failure.
int cfs_start_writeback(int fd);
/// Bytes waiting in a socket's receive queue (ioctl FIONREAD is variadic); -1 with errno on failure.
int cfs_socket_unread_bytes(int fd);

// MARK: - libcurl (curl_easy_setopt and friends are variadic)

typedef size_t (*cfs_curl_write_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*cfs_curl_socket_fn)(CURL *easy, curl_socket_t s, int what, void *clientp, void *socketp);
typedef int (*cfs_curl_timer_fn)(CURLM *multi, long timeout_ms, void *clientp);

CURLcode cfs_easy_setopt_long(CURL *easy, CURLoption option, long value);
CURLcode cfs_easy_setopt_ptr(CURL *easy, CURLoption option, const void *value);
CURLcode cfs_easy_setopt_int64(CURL *easy, CURLoption option, int64_t value);
CURLcode cfs_easy_setopt_writefn(CURL *easy, CURLoption option, cfs_curl_write_fn fn);
CURLcode cfs_easy_getinfo_long(CURL *easy, CURLINFO info, long *value);
CURLcode cfs_easy_getinfo_ptr(CURL *easy, CURLINFO info, void **value);

CURLMcode cfs_multi_setopt_ptr(CURLM *multi, CURLMoption option, void *value);
CURLMcode cfs_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode cfs_multi_setopt_socketfn(CURLM *multi, cfs_curl_socket_fn fn);
CURLMcode cfs_multi_setopt_timerfn(CURLM *multi, cfs_curl_timer_fn fn);

/// One finished transfer from curl_multi_info_read, flattened because CURLMsg holds a union.
typedef struct {
    CURL *easy;
    CURLcode result;
    int done;
} cfs_curl_done;
/// Returns 1 and fills `out` while finished transfers remain, 0 when drained.
int cfs_multi_next_done(CURLM *multi, cfs_curl_done *out);

extern const int cfs_CURL_POLL_IN;
extern const int cfs_CURL_POLL_OUT;
extern const int cfs_CURL_POLL_INOUT;
extern const int cfs_CURL_POLL_REMOVE;
extern const int cfs_CURL_CSELECT_IN;
extern const int cfs_CURL_CSELECT_OUT;
extern const int cfs_CURL_CSELECT_ERR;
extern const curl_socket_t cfs_CURL_SOCKET_TIMEOUT;

// MARK: - SQLite

/// SQLITE_TRANSIENT is a cast of -1 to a function pointer: a macro Swift cannot import.
int cfs_sqlite_bind_text_transient(sqlite3_stmt *stmt, int index, const char *text, int length);
int cfs_sqlite_bind_blob_transient(sqlite3_stmt *stmt, int index, const void *bytes, int length);

// MARK: - libmicrohttpd (MHD_start_daemon and MHD_get_daemon_info are variadic)

typedef enum MHD_Result (*cfs_mhd_access_fn)(void *cls, struct MHD_Connection *connection,
                                             const char *url, const char *method, const char *version,
                                             const char *upload_data, size_t *upload_data_size,
                                             void **con_cls);
typedef void (*cfs_mhd_completed_fn)(void *cls, struct MHD_Connection *connection, void **con_cls,
                                     enum MHD_RequestTerminationCode toe);

/// Starts a daemon in external-epoll mode (no internal thread) bound to `address` (IPv4, network
/// order) and `port` (host order; 0 picks a free one). Limits bound memory and time per client.
struct MHD_Daemon *cfs_mhd_start(uint32_t address, uint16_t port,
                                 cfs_mhd_access_fn handler, void *handler_cls,
                                 cfs_mhd_completed_fn completed, void *completed_cls,
                                 unsigned int connection_limit, unsigned int connection_timeout_s,
                                 size_t connection_memory_limit);
/// The daemon's own epoll fd, to be watched by ours.
int cfs_mhd_epoll_fd(struct MHD_Daemon *daemon);
/// The port actually bound (useful after asking for port 0).
uint16_t cfs_mhd_bound_port(struct MHD_Daemon *daemon);

#endif
