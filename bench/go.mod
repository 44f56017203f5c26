module github.com/tracehound/tracehound/bench

go 1.26.8

require (
	go.opentelemetry.io/collector/pdata v1.71.0
	google.golang.org/grpc v1.85.0
)
