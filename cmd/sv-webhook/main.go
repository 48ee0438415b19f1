// Command sv-webhook sends a webhook's queue of deliveries (package
// webhook). sv-scan runs it; it is a binary of its own so that the HTTP
// client and TLS weigh on neither sv-scan nor PID 1.
package main

import (
	"os"

	"github.com/supervision-suite/supervision/internal/webhook"
)

func main() {
	os.Exit(webhook.Main(os.Args[1:], os.Stderr))
}
