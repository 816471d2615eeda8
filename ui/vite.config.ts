import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// The build goes into the Python package (served by grimnir.api.routes.ui), so a
// wheel carries the UI and nobody who installs it needs Node.
export default defineConfig({
  plugins: [svelte()],
  base: "/",
  build: {
    outDir: "../src/grimnir/web/app",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
  },
});
