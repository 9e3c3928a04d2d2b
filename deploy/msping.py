#!/usr/bin/env python3
"""One request to a scan-service's api socket; prints the reply body as JSON (protocol/README.md).

  deploy/msping.py tcp://10.0.0.5:5555                       # PING: version, uptime, live nodes
  deploy/msping.py tcp://10.0.0.5:5555 GET_SESSION '{"session_id": "…"}'
  deploy/msping.py --curve client.key_secret service.key tcp://10.0.0.5:5555 LIST_SESSIONS

For operators (is the service up, which nodes and data versions does it see) and for the cluster
tests, which run it from a client network namespace. Exit status: 0 OK, 1 an ERROR reply or no
reply within --timeout seconds. Needs pyzmq.
"""
import argparse
import json
import sys

import zmq
import zmq.auth


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("endpoint")
    p.add_argument("verb", nargs="?", default="PING")
    p.add_argument("body", nargs="?", default="{}")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--curve", nargs=2, metavar=("CLIENT_SECRET_CERT", "SERVER_CERT"))
    a = p.parse_args()
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if a.curve:
        public, secret = zmq.auth.load_certificate(a.curve[0])
        server, _ = zmq.auth.load_certificate(a.curve[1])
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = public, secret, server
    s.connect(a.endpoint)
    s.send_multipart([b"", b"MSCAN/1", a.verb.encode(), a.body.encode()])
    if not s.poll(int(a.timeout * 1000)):
        print(f"no reply from {a.endpoint} within {a.timeout} s", file=sys.stderr)
        return 1
    frames = s.recv_multipart()
    status, body = frames[2].decode(), json.loads(frames[3])
    print(json.dumps(body))
    return 0 if status == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
