"""A plain Python client that speaks lesson 9's line framing: every message
ends with a newline, and the replies are read a line at a time.

    python3 lines_client.py HOST PORT MESSAGE...

All the messages leave in one sendall(), glued together on purpose: the
server (framing-server --framing lines) still finds each one, and echoes it.
"""

import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
messages = sys.argv[3:]

with socket.create_connection((host, port)) as sock:
    sock.sendall(b''.join(m.encode('utf8') + b'\n' for m in messages))
    # FIN after the last line: the server echoes them all, then closes.
    sock.shutdown(socket.SHUT_WR)
    # makefile() gives a buffered reader; iterating it yields one line at a
    # time, however the bytes arrived.
    for line in sock.makefile('rb'):
        print('echo:', line.rstrip(b'\n').decode('utf8', 'replace'), flush=True)
print('the server closed the connection', flush=True)
