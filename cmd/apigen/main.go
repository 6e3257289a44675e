// Command apigen generates the proto schema of the whole API from
// Ampersand's OpenAPI spec: it reads openapi/ampersand-api.json, the
// committed overrides (openapi/overrides.yaml) and field-number lock
// (openapi/proto.lock.json), and writes proto/ampersand/v1/, the lock (new
// numbers added) and docs/api.md (every service and RPC with its REST
// route). Run it from the repository's root: go run ./cmd/apigen
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ampersand-connect/gateway/internal/apigen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "apigen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("apigen", flag.ContinueOnError)
	specPath := fs.String("spec", "openapi/ampersand-api.json", "the OpenAPI `file`")
	overridesPath := fs.String("overrides", "openapi/overrides.yaml", "the overrides `file`")
	lockPath := fs.String("lock", "openapi/proto.lock.json", "the field-number lock `file`, read and written")
	out := fs.String("out", "proto", "the `folder` of the proto module")
	docs := fs.String("docs", "docs/api.md", "the `file` listing every RPC and its REST route")
	if err := fs.Parse(args); err != nil {
		return err
	}
	spec, err := os.ReadFile(*specPath)
	if err != nil {
		return err
	}
	ovData, err := os.ReadFile(*overridesPath)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	ov, err := apigen.ReadOverrides(ovData)
	if err != nil {
		return err
	}
	lockData, err := os.ReadFile(*lockPath)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	lock, err := apigen.ReadLock(lockData)
	if err != nil {
		return err
	}
	api, err := apigen.Build(spec, ov, lock)
	if err != nil {
		return err
	}
	files := apigen.Files(api)
	if err := removeStale(filepath.Join(*out, apigen.Dir), files, *out); err != nil {
		return err
	}
	for name, data := range files {
		if err := writeFile(filepath.Join(*out, name), data); err != nil {
			return err
		}
	}
	if err := writeFile(*lockPath, lock.Marshal()); err != nil {
		return err
	}
	return writeFile(*docs, apigen.Docs(api))
}

// removeStale deletes the generated files of dir that this run does not
// write: those of types or services the spec no longer has.
func removeStale(dir string, files map[string][]byte, root string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".proto") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if _, ok := files[filepath.ToSlash(rel)]; ok {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(data, []byte(apigen.Header)) {
			if err := os.Remove(path); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFile writes data to path unless it holds data already.
func writeFile(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
