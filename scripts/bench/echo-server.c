/* The reference for the UDP echo benchmark: what lesson 5's server does, in
 * C. It receives up to 1024 bytes, prints "[IP:PORT] message" with one
 * write() per line, and sends the datagram back. With --quiet it prints
 * nothing, which measures the kernel alone.
 *
 * usage: echo-server PORT [--quiet]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [--quiet]\n", argv[0]);
        return 2;
    }
    int quiet = argc > 2 && strcmp(argv[2], "--quiet") == 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("echo-server");
        return 1;
    }
    char buf[1024], line[1200], ip[INET_ADDRSTRLEN];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
        if (n < 0) {
            perror("recvfrom");
            return 1;
        }
        if (!quiet) {
            inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
            int m = snprintf(line, sizeof line, "[%s:%d] %.*s\n", ip, ntohs(peer.sin_port), (int)n, buf);
            if (write(1, line, (size_t)m) < 0) return 1;
        }
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
    }
}
