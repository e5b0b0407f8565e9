#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // sync_file_range
#endif
#include "CFleetShims.h"

int cfs_errno(void) { return errno; }
void cfs_set_errno(int value) { errno = value; }
void cfs_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }
char **cfs_environ(void) { return environ; }
int cfs_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}
int cfs_socket_unread_bytes(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

// MARK: - libcurl

CURLcode cfs_easy_setopt_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}
CURLcode cfs_easy_setopt_ptr(CURL *easy, CURLoption option, const void *value) {
    return curl_easy_setopt(easy, option, value);
}
CURLcode cfs_easy_setopt_int64(CURL *easy, CURLoption option, int64_t value) {
    return curl_easy_setopt(easy, option, (curl_off_t)value);
}
CURLcode cfs_easy_setopt_writefn(CURL *easy, CURLoption option, cfs_curl_write_fn fn) {
    return curl_easy_setopt(easy, option, fn);
}
CURLcode cfs_easy_getinfo_long(CURL *easy, CURLINFO info, long *value) {
    return curl_easy_getinfo(easy, info, value);
}
CURLcode cfs_easy_getinfo_ptr(CURL *easy, CURLINFO info, void **value) {
    return curl_easy_getinfo(easy, info, value);
}

CURLMcode cfs_multi_setopt_ptr(CURLM *multi, CURLMoption option, void *value) {
    return curl_multi_setopt(multi, option, value);
}
CURLMcode cfs_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
CURLMcode cfs_multi_setopt_socketfn(CURLM *multi, cfs_curl_socket_fn fn) {
    return curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, fn);
}
CURLMcode cfs_multi_setopt_timerfn(CURLM *multi, cfs_curl_timer_fn fn) {
    return curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, fn);
}

int cfs_multi_next_done(CURLM *multi, cfs_curl_done *out) {
    int pending = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(multi, &pending)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        out->easy = msg->easy_handle;
        out->result = msg->data.result;
        out->done = 1;
        return 1;
    }
    return 0;
}

const int cfs_CURL_POLL_IN = CURL_POLL_IN;
const int cfs_CURL_POLL_OUT = CURL_POLL_OUT;
const int cfs_CURL_POLL_INOUT = CURL_POLL_INOUT;
const int cfs_CURL_POLL_REMOVE = CURL_POLL_REMOVE;
const int cfs_CURL_CSELECT_IN = CURL_CSELECT_IN;
const int cfs_CURL_CSELECT_OUT = CURL_CSELECT_OUT;
const int cfs_CURL_CSELECT_ERR = CURL_CSELECT_ERR;
const curl_socket_t cfs_CURL_SOCKET_TIMEOUT = CURL_SOCKET_TIMEOUT;

// MARK: - SQLite

int cfs_sqlite_bind_text_transient(sqlite3_stmt *stmt, int index, const char *text, int length) {
    return sqlite3_bind_text(stmt, index, text, length, SQLITE_TRANSIENT);
}
int cfs_sqlite_bind_blob_transient(sqlite3_stmt *stmt, int index, const void *bytes, int length) {
    return sqlite3_bind_blob(stmt, index, bytes, length, SQLITE_TRANSIENT);
}

// MARK: - libmicrohttpd

struct MHD_Daemon *cfs_mhd_start(uint32_t address, uint16_t port,
                                 cfs_mhd_access_fn handler, void *handler_cls,
                                 cfs_mhd_completed_fn completed, void *completed_cls,
                                 unsigned int connection_limit, unsigned int connection_timeout_s,
                                 size_t connection_memory_limit) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = address;
    // MHD_USE_EPOLL without an internal thread = "external select" on an epoll set we watch.
    unsigned int flags = MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    return MHD_start_daemon(flags, port, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
                            MHD_OPTION_END);
}

int cfs_mhd_epoll_fd(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

uint16_t cfs_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}
