/* The UDP round-trip driver of the benchmark: sends a datagram to
 * 127.0.0.1:PORT, waits for the answer, COUNT times, and prints the mean
 * round trip in microseconds. The datagram is MESSAGE if given (a strftime
 * format for a time server), else 32 bytes for an echo server. It first
 * probes (for 5 s at most) until the server answers at all.
 *
 * With SERVER_PID set in the environment it also prints the CPU time the
 * server used per round trip, in microseconds (from Linux's
 * /proc/PID/schedstat): the server's own work, its system calls included,
 * which other programs competing for the CPU disturb far less than the
 * round trip.
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

/* The CPU time the process pid has used so far, in nanoseconds, or -1. */
static long long cpu_ns(const char *pid) {
    char path[64];
    long long ns = -1;
    snprintf(path, sizeof path, "/proc/%s/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lld", &ns) != 1) ns = -1;
        fclose(f);
    }
    return ns;
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
    const char *server = getenv("SERVER_PID");
    long long server_start = server ? cpu_ns(server) : -1;
    double start = now();
    for (long i = 0; i < count; i++) {
        send(fd, msg, size, 0);
        if (recv(fd, buf, sizeof buf, 0) <= 0) {
            fprintf(stderr, "rtt: an answer was lost\n");
            return 1;
        }
    }
    double rtt = (now() - start) / count * 1e6;
    if (server) {
        long long server_end = cpu_ns(server);
        if (server_start < 0 || server_end < 0) {
            fprintf(stderr, "rtt: cannot read the CPU time of process %s\n", server);
            return 1;
        }
        printf("%.2f %.2f\n", rtt, (server_end - server_start) / 1e3 / count);
    } else {
        printf("%.2f\n", rtt);
    }
    return 0;
}
