package web

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tracehound/tracehound/storage"
)

// AnalysisReader is the part of storage the graph and findings API reads.
type AnalysisReader interface {
	Edges(ctx context.Context, from, to time.Time) ([]storage.EdgeStats, error)
	Services(ctx context.Context, from, to time.Time) ([]storage.ServiceStats, error)
	Findings(ctx context.Context, q storage.FindingQuery) ([]storage.Finding, error)
}

type serviceJSON struct {
	Name      string  `json:"name"`
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	P50Ms     float64 `json:"p50_ms"`
	P95Ms     float64 `json:"p95_ms"`
	P99Ms     float64 `json:"p99_ms"`
}

func (s *Server) services(c *fiber.Ctx) error {
	from, to, err := parseWindow(c.Query("from"), c.Query("to"), time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.QueryTimeout)
	defer cancel()
	rows, err := s.opts.Analysis.Services(ctx, from, to)
	if err != nil {
		return err
	}
	out := make([]serviceJSON, 0, len(rows))
	for _, r := range rows {
		out = append(out, toServiceJSON(r))
	}
	return c.JSON(fiber.Map{"services": out})
}

func toServiceJSON(r storage.ServiceStats) serviceJSON {
	j := serviceJSON{Name: r.Name, Requests: r.Requests, Errors: r.Errors, P50Ms: r.P50Ms, P95Ms: r.P95Ms, P99Ms: r.P99Ms}
	if r.Requests > 0 {
		j.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
	return j
}

type nodeJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type edgeJSON struct {
	Source           string  `json:"source"`
	Target           string  `json:"target"`
	Calls            uint64  `json:"calls"`
	Errors           uint64  `json:"errors"`
	ErrorRate        float64 `json:"error_rate"`
	P50Ms            float64 `json:"p50_ms"`
	P95Ms            float64 `json:"p95_ms"`
	P99Ms            float64 `json:"p99_ms"`
	RequestBytesAvg  float64 `json:"request_bytes_avg"`
	ResponseBytesAvg float64 `json:"response_bytes_avg"`
	CallsPerTraceAvg float64 `json:"calls_per_trace_avg"`
}

// nodeID is the service name for services and kind:name for virtual nodes,
// so a database named like a service cannot collide with it.
func nodeID(name, kind string) string {
	if kind == "" || kind == "service" {
		return name
	}
	return kind + ":" + name
}

func (s *Server) serviceGraph(c *fiber.Ctx) error {
	from, to, err := parseWindow(c.Query("from"), c.Query("to"), time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.QueryTimeout)
	defer cancel()
	edges, err := s.opts.Analysis.Edges(ctx, from, to)
	if err != nil {
		return err
	}
	services, err := s.opts.Analysis.Services(ctx, from, to)
	if err != nil {
		return err
	}
	nodes := map[string]nodeJSON{}
	add := func(name, kind string) string {
		if kind == "" {
			kind = "service"
		}
		id := nodeID(name, kind)
		nodes[id] = nodeJSON{ID: id, Name: name, Kind: kind}
		return id
	}
	for _, svc := range services {
		add(svc.Name, "service")
	}
	outEdges := make([]edgeJSON, 0, len(edges))
	for _, e := range edges {
		j := edgeJSON{
			Source: add(e.Source, e.SourceKind), Target: add(e.Target, e.TargetKind),
			Calls: e.Calls, Errors: e.Errors, P50Ms: e.P50Ms, P95Ms: e.P95Ms, P99Ms: e.P99Ms,
			RequestBytesAvg: e.RequestBytesAvg, ResponseBytesAvg: e.ResponseBytesAvg, CallsPerTraceAvg: e.CallsPerTraceAvg,
		}
		if e.Calls > 0 {
			j.ErrorRate = float64(e.Errors) / float64(e.Calls)
		}
		outEdges = append(outEdges, j)
	}
	outNodes := make([]nodeJSON, 0, len(nodes))
	for _, n := range nodes {
		outNodes = append(outNodes, n)
	}
	sort.Slice(outNodes, func(i, j int) bool { return outNodes[i].ID < outNodes[j].ID })
	return c.JSON(fiber.Map{"nodes": outNodes, "edges": outEdges})
}

type findingJSON struct {
	ID              string          `json:"id"`
	Kind            string          `json:"kind"`
	Service         string          `json:"service"`
	Operation       string          `json:"operation"`
	Peer            string          `json:"peer"`
	PeerKind        string          `json:"peer_kind"`
	PeerID          string          `json:"peer_id,omitempty"`
	Severity        string          `json:"severity"`
	Score           float64         `json:"score"`
	Summary         string          `json:"summary"`
	Evidence        json.RawMessage `json:"evidence"`
	Occurrences     uint64          `json:"occurrences"`
	ExampleTraceIDs []string        `json:"example_trace_ids"`
	FirstSeen       time.Time       `json:"first_seen"`
	LastSeen        time.Time       `json:"last_seen"`
}

var findingKinds = map[string]bool{"bottleneck": true, "chatty": true, "oversized_payload": true}

func (s *Server) findings(c *fiber.Ctx) error {
	from, to, err := parseWindow(c.Query("from"), c.Query("to"), time.Now())
	if err != nil {
		return err
	}
	kind := c.Query("kind")
	if kind != "" && !findingKinds[kind] {
		return &paramError{"kind", "want bottleneck, chatty or oversized_payload"}
	}
	limit, err := parseIntParam("limit", c.Query("limit"), 200, 1, 1000)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.QueryTimeout)
	defer cancel()
	rows, err := s.opts.Analysis.Findings(ctx, storage.FindingQuery{From: from, To: to, Kind: kind,
		Service: c.Query("service"), Limit: int(limit)})
	if err != nil {
		return err
	}
	out := make([]findingJSON, 0, len(rows))
	for _, f := range rows {
		j := findingJSON{
			ID: f.ID, Kind: f.Kind, Service: f.Service, Operation: f.Operation, Peer: f.Peer, PeerKind: f.PeerKind,
			Severity: f.Severity, Score: f.Score, Summary: f.Summary, Evidence: rawObject(f.EvidenceJSON),
			Occurrences: f.Occurrences, ExampleTraceIDs: make([]string, 0, len(f.ExampleTraceIDs)),
			FirstSeen: f.FirstSeen.UTC(), LastSeen: f.LastSeen.UTC(),
		}
		if f.Peer != "" {
			j.PeerID = nodeID(f.Peer, f.PeerKind)
		}
		for _, id := range f.ExampleTraceIDs {
			j.ExampleTraceIDs = append(j.ExampleTraceIDs, hex.EncodeToString(id[:]))
		}
		out = append(out, j)
	}
	return c.JSON(fiber.Map{"findings": out})
}
