package embedded

import (
	"fmt"
	"path/filepath"
)

// configXML renders the ClickHouse server config for the embedded instance.
// Background pools are raised from chDB's defaults (2), which cannot keep up
// with merges under ingest load, and keep-alive is short so shutdown is quick.
func configXML(chDir string) string {
	logs := filepath.Join(chDir, "logs")
	return fmt.Sprintf(`<clickhouse>
  <logger>
    <level>warning</level>
    <log>%s</log>
    <errorlog>%s</errorlog>
    <size>100M</size>
    <count>3</count>
    <console>0</console>
  </logger>
  <keep_alive_timeout>2</keep_alive_timeout>
  <background_pool_size>16</background_pool_size>
  <background_schedule_pool_size>128</background_schedule_pool_size>
  <background_common_pool_size>8</background_common_pool_size>
  <mark_cache_size>268435456</mark_cache_size>
  <max_server_memory_usage_to_ram_ratio>0.5</max_server_memory_usage_to_ram_ratio>
</clickhouse>
`, filepath.Join(logs, "clickhouse.log"), filepath.Join(logs, "clickhouse.err.log"))
}
