// Vite: `npm run build` writes dist/ (index.html + assets/*); `npm run dev` serves the console
// with a proxy that sends each gRPC-web call to the binary hosting its service (the same table
// the production proxy is generated from: ../proto/routes.yaml), as `make up` runs them.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin, type ProxyOptions } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

/** `make up`'s ports; LEADPOOL_DEV_<BINARY>=host:port overrides one. */
const DEV_PORTS: Record<string, string> = {
  intake: "127.0.0.1:50051",
  routing: "127.0.0.1:50052",
  claim: "127.0.0.1:50053",
  scheduler: "127.0.0.1:50054",
};

function devProxy(): Record<string, ProxyOptions> {
  const table = readFileSync(`${here}../proto/routes.yaml`, "utf8");
  const proxy: Record<string, ProxyOptions> = {};
  for (const raw of table.split("\n")) {
    const line = raw.split("#")[0].trim();
    if (!line) continue;
    const [service, binary] = line.split(":").map((s) => s.trim());
    const target = process.env[`LEADPOOL_DEV_${binary.toUpperCase()}`] ?? DEV_PORTS[binary];
    if (!target) throw new Error(`routes.yaml: no port for binary ${binary}`);
    proxy[`/${service}/`] = { target: `http://${target}`, changeOrigin: true };
  }
  return proxy;
}

/** In development, /config.json is development sign-in unless CONSOLE_CONFIG names a file. */
function devConfigJson(): Plugin {
  return {
    name: "leadpool-dev-config-json",
    configureServer(server) {
      server.middlewares.use("/config.json", (_req, res) => {
        const file = process.env.CONSOLE_CONFIG;
        res.setHeader("content-type", "application/json");
        res.setHeader("cache-control", "no-store");
        res.end(file ? readFileSync(file, "utf8") : JSON.stringify({ signIn: "dev" }));
      });
    },
  };
}

export default defineConfig(({ command }) => ({
  plugins: [react(), devConfigJson()],
  server: command === "serve" ? { host: "127.0.0.1", port: 5173, proxy: devProxy() } : undefined,
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
}));
