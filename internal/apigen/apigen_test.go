package apigen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata")

// TestGolden builds each spec of testdata/*/spec.yaml (with the overrides
// beside it, if any) from an empty lock, and compares every file written
// with testdata/*/want/. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, specPath := range dirs {
		dir := filepath.Dir(specPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := generate(t, dir, nil)
			want := filepath.Join(dir, "want")
			if *update {
				if err := os.RemoveAll(want); err != nil {
					t.Fatal(err)
				}
				for name, data := range got {
					path := filepath.Join(want, name)
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			var names []string
			err := filepath.WalkDir(want, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(want, path)
				names = append(names, filepath.ToSlash(rel))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				data, err := os.ReadFile(filepath.Join(want, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[name], data) {
					t.Errorf("%s differs from the golden file (go test -update):\n%s", name, got[name])
				}
			}
			for name := range got {
				if _, err := os.Stat(filepath.Join(want, name)); err != nil {
					t.Errorf("%s: no golden file (go test -update)", name)
				}
			}
		})
	}
}

// generate returns the files written for the spec of dir: the proto files,
// lock.json and api.md.
func generate(t *testing.T, dir string, lock *Lock) map[string][]byte {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join(dir, "spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ovData, _ := os.ReadFile(filepath.Join(dir, "overrides.yaml"))
	ov, err := ReadOverrides(ovData)
	if err != nil {
		t.Fatal(err)
	}
	if lock == nil {
		lock, _ = ReadLock(nil)
	}
	api, err := Build(spec, ov, lock)
	if err != nil {
		t.Fatal(err)
	}
	files := Files(api)
	files["lock.json"] = lock.Marshal()
	files["api.md"] = Docs(api)
	return files
}

// TestLockEvolves holds the lock's promises: a field the spec drops becomes
// reserved, a field it adds gets the next number, every other field keeps
// its number, and a dropped field that comes back gets its old number.
func TestLockEvolves(t *testing.T) {
	spec, err := os.ReadFile("testdata/constructs/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lock, _ := ReadLock(nil)
	v1, err := Build(spec, nil, lock)
	if err != nil {
		t.Fatal(err)
	}
	before := fieldNumbers(v1, "Book")

	// A revision drops "pages", adds "isbn" and an enum value.
	v2spec := strings.Replace(string(spec), "            pages: {type: integer}\n", "            isbn: {type: string}\n", 1)
	v2spec = strings.Replace(v2spec, "enum: [science_fiction,", "enum: [poetry, science_fiction,", 1)
	lock, err = ReadLock(lock.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	v2, err := Build([]byte(v2spec), nil, lock)
	if err != nil {
		t.Fatal(err)
	}
	after := fieldNumbers(v2, "Book")
	for name, n := range before {
		if name == "pages" {
			continue
		}
		if after[name] != n {
			t.Errorf("field %s: number %d, was %d", name, after[name], n)
		}
	}
	maxBefore := 0
	for _, n := range before {
		maxBefore = max(maxBefore, n)
	}
	if after["isbn"] != maxBefore+1 {
		t.Errorf("new field isbn: number %d, want %d", after["isbn"], maxBefore+1)
	}
	book := findMessage(v2, "Book")
	if len(book.Reserved) != 1 || book.Reserved[0] != (Reserved{Number: before["pages"], Name: "pages"}) {
		t.Errorf("Book reserves %v, want pages = %d", book.Reserved, before["pages"])
	}
	out := string(Files(v2)[Dir+"book_shelf.proto"])
	for _, want := range []string{"reserved " + itoa(before["pages"]) + ";", `reserved "pages";`, `GENRE_POETRY = 4 [(ampersand.v1.rest_value) = "poetry"];`} {
		if !strings.Contains(out, want) {
			t.Errorf("book_shelf.proto lacks %s", want)
		}
	}

	// The field comes back: its old number, and nothing reserved.
	lock, _ = ReadLock(lock.Marshal())
	v3, err := Build(spec, nil, lock)
	if err != nil {
		t.Fatal(err)
	}
	if n := fieldNumbers(v3, "Book")["pages"]; n != before["pages"] {
		t.Errorf("pages came back as %d, want %d", n, before["pages"])
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func fieldNumbers(api *API, message string) map[string]int {
	out := map[string]int{}
	for _, f := range findMessage(api, message).Fields {
		out[f.Name] = f.Number
	}
	return out
}

func findMessage(api *API, name string) *Message {
	for _, m := range api.Messages {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// TestBuildErrors holds the generator to refusing what it cannot map, with
// a message that says what to do.
func TestBuildErrors(t *testing.T) {
	spec, err := os.ReadFile("testdata/constructs/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		edit   func(string) string
		ov     *Overrides
		expect string
	}{{
		name:   "a schema name that is not an identifier",
		edit:   func(s string) string { return strings.ReplaceAll(s, "CoverText", "Cover-2") },
		expect: `"Cover-2" is not a proto identifier: name it in the overrides`,
	}, {
		name:   "a schema named like an RPC's request",
		edit:   func(s string) string { return strings.ReplaceAll(s, "CoverText", "CreateBookRequest") },
		expect: "the message name CreateBookRequest is taken by",
	}, {
		name:   "an override that names nothing",
		edit:   func(s string) string { return s },
		ov:     &Overrides{Names: map[string]string{"NoSuchSchema": "X"}},
		expect: `overrides: names: "NoSuchSchema" names nothing in the spec`,
	}, {
		name:   "two enum values with one name",
		edit:   func(s string) string { return strings.Replace(s, "book.created]", "book.created, book_created]", 1) },
		expect: `enum values "book.created" and "book_created" have the same name GENRE_BOOK_CREATED`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lock, _ := ReadLock(nil)
			_, err := Build([]byte(tt.edit(string(spec))), tt.ov, lock)
			if err == nil || !strings.Contains(err.Error(), tt.expect) {
				t.Errorf("error %v, want one containing %q", err, tt.expect)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"Integration": "IntegrationService", "Provider App": "ProviderAppService",
		"API Key": "APIKeyService", "Objects & Fields": "ObjectsAndFieldsService",
		"OAuth": "OAuthService", "JWT Key": "JWTKeyService", "Upload URL": "UploadURLService",
	} {
		if got := ServiceName(in); got != want {
			t.Errorf("ServiceName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"listInstallations": "ListInstallations", "createJWTKey": "CreateJWTKey", "oauthConnect": "OauthConnect"} {
		if got := RPCName(in); got != want {
			t.Errorf("RPCName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"projectIdOrName": "project_id_or_name", "docsURL": "docs_url", "operation_id": "operation_id",
		"oauth2ClientCredentials": "oauth2_client_credentials", "JWTKey": "jwt_key", "OAuth": "oauth",
		"authURLParams": "auth_url_params",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"bad_credentials": "BAD_CREDENTIALS", "oauth2/authorizationCode": "OAUTH2_AUTHORIZATION_CODE",
		"connection.created": "CONNECTION_CREATED", "onRequest": "ON_REQUEST",
	} {
		if got := upperSnakeCase(in); got != want {
			t.Errorf("upperSnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[[2]string]string{
		{"IntegrationFieldExistent", "IntegrationField"}:        "Existent",
		{"IntegrationFieldMapping", "HydratedIntegrationField"}: "Mapping",
		{"ValueDefaultString", "ValueDefault"}:                  "String",
		{"Integration", "Integration"}:                          "Integration",
	} {
		if got := trimWords(in[0], in[1]); got != want {
			t.Errorf("trimWords(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
	got := []string{plural("project"), plural("jwt_key"), plural("policy"), plural("address"), plural("day")}
	want := []string{"projects", "jwt_keys", "policies", "addresses", "days"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("plural: %v, want %v", got, want)
	}

}
