"""The Python line of the UDP echo benchmark: lesson 5's server as a
beginner writes it in Python, printing one line per datagram."""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, (ip, port) = sock.recvfrom(1024)
    print(f"[{ip}:{port}] {data.decode('utf-8', 'replace')}", flush=True)
    sock.sendto(data, (ip, port))
