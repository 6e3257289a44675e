package translate

import (
	"fmt"
	"testing"

	"github.com/ampersand-connect/gateway/internal/demo"
)

// BenchmarkDecode translates GetIntegration's answer of about 1.6 KB and
// 1 MB, as the service does.
func BenchmarkDecode(b *testing.B) {
	benchmarkSizes(b, func(body []byte) error {
		_, err := getIntegration.NewResponse(body, "application/json", nil)
		return err
	})
}

// benchmarkSizes runs f on GetIntegration's answers of about 1.6 KB and
// 1 MB.
func benchmarkSizes(b *testing.B, f func(body []byte) error) {
	for _, size := range []int{1600, 1 << 20} {
		body := demo.Sized(size)
		b.Run(sizeName(len(body)), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := f(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sizeName names a benchmark by its body's size.
func sizeName(n int) string { return fmt.Sprintf("%dKB", n/1024) }
