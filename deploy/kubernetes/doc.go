// Package kubernetes holds the Kubernetes manifests of the server (apply
// them with kubectl apply -k); its test decodes them strictly against the
// Kubernetes API types and holds them to the binary's flags, variables,
// ports and shutdown time, and to the Dockerfile's user. It is a module of
// its own so that the server's module does not depend on the Kubernetes
// API types.
package kubernetes
