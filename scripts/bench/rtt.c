/* The UDP round-trip driver of the benchmark: sends a datagram to
 * 127.0.0.1:PORT, waits for the answer, COUNT times, and prints the mean
 * round trip in microseconds. The datagram is MESSAGE if given (a strftime
 * format for a time server), else 32 bytes for an echo server. It first
 * probes (for 5 s at most) until the server answers at all.
 *
 * usage: rtt PORT COUNT [MESSAGE]
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

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT COUNT [MESSAGE]\n", argv[0]);
        return 2;
    }
    long count = atol(argv[2]);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("rtt");
        return 1;
    }
    struct timeval wait = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char echo[32] = "0123456789abcdef0123456789abcde", buf[1024];
    const char *msg = argc > 3 ? argv[3] : echo;
    size_t size = argc > 3 ? strlen(argv[3]) : sizeof echo;
    /* Until the server is bound, each probe comes back at once as "port
     * unreachable" (ECONNREFUSED on this connected socket); once bound, it
     * answers. Probe every 10 ms, for 5 s at most. */
    int ready = 0;
    double deadline = now() + 5;
    while (!ready && now() < deadline) {
        send(fd, msg, size, 0);
        ready = recv(fd, buf, sizeof buf, 0) > 0;
        if (!ready) {
            struct timespec pause = {0, 10000000};
            nanosleep(&pause, NULL);
        }
    }
    if (!ready) {
        fprintf(stderr, "rtt: no answer from port %s within 5 s\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < 1000; i++) { /* warm up */
        send(fd, msg, size, 0);
        if (recv(fd, buf, sizeof buf, 0) <= 0) return 1;
    }
    double start = now();
    for (long i = 0; i < count; i++) {
        send(fd, msg, size, 0);
        if (recv(fd, buf, sizeof buf, 0) <= 0) {
            fprintf(stderr, "rtt: an answer was lost\n");
            return 1;
        }
    }
    printf("%.2f\n", (now() - start) / count * 1e6);
    return 0;
}
