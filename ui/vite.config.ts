/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// The build goes to ../web/dist, which the Go binary embeds (web/ui.go).
// That folder also holds two committed files, .gitignore and
// placeholder.html (served when the UI was not built), so instead of
// build.emptyOutDir (which would delete them and dirty `git status`) this
// plugin empties it except for those two.
const outDir = fileURLToPath(new URL('../web/dist', import.meta.url));
const keep = new Set(['.gitignore', 'placeholder.html']);

function cleanOutDir(): Plugin {
  return {
    name: 'tracehound-clean-outdir',
    apply: 'build',
    buildStart() {
      let names: string[] = [];
      try {
        names = readdirSync(outDir);
      } catch {
        return; // nothing to clean
      }
      for (const name of names) {
        if (!keep.has(name)) rmSync(path.join(outDir, name), { recursive: true, force: true });
      }
    },
  };
}

// `npm run dev` proxies the API to a running `tracehound serve`
// (TRACEHOUND_URL, default http://localhost:8080).
const apiTarget = process.env.TRACEHOUND_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [react(), cleanOutDir()],
  build: {
    outDir,
    emptyOutDir: false,
    // Hashed file names under assets/ are served as immutable by web/ui.go.
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        // Keep the graph libraries in their own long-lived chunk.
        manualChunks(id: string) {
          if (id.includes('node_modules/cytoscape')) return 'graph';
          if (id.includes('node_modules/react') || id.includes('node_modules/scheduler')) return 'react';
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': apiTarget,
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
