package testscript_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// smtprecvMain is smtprecv -port-file FILE MAILBOX: a mail server for
// tests, on 127.0.0.1, that takes what an MTA's sendmail (msmtp) hands
// it over SMTP and appends each message to MAILBOX, mbox-style (a "From "
// line, the message, a blank line). It listens on a free port, written to
// FILE, and exits on TERM or INT.
func smtprecvMain() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if len(os.Args) != 4 || os.Args[1] != "-port-file" {
		fmt.Fprintln(os.Stderr, "usage: smtprecv -port-file FILE MAILBOX")
		os.Exit(2)
	}
	portFile, mailbox := os.Args[2], os.Args[3]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtprecv:", err)
		os.Exit(1)
	}
	go func() { <-sig; ln.Close() }()
	os.WriteFile(portFile+".tmp", []byte(fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)+"\n"), 0o644)
	os.Rename(portFile+".tmp", portFile)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go smtpSession(c, mailbox)
	}
}

// smtpSession speaks the server's side of RFC 5321, as far as a sendmail
// that submits one message needs.
func smtpSession(c net.Conn, mailbox string) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	say("220 localhost smtprecv")
	var from string
	var rcpt []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 localhost")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			from = strings.TrimSpace(line[10:])
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			rcpt = append(rcpt, strings.TrimSpace(line[8:]))
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				l = strings.TrimRight(l, "\r\n")
				if l == "." {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, ".") + "\n")
			}
			f, err := os.OpenFile(mailbox, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				say("451 " + err.Error())
				continue
			}
			fmt.Fprintf(f, "From %s\nX-Envelope-To: %s\n%s\n", from, strings.Join(rcpt, ", "), msg.String())
			f.Close()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}
