/* The reference for the time-server benchmark: what lesson 7's server does,
 * in C. It receives a strftime format of up to 1024 bytes, renders the
 * current local time in it (clock_gettime, localtime_r, strftime), prints
 * "[IP:PORT] FORMAT -> ANSWER" with one write() per line, and sends the
 * answer back. An empty datagram asks for "%Y-%m-%d %H:%M:%S", as in the
 * lesson. The lesson's error replies (a format chrono cannot render, bytes
 * that are not UTF-8) are left out: the benchmark sends a valid format.
 * Like the lesson, the printed line shows control characters and the
 * backslash escaped, and drops one trailing line ending.
 *
 * usage: time-server PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Appends text to out as the lesson shows it; returns the new end. */
static char *show(char *out, const char *text, size_t len) {
    if (len > 0 && text[len - 1] == '\n') len--;
    if (len > 0 && text[len - 1] == '\r') len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        switch (c) {
        case '\\': out = stpcpy(out, "\\\\"); break;
        case '\n': out = stpcpy(out, "\\n"); break;
        case '\r': out = stpcpy(out, "\\r"); break;
        case '\t': out = stpcpy(out, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += sprintf(out, "\\x%02x", c);
            } else {
                *out++ = (char)c;
            }
        }
    }
    return out;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("time-server");
        return 1;
    }
    /* buf: the format and its NUL; line: an escaped format (4 bytes per
     * byte at most), an answer and the rest. */
    char buf[1024 + 1], reply[1024 + 1], line[6 * 1024 + 64], ip[INET_ADDRSTRLEN];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, 1024, 0, (struct sockaddr *)&peer, &len);
        if (n < 0) {
            perror("recvfrom");
            return 1;
        }
        buf[n] = '\0';
        const char *format = n > 0 ? buf : "%Y-%m-%d %H:%M:%S";

        struct timespec now;
        struct tm local;
        clock_gettime(CLOCK_REALTIME, &now);
        localtime_r(&now.tv_sec, &local);
        size_t m = strftime(reply, sizeof reply, format, &local);

        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        char *end = line + sprintf(line, "[%s:%d] ", ip, ntohs(peer.sin_port));
        if (n > 0) {
            end = show(end, buf, (size_t)n);
        } else {
            end += sprintf(end, "(empty: the default format)");
        }
        memcpy(end, " -> ", 4);
        end = show(end + 4, reply, m);
        *end++ = '\n';
        if (write(1, line, (size_t)(end - line)) < 0) return 1;

        sendto(fd, reply, m, 0, (struct sockaddr *)&peer, len);
    }
}
