#!/usr/bin/env python3
"""A UDP echo service and its client, for the UDP services lab.

  udp_echo.py serve PORT                      echo every datagram back (IPv4 and IPv6)
  udp_echo.py ask ADDR PORT SPORT [N [GAP]]   send N datagrams (GAP seconds apart) from
                                              source port SPORT; print how many came back
"""
import socket
import sys
import time


def serve(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def ask(addr, port, sport, n, gap):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
    s.settimeout(0.5)
    answered = 0
    for i in range(n):
        if i:
            time.sleep(gap)
        s.sendto(b"echo %d" % i, (addr, port))
        try:
            if s.recv(2048) == b"echo %d" % i:
                answered += 1
        except socket.timeout:
            pass
    print(answered)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        n = int(sys.argv[5]) if len(sys.argv) > 5 else 1
        gap = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
        ask(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), n, gap)
