# syntax=docker/dockerfile:1

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/ampersand-connect ./cmd/ampersand-connect

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ampersand-connect /ampersand-connect
# distroless's nonroot user, by number, so that Kubernetes' runAsNonRoot can
# check it (deploy/kubernetes runs it as the same user).
USER 65532:65532
# 9090: the gRPC port, when started with -grpc-addr :9090
EXPOSE 8080 9090
ENTRYPOINT ["/ampersand-connect"]
