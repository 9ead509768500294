/* The independent check of lesson 14's UDP round trip: a plain C ping-pong
 * client. It sends a SIZE-byte datagram to 127.0.0.1:PORT, waits for the
 * echo, WARMUP times untimed and then COUNT times timed, and prints each
 * timed round trip in nanoseconds, one a line. Lesson 14's client runs it
 * between its own measurements, against the same server, and reports both.
 * A lost or wrong answer ends it with status 1 (loopback loses nothing).
 *
 * usage: udp-pingpong PORT COUNT SIZE [WARMUP]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT COUNT SIZE [WARMUP]\n", argv[0]);
        return 2;
    }
    long count = atol(argv[2]);
    long size = atol(argv[3]);
    long warmup = argc > 4 ? atol(argv[4]) : count / 10;
    if (count < 1 || count > 10000000 || size < 1 || size > 65507 || warmup < 0) {
        fprintf(stderr, "udp-pingpong: COUNT, SIZE or WARMUP out of range\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("udp-pingpong");
        return 1;
    }
    struct timeval wait = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    static char msg[65536], buf[65536];
    memset(msg, 'x', sizeof msg);
    long long *rtt = malloc(sizeof *rtt * count);
    if (!rtt) return 1;
    for (long i = 0; i < warmup + count; i++) {
        msg[0] = (char)i;
        long long start = now_ns();
        if (send(fd, msg, size, 0) != size) {
            perror("udp-pingpong: send");
            return 1;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        long long took = now_ns() - start;
        if (n != size || buf[0] != msg[0]) {
            fprintf(stderr, "udp-pingpong: round trip %ld: no echo or a wrong one\n", i);
            return 1;
        }
        if (i >= warmup) rtt[i - warmup] = took;
    }
    for (long i = 0; i < count; i++) printf("%lld\n", rtt[i]);
    return 0;
}
