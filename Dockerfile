# Builds tracehound for use with an external ClickHouse (see docker-compose.yml).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/tracehound ./cmd/tracehound

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/tracehound tracehound && mkdir -p /var/lib/tracehound && chown tracehound /var/lib/tracehound
COPY --from=build /out/tracehound /usr/local/bin/tracehound
USER tracehound
EXPOSE 4317 4318 8080
ENTRYPOINT ["/usr/local/bin/tracehound", "serve"]
