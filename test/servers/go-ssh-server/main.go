// An SSH server built on Go's golang.org/x/crypto/ssh, for test/interop-other-servers.test.ts.
//
// Debian packages: golang-go (Go 1.19 on Debian 12) and golang-golang-x-crypto-dev (x/crypto
// 0.4.0, in /usr/share/gocode). The test builds it offline, outside any module:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o gossh-server main.go
//
// and caches the binary under ~/.cache/pure-ssh (keyed by a hash of this file).
//
// Listens on 127.0.0.1:PORT in the foreground until killed. One user, -user, who logs in with a
// key listed in -authorized-keys or with -password; direct-tcpip channels (ssh -L) are served
// by connecting to the destination and copying both ways, passing each side's EOF on. Other
// channel types are refused and global requests declined. Prints "listening PORT" on stdout
// once it accepts connections.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"
)

func main() {
	port := flag.Int("port", 0, "port to listen on, on 127.0.0.1")
	hostKeyPath := flag.String("host-key", "", "private host key file (OpenSSH format)")
	authorizedPath := flag.String("authorized-keys", "", "authorized_keys file for -user")
	user := flag.String("user", "", "the one user")
	password := flag.String("password", "", "its password")
	flag.Parse()
	if *port == 0 || *hostKeyPath == "" || *authorizedPath == "" || *user == "" {
		flag.Usage()
		os.Exit(2)
	}
	log.SetFlags(0)
	log.SetPrefix("gossh-server: ")

	pem, err := os.ReadFile(*hostKeyPath)
	if err != nil {
		log.Fatal(err)
	}
	hostKey, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		log.Fatalf("%s: %v", *hostKeyPath, err)
	}
	authorized, err := readAuthorized(*authorizedPath)
	if err != nil {
		log.Fatal(err)
	}

	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			for _, a := range authorized {
				if c.User() == *user && bytes.Equal(a, k.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("key not authorized")
		},
		PasswordCallback: func(c ssh.ConnMetadata, p []byte) (*ssh.Permissions, error) {
			if c.User() == *user && string(p) == *password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
	}
	cfg.AddHostKey(hostKey)

	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", *port)
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, cfg)
	}
}

// readAuthorized returns the wire encoding of every key in an authorized_keys file.
func readAuthorized(path string) ([][]byte, error) {
	rest, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	for len(bytes.TrimSpace(rest)) > 0 {
		k, _, _, r, err := ssh.ParseAuthorizedKey(rest)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		keys = append(keys, k.Marshal())
		rest = r
	}
	return keys, nil
}

func serve(c net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return // failed handshake or authentication: the client reports it
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "direct-tcpip" {
			nc.Reject(ssh.UnknownChannelType, "unknown channel type")
			continue
		}
		// RFC 4254 section 7.2: host to connect, port, originator address, originator port.
		var p struct {
			Host  string
			Port  uint32
			OHost string
			OPort uint32
		}
		if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
			nc.Reject(ssh.ConnectionFailed, "malformed direct-tcpip request")
			continue
		}
		target, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
		if err != nil {
			nc.Reject(ssh.ConnectionFailed, err.Error())
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			target.Close()
			continue
		}
		go ssh.DiscardRequests(chReqs)
		go tunnel(ch, target.(*net.TCPConn))
	}
}

// tunnel copies both ways; each side's EOF becomes a half-close of the other.
func tunnel(ch ssh.Channel, target *net.TCPConn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		io.Copy(target, ch)
		target.CloseWrite()
		wg.Done()
	}()
	go func() {
		io.Copy(ch, target)
		ch.CloseWrite()
		wg.Done()
	}()
	wg.Wait()
	ch.Close()
	target.Close()
}
