import { defineConfig } from "vite";

// Built by `exchange serve` (exchange/web/build.py) into dist/, which the server
// serves at / (index.html) and /assets/<name>. `npm run dev` proxies the API and
// the sockets to a server on :8080.
const target = "http://127.0.0.1:8080";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", assetsDir: "assets", emptyOutDir: true, sourcemap: true,
           chunkSizeWarningLimit: 1024 },
  server: {
    proxy: {
      "/api": target,
      "/stream": { target, ws: true },
    },
  },
});
