"""A client written the way the Python course writes them: one send() per
message, nothing to mark where a message ends.

    python3 seed_style_client.py HOST PORT MESSAGE...

It sends each MESSAGE with its own send(), says so, then waits for its
input to end (Ctrl-D) before it closes: meanwhile, press Enter in the
unframed server (framing-server --framing none) to see what one recv got.
"""

import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
messages = sys.argv[3:]

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((host, port))
for message in messages:
    client.send(message.encode('utf8'))
print('sent', len(messages), 'messages, one send() each', flush=True)

sys.stdin.read()
client.close()
print('closed', flush=True)
