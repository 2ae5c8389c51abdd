module unixgram.test/go-seqpacket

go 1.21
