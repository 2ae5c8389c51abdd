// A Go peer over "unixpacket" (SOCK_SEQPACKET) using only the standard library, for the
// seqpacket tests. Prints one JSON line when ready and one when done; every call has a
// 20 s deadline.
//
//	go-seqpacket client <path> <n>      dial, send "go-<i>" and read its reply, n times; print
//	                                    {"replies": [...]} and close
//	go-seqpacket server <path> <bye>    listen, accept one connection, echo each packet with
//	                                    "go:" prepended until the packet "last"; then send <bye>
//	                                    packets "bye-<i>", close, print {"received": [...]}
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func emit(v map[string]any) {
	line, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-seqpacket:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: go-seqpacket client|server <path> <n>"))
	}
	mode, path := os.Args[1], os.Args[2]
	n, err := strconv.Atoi(os.Args[3])
	if err != nil {
		fail(err)
	}
	addr := &net.UnixAddr{Name: path, Net: "unixpacket"}
	buf := make([]byte, 1<<20)
	switch mode {
	case "client":
		conn, err := net.DialUnix("unixpacket", nil, addr)
		if err != nil {
			fail(err)
		}
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		emit(map[string]any{"ready": true, "pid": os.Getpid()})
		replies := []string{}
		for i := 0; i < n; i++ {
			if _, err := conn.Write([]byte(fmt.Sprintf("go-%d", i))); err != nil {
				fail(err)
			}
			got, err := conn.Read(buf)
			if err != nil {
				fail(err)
			}
			replies = append(replies, string(buf[:got]))
		}
		if err := conn.Close(); err != nil {
			fail(err)
		}
		emit(map[string]any{"replies": replies})
	case "server":
		ln, err := net.ListenUnix("unixpacket", addr)
		if err != nil {
			fail(err)
		}
		emit(map[string]any{"ready": true, "pid": os.Getpid()})
		_ = ln.SetDeadline(time.Now().Add(20 * time.Second))
		conn, err := ln.AcceptUnix()
		if err != nil {
			fail(err)
		}
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		received := []string{}
		for {
			got, err := conn.Read(buf)
			if err != nil {
				fail(err)
			}
			packet := string(buf[:got])
			received = append(received, packet)
			if _, err := conn.Write([]byte("go:" + packet)); err != nil {
				fail(err)
			}
			if packet == "last" {
				break
			}
		}
		for i := 0; i < n; i++ {
			if _, err := conn.Write([]byte(fmt.Sprintf("bye-%d", i))); err != nil {
				fail(err)
			}
		}
		if err := conn.Close(); err != nil {
			fail(err)
		}
		_ = ln.Close()
		emit(map[string]any{"received": received})
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
}
