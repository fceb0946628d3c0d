// Command etcd is etcd's own server entry point, built from the go.etcd.io module
// because `go install go.etcd.io/etcd/server/v3@...` refuses its replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
