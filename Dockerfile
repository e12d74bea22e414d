# The MohallaMart job server as a container image: a static binary on distroless, run as
# a non-root user. Build from the repository root:
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t mohallamart/server .
#
# The image's default command is `serve` (ROLE=all); `migrate up`, `version` and `help`
# are the other commands. Configuration comes from the environment (.env.example).

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Static (no cgo), without build paths, with the version `server version` prints and the
# time zone database embedded (CLEANUP_TIMEZONE works on any base image).
RUN CGO_ENABLED=0 go build -trimpath -tags timetzdata \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/server ./cmd/server

# CA certificates for the providers' HTTPS, no shell, user nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /usr/local/bin/server
USER nonroot:nonroot
ENV APP_ENV=production
# 8080: the API (ADDR); 9090: /metrics, /healthz, /readyz (OPS_ADDR), for the internal network
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/server"]
CMD ["serve"]
