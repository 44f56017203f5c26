# Builds tracehound for use with an external ClickHouse (see docker-compose.yml).
FROM node:20-bookworm AS ui
WORKDIR /src
COPY ui/package.json ui/package-lock.json ui/
RUN cd ui && npm ci --no-audit --no-fund
COPY ui ui
COPY web/dist web/dist
RUN cd ui && npm run build

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /src/web/dist web/dist
RUN CGO_ENABLED=0 go build -trimpath -o /out/tracehound ./cmd/tracehound

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/tracehound tracehound && mkdir -p /var/lib/tracehound && chown tracehound /var/lib/tracehound
COPY --from=build /out/tracehound /usr/local/bin/tracehound
USER tracehound
EXPOSE 4317 4318 8080
ENTRYPOINT ["/usr/local/bin/tracehound", "serve"]
